/* Deadlines firing (R7, R13-R16, R22, event webhooks): every row due by
 * the command's time, across tenants, up to a batch: deleted, then acted
 * on if its conversation (message, outbox row) still names it. */

#include <stdio.h>

#include "commands/sb_commands.h"

#define SB_FIRE_BATCH    512
#define SB_NOCLASS_WAIT  3600000       /* a wake with no class: 1 h later */


/* R7: a snooze ends; a conversation whose channel no slot class takes
 * (a reload removed it) cannot be routed, and waits, said in the log. */
static int
sb_snooze_over(sb_ctx_t *cx, sb_conv_t *c)
{
    if (c->state != SB_STATE_SNOOZED) {
        return 0;
    }
    if (c->klass < 0) {
        /* a parked row's note comes first: it is said once */
        if (cx->res->parked == 0) {
            snprintf(cx->res->note, sizeof(cx->res->note), "conversation "
                     "%s/c%llu cannot wake: no slot class takes channel %s; "
                     "it tries again in an hour", cx->tenant,
                     (unsigned long long) c->id,
                     sb_channel_name(c->channel));
        }
        return sb_deadline_set(cx, c, SB_DL_SNOOZE,
                               cx->now + SB_NOCLASS_WAIT);
    }
    return sb_wake(cx, c, "the snooze ended");
}


/* R13, R14, R14a: the agent did not answer in time; another one who
 * qualifies takes over, or the check repeats after the same delay. */
static int
sb_reply_overdue(sb_ctx_t *cx, sb_conv_t *c)
{
    sb_agent_t  *best, *from = NULL;
    char         held[SB_ID_MAX + 1], text[2 * SB_NAME_MAX + 96], delay_s[32];
    int64_t      delay;
    int          rc, first = c->first_reply, k = c->klass;

    if (c->agent[0] == '\0' || c->state != SB_STATE_ASSIGNED || k < 0) {
        return 0;
    }
    memcpy(held, c->agent, sizeof(held));
    delay = first ? cx->cfg->first_reply_ms : cx->cfg->reply_ms;

    SB_TRY(sb_pick(cx, c, held, &best));
    if (best == NULL) {
        /* stays; no thread entry: only moves are written (R14a) */
        return sb_deadline_set(cx, c, SB_DL_REPLY, cx->now + delay);
    }
    rc = sb_agent_get(cx, held, &from);
    if (rc == 0) {
        SB_TRY(sb_hand_back(cx, c, from, first ? SB_WHY_FIRST_REPLY_TIMEOUT
                                               : SB_WHY_REPLY_TIMEOUT));
    } else if (rc != MDB_NOTFOUND) {
        return rc;
    }
    sb_format_duration(delay, delay_s, sizeof(delay_s));
    snprintf(text, sizeof(text), "Reassigned from %s to %s: no %s within %s",
             from ? from->name : held, best->name,
             first ? "first reply" : "reply", delay_s);
    SB_TRY(sb_thread_system(cx, c, SB_SYS_REASSIGNED, "switchboard", text));
    SB_TRY(sb_assign(cx, c, best));
    return sb_drain(cx, held, k, c->id);
}


static int
sb_fire_one(sb_ctx_t *cx, sb_conv_t *c, int kind)
{
    char  text[96], delay_s[32];

    switch (kind) {
    case SB_DL_SNOOZE:
        return sb_snooze_over(cx, c);
    case SB_DL_REPLY:
        return sb_reply_overdue(cx, c);
    case SB_DL_CLOSE:
        sb_format_duration(cx->cfg->auto_close_ms[c->channel], delay_s,
                           sizeof(delay_s));
        snprintf(text, sizeof(text), "Ended automatically: no visitor "
                 "message for %s", delay_s);
        return sb_end(cx, c, "switchboard", text, SB_WHY_AUTO_CLOSE);
    default:
        return 0;
    }
}


/* A delivery or event row the worker has no free slot for stays due, for
 * a worker with one (issue 19: after an outage, one FIRE claimed 512 jobs,
 * each a connection to the provider at once). */
static int
sb_over_budget(sb_ctx_t *cx, const sb_cmd_t *cmd, int kind)
{
    if (!cmd->u.fire.budgeted) {
        return 0;
    }
    if (kind == SB_DL_DELIVER) {
        return cx->res->njobs >= (size_t) cmd->u.fire.deliveries;
    }
    return kind == SB_DL_HOOK
           && cx->res->nhooks >= (size_t) cmd->u.fire.hooks;
}


