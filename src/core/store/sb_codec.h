/* The binary record codec: a two-byte head (record type, version), then
 * fixed-width host-order integers and length-prefixed byte strings. The
 * reader is bounds-checked: a corrupted record is refused, never read. */

#ifndef SB_CODEC_H
#define SB_CODEC_H

#include "util/sb_util.h"

/* p NULL: only count, so that a writer can MDB_RESERVE the exact size */
typedef struct {
    unsigned char  *p;
    size_t          n;
} sb_wr_t;

typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
    int                   bad;
} sb_rd_t;

static inline void
sb_wr_raw(sb_wr_t *w, const void *b, size_t n)
{
    if (w->p && n) {
        memcpy(w->p + w->n, b, n);
    }
    w->n += n;
}

static inline void sb_wr_u8(sb_wr_t *w, uint8_t v) { sb_wr_raw(w, &v, 1); }
static inline void sb_wr_u32(sb_wr_t *w, uint32_t v) { sb_wr_raw(w, &v, 4); }
static inline void sb_wr_u64(sb_wr_t *w, uint64_t v) { sb_wr_raw(w, &v, 8); }
static inline void sb_wr_i64(sb_wr_t *w, int64_t v) { sb_wr_raw(w, &v, 8); }

static inline void
sb_wr_span(sb_wr_t *w, sb_span_t s)
{
    sb_wr_u32(w, (uint32_t) s.n);
    sb_wr_raw(w, s.p, s.n);
}

static inline void
sb_wr_str(sb_wr_t *w, const char *s)
{
    sb_span_t  sp = { s, strlen(s) };

    sb_wr_span(w, sp);
}

static inline void
sb_wr_head(sb_wr_t *w, char type, uint8_t version)
{
    sb_wr_u8(w, (uint8_t) type);
    sb_wr_u8(w, version);
}

static inline void
sb_rd_init(sb_rd_t *r, const void *p, size_t n)
{
    r->p = p;
    r->end = r->p + n;
    r->bad = 0;
}

static inline const unsigned char *
sb_rd_take(sb_rd_t *r, size_t n)
{
    const unsigned char  *p = r->p;

    if (r->bad || (size_t) (r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    r->p += n;
    return p;
}

static inline uint8_t
sb_rd_u8(sb_rd_t *r)
{
    const unsigned char  *p = sb_rd_take(r, 1);

    return p ? *p : 0;
}

static inline uint32_t
sb_rd_u32(sb_rd_t *r)
{
    const unsigned char  *p = sb_rd_take(r, 4);
    uint32_t              v = 0;

    if (p) {
        memcpy(&v, p, 4);
    }
    return v;
}

static inline uint64_t
sb_rd_u64(sb_rd_t *r)
{
    const unsigned char  *p = sb_rd_take(r, 8);
    uint64_t              v = 0;

    if (p) {
        memcpy(&v, p, 8);
    }
    return v;
}

static inline int64_t
sb_rd_i64(sb_rd_t *r)
{
    return (int64_t) sb_rd_u64(r);
}

/* A byte string read in place: it points into the record. */
static inline sb_span_t
sb_rd_span(sb_rd_t *r)
{
    sb_span_t  s = { NULL, 0 };
    uint32_t   n = sb_rd_u32(r);
    const unsigned char  *p = sb_rd_take(r, n);

    if (p) {
        s.p = (const char *) p;
        s.n = n;
    }
    return s;
}

/* A byte string copied into dst (cap bytes with its NUL); too long or
 * holding a NUL is a corrupted record. */
static inline void
sb_rd_str(sb_rd_t *r, char *dst, size_t cap)
{
    sb_span_t  s = sb_rd_span(r);

    if (r->bad || s.n >= cap || memchr(s.p, '\0', s.n) != NULL) {
        r->bad = 1;
        dst[0] = '\0';
        return;
    }
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
}

/* 0 when the head names this type and version. */
static inline int
sb_rd_head(sb_rd_t *r, char type, uint8_t version)
{
    return sb_rd_u8(r) == (uint8_t) type && sb_rd_u8(r) == version
           && !r->bad ? 0 : -1;
}

/* Done: every byte used, none missing. */
static inline int
sb_rd_done(sb_rd_t *r)
{
    return r->bad || r->p != r->end ? -1 : 0;
}

#endif
