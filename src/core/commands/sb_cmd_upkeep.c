/* Internal upkeep: a delivery's or an event webhook's outcome from the
 * glue (R22), the admin's replay of failed events, a tenant's pause for a
 * move (issue 12), and the purge of dedupe rows (R21) and of failed
 * event webhooks kept too long (issue 20), which walks the rows a slice
 * at a time so that the writer is never held for long. */

#include "commands/sb_commands.h"

#define SB_PURGE_SLICE  4096
#define SB_PURGE_KEY    "\0purge_position"
#define SB_PURGE_HOOKS_KEY  "\0purge_hooks_position"
#define SB_RETAIN_CONVS_KEY  "\0retain_convs_position"
#define SB_RETAIN_EVENTS_KEY "\0retain_events_position"
#define SB_RETAIN_LEDGER_KEY "\0retain_ledger_position"
#define SB_RETAIN_CONVS  64         /* conversations erased a command */


int
sb_apply_delivered(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    return sb_delivery_outcome(cx, cmd);
}


int
sb_apply_hook_sent(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    return sb_hook_outcome(cx, cmd);
}


/* the mark every later command of the tenant reads; its deadlines go
 * aside meanwhile, so that no FIRE of any tenant walks past them */
int
sb_apply_pause(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_key_t  k;
    size_t    n = 0;

    sb_pause_key(&k, cx->tenant);
    if (cmd->type == SB_CMD_PAUSE) {
        SB_TRY(sb_deadlines_aside(cx, cx->tenant));
        return sb_put(cx->txn, SB_DB(cx, SB_DB_META), &k, "1", 1);
    }
    SB_TRY(sb_deadlines_back(cx, cx->tenant, &n));
    return sb_del(cx->txn, SB_DB(cx, SB_DB_META), &k);
}


/* a slice per command, so that a long backlog never holds the writer */
int
sb_apply_hook_replay(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    return sb_hook_replay(cx, SB_PURGE_SLICE, &cx->res->replayed);
}


/* A row of the walk: deleted (through cur) when it has served its time. */
typedef int (*sb_expire_pt)(sb_ctx_t *cx, MDB_cursor *cur, MDB_val *key,
    MDB_val *val, int *dropped);


/* R21: a dedupe row older than the window */
static int
sb_idem_expire(sb_ctx_t *cx, MDB_cursor *cur, MDB_val *key, MDB_val *val,
    int *dropped)
{
    sb_idem_t  row;

    *dropped = sb_idem_decode(val->mv_data, val->mv_size, &row) != 0
               || row.at < cx->now - cx->cfg->dedupe_ms;
    return *dropped ? mdb_cursor_del(cur, 0) : 0;
}


/*
 * One slice of a walk over every row of db (a global walk: it spans every
 * tenant), resumed where the last slice stopped (its position a row of
 * meta under poskey). 1 in *more when the walk is not through.
 */
static int
sb_purge_walk(sb_ctx_t *cx, int db, const char *poskey, size_t poslen,
    sb_expire_pt expire, size_t cap, size_t *count, int *more)
{
    MDB_cursor     *cur;
    MDB_val         key, val;
    sb_key_t        mk;
    unsigned char   from[SB_KEY_MAX];
    size_t          from_len = 0;
    int             rc, n, one;
    size_t          dropped;

    sb_key_init(&mk, NULL);
    sb_key_raw(&mk, poskey, poslen);
    rc = sb_get(cx->txn, SB_DB(cx, SB_DB_META), &mk, &val);
    if (rc == 0 && val.mv_size <= sizeof(from)) {
        memcpy(from, val.mv_data, val.mv_size);
        from_len = val.mv_size;
    } else if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }

    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, db), &cur));
    key.mv_size = from_len;
    key.mv_data = from;
    rc = mdb_cursor_get(cur, &key, &val, from_len ? MDB_SET_RANGE : MDB_FIRST);
    for (n = 0, dropped = 0; rc == 0 && n < SB_PURGE_SLICE && dropped < cap;
         n++)
    {
        rc = expire(cx, cur, &key, &val, &one);
        *count += (size_t) one;
        dropped += one;
        if (rc == 0) {
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
        }
    }
    if (rc == 0) {
        /* stopped mid-way: the next slice starts at this row */
        memcpy(from, key.mv_data, key.mv_size);
        from_len = key.mv_size;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }
    *more |= rc == 0;
    return rc == 0 ? sb_put(cx->txn, SB_DB(cx, SB_DB_META), &mk, from,
                            from_len)
                   : sb_del(cx->txn, SB_DB(cx, SB_DB_META), &mk);
}


static int
sb_retention_on(const sb_config_t *cfg)
{
    int  ch;

    for (ch = 0; ch < SB_CH_COUNT; ch++) {
        if (cfg->retention_ms[ch] > 0) {
            return 1;
        }
    }
    return 0;
}


/* The dedupe rows (R21), the failed event webhooks kept too long, and
 * what is past its retention (issue 20): a slice of each per command, and
 * at most SB_RETAIN_CONVS conversations, so that a transaction stays a
 * few milliseconds however much is due. */
int
sb_apply_purge(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_result_t  *res = cx->res;

    res->more = 0;
    SB_TRY(sb_purge_walk(cx, SB_DB_IDEM, SB_PURGE_KEY, sizeof(SB_PURGE_KEY),
                         sb_idem_expire, SB_PURGE_SLICE, &res->purged,
                         &res->more));
    SB_TRY(sb_purge_walk(cx, SB_DB_HOOK, SB_PURGE_HOOKS_KEY,
                         sizeof(SB_PURGE_HOOKS_KEY), sb_hook_expire,
                         SB_PURGE_SLICE, &res->dropped, &res->more));
    if (sb_retention_on(cx->cfg)) {
        SB_TRY(sb_purge_walk(cx, SB_DB_STATE, SB_RETAIN_CONVS_KEY,
                             sizeof(SB_RETAIN_CONVS_KEY), sb_retain_conv,
                             SB_RETAIN_CONVS, &res->erased, &res->more));
        SB_TRY(sb_purge_walk(cx, SB_DB_EVENT, SB_RETAIN_EVENTS_KEY,
                             sizeof(SB_RETAIN_EVENTS_KEY), sb_retain_event,
                             SB_PURGE_SLICE, &res->erased_events,
                             &res->more));
    }
    if (cx->cfg->ledger_retention_ms > 0) {
        SB_TRY(sb_purge_walk(cx, SB_DB_LEDGER, SB_RETAIN_LEDGER_KEY,
                             sizeof(SB_RETAIN_LEDGER_KEY), sb_retain_ledger,
                             SB_PURGE_SLICE, &res->erased_ledger,
                             &res->more));
    }
    return 0;
}
