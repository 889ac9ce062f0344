/*
 * The per-batch cache: a conversation or an agent touched by many
 * commands of one write transaction is read and decoded once and encoded
 * and written once, at the flush (sb_flush.c), which also keeps the
 * state index and the stats counters.
 */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "domain/sb_cache.h"


sb_batch_t *
sb_batch_create(sb_store_t *st)
{
    sb_batch_t  *b = calloc(1, sizeof(sb_batch_t));

    if (b) {
        b->st = st;
    }
    return b;
}


void
sb_batch_destroy(sb_batch_t *b)
{
    if (b) {
        sb_arena_free(b->arena);
        free(b);
    }
}


/* Where the write path's time goes, summed since the batch was made:
 * commands applied and records flushed, then LMDB's commit (its fsyncs). */
void
sb_batch_timing(sb_batch_t *b, int64_t apply_ns, int64_t commit_ns,
    size_t commands)
{
    b->commands += commands;
    b->apply_ns += apply_ns;
    b->commit_ns += commit_ns;
}


void
sb_batch_timings(sb_batch_t *b, int64_t *apply_ns, int64_t *commit_ns,
    uint64_t *commands)
{
    *apply_ns = b->apply_ns;
    *commit_ns = b->commit_ns;
    *commands = b->commands;
}


/* A fresh cache for the next transaction (also after an aborted one). */
void
sb_batch_begin(sb_batch_t *b, MDB_txn *txn, sb_moved_t *moved)
{
    sb_entry_t  *e;

    for (e = b->all; e; e = e->all) {
        b->buckets[e->hash & (SB_BUCKETS - 1)] = NULL;
    }
    b->all = NULL;
    sb_arena_reset(b->arena);
    b->txn = txn;
    b->moved = moved;
}


static uint32_t
sb_hash(char kind, const unsigned char *key, size_t n)
{
    uint32_t  h = 2166136261u ^ (unsigned char) kind;
    size_t    i;

    for (i = 0; i < n; i++) {
        h = (h ^ key[i]) * 16777619u;
    }
    return h;
}


static sb_entry_t *
sb_find(sb_batch_t *b, char kind, sb_key_t *k, uint32_t hash)
{
    sb_entry_t  *e;

    for (e = b->buckets[hash & (SB_BUCKETS - 1)]; e; e = e->next) {
        if (e->hash == hash && e->kind == kind && e->klen == k->n
            && memcmp(e->key, k->b, k->n) == 0)
        {
            return e;
        }
    }
    return NULL;
}


static sb_entry_t *
sb_insert(sb_batch_t *b, char kind, sb_key_t *k, uint32_t hash, size_t size)
{
    sb_entry_t  *e = sb_arena_alloc(&b->arena, size);

    if (e == NULL) {
        return NULL;
    }
    /* the whole entry: the arena's memory is the last batch's, and a
     * kind's fields after the key (an agent's index snapshot) must start
     * empty */
    memset(e, 0, size);
    e->kind = kind;
    e->hash = hash;
    e->klen = k->n;
    memcpy(e->key, k->b, k->n);
    e->next = b->buckets[hash & (SB_BUCKETS - 1)];
    b->buckets[hash & (SB_BUCKETS - 1)] = e;
    e->all = b->all;
    b->all = e;
    return e;
}


/* The record's bytes as loaded, copied (the map may change under a
 * write transaction's own puts). */
static int
sb_keep_orig(sb_ctx_t *cx, MDB_val *val, const unsigned char **orig,
    size_t *len)
{
    unsigned char  *p = sb_alloc(cx, val->mv_size);

    if (p == NULL) {
        return ENOMEM;
    }
    memcpy(p, val->mv_data, val->mv_size);
    *orig = p;
    *len = val->mv_size;
    return 0;
}


void
sb_conv_key(sb_key_t *k, const char *tenant, uint64_t id)
{
    sb_key_init(k, tenant);
    sb_key_u64(k, id);
}


int
sb_conv_get(sb_ctx_t *cx, uint64_t id, sb_conv_t **out)
{
    sb_conv_entry_t  *e;
    sb_key_t          k;
    MDB_val           val;
    uint32_t          h;
    int               rc;

    sb_conv_key(&k, cx->tenant, id);
    h = sb_hash('C', k.b, k.n);
    e = (sb_conv_entry_t *) sb_find(cx->b, 'C', &k, h);
    if (e == NULL) {
        rc = sb_get(cx->txn, SB_DB(cx, SB_DB_CONV), &k, &val);
        if (rc) {
            return rc;
        }
        e = (sb_conv_entry_t *) sb_insert(cx->b, 'C', &k, h,
                                          sizeof(sb_conv_entry_t));
        if (e == NULL || sb_keep_orig(cx, &val, &e->orig, &e->orig_len)) {
            return ENOMEM;
        }
        memset(&e->cur, 0, sizeof(sb_conv_t));
        rc = sb_conv_decode(val.mv_data, val.mv_size, &e->cur, cx->cfg);
        if (rc) {
            e->h.deleted = 1;        /* never written back */
            return rc;
        }
        e->cur.id = id;
        e->orig_state = e->cur.state;
        e->h.loaded = 1;
    }
    if (e->h.deleted) {
        return MDB_NOTFOUND;
    }
    *out = &e->cur;
    return 0;
}


