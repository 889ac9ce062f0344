/* Reads for the API: event logs after a cursor, an agent's status, a
 * conversation with its thread, the directory and the ledger (R17-R19). */

#include <stdio.h>
#include <string.h>

#include "sb_internal.h"

#define SB_LIST_MAX  500


static void
sb_render_times(json_t *o, const char **names)
{
    json_t  *v;

    for ( ; *names; names++) {
        v = json_object_get(o, *names);
        if (v) {
            json_object_set_new(o, *names, sb_time_json(v));
        }
    }
}


/* Walks every row under prefix, starting at from (or the prefix itself). */
typedef int (*sb_row_pt)(MDB_val *key, MDB_val *val, void *data);

static int
sb_scan(MDB_txn *txn, MDB_dbi dbi, sb_key_t *prefix, sb_key_t *from,
    size_t limit, sb_row_pt row, void *data)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    size_t       n = 0;
    int          rc;

    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc) {
        return rc;
    }
    key.mv_size = from ? from->n : prefix->n;
    key.mv_data = from ? from->b : prefix->b;
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    while (rc == 0 && n < limit && key.mv_size >= prefix->n
           && memcmp(key.mv_data, prefix->b, prefix->n) == 0)
    {
        rc = row(&key, &val, data);
        if (rc) {
            break;
        }
        n++;
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


static json_t *
sb_row_json(MDB_val *val)
{
    json_error_t  jerr;

    if (val->mv_size < 2 || *(unsigned char *) val->mv_data != SB_RECORD_V1) {
        return NULL;
    }
    return json_loadb((char *) val->mv_data + 1, val->mv_size - 1, 0, &jerr);
}


static int
sb_row_append(MDB_val *key, MDB_val *val, void *data)
{
    static const char  *times[] = { "at", "ended_at", NULL };
    json_t             *rec = sb_row_json(val);

    if (rec == NULL) {
        return MDB_CORRUPTED;
    }
    sb_render_times(rec, times);
    json_array_append_new(data, rec);
    return 0;
}


/* R24: every entry after the cursor; MDB_NOTFOUND when there is none. */
int
sb_query_events(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *owner, uint64_t cursor, sb_result_t *res)
{
    sb_key_t   prefix, from;
    json_t    *events = json_array();
    size_t     n;
    int        rc;

    sb_key_init(&prefix, tenant);
    sb_key_str(&prefix, owner);
    from = prefix;
    sb_key_u64(&from, cursor + 1);

    rc = sb_scan(txn, st->db[SB_DB_EVENT], &prefix, &from, SB_POLL_BATCH,
                 sb_row_append, events);
    n = json_array_size(events);
    if (rc || n == 0) {
        json_decref(events);
        return rc ? rc : MDB_NOTFOUND;
    }
    sb_result_set(res, 200,
        json_pack("{s:O,s:o}", "cursor",
                  json_object_get(json_array_get(events, n - 1), "seq"),
                  "events", events));
    return 0;
}


static int
sb_load(sb_store_t *st, MDB_txn *txn, int db, const char *tenant,
    const char *id, json_t **out)
{
    sb_key_t  k;

    sb_key_init(&k, tenant);
    sb_key_str(&k, id);
    return sb_rec_get(txn, st->db[db], &k, out);
}


static json_t *
sb_agent_view(const sb_config_t *cfg, json_t *agent, int64_t now)
{
    json_t      *classes = json_object(), *convs = json_array(), *list, *id;
    const char  *name;
    size_t       i;
    int          k;

    for (k = 0; k < cfg->nclasses; k++) {
        json_object_set_new(classes, cfg->classes[k].name,
                            sb_agent_class_view(cfg, agent, k, now));
    }
    json_object_foreach(json_object_get(agent, "held"), name, list) {
        json_array_foreach(list, i, id) {
            json_array_append(convs, id);
        }
    }
    return json_pack("{s:O,s:O,s:O,s:s,s:o,s:o,s:o}",
                     "id", json_object_get(agent, "id"),
                     "name", json_object_get(agent, "name"),
                     "groups", json_object_get(agent, "groups"),
                     "presence",
                     sb_agent_present(cfg, agent, now) ? "online" : "away",
                     "last_seen_at",
                     sb_time_json(json_object_get(agent, "seen_at")),
                     "classes", classes, "conversations", convs);
}


int
sb_query_agent_me(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *agent, int64_t now, sb_result_t *res)
{
    json_t  *rec;
    int      rc = sb_load(st, txn, SB_DB_AGENT, tenant, agent, &rec);

    if (rc == MDB_NOTFOUND) {
        sb_result_error(res, 403, "unknown_agent",
                        "agent %s is not in the directory", agent);
        return 0;
    }
    if (rc) {
        return rc;
    }
    sb_result_set(res, 200, sb_agent_view(st->cfg, rec, now));
    json_decref(rec);
    return 0;
}


int
sb_query_agent_seen(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *agent, int64_t *seen_at)
{
    json_t  *rec;
    int      rc = sb_load(st, txn, SB_DB_AGENT, tenant, agent, &rec);

    if (rc == 0) {
        *seen_at = sb_get_int(rec, "seen_at");
        json_decref(rec);
    }
    return rc;
}


static int
sb_handled_by(json_t *conv, const char *agent)
{
    json_t  *h;
    size_t   i;

    json_array_foreach(json_object_get(conv, "handlers"), i, h) {
        if (strcmp(sb_get_str(h, "agent"), agent) == 0) {
            return 1;
        }
    }
    return 0;
}


/* R18: handlers in order with times, the age and the agent's silence. */
static json_t *
sb_conversation_view(json_t *conv, int64_t now)
{
    static const char  *times[] = {
        "created_at", "last_visitor_message_at", "last_agent_message_at",
        "ended_at", "assigned_at", "snoozed_until", NULL
    };
    static const char  *private[] = {
        "seq", "waiting_since", "queued_at", "last_agent", "deadlines",
        "reply_kind", NULL
    };
    static const char  *handler_times[] = { "from", "to", NULL };
    json_t             *v = json_deep_copy(conv), *h;
    const char        **p;
    int64_t             last_agent, end;
    size_t              i;

    end = sb_get_int(conv, "ended_at") ? sb_get_int(conv, "ended_at") : now;
    last_agent = sb_get_int(conv, "last_agent_message_at");
    json_object_set_new(v, "age_seconds",
        json_integer((end - sb_get_int(conv, "created_at")) / 1000));
    json_object_set_new(v, "since_last_agent_message_seconds",
        last_agent ? json_integer((end - last_agent) / 1000) : json_null());
    json_object_set_new(v, "waiting_since",
                        sb_time_json(json_object_get(conv, "waiting_since")));

    sb_render_times(v, times);
    for (p = private; *p; p++) {
        json_object_del(v, *p);
    }
    if (json_object_get(v, "snoozed_until") == NULL) {
        json_object_set_new(v, "snoozed_until", json_null());
    }
    if (json_object_get(v, "end_reason") == NULL) {
        json_object_set_new(v, "end_reason", json_null());
    }
    if (json_object_get(v, "credited_agent") == NULL) {
        json_object_set_new(v, "credited_agent", json_null());
    }
    json_array_foreach(json_object_get(v, "handlers"), i, h) {
        sb_render_times(h, handler_times);
    }
    return v;
}


static int
sb_thread_row(MDB_val *key, MDB_val *val, void *data)
{
    json_t  *msg = sb_row_json(val);

    if (msg == NULL) {
        return MDB_CORRUPTED;
    }
    json_array_append_new(data, sb_message_view(msg));
    json_decref(msg);
    return 0;
}


/* agent NULL: the admin's view; otherwise only for one who handled it. */
int
sb_query_conversation(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *id, const char *agent, int64_t now, sb_result_t *res)
{
    json_t    *conv, *view, *thread;
    sb_key_t   prefix;
    int        rc = sb_load(st, txn, SB_DB_CONV, tenant, id, &conv);

    if (rc == MDB_NOTFOUND) {
        sb_result_error(res, 404, "unknown_conversation", "no conversation %s",
                        id);
        return 0;
    }
    if (rc) {
        return rc;
    }
    if (agent && !sb_handled_by(conv, agent)) {
        json_decref(conv);
        sb_result_error(res, 403, "not_handler",
                        "conversation %s was never held by %s", id, agent);
        return 0;
    }

    thread = json_array();
    sb_key_init(&prefix, tenant);
    sb_key_str(&prefix, id);
    rc = sb_scan(txn, st->db[SB_DB_MSG], &prefix, NULL, SIZE_MAX,
                 sb_thread_row, thread);
    if (rc == 0) {
        view = sb_conversation_view(conv, now);
        json_object_set_new(view, "thread", thread);
        sb_result_set(res, 200, view);
    } else {
        json_decref(thread);
    }
    json_decref(conv);
    return rc;
}


int
sb_query_admin_get(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *kind, const char *id, int64_t now, sb_result_t *res)
{
    json_t  *rec;
    int      agents = strcmp(kind, "agents") == 0, rc;

    rc = sb_load(st, txn, agents ? SB_DB_AGENT : SB_DB_GROUP, tenant, id,
                 &rec);
    if (rc == MDB_NOTFOUND && !agents && strcmp(id, "default") == 0) {
        sb_result_set(res, 200, json_pack("{s:s,s:s}", "id", "default",
                                          "name", "default"));
        return 0;
    }
    if (rc == MDB_NOTFOUND) {
        sb_result_error(res, 404, agents ? "unknown_agent" : "unknown_group",
                        "no %s %s", agents ? "agent" : "group", id);
        return 0;
    }
    if (rc) {
        return rc;
    }
    if (agents) {
        sb_result_set(res, 200, sb_agent_view(st->cfg, rec, now));
        json_decref(rec);
    } else {
        sb_result_set(res, 200, rec);
    }
    return 0;
}


/* R19: ended conversations in order, with their credited agent. */
int
sb_query_ledger(sb_store_t *st, MDB_txn *txn, const char *tenant,
    uint64_t cursor, sb_result_t *res)
{
    sb_key_t   prefix, from;
    json_t    *entries = json_array(), *last;
    int        rc;

    sb_key_init(&prefix, tenant);
    from = prefix;
    sb_key_u64(&from, cursor + 1);
    rc = sb_scan(txn, st->db[SB_DB_LEDGER], &prefix, &from, SB_LIST_MAX,
                 sb_row_append, entries);
    if (rc) {
        json_decref(entries);
        return rc;
    }
    last = json_array_get(entries, json_array_size(entries) - 1);
    sb_result_set(res, 200,
        json_pack("{s:o,s:o}", "cursor",
                  last ? json_copy(json_object_get(last, "seq"))
                       : json_integer((json_int_t) cursor),
                  "entries", entries));
    return 0;
}


typedef struct {
    const sb_conv_filter_t  *f;
    json_t                  *list;
    int64_t                  now;
    char                     last[SB_ID_MAX + 1];
    int                      more;
} sb_conv_page_t;


static int
sb_has_tag(json_t *conv, const char *tag)
{
    json_t  *t;
    size_t   i;

    json_array_foreach(json_object_get(conv, "tags"), i, t) {
        if (strcmp(json_string_value(t), tag) == 0) {
            return 1;
        }
    }
    return 0;
}


static int
sb_conv_row(MDB_val *key, MDB_val *val, void *data)
{
    sb_conv_page_t  *pg = data;
    json_t          *conv, *view;

    if (json_array_size(pg->list) == pg->f->limit) {
        pg->more = 1;
        return MDB_NOTFOUND;              /* stops the scan */
    }
    conv = sb_row_json(val);
    if (conv == NULL) {
        return MDB_CORRUPTED;
    }
    if ((pg->f->after == NULL
         || strcmp(sb_get_str(conv, "id"), pg->f->after) != 0)
        && (pg->f->state == NULL
            || strcmp(sb_get_str(conv, "state"), pg->f->state) == 0)
        && (pg->f->group == NULL
            || strcmp(sb_get_str(conv, "group"), pg->f->group) == 0)
        && (pg->f->tag == NULL || sb_has_tag(conv, pg->f->tag)))
    {
        view = sb_conversation_view(conv, pg->now);
        json_array_append_new(pg->list, view);
        snprintf(pg->last, sizeof(pg->last), "%s", sb_get_str(conv, "id"));
    }
    json_decref(conv);
    return 0;
}


/* Filtered by state, group and tag; paged in key order with "next". */
int
sb_query_conversations(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const sb_conv_filter_t *filter, int64_t now, sb_result_t *res)
{
    sb_key_t        prefix, from;
    sb_conv_page_t  pg = { filter, json_array(), now, "", 0 };
    int             rc;

    sb_key_init(&prefix, tenant);
    from = prefix;
    if (filter->after) {
        sb_key_str(&from, filter->after);
    }
    rc = sb_scan(txn, st->db[SB_DB_CONV], &prefix, &from, SIZE_MAX,
                 sb_conv_row, &pg);
    if (rc && rc != MDB_NOTFOUND) {
        json_decref(pg.list);
        return rc;
    }
    sb_result_set(res, 200,
        json_pack("{s:o,s:o}", "conversations", pg.list, "next",
                  pg.more ? json_string(pg.last) : json_null()));
    return 0;
}


typedef struct {
    json_t   *out;
    int64_t   now;
    const sb_config_t  *cfg;
    size_t    prefix;
} sb_stats_t;


static int
sb_stats_queue(MDB_val *key, MDB_val *val, void *data)
{
    sb_stats_t   *s = data;
    const char   *group = (char *) key->mv_data + s->prefix;
    const char   *klass = group + strlen(group) + 1;
    int64_t       at = (int64_t) sb_key_read_u64(
                          (unsigned char *) klass + strlen(klass) + 1);
    json_t       *g, *c;

    g = json_object_get(s->out, group);
    if (g == NULL) {
        g = json_object();
        json_object_set_new(s->out, group, g);
    }
    c = json_object_get(g, klass);
    if (c == NULL) {
        /* keys are in waiting order: the first one is the oldest */
        c = json_pack("{s:i,s:I}", "length", 0, "oldest_wait_seconds",
                      (json_int_t) ((s->now - at) / 1000));
        json_object_set_new(g, klass, c);
    }
    json_object_set_new(c, "length",
                        json_integer(sb_get_int(c, "length") + 1));
    return 0;
}


static int
sb_stats_agent(MDB_val *key, MDB_val *val, void *data)
{
    sb_stats_t   *s = data;
    json_t       *agent = sb_row_json(val), *view, *c;
    const char   *status;
    int           k;

    if (agent == NULL) {
        return MDB_CORRUPTED;
    }
    for (k = 0; k < s->cfg->nclasses; k++) {
        view = sb_agent_class_view(s->cfg, agent, k, s->now);
        status = sb_get_str(view, "status");
        c = json_object_get(s->out, s->cfg->classes[k].name);
        json_object_set_new(c, status,
                            json_integer(sb_get_int(c, status) + 1));
        json_decref(view);
    }
    json_decref(agent);
    return 0;
}


static int
sb_stats_conv(MDB_val *key, MDB_val *val, void *data)
{
    sb_stats_t   *s = data;
    json_t       *conv = sb_row_json(val);
    const char   *state;

    if (conv == NULL) {
        return MDB_CORRUPTED;
    }
    state = sb_get_str(conv, "state");
    json_object_set_new(s->out, state,
                        json_integer(sb_get_int(s->out, state) + 1));
    json_decref(conv);
    return 0;
}


/* Queues per group and class, agents per status, conversations per state */
int
sb_query_stats(sb_store_t *st, MDB_txn *txn, const char *tenant,
    int64_t now, sb_result_t *res)
{
    static const char  *states[] = {
        "queued", "assigned", "snoozed", "released", "ended", NULL
    };
    sb_key_t            prefix;
    sb_stats_t          s = { NULL, now, st->cfg, 0 };
    json_t             *queues = json_object(), *agents = json_object();
    json_t             *convs = json_object();
    const char        **p;
    int                 rc, k;

    sb_key_init(&prefix, tenant);
    s.prefix = prefix.n;

    s.out = queues;
    rc = sb_scan(txn, st->db[SB_DB_QUEUE], &prefix, NULL, SIZE_MAX,
                 sb_stats_queue, &s);
    for (k = 0; k < st->cfg->nclasses; k++) {
        json_object_set_new(agents, st->cfg->classes[k].name,
                            json_pack("{s:i,s:i,s:i}", "green", 0, "orange",
                                      0, "red", 0));
    }
    if (rc == 0) {
        s.out = agents;
        rc = sb_scan(txn, st->db[SB_DB_AGENT], &prefix, NULL, SIZE_MAX,
                     sb_stats_agent, &s);
    }
    for (p = states; *p; p++) {
        json_object_set_new(convs, *p, json_integer(0));
    }
    if (rc == 0) {
        s.out = convs;
        rc = sb_scan(txn, st->db[SB_DB_CONV], &prefix, NULL, SIZE_MAX,
                     sb_stats_conv, &s);
    }
    if (rc) {
        json_decref(queues);
        json_decref(agents);
        json_decref(convs);
        return rc;
    }
    sb_result_set(res, 200, json_pack("{s:o,s:o,s:o}", "queues", queues,
                                       "agents", agents, "conversations",
                                       convs));
    return 0;
}


static int
sb_row_plain(MDB_val *key, MDB_val *val, void *data)
{
    json_t  *rec = sb_row_json(val);

    if (rec == NULL) {
        return MDB_CORRUPTED;
    }
    json_array_append_new(data, rec);
    return 0;
}


/* One canned response, or (id NULL) all of them in id order. */
int
sb_query_canned(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *id, sb_result_t *res)
{
    sb_key_t   k;
    json_t    *rec, *list;
    int        rc;

    sb_key_init(&k, tenant);
    if (id == NULL) {
        list = json_array();
        rc = sb_scan(txn, st->db[SB_DB_CANNED], &k, NULL, SIZE_MAX,
                     sb_row_plain, list);
        if (rc) {
            json_decref(list);
            return rc;
        }
        sb_result_set(res, 200, json_pack("{s:o}", "canned", list));
        return 0;
    }
    sb_key_str(&k, id);
    rc = sb_rec_get(txn, st->db[SB_DB_CANNED], &k, &rec);
    if (rc == MDB_NOTFOUND) {
        sb_result_error(res, 404, "unknown_canned", "no canned response %s",
                        id);
        return 0;
    }
    if (rc == 0) {
        sb_result_set(res, 200, rec);
    }
    return rc;
}


int
sb_query_block(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *channel, const char *visitor, sb_result_t *res)
{
    static const char  *times[] = { "at", "last_dropped_at", NULL };
    sb_key_t            k;
    json_t             *rec;
    int                 rc;

    sb_key_init(&k, tenant);
    sb_key_str(&k, channel);
    sb_key_str(&k, visitor);
    rc = sb_rec_get(txn, st->db[SB_DB_BLOCK], &k, &rec);
    if (rc == MDB_NOTFOUND) {
        sb_result_error(res, 404, "not_blocked", "%s on %s is not blocked",
                        visitor, channel);
        return 0;
    }
    if (rc == 0) {
        sb_render_times(rec, times);
        sb_result_set(res, 200, rec);
    }
    return rc;
}


/* R12: the capability table as configured. */
void
sb_query_capabilities(const sb_config_t *cfg, sb_result_t *res)
{
    json_t    *table = json_object(), *row;
    int        ch, i;

    for (ch = 0; ch < SB_CH_COUNT; ch++) {
        row = json_object();
        for (i = 0; i < SB_CAP_COUNT; i++) {
            json_object_set_new(row, sb_cap_name(1u << i),
                                json_boolean(cfg->caps[ch] & (1u << i)));
        }
        json_object_set_new(table, sb_channel_name(ch), row);
    }
    sb_result_set(res, 200, table);
}
