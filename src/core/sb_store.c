/* The LMDB store: environment, named databases, tenant-scoped keys with
 * big-endian integers, and versioned JSON records. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_internal.h"


static const char *sb_db_names[SB_DB_COUNT] = {
    "meta", "conversations", "messages", "open", "agents", "groups",
    "members", "queues", "events", "idempotency", "ledger", "deadlines",
    "canned", "blocks"
};


int
sb_store_open(sb_store_t *st, const char *path, size_t mapsize, int nosync,
    char *err, size_t errlen)
{
    int       rc, i, dead = 0;
    MDB_txn  *txn;

    rc = mdb_env_create(&st->env);
    if (rc) {
        goto failed;
    }
    mdb_env_set_maxdbs(st->env, SB_DB_COUNT + 4);
    mdb_env_set_maxreaders(st->env, 1022);
    rc = mdb_env_set_mapsize(st->env, mapsize);
    if (rc) {
        goto failed;
    }

    /* MDB_NOTLS: read transactions live on the event loop while the write
     * transaction runs in a pool thread */
    rc = mdb_env_open(st->env, path, MDB_NOTLS | (nosync ? MDB_NOSYNC : 0),
                      0660);
    if (rc) {
        goto failed;
    }

    /* readers left by killed processes would pin old pages forever */
    mdb_reader_check(st->env, &dead);

    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc) {
        goto failed;
    }
    for (i = 0; i < SB_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, sb_db_names[i], MDB_CREATE, &st->db[i]);
        if (rc) {
            mdb_txn_abort(txn);
            goto failed;
        }
    }
    rc = mdb_txn_commit(txn);
    if (rc) {
        goto failed;
    }
    return 0;

failed:
    snprintf(err, errlen, "%s", mdb_strerror(rc));
    if (st->env) {
        mdb_env_close(st->env);
        st->env = NULL;
    }
    return rc;
}


void
sb_store_close(sb_store_t *st)
{
    if (st->env) {
        mdb_env_close(st->env);
        st->env = NULL;
    }
}


void
sb_key_init(sb_key_t *k, const char *tenant)
{
    k->n = 0;
    k->overflow = 0;
    sb_key_str(k, tenant);
}


/* Strings end with NUL so that "ab"+"c" never meets "a"+"bc". */
void
sb_key_str(sb_key_t *k, const char *s)
{
    size_t  len = strlen(s) + 1;

    if (k->n + len > SB_KEY_MAX) {
        k->overflow = 1;
        return;
    }
    memcpy(k->b + k->n, s, len);
    k->n += len;
}


void
sb_key_u64(sb_key_t *k, uint64_t v)
{
    int  i;

    if (k->n + 8 > SB_KEY_MAX) {
        k->overflow = 1;
        return;
    }
    for (i = 7; i >= 0; i--) {
        k->b[k->n++] = (unsigned char) (v >> (i * 8));
    }
}


uint64_t
sb_key_read_u64(const unsigned char *p)
{
    uint64_t  v = 0;
    int       i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}


int
sb_rec_get(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, json_t **out)
{
    MDB_val  key = { k->n, k->b }, val;
    int      rc;

    *out = NULL;
    rc = mdb_get(txn, dbi, &key, &val);
    return rc ? rc : sb_rec_get_val(&val, out);
}


/* A record's value as read by a cursor: version byte, then JSON. */
int
sb_rec_get_val(MDB_val *val, json_t **out)
{
    json_error_t    jerr;
    unsigned char  *p = val->mv_data;

    *out = NULL;
    if (val->mv_size < 2 || p[0] != SB_RECORD_V1) {
        return MDB_INCOMPATIBLE;
    }
    *out = json_loadb((const char *) p + 1, val->mv_size - 1, 0, &jerr);
    return *out ? 0 : MDB_CORRUPTED;
}


int
sb_rec_put(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, json_t *rec)
{
    MDB_val  key = { k->n, k->b }, val;
    size_t   len;
    int      rc;

    if (k->overflow) {
        return MDB_BAD_VALSIZE;
    }
    len = json_dumpb(rec, NULL, 0, JSON_COMPACT);
    if (len == 0) {
        return ENOMEM;
    }
    val.mv_size = len + 1;
    val.mv_data = NULL;
    rc = mdb_put(txn, dbi, &key, &val, MDB_RESERVE);
    if (rc) {
        return rc;
    }
    ((unsigned char *) val.mv_data)[0] = SB_RECORD_V1;
    json_dumpb(rec, (char *) val.mv_data + 1, len, JSON_COMPACT);
    return 0;
}


int
sb_raw_put(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, const void *v, size_t len)
{
    MDB_val  key = { k->n, k->b }, val = { len, (void *) v };

    if (k->overflow) {
        return MDB_BAD_VALSIZE;
    }
    return mdb_put(txn, dbi, &key, &val, 0);
}


int
sb_raw_del(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k)
{
    MDB_val  key = { k->n, k->b };
    int      rc = mdb_del(txn, dbi, &key, NULL);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* The greatest key that starts with prefix (e.g. the newest log entry). */
int
sb_prefix_last(MDB_txn *txn, MDB_dbi dbi, sb_key_t *prefix, MDB_val *key,
    MDB_val *val)
{
    MDB_cursor     *cur;
    unsigned char   probe[SB_KEY_MAX + 1];
    int             rc;

    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc) {
        return rc;
    }

    /* probe = prefix followed by 0xff: just past every key of the prefix */
    memcpy(probe, prefix->b, prefix->n);
    probe[prefix->n] = 0xff;
    key->mv_size = prefix->n + 1;
    key->mv_data = probe;

    rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
    if (rc == 0) {
        rc = mdb_cursor_get(cur, key, val, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(cur, key, val, MDB_LAST);
    }
    if (rc == 0 && (key->mv_size < prefix->n
                    || memcmp(key->mv_data, prefix->b, prefix->n) != 0))
    {
        rc = MDB_NOTFOUND;
    }
    mdb_cursor_close(cur);
    return rc;
}


int
sb_counter_next(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, uint64_t *out)
{
    MDB_val        key = { k->n, k->b }, val;
    unsigned char  be[8];
    uint64_t       v = 0;
    int            rc, i;

    rc = mdb_get(txn, dbi, &key, &val);
    if (rc == 0 && val.mv_size == 8) {
        v = sb_key_read_u64(val.mv_data);
    } else if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    v++;
    for (i = 0; i < 8; i++) {
        be[i] = (unsigned char) (v >> ((7 - i) * 8));
    }
    *out = v;
    return sb_raw_put(txn, dbi, k, be, 8);
}
