/* The flush of a batch: every changed record encoded and written once,
 * the state index and the stats counters (conversations per state, agents
 * per status) kept from what was loaded and what is written. */

#include "domain/sb_cache.h"


/* Counter keys: conversations per state, agents per class and status. */
static int
sb_count_state(sb_ctx_t *cx, int state, int64_t delta)
{
    sb_key_t  k;

    sb_key_init(&k, cx->tenant);
    sb_key_u8(&k, 'c');
    sb_key_u8(&k, (unsigned) state);
    return sb_count(cx, &k, delta);
}


static int
sb_count_status(sb_ctx_t *cx, int klass, int status, int64_t delta)
{
    sb_key_t  k;

    sb_key_init(&k, cx->tenant);
    sb_key_u8(&k, 'a');
    sb_key_str(&k, cx->cfg->classes[klass].name);
    sb_key_u8(&k, (unsigned) status);
    return sb_count(cx, &k, delta);
}


static int
sb_state_index(sb_ctx_t *cx, int state, uint64_t id, int add)
{
    sb_key_t  k;

    sb_key_init(&k, cx->tenant);
    sb_key_u8(&k, (unsigned) state);
    sb_key_u64(&k, id);
    SB_TRY(sb_count_state(cx, state, add ? 1 : -1));
    return add ? sb_put(cx->txn, SB_DB(cx, SB_DB_STATE), &k, "", 0)
               : sb_del(cx->txn, SB_DB(cx, SB_DB_STATE), &k);
}


/* The record encoded into the batch's memory; 1 when it is what was
 * loaded (nothing to write). */
static int
sb_encoded(sb_ctx_t *cx, char type, const void *rec,
    const unsigned char *orig, size_t orig_len, sb_span_t *out)
{
    sb_wr_t  w = { NULL, 0 };

    if (type == 'C') {
        sb_conv_encode(&w, rec, cx->cfg);
    } else {
        sb_agent_encode(&w, rec, cx->cfg);
    }
    w.p = sb_alloc(cx, w.n);
    if (w.p == NULL) {
        out->p = NULL;
        return 0;
    }
    out->n = w.n;
    w.n = 0;
    if (type == 'C') {
        sb_conv_encode(&w, rec, cx->cfg);
    } else {
        sb_agent_encode(&w, rec, cx->cfg);
    }
    out->p = (const char *) w.p;
    return orig && orig_len == out->n && memcmp(orig, out->p, out->n) == 0;
}


static int
sb_flush_conv(sb_ctx_t *cx, sb_conv_entry_t *e)
{
    sb_key_t   k;
    sb_span_t  rec;

    if (e->h.deleted) {
        /* dropped (retention, erasure): its row and state row go; a row
         * that did not decode (not loaded) is left as it is */
        if (!e->h.loaded) {
            return 0;
        }
        SB_TRY(sb_state_index(cx, e->orig_state, e->cur.id, 0));
        sb_conv_key(&k, cx->tenant, e->cur.id);
        return sb_del(cx->txn, SB_DB(cx, SB_DB_CONV), &k);
    }
    if (sb_encoded(cx, 'C', &e->cur, e->orig, e->orig_len, &rec)) {
        return 0;
    }
    if (rec.p == NULL) {
        return ENOMEM;
    }
    if (!e->h.loaded || e->orig_state != e->cur.state) {
        if (e->h.loaded) {
            SB_TRY(sb_state_index(cx, e->orig_state, e->cur.id, 0));
        }
        SB_TRY(sb_state_index(cx, e->cur.state, e->cur.id, 1));
    }
    sb_conv_key(&k, cx->tenant, e->cur.id);
    return sb_put(cx->txn, SB_DB(cx, SB_DB_CONV), &k, rec.p, rec.n);
}


static int
sb_flush_agent(sb_ctx_t *cx, sb_agent_entry_t *e)
{
    sb_key_t   k;
    sb_span_t  rec;
    int        i, was, now, same = 0;

    if (!e->h.deleted) {
        same = sb_encoded(cx, 'A', &e->cur, e->orig, e->orig_len, &rec);
        if (same) {
            return 0;
        }
        if (rec.p == NULL) {
            return ENOMEM;
        }
    }
    for (i = 0; i < cx->cfg->nclasses; i++) {
        was = e->h.loaded ? e->orig_status[i] : -1;
        now = e->h.deleted ? -1 : (int) sb_agent_status(cx->cfg, &e->cur, i,
                                                        e->cur.present);
        if (was != now) {
            if (was >= 0) {
                SB_TRY(sb_count_status(cx, i, was, -1));
            }
            if (now >= 0) {
                SB_TRY(sb_count_status(cx, i, now, 1));
            }
        }
    }
    sb_agent_key(&k, cx->tenant, e->cur.id);
    if (e->h.deleted) {
        return e->h.loaded ? sb_del(cx->txn, SB_DB(cx, SB_DB_AGENT), &k) : 0;
    }
    return sb_put(cx->txn, SB_DB(cx, SB_DB_AGENT), &k, rec.p, rec.n);
}


static int
sb_flush_number(sb_ctx_t *cx, sb_entry_t *e)
{
    sb_key_t       k;
    MDB_val        val;
    unsigned char  be[8];
    int64_t        v = 0;
    int            rc, i, db = e->kind == 'S' ? e->db : SB_DB_COUNTER;

    if ((e->kind == 'S' && !e->persist) || (e->kind == 'N' && !e->value)) {
        return 0;
    }
    k.n = e->klen;
    k.overflow = 0;
    memcpy(k.b, e->key, e->klen);
    if (e->kind == 'N') {
        rc = sb_get(cx->txn, SB_DB(cx, db), &k, &val);
        if (rc == 0 && val.mv_size == 8) {
            v = (int64_t) sb_be64(val.mv_data);
        } else if (rc && rc != MDB_NOTFOUND) {
            return rc;
        }
        v += e->value;
        if (v <= 0) {
            return sb_del(cx->txn, SB_DB(cx, db), &k);
        }
    } else {
        v = e->value;
    }
    for (i = 0; i < 8; i++) {
        be[i] = (unsigned char) ((uint64_t) v >> ((7 - i) * 8));
    }
    return sb_put(cx->txn, SB_DB(cx, db), &k, be, 8);
}


/*
 * Every changed record is encoded and written, once. Records first, as
 * they add counter deltas; the counters and sequences last.
 */
int
sb_batch_flush(sb_batch_t *b)
{
    sb_entry_t  *e;
    sb_ctx_t     cx;
    char         tenant[SB_ID_MAX + 1];
    size_t       n;

    memset(&cx, 0, sizeof(cx));
    cx.st = b->st;
    cx.cfg = b->st->cfg;
    cx.txn = b->txn;
    cx.b = b;
    cx.tenant = tenant;

    for (e = b->all; e; e = e->all) {
        if (e->kind != 'C' && e->kind != 'A') {
            continue;
        }
        /* every key starts with its tenant */
        n = strnlen((char *) e->key, e->klen);
        memcpy(tenant, e->key, n);
        tenant[n] = '\0';
        SB_TRY(e->kind == 'C' ? sb_flush_conv(&cx, (sb_conv_entry_t *) e)
                              : sb_flush_agent(&cx, (sb_agent_entry_t *) e));
    }
    for (e = b->all; e; e = e->all) {
        if (e->kind == 'S' || e->kind == 'N') {
            SB_TRY(sb_flush_number(&cx, e));
        }
    }
    return 0;
}
