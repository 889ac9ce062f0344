/*
 * Group commit. Every command checks everything it can refuse (4xx)
 * before its first write, so a batch runs in one flat write transaction.
 * Only a store failure (map full, I/O) inside the batch aborts it; the
 * batch is then re-run one command per transaction, so the failure gets
 * its 507/500 and the others still commit. (LMDB's nested transactions
 * would isolate each command too, but cost a 2 MB dirty list each and a
 * sorted merge into the parent: quadratic in the batch.)
 */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "commands/sb_commands.h"


typedef int (*sb_apply_pt)(sb_ctx_t *cx, const sb_cmd_t *cmd);

static const sb_apply_pt  sb_appliers[SB_CMD_COUNT] = {
    [SB_CMD_VISITOR_MESSAGE] = sb_apply_visitor_message,
    [SB_CMD_WEBHOOK] = sb_apply_webhook,
    [SB_CMD_AGENT_MESSAGE] = sb_apply_agent_message,
    [SB_CMD_END] = sb_apply_let_go,
    [SB_CMD_SNOOZE] = sb_apply_let_go,
    [SB_CMD_RELEASE] = sb_apply_let_go,
    [SB_CMD_TRANSFER] = sb_apply_transfer,
    [SB_CMD_TAGS] = sb_apply_tags,
    [SB_CMD_BLOCK] = sb_apply_block,
    [SB_CMD_AVAILABILITY] = sb_apply_availability,
    [SB_CMD_SEEN] = sb_apply_seen,
    [SB_CMD_PUT_AGENT] = sb_apply_directory,
    [SB_CMD_DELETE_AGENT] = sb_apply_directory,
    [SB_CMD_PUT_GROUP] = sb_apply_directory,
    [SB_CMD_DELETE_GROUP] = sb_apply_directory,
    [SB_CMD_PUT_CANNED] = sb_apply_directory,
    [SB_CMD_DELETE_CANNED] = sb_apply_directory,
    [SB_CMD_UNBLOCK] = sb_apply_directory,
    [SB_CMD_FIRE] = sb_apply_fire,
    [SB_CMD_DELIVERED] = sb_apply_delivered,
    [SB_CMD_PURGE] = sb_apply_purge,
    [SB_CMD_HOOK_SENT] = sb_apply_hook_sent,
    [SB_CMD_HOOK_REPLAY] = sb_apply_hook_replay,
    [SB_CMD_PAUSE] = sb_apply_pause,
    [SB_CMD_RESUME] = sb_apply_pause,
    [SB_CMD_RECONCILE] = sb_apply_reconcile,
    [SB_CMD_PUT_ACCOUNT] = sb_apply_directory,
    [SB_CMD_DELETE_ACCOUNT] = sb_apply_directory,
    [SB_CMD_ERASE_VISITOR] = sb_apply_erase_visitor
};


/*
 * A paused tenant (issue 12) takes no command but its pause's end; the
 * outcomes of attempts already in flight still land, so that an export
 * waits for them rather than the next node sending again. FIRE and the
 * purge span tenants (a paused tenant's deadlines wait in the FIRE).
 */
static int
sb_paused_refuses(sb_cmd_type_t type)
{
    return type != SB_CMD_FIRE && type != SB_CMD_PURGE
           && type != SB_CMD_RECONCILE
           && type != SB_CMD_DELIVERED && type != SB_CMD_HOOK_SENT
           && type != SB_CMD_PAUSE && type != SB_CMD_RESUME;
}


int
sb_refuse(sb_ctx_t *cx, sb_refusal_t why)
{
    cx->res->outcome = SB_REFUSED;
    cx->res->refusal = why;
    return 0;
}


int
sb_refuse_about(sb_ctx_t *cx, sb_refusal_t why, const char *subject, int d0,
    int d1, int d2)
{
    sb_result_t  *res = cx->res;

    snprintf(res->subject, sizeof(res->subject), "%s", subject ? subject : "");
    res->detail[0] = d0;
    res->detail[1] = d1;
    res->detail[2] = d2;
    return sb_refuse(cx, why);
}


