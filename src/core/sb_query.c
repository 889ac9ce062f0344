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
    const char  *state;
    json_t      *list;
    int64_t      now;
} sb_conv_filter_t;


static int
sb_conv_row(MDB_val *key, MDB_val *val, void *data)
{
    sb_conv_filter_t  *f = data;
    json_t            *conv = sb_row_json(val);

    if (conv == NULL) {
        return MDB_CORRUPTED;
    }
    if (f->state == NULL || strcmp(sb_get_str(conv, "state"), f->state) == 0) {
        json_array_append_new(f->list, sb_conversation_view(conv, f->now));
    }
    json_decref(conv);
    return 0;
}


int
sb_query_conversations(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *state, int64_t now, sb_result_t *res)
{
    sb_key_t          prefix;
    sb_conv_filter_t  f = { state, json_array(), now };
    int               rc;

    sb_key_init(&prefix, tenant);
    rc = sb_scan(txn, st->db[SB_DB_CONV], &prefix, NULL, SIZE_MAX,
                 sb_conv_row, &f);
    if (rc) {
        json_decref(f.list);
        return rc;
    }
    sb_result_set(res, 200, json_pack("{s:o}", "conversations", f.list));
    return 0;
}
