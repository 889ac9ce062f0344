/* The router (R1-R5a, R9, R19): picks an agent for a conversation, queues
 * it when none qualifies, drains queues the moment a slot frees up. */

#include <stdio.h>
#include <string.h>

#include "sb_internal.h"


int
sb_conv_class(sb_ctx_t *cx, json_t *conv)
{
    const char  *name = sb_get_str(conv, "class");

    return sb_class_find(cx->st->cfg, name, strlen(name));
}


static int
sb_agent_qualifies(sb_ctx_t *cx, json_t *agent, int k)
{
    const sb_config_t  *cfg = cx->st->cfg;

    return sb_agent_available(cfg, agent, k)
           && sb_agent_present(cfg, agent, cx->now)
           && sb_agent_used(cfg, agent, k) < sb_agent_capacity(cfg, agent, k);
}


static void
sb_queue_key(sb_ctx_t *cx, sb_key_t *k, const char *group,
    const char *klass)
{
    sb_key_init(k, cx->tenant);
    sb_key_str(k, group);
    sb_key_str(k, klass);
}


static int
sb_queue_del(sb_ctx_t *cx, json_t *conv)
{
    sb_key_t  k;
    int64_t   at = sb_get_int(conv, "queued_at");

    if (at == 0) {
        return 0;
    }
    sb_queue_key(cx, &k, sb_get_str(conv, "group"), sb_get_str(conv, "class"));
    sb_key_u64(&k, (uint64_t) at);
    sb_key_str(&k, sb_get_str(conv, "id"));
    sb_set_time(conv, "queued_at", 0);
    return sb_raw_del(cx->txn, cx->st->db[SB_DB_QUEUE], &k);
}


/* R3: a group's queue is ordered by the oldest unanswered visitor message */
static int
sb_enqueue(sb_ctx_t *cx, json_t *conv)
{
    sb_key_t  k;
    int64_t   since = sb_get_int(conv, "waiting_since");

    SB_TRY(sb_queue_del(cx, conv));
    if (since == 0) {
        since = cx->now;
    }
    json_object_set_new(conv, "state", json_string("queued"));
    json_object_set_new(conv, "agent", json_null());
    sb_set_time(conv, "queued_at", since);

    sb_queue_key(cx, &k, sb_get_str(conv, "group"), sb_get_str(conv, "class"));
    sb_key_u64(&k, (uint64_t) since);
    sb_key_str(&k, sb_get_str(conv, "id"));
    SB_TRY(sb_raw_put(cx->txn, cx->st->db[SB_DB_QUEUE], &k, "", 0));
    return sb_conv_save(cx, conv);
}


/* R13: an agent given a waiting visitor has first_reply_timeout to answer */
int
sb_assign(sb_ctx_t *cx, json_t *conv, json_t *agent, int k)
{
    const sb_config_t  *cfg = cx->st->cfg;
    const char         *agent_id = sb_get_str(agent, "id");
    json_t             *held, *list, *handlers;
    char                owner[SB_ID_MAX + 8], text[256];

    SB_TRY(sb_queue_del(cx, conv));

    json_object_set_new(conv, "state", json_string("assigned"));
    json_object_set_new(conv, "agent", json_string(agent_id));
    sb_set_time(conv, "assigned_at", cx->now);
    handlers = json_object_get(conv, "handlers");
    json_array_append_new(handlers,
        json_pack("{s:s,s:I,s:n}", "agent", agent_id, "from",
                  (json_int_t) cx->now, "to"));

    held = json_object_get(agent, "held");
    list = json_object_get(held, cfg->classes[k].name);
    if (list == NULL) {
        list = json_array();
        json_object_set_new(held, cfg->classes[k].name, list);
    }
    json_array_append_new(list, json_string(sb_get_str(conv, "id")));
    sb_set_time(agent, "last_assigned_at", cx->now);

    snprintf(text, sizeof(text), "Assigned to %s",
             sb_get_str(agent, "name"));
    SB_TRY(sb_thread_append(cx, conv, "system", "switchboard", text,
                            "assigned", NULL));

    sb_agent_owner(agent_id, owner, sizeof(owner));
    SB_TRY(sb_log_append(cx, owner,
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}",
                  "type", "conversation.assigned",
                  "conversation", sb_get_str(conv, "id"),
                  "channel", sb_get_str(conv, "channel"),
                  "class", sb_get_str(conv, "class"),
                  "group", sb_get_str(conv, "group"),
                  "visitor", sb_get_str(conv, "visitor"))));

    if (sb_get_int(conv, "waiting_since")) {
        json_object_set_new(conv, "reply_kind", json_string("first_reply"));
        SB_TRY(sb_deadline_set(cx, conv, SB_DL_REPLY,
                               cx->now + cx->st->cfg->first_reply_ms));
    }

    SB_TRY(sb_conv_save(cx, conv));
    return sb_agent_save(cx, agent);
}


