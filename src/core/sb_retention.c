/* Dedupe retention (R21): provider message ids, Idempotency-Keys and our
 * sends' provider ids are kept for switchboard_dedupe_window, then purged
 * a slice at a time so the writer is never held for long. */

#include <string.h>

#include "sb_internal.h"

#define SB_PURGE_SLICE  4096


/* Resumes the walk where the last slice stopped; answers {purged, more}. */
int
sb_apply_purge(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    MDB_cursor  *cur;
    MDB_val      key, val, mark;
    sb_key_t     mk;
    json_t      *row;
    int64_t      before = cmd->now - cx->st->cfg->dedupe_ms;
    int          rc, n, purged = 0;
    unsigned char  from[SB_KEY_MAX];
    size_t       from_len = 0;

    /* the position is a global row: the walk spans every tenant */
    mk.n = 0;
    mk.overflow = 0;
    sb_key_str(&mk, "purge_position");
    key.mv_size = mk.n;
    key.mv_data = mk.b;
    rc = mdb_get(cx->txn, cx->st->db[SB_DB_META], &key, &mark);
    if (rc == 0 && mark.mv_size <= sizeof(from)) {
        memcpy(from, mark.mv_data, mark.mv_size);
        from_len = mark.mv_size;
    } else if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }

    SB_TRY(mdb_cursor_open(cx->txn, cx->st->db[SB_DB_IDEM], &cur));
    key.mv_size = from_len;
    key.mv_data = from;
    rc = mdb_cursor_get(cur, &key, &val, from_len ? MDB_SET_RANGE : MDB_FIRST);
    for (n = 0; rc == 0 && n < SB_PURGE_SLICE; n++) {
        row = NULL;
        if (sb_rec_get_val(&val, &row) == 0 && sb_get_int(row, "at") < before)
        {
            rc = mdb_cursor_del(cur, 0);
            purged++;
        }
        json_decref(row);
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

    key.mv_size = mk.n;
    key.mv_data = mk.b;
    if (rc == 0) {
        rc = sb_raw_put(cx->txn, cx->st->db[SB_DB_META], &mk, from, from_len);
    } else {
        rc = mdb_del(cx->txn, cx->st->db[SB_DB_META], &key, NULL);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
        from_len = 0;
    }
    if (rc == 0) {
        res->status = 200;
        res->data = json_pack("{s:i,s:b}", "purged", purged,
                              "more", from_len != 0);
    }
    return rc;
}
