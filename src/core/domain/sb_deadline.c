/* Deadlines (R7, R13-R16, R22): rows keyed by due time in one database,
 * set and cleared in the transaction that changes their conversation
 * (which remembers each due time, so a cancel is one keyed delete), and
 * deleted by the transaction that fires them: each fires once. */

#include "domain/sb_domain.h"


/* be64(due) tenant kind be64(conv) be64(seq): the first key is the next
 * deadline of every tenant */
void
sb_deadline_key(sb_key_t *k, int64_t due, const char *tenant, int kind,
    uint64_t conv, uint64_t seq)
{
    sb_key_init(k, NULL);
    sb_key_u64(k, (uint64_t) due);
    sb_key_str(k, tenant);
    sb_key_u8(k, (unsigned) kind);
    sb_key_u64(k, conv);
    sb_key_u64(k, seq);
}


int
sb_deadline_clear(sb_ctx_t *cx, sb_conv_t *c, int kind)
{
    sb_key_t  k;

    if (c->due[kind] == 0) {
        return 0;
    }
    sb_deadline_key(&k, c->due[kind], cx->tenant, kind, c->id, 0);
    c->due[kind] = 0;
    return sb_del(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &k);
}


int
sb_deadline_set(sb_ctx_t *cx, sb_conv_t *c, int kind, int64_t due)
{
    sb_key_t  k;

    SB_TRY(sb_deadline_clear(cx, c, kind));
    sb_deadline_key(&k, due, cx->tenant, kind, c->id, 0);
    c->due[kind] = due;
    return sb_put(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &k, "", 0);
}


/* The end takes every clock of the conversation (not its deliveries: a
 * reply written just before the end still goes out). */
int
sb_deadline_clear_all(sb_ctx_t *cx, sb_conv_t *c)
{
    int  kind;

    for (kind = 0; kind < SB_DL_CONV_KINDS; kind++) {
        SB_TRY(sb_deadline_clear(cx, c, kind));
    }
    return 0;
}


/* 1 when a deadline row belongs to a tenant being moved: it waits. */
int
sb_deadline_paused(sb_store_t *st, MDB_txn *txn, const MDB_val *key)
{
    const char  *tenant = (const char *) key->mv_data + 8;

    /* the tenant's name ends with its NUL inside the key */
    return key->mv_size > 8
           && strnlen(tenant, key->mv_size - 8) < key->mv_size - 8
           && sb_tenant_is_paused(st, txn, tenant);
}


/* The earliest pending deadline: the one timer every worker keeps armed
 * (a paused tenant's are passed over). */
int
sb_deadline_earliest(sb_store_t *st, MDB_txn *txn, int64_t *due)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    int          rc;

    SB_TRY(mdb_cursor_open(txn, st->db[SB_DB_DEADLINE], &cur));
    rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
    while (rc == 0 && sb_deadline_paused(st, txn, &key)) {
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }
    if (rc == 0) {
        *due = key.mv_size >= 8 ? (int64_t) sb_be64(key.mv_data) : 0;
    }
    mdb_cursor_close(cur);
    return rc;
}
