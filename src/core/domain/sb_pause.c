/* A tenant paused for a move to another node (issue 12): a mark in the
 * store, so that once its commit is done no command of the tenant and
 * none of its deadlines commits here again, in any worker, old or new. */

#include "domain/sb_domain.h"

#define SB_PAUSE_ROW  "#paused"


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
