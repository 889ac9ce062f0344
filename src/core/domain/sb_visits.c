/* A visitor's conversations (issue 20): one index row per conversation
 * under its channel and visitor, for erasure and export; a store written
 * before the index is indexed once, when nginx opens it. */

#include "domain/sb_domain.h"

#define SB_VISITS_MARK   "\0visits"        /* every conversation indexed */
#define SB_VISITS_SLICE  4096              /* conversations per transaction */


/* t ch visitor \0 conv; a visitor's conversations under sb_open_key's */
int
sb_visit_key(sb_key_t *k, const char *tenant, int channel,
    const char *visitor, uint64_t conv)
{
    sb_open_key(k, tenant, channel, visitor);
    sb_key_u64(k, conv);
    return k->overflow;
}


int
sb_visit_put(sb_ctx_t *cx, const sb_conv_t *c)
{
    sb_key_t  k;

    if (sb_visit_key(&k, cx->tenant, c->channel, c->visitor, c->id)) {
        return 0;                /* a visitor id too long for a key is
                                    refused before a conversation is made */
    }
    return sb_put(cx->txn, SB_DB(cx, SB_DB_VISIT), &k, "", 0);
}


int
sb_visit_del(sb_ctx_t *cx, const sb_conv_t *c)
{
    sb_key_t  k;

    if (sb_visit_key(&k, cx->tenant, c->channel, c->visitor, c->id)) {
        return 0;
    }
    return sb_del(cx->txn, SB_DB(cx, SB_DB_VISIT), &k);
}


/* One slice of the walk over every conversation from *from (a key, or
 * empty), its next position left in *from; *done once past the last. */
static int
sb_visits_slice(sb_store_t *st, MDB_txn *txn, sb_key_t *from, int *done,
    size_t *indexed)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_conv_t    c;
    sb_key_t     k;
    const char  *tenant;
    size_t       n = 0, tlen;
    int          rc;

    SB_TRY(mdb_cursor_open(txn, st->db[SB_DB_CONV], &cur));
    key = sb_key_val(from);
    rc = from->n ? mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE)
                 : mdb_cursor_get(cur, &key, &val, MDB_FIRST);
    for ( ; rc == 0 && n < SB_VISITS_SLICE;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT), n++)
    {
        tenant = key.mv_data;
        tlen = strnlen(tenant, key.mv_size);
        if (tlen + 9 != key.mv_size
            || sb_conv_decode(val.mv_data, val.mv_size, &c, st->cfg) != 0
            || sb_visit_key(&k, tenant, c.channel, c.visitor,
                            sb_be64((unsigned char *) key.mv_data + tlen + 1))
               != 0)
        {
            continue;            /* not a conversation's row: not ours */
        }
        rc = sb_put(txn, st->db[SB_DB_VISIT], &k, "", 0);
        if (rc) {
            break;
        }
        (*indexed)++;
    }
    if (rc == 0) {
        from->n = 0;
        from->overflow = 0;
        sb_key_raw(from, key.mv_data, key.mv_size);
    }
    mdb_cursor_close(cur);
    *done = rc == MDB_NOTFOUND;
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/*
 * A store made before the index gets it, in slices of a few thousand
 * conversations per transaction (another process may write between
 * them), then the mark; a store with the mark is left as it is.
 * *indexed counts the conversations indexed now.
 */
int
sb_visits_index(sb_store_t *st, size_t *indexed)
{
    MDB_txn  *txn;
    MDB_val   key = { sizeof(SB_VISITS_MARK) - 1, SB_VISITS_MARK }, val;
    sb_key_t  from;
    int       rc, done = 0;

    *indexed = 0;
    SB_TRY(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn));
    rc = mdb_get(txn, st->db[SB_DB_META], &key, &val);
    mdb_txn_abort(txn);
    if (rc != MDB_NOTFOUND) {
        return rc;
    }

    memset(&from, 0, sizeof(from));
    while (!done) {
        SB_TRY(mdb_txn_begin(st->env, NULL, 0, &txn));
        rc = sb_visits_slice(st, txn, &from, &done, indexed);
        if (rc == 0 && done) {
            val.mv_size = 0;
            val.mv_data = "";
            rc = mdb_put(txn, st->db[SB_DB_META], &key, &val, 0);
        }
        if (rc) {
            mdb_txn_abort(txn);
            return rc;
        }
        SB_TRY(mdb_txn_commit(txn));
    }
    return 0;
}