/* The conversation goes at the flush (its record and its state row);
 * later reads in the batch find nothing. */
void
sb_conv_drop(sb_ctx_t *cx, sb_conv_t *c)
{
    sb_conv_entry_t  *e = (sb_conv_entry_t *) ((char *) c
                              - offsetof(sb_conv_entry_t, cur));

    e->h.deleted = 1;
}


/* A new conversation, written at the flush. */
sb_conv_t *
sb_conv_add(sb_ctx_t *cx, uint64_t id)
{
    sb_conv_entry_t  *e;
    sb_key_t          k;

    sb_conv_key(&k, cx->tenant, id);
    e = (sb_conv_entry_t *) sb_insert(cx->b, 'C', &k, sb_hash('C', k.b, k.n),
                                      sizeof(sb_conv_entry_t));
    if (e == NULL) {
        return NULL;
    }
    e->orig = NULL;
    e->orig_len = 0;
    memset(&e->cur, 0, sizeof(sb_conv_t));
    e->cur.id = id;
    return &e->cur;
}


void
sb_agent_key(sb_key_t *k, const char *tenant, const char *id)
{
    sb_key_init(k, tenant);
    sb_key_str(k, id);
}


int
sb_agent_get(sb_ctx_t *cx, const char *id, sb_agent_t **out)
{
    sb_agent_entry_t  *e;
    sb_key_t           k;
    MDB_val            val;
    uint32_t           h;
    int                rc, i;

    sb_agent_key(&k, cx->tenant, id);
    if (k.overflow) {
        return MDB_NOTFOUND;
    }
    h = sb_hash('A', k.b, k.n);
    e = (sb_agent_entry_t *) sb_find(cx->b, 'A', &k, h);
    if (e == NULL) {
        rc = sb_get(cx->txn, SB_DB(cx, SB_DB_AGENT), &k, &val);
        if (rc) {
            return rc;
        }
        e = (sb_agent_entry_t *) sb_insert(cx->b, 'A', &k, h,
                                           sizeof(sb_agent_entry_t));
        if (e == NULL || sb_keep_orig(cx, &val, &e->orig, &e->orig_len)) {
            return ENOMEM;
        }
        memset(&e->cur, 0, sizeof(sb_agent_t));
        rc = sb_agent_decode(val.mv_data, val.mv_size, &e->cur, cx->cfg);
        if (rc) {
            e->h.deleted = 1;
            return rc;
        }
        memcpy(e->cur.id, id, k.n - strlen(cx->tenant) - 1);
        for (i = 0; i < cx->cfg->nclasses; i++) {
            e->orig_status[i] = (uint8_t) sb_agent_status(cx->cfg, &e->cur,
                                                          i, e->cur.present);
        }
        SB_TRY(sb_ready_snap(cx, &e->cur, &e->synced));
        e->h.loaded = 1;
    }
    if (e->h.deleted) {
        return MDB_NOTFOUND;
    }
    *out = &e->cur;
    return 0;
}


sb_agent_t *
sb_agent_add(sb_ctx_t *cx, const char *id)
{
    sb_agent_entry_t  *e;
    sb_key_t           k;
    uint32_t           h;
    int                i;

    sb_agent_key(&k, cx->tenant, id);
    h = sb_hash('A', k.b, k.n);
    e = (sb_agent_entry_t *) sb_find(cx->b, 'A', &k, h);
    if (e == NULL) {
        e = (sb_agent_entry_t *) sb_insert(cx->b, 'A', &k, h,
                                           sizeof(sb_agent_entry_t));
        if (e == NULL) {
            return NULL;
        }
        e->orig = NULL;
        e->orig_len = 0;
        memset(&e->synced, 0, sizeof(sb_ready_snap_t));
    }
    /* a deleted agent made again in the same batch starts afresh too;
     * what was indexed stays in synced, for the sync to remove */
    memset(&e->cur, 0, sizeof(sb_agent_t));
    snprintf(e->cur.id, sizeof(e->cur.id), "%s", id);
    for (i = 0; i < SB_MAX_CLASSES; i++) {
        e->cur.cls[i].capacity = -1;
    }
    e->h.deleted = 0;
    return &e->cur;
}


