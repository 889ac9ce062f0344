/* Deadlines firing (R7, R13-R16, R22, event webhooks): every row due by
 * the command's time, across tenants, up to a batch: deleted, then acted
 * on if its conversation (message, outbox row) still names it. */

#include <stdio.h>

#include "commands/sb_commands.h"

#define SB_FIRE_BATCH  512


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
        return c->state == SB_STATE_SNOOZED ? sb_wake(cx, c, "the snooze ended")
                                            : 0;
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


/* Fires every deadline due at cmd->now (up to a batch), across tenants. */
int
sb_apply_fire(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    MDB_cursor     *cur;
    MDB_val         key, val;
    sb_conv_t      *c;
    char            tenant[SB_ID_MAX + 1];
    const unsigned char  *p;
    uint64_t        conv, seq;
    int64_t         due;
    size_t          tlen;
    const char     *own = cx->tenant;
    unsigned char   past[SB_KEY_MAX];
    size_t          past_len = 0;
    int             rc = 0, n, kind, skipped;

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
            } else {
                memcpy(tenant, p + 8, tlen);
                tenant[tlen] = '\0';
                kind = p[8 + tlen + 1];
                conv = sb_be64(p + 8 + tlen + 2);
                seq = sb_be64(p + 8 + tlen + 10);
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
        if (kind == SB_DL_HOOK) {
            /* an event's row stands alone: its conversation may be gone */
            rc = sb_hook_claim(cx, conv, seq, due);
            if (rc) {
                break;
            }
            continue;
        }

        rc = sb_conv_get(cx, conv, &c);
        if (rc == MDB_NOTFOUND) {
            continue;
        }
        if (rc) {
            break;
        }
        if (kind == SB_DL_DELIVER) {
            rc = sb_delivery_claim(cx, c, seq, due);
            if (rc) {
                break;
            }
        } else if (kind < SB_DL_CONV_KINDS && c->due[kind] == due) {
            /* a row the conversation no longer names is stale: dropped */
            c->due[kind] = 0;
            rc = sb_fire_one(cx, c, kind);
            if (rc) {
                break;
            }
        }
    }
    cx->tenant = own;
    return rc == MDB_NOTFOUND ? 0 : rc;
}
