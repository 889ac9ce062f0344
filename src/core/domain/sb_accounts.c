/* Provider accounts and the tenant each belongs to (issue 19): a row per
 * (channel, account), bound by the admin or by the first delivery, so
 * that neither a Host header nor a replayed body moves a provider's
 * message into another tenant. */

#include "domain/sb_domain.h"

/* "\0account" channel account -> be64(bound at) tenant: global rows (a
 * delivery names its account before anyone knows its tenant) */
#define SB_ACCOUNT_MARK  "\0account"


void
sb_account_key(sb_key_t *k, int channel, sb_span_t account)
{
    sb_key_init(k, NULL);
    sb_key_raw(k, SB_ACCOUNT_MARK, sizeof(SB_ACCOUNT_MARK));
    sb_key_u8(k, (unsigned) channel);
    sb_key_span(k, account);
}


int
sb_account_decode(const MDB_val *val, sb_account_t *a)
{
    size_t  n;

    if (val->mv_size < 9 || val->mv_size > 8 + SB_ID_MAX) {
        return MDB_CORRUPTED;
    }
    a->bound_at = (int64_t) sb_be64(val->mv_data);
    n = val->mv_size - 8;
    memcpy(a->tenant, (const char *) val->mv_data + 8, n);
    a->tenant[n] = '\0';
    return 0;
}


/* The tenant account belongs to: 0, or MDB_NOTFOUND when none yet. */
int
sb_account_owner(sb_store_t *st, MDB_txn *txn, int channel,
    sb_span_t account, sb_account_t *a)
{
    sb_key_t  k;
    MDB_val   val;

    sb_account_key(&k, channel, account);
    SB_TRY(sb_get(txn, st->db[SB_DB_META], &k, &val));
    return sb_account_decode(&val, a);
}


int
sb_account_bind(sb_ctx_t *cx, int channel, sb_span_t account)
{
    sb_key_t        k;
    unsigned char   v[8 + SB_ID_MAX];
    size_t          n = strlen(cx->tenant);
    int             i;

    for (i = 0; i < 8; i++) {
        v[i] = (unsigned char) ((uint64_t) cx->now >> ((7 - i) * 8));
    }
    memcpy(v + 8, cx->tenant, n);
    sb_account_key(&k, channel, account);
    return sb_put(cx->txn, SB_DB(cx, SB_DB_META), &k, v, 8 + n);
}


int
sb_account_unbind(sb_ctx_t *cx, int channel, sb_span_t account)
{
    sb_key_t  k;

    sb_account_key(&k, channel, account);
    return sb_del(cx->txn, SB_DB(cx, SB_DB_META), &k);
}


/* 1 when account is another tenant's (*a says whose), 0 when it is this
 * one's or no one's yet; or a store error */
int
sb_account_foreign(sb_ctx_t *cx, int channel, sb_span_t account,
    sb_account_t *a)
{
    int  rc = sb_account_owner(cx->st, cx->txn, channel, account, a);

    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    SB_TRY(rc);
    return strcmp(a->tenant, cx->tenant) != 0 ? 1 : 0;
}


/* An account no tenant holds yet becomes this one's: the first tenant
 * to receive it keeps it (unless an admin bound it before). */
int
sb_account_claim(sb_ctx_t *cx, int channel, sb_span_t account)
{
    sb_account_t  a;
    int           rc;

    rc = sb_account_owner(cx->st, cx->txn, channel, account, &a);
    return rc == MDB_NOTFOUND ? sb_account_bind(cx, channel, account) : rc;
}