/*
 * What may still commit inside the store's reserve (issue 20): what
 * frees room (deletes, the purge), what keeps the floor running without
 * growing (presence, the outcome of a send already made, the operator's
 * pause, the reconcile). New content, and deadlines that would write it,
 * wait for room.
 */
int
sb_may_use_reserve(sb_cmd_type_t type)
{
    switch (type) {
    case SB_CMD_AVAILABILITY:
    case SB_CMD_SEEN:
    case SB_CMD_DELETE_AGENT:
    case SB_CMD_DELETE_GROUP:
    case SB_CMD_DELETE_CANNED:
    case SB_CMD_DELETE_ACCOUNT:
    case SB_CMD_UNBLOCK:
    case SB_CMD_ERASE_VISITOR:
    case SB_CMD_DELIVERED:
    case SB_CMD_HOOK_SENT:
    case SB_CMD_PURGE:
    case SB_CMD_PAUSE:
    case SB_CMD_RESUME:
    case SB_CMD_RECONCILE:
        return 1;
    default:
        return 0;
    }
}


int
sb_frees_room(sb_cmd_type_t type)
{
    switch (type) {
    case SB_CMD_DELETE_AGENT:
    case SB_CMD_DELETE_GROUP:
    case SB_CMD_DELETE_CANNED:
    case SB_CMD_DELETE_ACCOUNT:
    case SB_CMD_UNBLOCK:
    case SB_CMD_ERASE_VISITOR:
        return 1;
    default:
        return 0;
    }
}


/* a map or a disk with no room left is the same news: 507 */
static int
sb_no_room(int rc)
{
    return rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT;
}


static void
sb_store_failure(sb_result_t *res, int rc)
{
    sb_result_free(res);
    res->outcome = sb_no_room(rc) ? SB_STORE_FULL : SB_STORE_FAILED;
    res->store_rc = rc;
}


static int64_t
sb_clock_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


/* Applies n commands in txn (begun here when NULL) and commits. */
static int
sb_apply_run(sb_store_t *st, sb_batch_t *b, MDB_txn *txn, sb_cmd_t **cmds,
    sb_result_t *results, size_t n, sb_moved_t *moved)
{
    sb_ctx_t   cx;
    size_t     i;
    int64_t    t0, t1;
    int        rc, state = SB_TENANT_LIVE, tight = -1;
    char       checked[SB_ID_MAX + 2] = "\1";     /* no tenant's name */

    if (txn == NULL) {
        SB_TRY(mdb_txn_begin(st->env, NULL, 0, &txn));
    }
    t0 = sb_clock_ns();
    sb_batch_begin(b, txn, moved);
    cx.st = st;
    cx.cfg = st->cfg;
    cx.txn = txn;
    cx.b = b;
    for (i = 0; i < n; i++) {
        /* a re-run after an abort must not keep what the abort produced
         * (a FIRE's claimed deliveries were never committed) */
        sb_result_free(&results[i]);
        results[i].outcome = SB_DONE;
        cx.tenant = cmds[i]->tenant;
        cx.now = cmds[i]->now;
        cx.res = &results[i];
        if (sb_paused_refuses(cmds[i]->type)) {
            /* one read per tenant in a row: a batch is mostly one */
            if (strcmp(checked, cx.tenant) != 0) {
                snprintf(checked, sizeof(checked), "%s", cx.tenant);
                state = sb_tenant_state(st, txn, cx.tenant);
            }
            if (state != SB_TENANT_LIVE) {
                (void) sb_refuse(&cx, state == SB_TENANT_PAUSED
                                      ? SB_REFUSE_TENANT_PAUSED
                                      : SB_REFUSE_TENANT_MOVED);
                continue;
            }
        } else {
            checked[0] = '\1';                 /* a pause may move */
        }
        if (!sb_may_use_reserve(cmds[i]->type) && st->cfg->reserve_bytes) {
            /* once a batch, when the first command needs to know */
            if (tight < 0) {
                tight = sb_store_tight(st, st->cfg->reserve_bytes);
            }
            if (tight) {
                sb_store_failure(&results[i], MDB_MAP_FULL);
                continue;
            }
        }
        rc = cmds[i]->type < SB_CMD_COUNT && sb_appliers[cmds[i]->type]
             ? sb_appliers[cmds[i]->type](&cx, cmds[i]) : EINVAL;
        if (rc) {
            mdb_txn_abort(txn);
            return rc;
        }
    }
    rc = sb_batch_flush(b);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    t1 = sb_clock_ns();
    rc = mdb_txn_commit(txn);
    sb_batch_timing(b, t1 - t0, sb_clock_ns() - t1, n);
    if (rc == 0) {
        sb_deadline_failures_clear(b);     /* parked, if a FIRE was here */
    }
    return rc;
}


