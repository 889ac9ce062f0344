/* A tenant paused for a move to another node (issue 12): a mark in the
 * store, so that once its commit is done no command of the tenant and
 * none of its deadlines commits here again, in any worker, old or new;
 * its deadlines kept aside meanwhile; and the mark a move leaves. */

#include <errno.h>

#include "domain/sb_domain.h"

#define SB_PAUSE_ROW  "#paused"
#define SB_MOVED_ROW  "#moved"          /* sb-tenant drop's tombstone */
#define SB_ASIDE_ROW  "#aside"          /* t "#aside" deadline-key -> "" */


void
sb_pause_key(sb_key_t *k, const char *tenant)
{
    sb_key_init(k, tenant);
    sb_key_str(k, SB_PAUSE_ROW);
}


int
sb_tenant_is_paused(sb_store_t *st, MDB_txn *txn, const char *tenant)
{
    sb_key_t  k;
    MDB_val   val;

    sb_pause_key(&k, tenant);
    return sb_get(txn, st->db[SB_DB_META], &k, &val) == 0;
}


void
sb_moved_key(sb_key_t *k, const char *tenant)
{
    sb_key_init(k, tenant);
    sb_key_str(k, SB_MOVED_ROW);
}


/* SB_TENANT_LIVE, _PAUSED (being moved), or _MOVED (dropped here after
 * a move: what still comes is another node's). */
int
sb_tenant_state(sb_store_t *st, MDB_txn *txn, const char *tenant)
{
    sb_key_t  k;
    MDB_val   val;

    sb_pause_key(&k, tenant);
    if (sb_get(txn, st->db[SB_DB_META], &k, &val) == 0) {
        return SB_TENANT_PAUSED;
    }
    sb_moved_key(&k, tenant);
    return sb_get(txn, st->db[SB_DB_META], &k, &val) == 0 ? SB_TENANT_MOVED
                                                         : SB_TENANT_LIVE;
}


/*
 * A paused tenant's deadlines go aside (issue 19): out of the deadline
 * table, which every FIRE and every re-arm of every worker walks from its
 * start, into the meta db under the tenant (so that the move's export
 * carries them). Resuming, or a start on a node where the tenant is not
 * paused (the move's target), puts them back.
 */
int
sb_deadlines_aside(sb_ctx_t *cx, const char *tenant)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     k;
    size_t       tlen = strlen(tenant);
    int          rc;

    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &cur));
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0; ) {
        if (key.mv_size > 8 + tlen
            && memcmp((char *) key.mv_data + 8, tenant, tlen + 1) == 0)
        {
            sb_key_init(&k, tenant);
            sb_key_str(&k, SB_ASIDE_ROW);
            sb_key_raw(&k, key.mv_data, key.mv_size);
            rc = sb_put(cx->txn, SB_DB(cx, SB_DB_META), &k, "", 0);
            if (rc == 0) {
                rc = mdb_cursor_del(cur, 0);
            }
            if (rc == 0) {
                rc = mdb_cursor_get(cur, &key, &val, MDB_GET_CURRENT);
            }
            continue;
        }
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == EINVAL ? 0 : rc;
}


/* The tenant's deadlines back where they fire; *n counts them. */
int
sb_deadlines_back(sb_ctx_t *cx, const char *tenant, size_t *n)
{
    return sb_deadline_restore(cx, tenant, SB_ASIDE_ROW, 0, n);
}


/* At a start: every tenant's aside rows whose tenant is not paused here
 * go back (a move's target imported them). */
int
sb_deadlines_back_all(sb_ctx_t *cx, size_t *n)
{
    return sb_deadline_restore(cx, NULL, SB_ASIDE_ROW, 1, n);
}