/* The agent goes at the flush; its index rows went already. */
void
sb_agent_drop(sb_ctx_t *cx, sb_agent_t *a)
{
    sb_agent_entry_t  *e = (sb_agent_entry_t *) ((char *) a
                              - offsetof(sb_agent_entry_t, cur));

    e->h.deleted = 1;
}


/* The agent as the routing index has it (sb_ready.c keeps it). */
sb_ready_snap_t *
sb_agent_synced(sb_agent_t *a)
{
    sb_agent_entry_t  *e = (sb_agent_entry_t *) ((char *) a
                              - offsetof(sb_agent_entry_t, cur));

    return &e->synced;
}


/* The agent's colour in class k as the batch loaded it: what the stats
 * counters hold of it until the flush. */
int
sb_agent_loaded_status(sb_agent_t *a, int k)
{
    sb_agent_entry_t  *e = (sb_agent_entry_t *) ((char *) a
                              - offsetof(sb_agent_entry_t, cur));

    return e->orig_status[k];
}


/*
 * The next number of a sequence: an event log's (the last key of the
 * log, or the tenant's event floor when it is empty; persist 0) or a
 * tenant counter in the meta db (persist 1). Read once per batch, then
 * counted in memory.
 */
int
sb_seq_next(sb_ctx_t *cx, int db, sb_key_t *k, int persist, uint64_t *out)
{
    sb_entry_t  *e;
    MDB_val      key, val;
    uint32_t     h = sb_hash('S', k->b, k->n) ^ (uint32_t) db;
    uint64_t     floor;
    int          rc;

    e = sb_find(cx->b, 'S', k, h);
    if (e == NULL || e->db != db) {
        e = sb_insert(cx->b, 'S', k, h, sizeof(sb_entry_t));
        if (e == NULL) {
            return ENOMEM;
        }
        e->db = db;
        e->persist = (uint8_t) persist;
        if (persist) {
            rc = sb_get(cx->txn, SB_DB(cx, db), k, &val);
            if (rc == 0 && val.mv_size == 8) {
                e->value = (int64_t) sb_be64(val.mv_data);
            } else if (rc && rc != MDB_NOTFOUND) {
                return rc;
            }
        } else {
            rc = sb_prefix_last(cx->txn, SB_DB(cx, db), k, &key, &val);
            if (rc == 0 && key.mv_size == k->n + 8) {
                e->value = (int64_t) sb_be64((unsigned char *) key.mv_data
                                             + k->n);
            } else if (rc && rc != MDB_NOTFOUND) {
                return rc;
            }
            if (db == SB_DB_EVENT) {
                /* a log whose last events retention took (or that it
                 * emptied) numbers after every number taken (issue 20):
                 * a client's cursor never meets a number twice */
                floor = sb_event_floor(cx->st, cx->txn, cx->tenant);
                e->value = (int64_t) floor > e->value ? (int64_t) floor
                                                      : e->value;
            }
        }
    }
    *out = (uint64_t) ++e->value;
    return 0;
}


/* A stats counter moves by delta; applied once at the flush. */
int
sb_count(sb_ctx_t *cx, sb_key_t *k, int64_t delta)
{
    sb_entry_t  *e;
    uint32_t     h = sb_hash('N', k->b, k->n);

    e = sb_find(cx->b, 'N', k, h);
    if (e == NULL) {
        e = sb_insert(cx->b, 'N', k, h, sizeof(sb_entry_t));
        if (e == NULL) {
            return ENOMEM;
        }
    }
    e->value += delta;
    return 0;
}


/* A stats counter as it stands in this batch: the stored value and the
 * batch's moves so far. */
int
sb_count_value(sb_ctx_t *cx, sb_key_t *k, int64_t *out)
{
    sb_entry_t  *e;
    MDB_val      val;
    int          rc;

    e = sb_find(cx->b, 'N', k, sb_hash('N', k->b, k->n));
    rc = sb_get(cx->txn, SB_DB(cx, SB_DB_COUNTER), k, &val);
    if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    *out = (rc == 0 && val.mv_size == 8 ? (int64_t) sb_be64(val.mv_data) : 0)
           + (e ? e->value : 0);
    return 0;
}


/* Memory that lives until the batch is answered. */
void *
sb_alloc(sb_ctx_t *cx, size_t n)
{
    return sb_arena_alloc(&cx->b->arena, n);
}


void
sb_moved(sb_ctx_t *cx, const char *owner, size_t len)
{
    (void) sb_moved_add(cx->b->moved, cx->tenant, owner, len);
}