/* R2: fewest conversations in the class, then longest since assignment;
 * never the excluded agent (R14a). *best is NULL when none qualifies. */
int
sb_pick_agent(sb_ctx_t *cx, json_t *conv, const char *exclude, json_t **best)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix;
    json_t      *agent;
    int          k, rc, used, best_used = 0;
    char         id[SB_ID_MAX + 1];

    *best = NULL;
    k = sb_conv_class(cx, conv);
    if (k < 0) {
        return MDB_INCOMPATIBLE;
    }

    sb_key_init(&prefix, cx->tenant);
    sb_key_str(&prefix, sb_get_str(conv, "group"));

    rc = mdb_cursor_open(cx->txn, cx->st->db[SB_DB_MEMBER], &cur);
    if (rc) {
        return rc;
    }
    key.mv_size = prefix.n;
    key.mv_data = prefix.b;
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

    while (rc == 0 && key.mv_size > prefix.n
           && memcmp(key.mv_data, prefix.b, prefix.n) == 0)
    {
        snprintf(id, sizeof(id), "%.*s", (int) (key.mv_size - prefix.n - 1),
                 (char *) key.mv_data + prefix.n);

        if ((exclude == NULL || strcmp(id, exclude) != 0)
            && sb_agent_load(cx, id, &agent) == 0)
        {
            used = sb_agent_used(cx->st->cfg, agent, k);
            if (sb_agent_qualifies(cx, agent, k)
                && (*best == NULL || used < best_used
                    || (used == best_used
                        && sb_get_int(agent, "last_assigned_at")
                           < sb_get_int(*best, "last_assigned_at"))))
            {
                json_decref(*best);
                *best = agent;
                best_used = used;
            } else {
                json_decref(agent);
            }
        }
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(cur);

    if (rc && rc != MDB_NOTFOUND) {
        json_decref(*best);
        *best = NULL;
        return rc;
    }
    return 0;
}


/* Assigns or queues; prefer (R14b) wins when that agent is green. */
int
sb_route_ex(sb_ctx_t *cx, json_t *conv, const char *exclude,
    const char *prefer)
{
    json_t  *best = NULL;
    int      rc, k = sb_conv_class(cx, conv);

    if (k < 0) {
        return MDB_INCOMPATIBLE;
    }
    if (prefer && sb_agent_load(cx, prefer, &best) == 0
        && !sb_agent_qualifies(cx, best, k))
    {
        json_decref(best);
        best = NULL;
    }
    if (best == NULL) {
        SB_TRY(sb_pick_agent(cx, conv, exclude, &best));
    }
    if (best == NULL) {
        return sb_enqueue(cx, conv);
    }
    rc = sb_assign(cx, conv, best, k);
    json_decref(best);
    return rc;
}


int
sb_route(sb_ctx_t *cx, json_t *conv)
{
    return sb_route_ex(cx, conv, NULL, NULL);
}


/* R7, R8: a snoozed or released conversation comes back to routing. */
int
sb_wake(sb_ctx_t *cx, json_t *conv, const char *why)
{
    json_t      *handlers = json_object_get(conv, "handlers");
    const char  *last = NULL;
    char         text[256];

    SB_TRY(sb_deadline_clear(cx, conv, SB_DL_SNOOZE));
    json_object_set_new(conv, "snoozed_until", json_null());
    snprintf(text, sizeof(text), "Woke up: %s", why);
    SB_TRY(sb_thread_append(cx, conv, "system", "switchboard", text, "woke",
                            NULL));
    if (cx->st->cfg->sticky && json_array_size(handlers)) {
        last = sb_get_str(json_array_get(handlers,
                                         json_array_size(handlers) - 1),
                          "agent");
    }
    return sb_route_ex(cx, conv, NULL, last);
}


