/* The per-batch cache's insides, shared by the cache (sb_cache.c) and
 * its flush (sb_flush.c); no other file looks into an entry. */

#ifndef SB_CACHE_H
#define SB_CACHE_H

#include "domain/sb_domain.h"

#define SB_BUCKETS  4096          /* a power of two */

typedef struct sb_entry_s  sb_entry_t;

struct sb_entry_s {
    sb_entry_t  *next;            /* hash chain */
    sb_entry_t  *all;             /* every entry of the batch */
    uint32_t     hash;
    char         kind;            /* 'C' conversation, 'A' agent, 'S' seq,
                                     'N' counter */
    uint8_t      loaded;          /* the store had it */
    uint8_t      deleted;
    uint8_t      persist;         /* 'S': written back to the meta db */
    int          db;
    int64_t      value;           /* 'S': last value; 'N': the delta */
    size_t       klen;
    unsigned char key[SB_KEY_MAX];   /* last: a kind's fields follow */
};

/* a record as loaded is kept encoded: the flush writes it again only
 * when its encoding changed */
typedef struct {
    sb_entry_t            h;
    const unsigned char  *orig;
    size_t                orig_len;
    uint8_t               orig_state;
    sb_conv_t             cur;
} sb_conv_entry_t;

typedef struct {
    sb_entry_t            h;
    const unsigned char  *orig;
    size_t                orig_len;
    uint8_t               orig_status[SB_MAX_CLASSES];
    sb_ready_snap_t       synced;
    sb_agent_t            cur;
} sb_agent_entry_t;

/* deadline rows a FIRE could not act on, kept across the abort of their
 * transaction so that the FIRE run again sets them aside (sb_deadline.c) */
typedef struct {
    unsigned char  key[SB_KEY_MAX];
    size_t         len;
    int            rc;                 /* what acting on it returned */
} sb_bad_row_t;

struct sb_batch_s {
    sb_store_t   *st;
    sb_bad_row_t  bad[SB_PARK_MAX];
    size_t        nbad;
    int64_t       apply_ns;        /* in transactions, apply and flush */
    int64_t       commit_ns;       /* in mdb_txn_commit */
    uint64_t      commands;
    MDB_txn      *txn;
    sb_moved_t   *moved;
    sb_arena_t   *arena;
    sb_entry_t   *all;
    sb_entry_t   *buckets[SB_BUCKETS];
};


void sb_agent_key(sb_key_t *k, const char *tenant, const char *id);

#endif
