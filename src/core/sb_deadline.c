/* Deadlines (R7, R13-R16): rows keyed by due time in one database, set and
 * cleared in the transaction that changes their conversation, deleted in
 * the transaction that fires them: each fires once, whichever worker. */

#include <stdio.h>
#include <string.h>

#include "sb_internal.h"

#define SB_FIRE_BATCH  512


static void
sb_deadline_key(sb_key_t *k, int64_t due, const char *tenant,
    const char *conv, const char *kind)
{
    k->n = 0;
    k->overflow = 0;
    sb_key_u64(k, (uint64_t) due);
    sb_key_str(k, tenant);
    sb_key_str(k, conv);
    sb_key_str(k, kind);
}


int
sb_deadline_clear(sb_ctx_t *cx, json_t *conv, const char *kind)
{
    json_t   *all = json_object_get(conv, "deadlines");
    int64_t   due = sb_get_int(all, kind);
    sb_key_t  k;

    if (due == 0) {
        return 0;
    }
    sb_deadline_key(&k, due, cx->tenant, sb_get_str(conv, "id"), kind);
    json_object_del(all, kind);
    return sb_raw_del(cx->txn, cx->st->db[SB_DB_DEADLINE], &k);
}


int
sb_deadline_set(sb_ctx_t *cx, json_t *conv, const char *kind, int64_t due)
{
    json_t   *all = json_object_get(conv, "deadlines");
    sb_key_t  k;

    SB_TRY(sb_deadline_clear(cx, conv, kind));
    if (all == NULL) {
        all = json_object();
        json_object_set_new(conv, "deadlines", all);
    }
    json_object_set_new(all, kind, json_integer(due));
    sb_deadline_key(&k, due, cx->tenant, sb_get_str(conv, "id"), kind);
    return sb_raw_put(cx->txn, cx->st->db[SB_DB_DEADLINE], &k, "", 0);
}


/* The earliest pending deadline: the one timer every worker keeps armed. */
int
sb_deadline_earliest(sb_store_t *st, MDB_txn *txn, int64_t *due)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    int          rc;

    rc = mdb_cursor_open(txn, st->db[SB_DB_DEADLINE], &cur);
    if (rc) {
        return rc;
    }
    rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
    if (rc == 0) {
        *due = (int64_t) sb_key_read_u64(key.mv_data);
    }
    mdb_cursor_close(cur);
    return rc;
}


/* R13, R14, R14a: the agent did not answer in time; another one who
 * qualifies takes over, or the check repeats after the same delay. */
static int
sb_reply_overdue(sb_ctx_t *cx, json_t *conv)
{
    const sb_config_t  *cfg = cx->st->cfg;
    json_t             *best = NULL, *from = NULL;
    const char         *reason, *held = sb_get_str(conv, "agent");
    char                agent_id[SB_ID_MAX + 1];
    char                text[512], delay_s[32];
    int64_t             delay;
    int                 rc, k = sb_conv_class(cx, conv), first;

    if (held == NULL || strcmp(sb_get_str(conv, "state"), "assigned") != 0
        || k < 0)
    {
        return sb_conv_save(cx, conv);      /* keeps the fired row gone */
    }
    snprintf(agent_id, sizeof(agent_id), "%s", held);
    first = sb_str_is(conv, "reply_kind", "first_reply");
    delay = first ? cfg->first_reply_ms : cfg->reply_ms;
    reason = first ? "first_reply_timeout" : "reply_timeout";

    SB_TRY(sb_pick_agent(cx, conv, agent_id, &best));
    if (best == NULL) {
        /* stays; no thread entry: only moves are written (R14a) */
        SB_TRY(sb_deadline_set(cx, conv, SB_DL_REPLY, cx->now + delay));
        return sb_conv_save(cx, conv);
    }

    rc = sb_agent_load(cx, agent_id, &from);
    if (rc == 0) {
        rc = sb_hand_back(cx, conv, from, reason);
    }
    if (rc == 0) {
        sb_format_duration(delay, delay_s, sizeof(delay_s));
        snprintf(text, sizeof(text), "Reassigned from %s to %s: no %s "
                 "within %s", sb_get_str(from, "name"),
                 sb_get_str(best, "name"), first ? "first reply" : "reply",
                 delay_s);
        rc = sb_thread_append(cx, conv, "system", "switchboard", text,
                              "reassigned", NULL);
    }
    if (rc == 0) {
        rc = sb_assign(cx, conv, best, k);
    }
    if (rc == 0) {
        rc = sb_drain_avoiding(cx, agent_id, k, sb_get_str(conv, "id"));
    }
    json_decref(from);
    json_decref(best);
    return rc;
}