/* The oldest queued conversation of class k in any of the agent's groups. */
static int
sb_queue_oldest(sb_ctx_t *cx, json_t *agent, int k, const char *avoid,
    char *conv_id)
{
    MDB_cursor    *cur;
    MDB_val        key, val;
    sb_key_t       prefix;
    size_t         i;
    json_t        *groups = json_object_get(agent, "groups");
    uint64_t       at, best_at = UINT64_MAX;
    int            rc;

    conv_id[0] = '\0';
    rc = mdb_cursor_open(cx->txn, cx->st->db[SB_DB_QUEUE], &cur);
    if (rc) {
        return rc;
    }

    for (i = 0; i < json_array_size(groups); i++) {
        sb_queue_key(cx, &prefix, json_string_value(json_array_get(groups, i)),
                     cx->st->cfg->classes[k].name);
        key.mv_size = prefix.n;
        key.mv_data = prefix.b;
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND) {
            continue;
        }
        if (rc) {
            break;
        }
        if (key.mv_size <= prefix.n + 8
            || memcmp(key.mv_data, prefix.b, prefix.n) != 0)
        {
            continue;
        }
        if (avoid && strcmp((char *) key.mv_data + prefix.n + 8, avoid) == 0)
        {
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
            if (rc || key.mv_size <= prefix.n + 8
                || memcmp(key.mv_data, prefix.b, prefix.n) != 0)
            {
                rc = rc == MDB_NOTFOUND ? 0 : rc;
                continue;
            }
        }
        at = sb_key_read_u64((unsigned char *) key.mv_data + prefix.n);
        if (at < best_at) {
            best_at = at;
            snprintf(conv_id, SB_ID_MAX + 1, "%.*s",
                     (int) (key.mv_size - prefix.n - 9),
                     (char *) key.mv_data + prefix.n + 8);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* R3: the moment an agent can take work, it takes the longest waiting. */
int
sb_drain(sb_ctx_t *cx, const char *agent_id, int k)
{
    return sb_drain_avoiding(cx, agent_id, k, NULL);
}


/* avoid: a conversation this agent just let go of (R8) is not taken back */
int
sb_drain_avoiding(sb_ctx_t *cx, const char *agent_id, int k,
    const char *avoid)
{
    json_t  *agent, *conv;
    char     conv_id[SB_ID_MAX + 1];
    int      rc;

    for ( ;; ) {
        rc = sb_agent_load(cx, agent_id, &agent);
        if (rc) {
            return rc == MDB_NOTFOUND ? 0 : rc;
        }
        if (!sb_agent_qualifies(cx, agent, k)) {
            json_decref(agent);
            return 0;
        }
        rc = sb_queue_oldest(cx, agent, k, avoid, conv_id);
        if (rc || conv_id[0] == '\0') {
            json_decref(agent);
            return rc;
        }
        rc = sb_conv_load(cx, conv_id, &conv);
        if (rc == 0) {
            rc = sb_assign(cx, conv, agent, k);
            json_decref(conv);
        }
        json_decref(agent);
        if (rc) {
            return rc;
        }
    }
}


int
sb_drain_all(sb_ctx_t *cx, const char *agent_id)
{
    int  k;

    for (k = 0; k < cx->st->cfg->nclasses; k++) {
        SB_TRY(sb_drain(cx, agent_id, k));
    }
    return 0;
}


/* Frees the agent's slot and its reply clock; the caller saves both. */
int
sb_unassign(sb_ctx_t *cx, json_t *conv, json_t *agent)
{
    json_t      *list, *handlers, *h;
    const char  *id = sb_get_str(conv, "id");
    size_t       i;

    list = json_object_get(json_object_get(agent, "held"),
                           sb_get_str(conv, "class"));
    for (i = 0; i < json_array_size(list); i++) {
        if (strcmp(json_string_value(json_array_get(list, i)), id) == 0) {
            json_array_remove(list, i);
            break;
        }
    }

    handlers = json_object_get(conv, "handlers");
    h = json_array_get(handlers, json_array_size(handlers) - 1);
    if (h && json_is_null(json_object_get(h, "to"))) {
        json_object_set_new(h, "to", json_integer(cx->now));
    }
    json_object_set_new(conv, "agent", json_null());
    return sb_deadline_clear(cx, conv, SB_DL_REPLY);
}


/* The holder lets go: slot and reply clock freed, its poll told why. */
int
sb_hand_back(sb_ctx_t *cx, json_t *conv, json_t *agent, const char *reason)
{
    char  owner[SB_ID_MAX + 8];

    SB_TRY(sb_unassign(cx, conv, agent));
    SB_TRY(sb_agent_save(cx, agent));
    sb_agent_owner(sb_get_str(agent, "id"), owner, sizeof(owner));
    return sb_log_append(cx, owner,
               json_pack("{s:s,s:s,s:s}", "type", "conversation.unassigned",
                         "conversation", sb_get_str(conv, "id"),
                         "reason", reason));
}


/* Takes a conversation from its agent and routes it again (agent removed). */
int
sb_requeue(sb_ctx_t *cx, json_t *conv)
{
    json_t  *agent;
    int      rc;

    rc = sb_agent_load(cx, sb_get_str(conv, "agent"), &agent);
    if (rc == 0) {
        rc = sb_unassign(cx, conv, agent);
        if (rc == 0) {
            rc = sb_agent_save(cx, agent);
        }
        json_decref(agent);
    }
    if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    json_object_set_new(conv, "agent", json_null());
    SB_TRY(sb_thread_append(cx, conv, "system", "switchboard",
                            "Returned to the queue: its agent was removed",
                            "reassigned", NULL));
    return sb_route(cx, conv);
}


static int
sb_ledger_append(sb_ctx_t *cx, json_t *conv)
{
    sb_key_t  k;
    MDB_val   key, val;
    uint64_t  seq = 0;
    json_t   *entry;
    int       rc;

    sb_key_init(&k, cx->tenant);
    rc = sb_prefix_last(cx->txn, cx->st->db[SB_DB_LEDGER], &k, &key, &val);
    if (rc == 0 && key.mv_size == k.n + 8) {
        seq = sb_key_read_u64((unsigned char *) key.mv_data + k.n);
    } else if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    sb_key_u64(&k, seq + 1);

    entry = json_pack("{s:I,s:s,s:s,s:I,s:s,s:O}", "seq",
                      (json_int_t) (seq + 1), "conversation",
                      sb_get_str(conv, "id"), "channel",
                      sb_get_str(conv, "channel"), "ended_at",
                      (json_int_t) cx->now, "end_reason",
                      sb_get_str(conv, "end_reason"), "credited_agent",
                      json_object_get(conv, "credited_agent"));
    rc = sb_rec_put(cx->txn, cx->st->db[SB_DB_LEDGER], &k, entry);
    json_decref(entry);
    return rc;
}


/* R9, R15, R19: final; credit goes to the author of the last agent
 * message; every pending deadline of the conversation goes with it. */
int
sb_end(sb_ctx_t *cx, json_t *conv, const char *by, const char *text,
    const char *reason)
{
    json_t      *agent = NULL;
    sb_key_t     k;
    char         owner[2 * SB_ID_MAX + 16];
    const char  *held_by = sb_get_str(conv, "agent");
    char         agent_id[SB_ID_MAX + 1] = "";
    int          rc, klass = sb_conv_class(cx, conv);

    if (held_by) {
        snprintf(agent_id, sizeof(agent_id), "%s", held_by);
        rc = sb_agent_load(cx, agent_id, &agent);
        if (rc && rc != MDB_NOTFOUND) {
            return rc;
        }
        if (agent) {
            rc = sb_unassign(cx, conv, agent);
            if (rc) {
                json_decref(agent);
                return rc;
            }
        }
    }
    SB_TRY(sb_queue_del(cx, conv));
    SB_TRY(sb_deadline_clear(cx, conv, SB_DL_REPLY));
    SB_TRY(sb_deadline_clear(cx, conv, SB_DL_SNOOZE));
    SB_TRY(sb_deadline_clear(cx, conv, SB_DL_CLOSE));
    json_object_set_new(conv, "snoozed_until", json_null());

    json_object_set_new(conv, "state", json_string("ended"));
    sb_set_time(conv, "ended_at", cx->now);
    json_object_set_new(conv, "end_reason", json_string(reason));
    json_object_set(conv, "credited_agent",
                    json_object_get(conv, "last_agent"));

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, sb_get_str(conv, "channel"));
    sb_key_str(&k, sb_get_str(conv, "visitor"));
    rc = sb_raw_del(cx->txn, cx->st->db[SB_DB_OPEN], &k);

    if (rc == 0) {
        rc = sb_thread_append(cx, conv, "system", by, text, "ended", NULL);
    }
    if (rc == 0) {
        rc = sb_ledger_append(cx, conv);
    }
    if (rc == 0) {
        sb_visitor_owner(sb_get_str(conv, "channel"),
                         sb_get_str(conv, "visitor"), owner, sizeof(owner));
        rc = sb_log_append(cx, owner,
                 json_pack("{s:s,s:s,s:s}", "type", "conversation.ended",
                           "conversation", sb_get_str(conv, "id"),
                           "reason", reason));
    }
    if (rc == 0 && agent) {
        sb_agent_owner(agent_id, owner, sizeof(owner));
        rc = sb_log_append(cx, owner,
                 json_pack("{s:s,s:s,s:s}", "type", "conversation.ended",
                           "conversation", sb_get_str(conv, "id"),
                           "reason", reason));
    }
    if (rc == 0) {
        rc = sb_conv_save(cx, conv);
    }
    if (rc == 0 && agent) {
        rc = sb_agent_save(cx, agent);
    }
    json_decref(agent);
    if (rc == 0 && agent_id[0] && klass >= 0) {
        rc = sb_drain(cx, agent_id, klass);
    }
    return rc;
}
