/* A JSON reader for request bodies: one pass over the bytes into a flat
 * array of tokens (no tree, no allocation per value), strict (UTF-8,
 * escapes, surrogate pairs, no NUL, depth), then lookups by key. Strings
 * are unescaped only when asked, and only when they hold escapes. */

#ifndef SB_JREAD_H
#define SB_JREAD_H

#include "util/sb_util.h"

#define SB_JSON_NONE  UINT32_MAX          /* no such token */

/* What one body may hold: no request or provider delivery comes near
 * them, and past them a hostile body would cost memory (24 bytes a
 * token) for nothing. Over either, the read fails with too_large set. */
#define SB_JSON_MAX_KEYS    4096          /* members of one object */
#define SB_JSON_MAX_TOKENS  200000        /* values and keys of a body */
#define SB_XSTR(x)  #x
#define SB_STR(x)   SB_XSTR(x)

typedef enum {
    SB_JSON_OBJECT, SB_JSON_ARRAY, SB_JSON_STRING, SB_JSON_NUMBER,
    SB_JSON_TRUE, SB_JSON_FALSE, SB_JSON_NULL
} sb_json_type_t;

typedef struct {
    uint8_t   type;          /* sb_json_type_t */
    uint8_t   escaped;       /* a string holding backslashes */
    uint8_t   integer;       /* a number without fraction or exponent */
    uint32_t  start, len;    /* the bytes: a string's inside its quotes,
                                a container's whole text */
    uint32_t  size;          /* members (pairs) or elements */
    uint32_t  next;          /* the token after this value and its own */
} sb_json_tok_t;

typedef struct {
    const char     *src;
    size_t          len;
    sb_json_tok_t  *tok;
    uint32_t        n, cap;
    char            error[64];
    size_t          error_at;
    int             too_large;  /* the error is a limit above, not syntax */
    sb_arena_t    **mem;     /* tokens and unescaped strings live here */
} sb_json_doc_t;

/* flags */
#define SB_JSON_NO_DUPLICATES  1

/* 0, or -1 with error and error_at set; token 0 is the root. Tokens go
 * to buf (cap of them) first, then to the arena. */
int sb_json_read(sb_json_doc_t *d, const char *src, size_t len, int flags,
    sb_arena_t **mem);
int sb_json_read_in(sb_json_doc_t *d, const char *src, size_t len, int flags,
    sb_arena_t **mem, sb_json_tok_t *buf, uint32_t cap);

/* A request's or a delivery's body, which must be an object: 0, or -1
 * with err set: 413 json_too_large over a limit, 400 malformed_json
 * (what and at which byte), 400 not_an_object. */
int sb_json_read_body(sb_json_doc_t *d, const char *src, size_t len,
    int flags, sb_arena_t **mem, sb_answer_t *err);

/* the value of key in object obj (the last one of that name), or NONE */
uint32_t sb_json_get(const sb_json_doc_t *d, uint32_t obj, const char *key);
/* a path of keys from obj; "#0" takes an array's first element */
uint32_t sb_json_path(const sb_json_doc_t *d, uint32_t obj,
    const char *const *path);

/* children: first, then next; an object's are key, value, key, value… */
static inline uint32_t
sb_json_first(const sb_json_doc_t *d, uint32_t t)
{
    return t != SB_JSON_NONE && d->tok[t].size ? t + 1 : SB_JSON_NONE;
}

static inline uint32_t
sb_json_next(const sb_json_doc_t *d, uint32_t t)
{
    return d->tok[t].next;
}

/* the elements of array c; the keys of object c (its value is k + 1) */
#define SB_JSON_ITEMS(d, i, c)                                              \
    for ((i) = sb_json_first(d, c);                                         \
         (i) != SB_JSON_NONE && (i) < (d)->tok[c].next;                     \
         (i) = (d)->tok[i].next)

#define SB_JSON_KEYS(d, k, c)                                               \
    for ((k) = sb_json_first(d, c);                                         \
         (k) != SB_JSON_NONE && (k) < (d)->tok[c].next;                     \
         (k) = (d)->tok[(k) + 1].next)

static inline int
sb_json_is(const sb_json_doc_t *d, uint32_t t, sb_json_type_t type)
{
    return t != SB_JSON_NONE && d->tok[t].type == type;
}

/* a string's value (unescaped into the arena when it must be; NUL after
 * it); empty span for anything else */
sb_span_t sb_json_str(const sb_json_doc_t *d, uint32_t t);
/* the string at key, or an empty span */
sb_span_t sb_json_get_str(const sb_json_doc_t *d, uint32_t obj,
    const char *key);
/* an integer's value; 0 and -1 when it is not one that fits */
int sb_json_int(const sb_json_doc_t *d, uint32_t t, int64_t *v);
/* the value's own text, as sent */
sb_span_t sb_json_raw(const sb_json_doc_t *d, uint32_t t);

#endif