/*
 * One command alone. A FIRE that failed on a row it could not act on
 * remembered it: run again, it parks that row first and fires the rest
 * (as many times as there are such rows, up to the memory's size).
 */
static int
sb_apply_one(sb_store_t *st, sb_batch_t *b, sb_cmd_t *cmd,
    sb_result_t *res, sb_moved_t *moved)
{
    size_t  mark, bad, tries;
    int     rc;

    for (tries = 0; ; tries++) {
        mark = moved->n;
        bad = sb_deadline_failures(b);
        rc = sb_apply_run(st, b, NULL, &cmd, res, 1, moved);
        if (rc == 0) {
            return 0;
        }
        sb_moved_truncate(moved, mark);
        if (cmd->type != SB_CMD_FIRE || sb_deadline_failures(b) == bad
            || tries == SB_PARK_MAX)
        {
            sb_store_failure(res, rc);
            return rc;
        }
    }
}


/* The batch in txn (NULL: a new one); on a store failure, once more one
 * command per transaction. */
static int
sb_apply_in(sb_store_t *st, sb_batch_t *b, MDB_txn *txn, sb_cmd_t **cmds,
    sb_result_t *results, size_t n, sb_moved_t *moved)
{
    size_t  i, mark = moved->n;
    int     rc, failed = 0;

    rc = sb_apply_run(st, b, txn, cmds, results, n, moved);
    if (rc == 0) {
        return 0;
    }
    sb_moved_truncate(moved, mark);
    if (n == 1 && sb_deadline_failures(b) == 0) {
        sb_store_failure(&results[0], rc);
        return rc;
    }
    for (i = 0; i < n; i++) {
        rc = sb_apply_one(st, b, cmds[i], &results[i], moved);
        if (rc) {
            failed = rc;
        }
    }
    return failed;
}


int
sb_apply_batch(sb_store_t *st, sb_batch_t *b, sb_cmd_t **cmds,
    sb_result_t *results, size_t n, sb_moved_t *moved)
{
    return sb_apply_in(st, b, NULL, cmds, results, n, moved);
}


/*
 * The batch is collected once the write lock is held, not before: while
 * another process commits, this one's commands keep joining the batch
 * that will go next, instead of waiting for the one after it.
 */
int
sb_apply_collected(sb_store_t *st, sb_batch_t *b, sb_collect_pt collect,
    void *data, sb_cmd_t **cmds, sb_result_t *results, size_t cap,
    size_t *n, sb_moved_t *moved)
{
    MDB_txn  *txn;
    size_t    i;
    int       rc;

    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    *n = collect(data, cmds, cap);
    if (rc) {
        for (i = 0; i < *n; i++) {
            sb_store_failure(&results[i], rc);
        }
        return rc;
    }
    if (*n == 0) {
        mdb_txn_abort(txn);
        return 0;
    }
    return sb_apply_in(st, b, txn, cmds, results, *n, moved);
}
