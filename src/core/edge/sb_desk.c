/* What an agent's desk needs to draw itself: the colleagues and groups a
 * conversation can go to (R10), and the channels' rules (R7, R12). */

#include <stdio.h>

#include "edge/sb_edge.h"


/* R12: {channel: {capability: bool}} */
static void
sb_write_capabilities(sb_jw_t *w, const sb_config_t *cfg)
{
    int  ch, i;

    sb_jw_obj(w);
    for (ch = 0; ch < SB_CH_COUNT; ch++) {
        sb_jw_key(w, sb_channel_name(ch));
        sb_jw_obj(w);
        for (i = 0; i < SB_CAP_COUNT; i++) {
            sb_jw_kbool(w, sb_cap_name(1u << i), cfg->caps[ch] & (1u << i));
        }
        sb_jw_obj_end(w);
    }
    sb_jw_obj_end(w);
}


/* the admin's table, as configured */
void
sb_query_capabilities(const sb_config_t *cfg, sb_answer_t *ans)
{
    sb_jw_t  w;

    sb_jw_init(&w, 1024);
    sb_write_capabilities(&w, cfg);
    (void) sb_jw_answer(&w, 200, ans);
}


/* The desk's settings: capabilities, snooze presets and limit, the text
 * limit; the configuration's, so no transaction. */
void
sb_query_settings(const sb_config_t *cfg, sb_answer_t *ans)
{
    sb_jw_t  w;
    int      i, k;

    sb_jw_init(&w, 2048);
    sb_jw_obj(&w);
    sb_jw_key(&w, "capabilities");
    sb_write_capabilities(&w, cfg);
    sb_jw_key(&w, "snooze");
    sb_jw_obj(&w);
    sb_jw_key(&w, "presets");
    sb_jw_arr(&w);
    for (i = 0; i < cfg->npresets; i++) {
        sb_jw_obj(&w);
        sb_jw_kstr(&w, "label", cfg->presets[i].label);
        sb_jw_kint(&w, "seconds", cfg->presets[i].ms / 1000);
        sb_jw_obj_end(&w);
    }
    sb_jw_arr_end(&w);
    sb_jw_kint(&w, "max_seconds", cfg->snooze_max_ms / 1000);
    sb_jw_obj_end(&w);
    sb_jw_key(&w, "classes");
    sb_jw_obj(&w);
    for (k = 0; k < cfg->nclasses; k++) {
        sb_jw_key(&w, cfg->classes[k].name);
        sb_jw_arr(&w);
        for (i = 0; i < SB_CH_COUNT; i++) {
            if (cfg->classes[k].channels & (1u << i)) {
                sb_jw_str(&w, sb_channel_name(i));
            }
        }
        sb_jw_arr_end(&w);
    }
    sb_jw_obj_end(&w);
    sb_jw_kint(&w, "max_text_bytes", (int64_t) cfg->text_max);
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, 200, ans);
}


typedef struct {
    sb_jw_t           *w;
    size_t             prefix;
    int                wrote_default;
    sb_store_t        *st;
    MDB_txn           *txn;
    const char        *tenant;
    const sb_agent_t  *me;
    int64_t            now;
} sb_desk_rows_t;


/* the row's id (the key after the tenant), or NULL for a damaged key */
static const char *
sb_row_id(MDB_val *key, size_t prefix)
{
    const char  *id = (const char *) key->mv_data + prefix;

    return key->mv_size > prefix
           && memchr(id, '\0', key->mv_size - prefix) != NULL
           && strlen(id) <= SB_ID_MAX ? id : NULL;
}


static void
sb_write_group(sb_jw_t *w, const char *id, sb_span_t name)
{
    sb_jw_obj(w);
    sb_jw_kstr(w, "id", id);
    sb_jw_kspan(w, "name", name);
    sb_jw_obj_end(w);
}


/* "default" has no row until renamed: written in its place in id order */
static int
sb_group_row(MDB_val *key, MDB_val *val, void *data)
{
    static const sb_span_t   dflt = { "default", 7 };
    sb_desk_rows_t          *r = data;
    const char              *id = sb_row_id(key, r->prefix);
    sb_span_t                name, unused;

    if (id == NULL
        || sb_pair_decode(val->mv_data, val->mv_size, 'G', &name, &unused)
           != 0)
    {
        return 0;
    }
    if (!r->wrote_default && strcmp(id, "default") > 0) {
        sb_write_group(r->w, "default", dflt);
        r->wrote_default = 1;
    }
    r->wrote_default |= strcmp(id, "default") == 0;
    sb_write_group(r->w, id, name);
    return 0;
}


/* an agent who shares a group with the caller, as /agent/me shows them
 * but without the conversations they hold */
static int
sb_colleague_row(MDB_val *key, MDB_val *val, void *data)
{
    sb_desk_rows_t  *r = data;
    const char      *id = sb_row_id(key, r->prefix);
    sb_agent_t       a;

    if (id == NULL || strcmp(id, r->me->id) == 0) {
        return 0;
    }
    memset(&a, 0, sizeof(a));
    if (sb_agent_decode(val->mv_data, val->mv_size, &a, r->st->cfg) != 0) {
        return 0;
    }
    snprintf(a.id, sizeof(a.id), "%s", id);
    return sb_agent_shares_group(r->me, &a)
           ? sb_render_agent(r->w, r->st, r->txn, r->tenant, &a, r->now, 0)
           : 0;
}


/* R10's choices for an agent: {"groups":[…],"agents":[…]} */
static int
sb_directory_view(sb_jw_t *w, sb_store_t *st, MDB_txn *txn,
    const char *tenant, const sb_agent_t *me, int64_t now)
{
    static const sb_span_t  dflt = { "default", 7 };
    sb_desk_rows_t          r = { w, 0, 0, st, txn, tenant, me, now };
    sb_key_t                prefix;

    sb_key_init(&prefix, tenant);
    r.prefix = prefix.n;
    sb_jw_obj(w);
    sb_jw_key(w, "groups");
    sb_jw_arr(w);
    SB_TRY(sb_each(txn, st->db[SB_DB_GROUP], &prefix, sb_group_row, &r));
    if (!r.wrote_default) {
        sb_write_group(w, "default", dflt);
    }
    sb_jw_arr_end(w);
    sb_jw_key(w, "agents");
    sb_jw_arr(w);
    SB_TRY(sb_each(txn, st->db[SB_DB_AGENT], &prefix, sb_colleague_row, &r));
    sb_jw_arr_end(w);
    sb_jw_obj_end(w);
    return 0;
}


void
sb_query_directory(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *agent, int64_t now, sb_answer_t *ans)
{
    sb_query_agent_view(st, txn, tenant, agent, now, sb_directory_view, ans);
}
