/* Deadlines (R7, R13-R16, R22): rows keyed by due time in one database,
 * set and cleared in the transaction that changes their conversation
 * (which remembers each due time, so a cancel is one keyed delete), and
 * deleted by the transaction that fires them: each fires once. */

#include <errno.h>
#include <stdio.h>

#include "domain/sb_cache.h"

#define SB_PARKED  "#parked"         /* t "#parked" deadline-key -> "" */


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


int
sb_store_failure_rc(int rc)
{
    return rc == MDB_MAP_FULL || rc == MDB_TXN_FULL || rc == MDB_CURSOR_FULL
           || rc == MDB_PAGE_FULL || rc == MDB_MAP_RESIZED || rc == MDB_PANIC
           || rc == MDB_BAD_TXN || rc == MDB_READERS_FULL || rc == ENOMEM
           || rc == EIO || rc == ENOSPC || rc == EACCES || rc == EROFS;
}


/* -1 unless the row is one of ours: be64 due, a tenant, NUL, the rest */
static int
sb_deadline_tenant(const unsigned char *key, size_t len, char *tenant)
{
    size_t  n;

    if (len < 8 + 2 + 17) {
        return -1;
    }
    n = strnlen((const char *) key + 8, len - 8);
    if (n == 0 || n > SB_ID_MAX || key + 8 + n == key + len) {
        return -1;
    }
    memcpy(tenant, key + 8, n);
    tenant[n] = '\0';
    return 0;
}


int
sb_deadline_failed(sb_ctx_t *cx, const MDB_val *key, int rc)
{
    sb_batch_t    *b = cx->b;
    sb_bad_row_t  *bad;
    size_t         i;

    for (i = 0; i < b->nbad; i++) {
        if (b->bad[i].len == key->mv_size
            && memcmp(b->bad[i].key, key->mv_data, key->mv_size) == 0)
        {
            return rc;                       /* already known */
        }
    }
    if (b->nbad < SB_PARK_MAX && key->mv_size <= SB_KEY_MAX) {
        bad = &b->bad[b->nbad++];
        memcpy(bad->key, key->mv_data, key->mv_size);
        bad->len = key->mv_size;
        bad->rc = rc;
    }
    return rc;
}


size_t
sb_deadline_failures(sb_batch_t *b)
{
    return b->nbad;
}


void
sb_deadline_failures_clear(sb_batch_t *b)
{
    b->nbad = 0;
}


static const char *
sb_deadline_kind_name(int kind)
{
    static const char  *names[SB_DL_KINDS] = {
        "reply", "snooze", "auto-close", "delivery", "event webhook"
    };

    return kind >= 0 && kind < SB_DL_KINDS ? names[kind] : "unknown";
}


/* The remembered rows out of the deadline db into the meta db; the
 * result's note says which (the glue logs it). */
int
sb_deadline_park_failed(sb_ctx_t *cx)
{
    sb_bad_row_t  *bad;
    sb_key_t       k, dk;
    MDB_val        val;
    char           tenant[SB_ID_MAX + 1];
    size_t         i, n;
    int            rc;

    for (i = 0; i < cx->b->nbad; i++) {
        bad = &cx->b->bad[i];
        sb_key_init(&dk, NULL);
        sb_key_raw(&dk, bad->key, bad->len);
        rc = sb_get(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &dk, &val);
        if (rc == MDB_NOTFOUND) {
            continue;                    /* fired or moved meanwhile */
        }
        SB_TRY(rc);
        SB_TRY(sb_del(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &dk));
        if (sb_deadline_tenant(bad->key, bad->len, tenant) != 0) {
            continue;                    /* not a row of ours: dropped */
        }
        sb_key_init(&k, tenant);
        sb_key_str(&k, SB_PARKED);
        sb_key_raw(&k, bad->key, bad->len);
        SB_TRY(sb_put(cx->txn, SB_DB(cx, SB_DB_META), &k, "", 0));
        cx->res->parked++;
        n = strlen(tenant);
        snprintf(cx->res->note, sizeof(cx->res->note),
                 "the %s deadline of %s/c%llu due at %lld could not fire "
                 "(%s): set aside, it fires again after a reload or a "
                 "restart", sb_deadline_kind_name(bad->key[8 + n + 1]),
                 tenant,
                 (unsigned long long) sb_be64(bad->key + 8 + n + 2),
                 (long long) sb_be64(bad->key), mdb_strerror(bad->rc));
    }
    return 0;
}


/*
 * Deadline rows kept in the meta db under "tenant" mark deadline-key (the
 * parked ones, those a pause set aside) back where they fire: one
 * tenant's, or (tenant NULL) every tenant's, but a paused tenant's when
 * skip_paused. *n counts them.
 */
int
sb_deadline_restore(sb_ctx_t *cx, const char *tenant, const char *mark,
    int skip_paused, size_t *n)
{
    MDB_cursor  *cur;
    MDB_val      key, val, dk;
    sb_key_t     prefix;
    char         t[SB_ID_MAX + 1];
    size_t       tl, ml = strlen(mark) + 1;
    int          rc;

    sb_key_init(&prefix, tenant);
    if (tenant) {
        sb_key_str(&prefix, mark);
    }
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_META), &cur));
    key = sb_key_val(&prefix);
    rc = mdb_cursor_get(cur, &key, &val, tenant ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0 && sb_key_has_prefix(&key, &prefix)) {
        tl = strnlen(key.mv_data, key.mv_size);
        if (tl == 0 || tl > SB_ID_MAX || tl + 1 + ml > key.mv_size
            || memcmp((char *) key.mv_data + tl + 1, mark, ml) != 0)
        {
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
            continue;
        }
        memcpy(t, key.mv_data, tl);
        t[tl] = '\0';
        if (skip_paused && sb_tenant_is_paused(cx->st, cx->txn, t)) {
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
            continue;
        }
        dk.mv_data = (char *) key.mv_data + tl + 1 + ml;
        dk.mv_size = key.mv_size - tl - 1 - ml;
        val.mv_size = 0;
        rc = mdb_put(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &dk, &val, 0);
        if (rc == 0) {
            rc = mdb_cursor_del(cur, 0);
        }
        if (rc == 0) {
            (*n)++;
            rc = mdb_cursor_get(cur, &key, &val, MDB_GET_CURRENT);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == EINVAL ? 0 : rc;
}


/* Every parked row back where it fires (the start after a reload). */
int
sb_deadline_unpark(sb_ctx_t *cx, size_t *n)
{
    return sb_deadline_restore(cx, NULL, SB_PARKED, 0, n);
}
