/* Internal upkeep: a delivery's or an event webhook's outcome from the
 * glue (R22), the admin's replay of failed events, a tenant's pause for a
 * move (issue 12), and the dedupe purge (R21), which walks the
 * idempotency rows a slice at a time so that the writer is never held
 * for long. */

#include "commands/sb_commands.h"

#define SB_PURGE_SLICE  4096
#define SB_PURGE_KEY    "\0purge_position"


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


/* Resumes the walk where the last slice stopped (a global row: the walk
 * spans every tenant). */
int
sb_apply_purge(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    MDB_cursor     *cur;
    MDB_val         key, val;
    sb_key_t        mk;
    sb_idem_t       row;
    int64_t         before = cmd->now - cx->cfg->dedupe_ms;
    unsigned char   from[SB_KEY_MAX];
    size_t          from_len = 0;
    int             rc, n;

    sb_key_init(&mk, NULL);
    sb_key_raw(&mk, SB_PURGE_KEY, sizeof(SB_PURGE_KEY));
    rc = sb_get(cx->txn, SB_DB(cx, SB_DB_META), &mk, &val);
    if (rc == 0 && val.mv_size <= sizeof(from)) {
        memcpy(from, val.mv_data, val.mv_size);
        from_len = val.mv_size;
    } else if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }

    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_IDEM), &cur));
    key.mv_size = from_len;
    key.mv_data = from;
    rc = mdb_cursor_get(cur, &key, &val, from_len ? MDB_SET_RANGE : MDB_FIRST);
    for (n = 0; rc == 0 && n < SB_PURGE_SLICE; n++) {
        if (sb_idem_decode(val.mv_data, val.mv_size, &row) != 0
            || row.at < before)
        {
            rc = mdb_cursor_del(cur, 0);
            cx->res->purged++;
        }
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
    cx->res->more = rc == 0;
    return rc == 0 ? sb_put(cx->txn, SB_DB(cx, SB_DB_META), &mk, from,
                            from_len)
                   : sb_del(cx->txn, SB_DB(cx, SB_DB_META), &mk);
}