/* One row, deleted already: what it says, if its subject still names it. */
static int
sb_fire_row(sb_ctx_t *cx, int kind, uint64_t conv, uint64_t seq, int64_t due)
{
    sb_conv_t  *c;
    int         rc;

    if (kind == SB_DL_HOOK) {
        /* an event's row stands alone: its conversation may be gone */
        return sb_hook_claim(cx, conv, seq, due);
    }
    rc = sb_conv_get(cx, conv, &c);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    if (kind == SB_DL_DELIVER) {
        return sb_delivery_claim(cx, c, seq, due);
    }
    if (kind < SB_DL_CONV_KINDS && c->due[kind] == due) {
        /* a row the conversation no longer names is stale: dropped */
        c->due[kind] = 0;
        return sb_fire_one(cx, c, kind);
    }
    return 0;
}


/*
 * Fires every deadline due at cmd->now (up to a batch), across tenants.
 * A row that cannot be acted on fails this transaction but is remembered
 * (sb_deadline_failed): the FIRE run again parks it first and fires the
 * rest, so one bad row never stops the deadlines behind it (issue 19).
 */
int
sb_apply_fire(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    MDB_cursor     *cur;
    MDB_val         key, val;
    char            tenant[SB_ID_MAX + 1];
    const unsigned char  *p;
    uint64_t        conv, seq;
    int64_t         due;
    size_t          tlen;
    const char     *own = cx->tenant;
    unsigned char   past[SB_KEY_MAX + 1];
    size_t          past_len = 0;
    int             rc = 0, n, kind, skipped;
    unsigned char   row[SB_KEY_MAX];
    MDB_val         fired = { 0, row };

    SB_TRY(sb_deadline_park_failed(cx));
    cx->tenant = tenant;
    for (n = 0; n < SB_FIRE_BATCH; n++) {
        rc = mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &cur);
        if (rc) {
            break;
        }
        if (past_len) {
            key.mv_data = past;
            key.mv_size = past_len;
            rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        } else {
            rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
        }
        /* a tenant being moved keeps its deadlines for its next node;
         * the next round starts past them (a row made due meanwhile
         * before that point waits for the next FIRE) */
        skipped = 0;
        while (rc == 0 && sb_deadline_paused(cx->st, cx->txn, &key)) {
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
            skipped = 1;
        }
        if (rc == 0 && skipped && key.mv_size <= sizeof(past)) {
            memcpy(past, key.mv_data, key.mv_size);
            past_len = key.mv_size;
        }
        if (rc == 0) {
            p = key.mv_data;
            tlen = key.mv_size > 8 ? strnlen((char *) p + 8, key.mv_size - 8)
                                   : key.mv_size;
            due = (int64_t) sb_be64(p);
            if (due > cmd->now) {
                rc = MDB_NOTFOUND;
            } else if (tlen > SB_ID_MAX || key.mv_size != 8 + tlen + 18) {
                rc = mdb_cursor_del(cur, 0);       /* not a row of ours */
                kind = -1;
            } else if (sb_over_budget(cx, cmd, p[8 + tlen + 1])) {
                /* left as it is; the next round starts past it */
                memcpy(past, key.mv_data, key.mv_size);
                past[key.mv_size] = '\0';
                past_len = key.mv_size + 1;
                cx->res->jobs_waiting = 1;
                kind = -1;
            } else {
                memcpy(tenant, p + 8, tlen);
                tenant[tlen] = '\0';
                kind = p[8 + tlen + 1];
                conv = sb_be64(p + 8 + tlen + 2);
                seq = sb_be64(p + 8 + tlen + 10);
                memcpy(row, key.mv_data, key.mv_size);
                fired.mv_size = key.mv_size;
                rc = mdb_cursor_del(cur, 0);
            }
        }
        mdb_cursor_close(cur);
        if (rc) {
            break;
        }
        if (kind < 0) {
            continue;
        }
        rc = sb_fire_row(cx, kind, conv, seq, due);
        if (rc) {
            /* a store failure is the batch's; any other, this row's */
            if (!sb_store_failure_rc(rc)) {
                (void) sb_deadline_failed(cx, &fired, rc);
            }
            break;
        }
    }
    cx->tenant = own;
    return rc == MDB_NOTFOUND ? 0 : rc;
}
