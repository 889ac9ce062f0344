/* The LMDB store: the environment and its named databases, tenant-scoped
 * keys with big-endian integers, and the small txn helpers above LMDB. */

#ifndef SB_STORE_H
#define SB_STORE_H

#include <lmdb.h>

#include "util/sb_util.h"

#define SB_KEY_MAX  500     /* below LMDB's default 511-byte key limit */

enum {
    SB_DB_META,       /* format; per-tenant counters; the purge position */
    SB_DB_CONV,       /* t conv            -> conversation */
    SB_DB_MSG,        /* t conv seq        -> thread entry */
    SB_DB_HANDLER,    /* t conv n          -> who held it, from, to */
    SB_DB_TAG,        /* t conv n          -> tag */
    SB_DB_TAGGED,     /* t tag conv        -> "" (the ?tag= filter) */
    SB_DB_OPEN,       /* t ch visitor      -> conv (R1) */
    SB_DB_AGENT,      /* t agent           -> agent */
    SB_DB_HELD,       /* t agent conv      -> class name */
    SB_DB_GROUP,      /* t group           -> group */
    SB_DB_MEMBER,     /* t group agent     -> "" */
    SB_DB_READY,      /* t group class used last agent -> "" (routing) */
    SB_DB_SEEN,       /* t seen_at agent   -> "" (presence, R5a) */
    SB_DB_QUEUE,      /* t group class since conv -> "" (R3) */
    SB_DB_STATE,      /* t state conv      -> "" (?state=) */
    SB_DB_EVENT,      /* t owner seq       -> event (R24) */
    SB_DB_IDEM,       /* t scope ...       -> conv seq at (R21) */
    SB_DB_LEDGER,     /* t seq             -> ledger entry (R19) */
    SB_DB_DEADLINE,   /* due t kind subject -> "" (R16) */
    SB_DB_CANNED,     /* t id              -> canned response */
    SB_DB_BLOCK,      /* t ch visitor      -> block (R11) */
    SB_DB_COUNTER,    /* t kind ...        -> int64 (stats) */
    SB_DB_HOOK,       /* t 'p' conv id | t 'f' id -> outbox row */
    SB_DB_VISIT,      /* t ch visitor conv -> "" (a visitor's, issue 20) */
    SB_DB_AUDIT,      /* t seq             -> an erasure's audit line */
    SB_DB_COUNT
};

typedef struct {
    MDB_env            *env;
    MDB_dbi             db[SB_DB_COUNT];
    const sb_config_t  *cfg;
} sb_store_t;

typedef struct {
    unsigned char  b[SB_KEY_MAX];
    size_t         n;
    int            overflow;
} sb_key_t;

int sb_store_open(sb_store_t *st, const char *path, size_t mapsize,
    int nosync, char *err, size_t errlen);
void sb_store_close(sb_store_t *st);

/* What the map holds (health and metrics): its size, and the pages in
 * use, the high-water mark less LMDB's free list (reused before the map
 * grows), as read in txn. */
typedef struct {
    size_t    map_bytes;         /* switchboard_store size= */
    size_t    used_bytes;
    size_t    room_bytes;        /* what can still be written: the free
                                    list, and the map above the high-water
                                    mark as far as the disk has room */
    size_t    disk_free_bytes;   /* of the store's file system, for an
                                    unprivileged writer */
    unsigned  readers;
} sb_store_usage_t;

void sb_store_usage(sb_store_t *st, MDB_txn *txn, sb_store_usage_t *u);

/* used over used and room: 1 is full */
static inline double
sb_store_fill(const sb_store_usage_t *u)
{
    return u->used_bytes + u->room_bytes
           ? (double) u->used_bytes / (double) (u->used_bytes + u->room_bytes)
           : 1.0;
}
/* Inside the reserve: less than reserve bytes of room left. Cheap unless
 * the store is near its ceiling (then the free list is read, in a read
 * transaction of its own: LMDB lets no write transaction read it). */
int sb_store_tight(sb_store_t *st, size_t reserve);
/* Takes the map size another process set (MDB_MAP_RESIZED): no
 * transaction of this process may be open. */
int sb_store_adopt_size(sb_store_t *st);
/* 0 when the store answers a read in txn and the file at path is still
 * the one mapped; else why says what is wrong */
int sb_store_health(sb_store_t *st, MDB_txn *txn, const char *path,
    char *why, size_t len);

/* keys: strings end with NUL so "ab"+"c" never meets "a"+"bc" */
void sb_key_init(sb_key_t *k, const char *tenant);
void sb_key_raw(sb_key_t *k, const void *p, size_t n);
void sb_key_str(sb_key_t *k, const char *s);
void sb_key_span(sb_key_t *k, sb_span_t s);
void sb_key_u8(sb_key_t *k, unsigned v);
void sb_key_u32(sb_key_t *k, uint32_t v);
void sb_key_u64(sb_key_t *k, uint64_t v);
uint64_t sb_be64(const unsigned char *p);
uint32_t sb_be32(const unsigned char *p);

static inline MDB_val
sb_key_val(sb_key_t *k)
{
    MDB_val  v = { k->n, k->b };

    return v;
}

static inline int
sb_key_has_prefix(const MDB_val *key, const sb_key_t *prefix)
{
    return key->mv_size >= prefix->n
           && memcmp(key->mv_data, prefix->b, prefix->n) == 0;
}

/* rows */
int sb_get(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, MDB_val *val);
int sb_put(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, const void *v,
    size_t len);
int sb_reserve(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, size_t len,
    unsigned char **out);
int sb_del(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k);
int sb_prefix_last(MDB_txn *txn, MDB_dbi dbi, sb_key_t *prefix,
    MDB_val *key, MDB_val *val);
int sb_prefix_any(MDB_txn *txn, MDB_dbi dbi, sb_key_t *prefix);

#endif