/* Each way out saves the conversation (whose deadline just went) once. */
static int
sb_fire_one(sb_ctx_t *cx, json_t *conv, const char *kind)
{
    char  text[256], delay_s[32];

    if (strcmp(kind, SB_DL_SNOOZE) == 0) {
        if (strcmp(sb_get_str(conv, "state"), "snoozed") != 0) {
            return sb_conv_save(cx, conv);
        }
        return sb_wake(cx, conv, "the snooze ended");
    }
    if (strcmp(kind, SB_DL_REPLY) == 0) {
        return sb_reply_overdue(cx, conv);
    }
    if (strncmp(kind, "deliver:", 8) == 0) {
        return sb_delivery_claim(cx, conv, kind);
    }
    if (strcmp(kind, SB_DL_CLOSE) == 0) {
        sb_format_duration(cx->st->cfg->auto_close_ms[
            sb_channel_parse(sb_get_str(conv, "channel"),
                             strlen(sb_get_str(conv, "channel")))],
            delay_s, sizeof(delay_s));
        snprintf(text, sizeof(text), "Ended automatically: no visitor "
                 "message for %s", delay_s);
        return sb_end(cx, conv, "switchboard", text, "auto_close");
    }
    return sb_conv_save(cx, conv);
}


/* Fires every deadline due at cmd->now (up to a batch), across tenants. */
int
sb_fire_due(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    json_t      *conv;
    char         tenant[SB_ID_MAX + 1], id[SB_ID_MAX + 1], kind[32];
    const char  *p;
    int64_t      due;
    int          rc, n;

    res->status = 204;
    cx->jobs = json_array();

    for (n = 0; n < SB_FIRE_BATCH; n++) {
        rc = mdb_cursor_open(cx->txn, cx->st->db[SB_DB_DEADLINE], &cur);
        if (rc) {
            break;
        }
        rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
        if (rc == 0) {
            due = (int64_t) sb_key_read_u64(key.mv_data);
            if (due > cmd->now) {
                rc = MDB_NOTFOUND;
            } else {
                p = (const char *) key.mv_data + 8;
                snprintf(tenant, sizeof(tenant), "%s", p);
                p += strlen(p) + 1;
                snprintf(id, sizeof(id), "%s", p);
                p += strlen(p) + 1;
                snprintf(kind, sizeof(kind), "%s", p);
                rc = mdb_cursor_del(cur, 0);
            }
        }
        mdb_cursor_close(cur);
        if (rc) {
            break;
        }

        cx->tenant = tenant;
        cx->now = cmd->now;
        rc = sb_conv_load(cx, id, &conv);
        if (rc == MDB_NOTFOUND) {
            continue;
        }
        if (rc) {
            return rc;
        }
        /* a row the conversation no longer names is stale: dropped */
        if (sb_get_int(json_object_get(conv, "deadlines"), kind) == due) {
            json_object_del(json_object_get(conv, "deadlines"), kind);
            rc = sb_fire_one(cx, conv, kind);
        }
        json_decref(conv);
        if (rc) {
            break;
        }
    }

    /* the deliveries this firing claimed go to the glue with the answer */
    if (rc == 0 || rc == MDB_NOTFOUND) {
        rc = 0;
        if (json_array_size(cx->jobs)) {
            res->data = cx->jobs;
            cx->jobs = NULL;
        }
    }
    json_decref(cx->jobs);
    cx->jobs = NULL;
    return rc;
}
