/* The JSON reader (see sb_jread.h): RFC 8259, strictly, with the limits
 * a request body needs; refusals name what and where. */

#include <stdio.h>
#include <stdlib.h>

#include "util/sb_jread.h"
#include "util/sb_json.h"

#define SB_JSON_DEPTH  64


typedef struct {
    sb_json_doc_t  *d;
    const char     *p, *end;
    int             flags;
} sb_jr_t;


static int
sb_jr_fail(sb_jr_t *r, const char *what)
{
    snprintf(r->d->error, sizeof(r->d->error), "%s", what);
    r->d->error_at = (size_t) (r->p - r->d->src);
    return -1;
}


/* well-formed so far, but over a limit: the caller answers 413 */
static int
sb_jr_limit(sb_jr_t *r, const char *what)
{
    r->d->too_large = 1;
    return sb_jr_fail(r, what);
}


/* one more member of the container on top: an object's keys are capped */
static int
sb_jr_member(sb_jr_t *r, const uint32_t *stack, uint32_t top)
{
    sb_json_tok_t  *c;

    if (top == 0) {
        return 0;
    }
    c = &r->d->tok[stack[top - 1]];
    if (++c->size > SB_JSON_MAX_KEYS && c->type == SB_JSON_OBJECT) {
        return sb_jr_limit(r, "an object has more than "
                           SB_STR(SB_JSON_MAX_KEYS) " keys");
    }
    return 0;
}


static uint32_t
sb_jr_push(sb_jr_t *r, sb_json_type_t type, const char *start)
{
    sb_json_doc_t  *d = r->d;
    sb_json_tok_t  *t;

    if (d->n == SB_JSON_MAX_TOKENS) {
        (void) sb_jr_limit(r, "more than " SB_STR(SB_JSON_MAX_TOKENS)
                           " values");
        return SB_JSON_NONE;
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 64;
        t = sb_arena_alloc(d->mem, d->cap * sizeof(sb_json_tok_t));
        if (t == NULL) {
            (void) sb_jr_fail(r, "out of memory");
            return SB_JSON_NONE;
        }
        if (d->n) {
            memcpy(t, d->tok, d->n * sizeof(sb_json_tok_t));
        }
        d->tok = t;
    }
    t = &d->tok[d->n];
    memset(t, 0, sizeof(sb_json_tok_t));
    t->type = (uint8_t) type;
    t->start = (uint32_t) (start - d->src);
    t->next = d->n + 1;
    return d->n++;
}


static void
sb_jr_space(sb_jr_t *r)
{
    while (r->p < r->end
           && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    {
        r->p++;
    }
}


static int
sb_hex4(const char *p, uint32_t *v)
{
    int  i, c;

    *v = 0;
    for (i = 0; i < 4; i++) {
        c = (unsigned char) p[i];
        c = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f'
            ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (c < 0) {
            return -1;
        }
        *v = *v << 4 | (uint32_t) c;
    }
    return 0;
}


/* A string: valid UTF-8, no control characters, escapes that decode to
 * characters (no NUL, surrogates in pairs). */
static int
sb_jr_string(sb_jr_t *r)
{
    uint32_t   t, cp, lo;
    size_t     n;

    t = sb_jr_push(r, SB_JSON_STRING, ++r->p);
    if (t == SB_JSON_NONE) {
        return -1;                /* sb_jr_push said why */
    }
    while (r->p < r->end && *r->p != '"') {
        unsigned char  c = (unsigned char) *r->p;

        if (c < 0x20) {
            return sb_jr_fail(r, "control character in a string");
        }
        if (c == '\\') {
            r->d->tok[t].escaped = 1;
            if (r->end - r->p < 2) {
                break;
            }
            if (strchr("\"\\/bfnrt", r->p[1]) && r->p[1]) {
                r->p += 2;
                continue;
            }
            if (r->p[1] != 'u' || r->end - r->p < 6
                || sb_hex4(r->p + 2, &cp) != 0)
            {
                return sb_jr_fail(r, "invalid escape");
            }
            r->p += 6;
            if (cp == 0) {
                return sb_jr_fail(r, "\\u0000 is not allowed");
            }
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                return sb_jr_fail(r, "lone low surrogate");
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u'
                    || sb_hex4(r->p + 2, &lo) != 0 || lo < 0xdc00
                    || lo > 0xdfff)
                {
                    return sb_jr_fail(r, "lone high surrogate");
                }
                r->p += 6;
            }
            continue;
        }
        if (c < 0x80) {
            r->p++;
            continue;
        }
        n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if ((size_t) (r->end - r->p) < n
            || !sb_valid_utf8((const unsigned char *) r->p, n))
        {
            return sb_jr_fail(r, "invalid UTF-8");
        }
        r->p += n;
    }
    if (r->p == r->end) {
        return sb_jr_fail(r, "unterminated string");
    }
    r->d->tok[t].len = (uint32_t) (r->p - r->d->src) - r->d->tok[t].start;
    r->p++;
    return 0;
}


static int
sb_jr_number(sb_jr_t *r)
{
    const char  *s = r->p;
    uint32_t     t;
    int          integer = 1;

    if (*r->p == '-') {
        r->p++;
    }
    if (r->p == r->end || *r->p < '0' || *r->p > '9') {
        return sb_jr_fail(r, "invalid number");
    }
    if (*r->p == '0') {
        r->p++;
    } else {
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
            r->p++;
        }
    }
    if (r->p < r->end && *r->p == '.') {
        integer = 0;
        if (++r->p == r->end || *r->p < '0' || *r->p > '9') {
            return sb_jr_fail(r, "invalid number");
        }
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
            r->p++;
        }
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        integer = 0;
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-')) {
            r->p++;
        }
        if (r->p == r->end || *r->p < '0' || *r->p > '9') {
            return sb_jr_fail(r, "invalid number");
        }
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
            r->p++;
        }
    }
    t = sb_jr_push(r, SB_JSON_NUMBER, s);
    if (t == SB_JSON_NONE) {
        return -1;                /* sb_jr_push said why */
    }
    r->d->tok[t].len = (uint32_t) (r->p - s);
    r->d->tok[t].integer = (uint8_t) integer;
    return 0;
}


static int
sb_jr_literal(sb_jr_t *r)
{
    static const struct { const char *w; sb_json_type_t type; }  lit[] = {
        { "true", SB_JSON_TRUE }, { "false", SB_JSON_FALSE },
        { "null", SB_JSON_NULL }
    };
    size_t  i, n;

    for (i = 0; i < 3; i++) {
        n = strlen(lit[i].w);
        if ((size_t) (r->end - r->p) >= n && memcmp(r->p, lit[i].w, n) == 0) {
            if (sb_jr_push(r, lit[i].type, r->p) == SB_JSON_NONE) {
                return -1;                /* sb_jr_push said why */
            }
            r->d->tok[r->d->n - 1].len = (uint32_t) n;
            r->p += n;
            return 0;
        }
    }
    return sb_jr_fail(r, "invalid value");
}


/* A key's bytes once unescaped: a span of the body when it holds no
 * escape, else a copy in the arena made here, once per key. */
static int
sb_jr_key(const sb_json_doc_t *d, uint32_t k, sb_span_t *out)
{
    if (!d->tok[k].escaped) {
        out->p = d->src + d->tok[k].start;
        out->n = d->tok[k].len;
        return 0;
    }
    *out = sb_json_str(d, k);
    return out->n == 0 ? -1 : 0;          /* an escape is one byte at least */
}


static int
sb_jr_span_cmp(const void *a, const void *b)
{
    const sb_span_t  *x = a, *y = b;
    int               c;

    c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
    return c ? c : x->n < y->n ? -1 : x->n > y->n;
}


/* No key twice in obj: its keys, unescaped once each, sorted, and
 * neighbours compared, O(n log n); a body of thousands of keys must not
 * cost the event loop the pairwise comparisons' seconds (issue 19). */
static int
sb_jr_unique(sb_jr_t *r, uint32_t obj)
{
    const sb_json_doc_t  *d = r->d;
    sb_span_t            *keys, small[16];
    uint32_t              k, n = d->tok[obj].size, i = 0;

    if (n < 2) {
        return 0;
    }
    /* a request's or a token's few keys sort on the stack: no arena is
     * made for them (a token is read on every request) */
    keys = n <= 16 ? small : sb_arena_alloc(d->mem, n * sizeof(sb_span_t));
    if (keys == NULL) {
        return sb_jr_fail(r, "out of memory");
    }
    SB_JSON_KEYS(d, k, obj) {
        if (sb_jr_key(d, k, &keys[i++]) != 0) {
            return sb_jr_fail(r, "out of memory");
        }
    }
    qsort(keys, n, sizeof(sb_span_t), sb_jr_span_cmp);
    for (i = 1; i < n; i++) {
        if (sb_span_eq(keys[i - 1], keys[i])) {
            return sb_jr_fail(r, "duplicate object key");
        }
    }
    return 0;
}


/* One value and everything in it, iteratively (depth is bounded). */
static int
sb_jr_value(sb_jr_t *r)
{
    sb_json_doc_t  *d = r->d;
    uint32_t        stack[SB_JSON_DEPTH], top = 0, t;
    int             want_key = 0;

    for ( ;; ) {
        sb_jr_space(r);
        if (r->p == r->end) {
            return sb_jr_fail(r, "unexpected end of input");
        }

        if (want_key) {
            if (*r->p != '"' || sb_jr_string(r) != 0) {
                return d->error[0] ? -1 : sb_jr_fail(r, "expected a key");
            }
            sb_jr_space(r);
            if (r->p == r->end || *r->p != ':') {
                return sb_jr_fail(r, "expected ':'");
            }
            r->p++;
            sb_jr_space(r);
            if (r->p == r->end) {
                return sb_jr_fail(r, "unexpected end of input");
            }
            want_key = 0;
        }

        switch (*r->p) {
        case '{':
        case '[':
            if (top == SB_JSON_DEPTH) {
                return sb_jr_fail(r, "nested too deep");
            }
            t = sb_jr_push(r, *r->p == '{' ? SB_JSON_OBJECT : SB_JSON_ARRAY,
                           r->p);
            if (t == SB_JSON_NONE) {
                return -1;                /* sb_jr_push said why */
            }
            if (sb_jr_member(r, stack, top) != 0) {
                return -1;
            }
            stack[top++] = t;
            r->p++;
            sb_jr_space(r);
            if (r->p < r->end && (*r->p == '}' || *r->p == ']')) {
                break;                        /* empty: closed below */
            }
            want_key = d->tok[t].type == SB_JSON_OBJECT;
            continue;
        case '"':
            if (sb_jr_member(r, stack, top) != 0) {
                return -1;
            }
            if (sb_jr_string(r) != 0) {
                return -1;
            }
            break;
        case 't': case 'f': case 'n':
            if (sb_jr_member(r, stack, top) != 0) {
                return -1;
            }
            if (sb_jr_literal(r) != 0) {
                return -1;
            }
            break;
        default:
            if (sb_jr_member(r, stack, top) != 0) {
                return -1;
            }
            if (sb_jr_number(r) != 0) {
                return -1;
            }
            break;
        }

        /* after a value: a comma, or the end of containers */
        for ( ;; ) {
            if (top == 0) {
                return 0;
            }
            sb_jr_space(r);
            t = stack[top - 1];
            if (r->p == r->end) {
                return sb_jr_fail(r, "unexpected end of input");
            }
            if (*r->p == ',' && (d->tok[t].size > 0)) {
                r->p++;
                want_key = d->tok[t].type == SB_JSON_OBJECT;
                break;
            }
            if (*r->p != (d->tok[t].type == SB_JSON_OBJECT ? '}' : ']')) {
                return sb_jr_fail(r, d->tok[t].type == SB_JSON_OBJECT
                                     ? "expected ',' or '}'"
                                     : "expected ',' or ']'");
            }
            r->p++;
            d->tok[t].next = d->n;
            d->tok[t].len = (uint32_t) (r->p - d->src) - d->tok[t].start;
            if (d->tok[t].type == SB_JSON_OBJECT
                && (r->flags & SB_JSON_NO_DUPLICATES)
                && sb_jr_unique(r, t) != 0)
            {
                return -1;
            }
            top--;
        }
    }
}


int
sb_json_read(sb_json_doc_t *d, const char *src, size_t len, int flags,
    sb_arena_t **mem)
{
    return sb_json_read_in(d, src, len, flags, mem, NULL, 0);
}


int
sb_json_read_in(sb_json_doc_t *d, const char *src, size_t len, int flags,
    sb_arena_t **mem, sb_json_tok_t *buf, uint32_t cap)
{
    sb_jr_t  r;

    memset(d, 0, sizeof(sb_json_doc_t));
    d->tok = buf;
    d->cap = cap;
    d->src = src;
    d->len = len;
    d->mem = mem;
    r.d = d;
    r.p = src;
    r.end = src + len;
    r.flags = flags;
    if (len > UINT32_MAX) {
        return sb_jr_fail(&r, "too long");
    }
    if (sb_jr_value(&r) != 0) {
        return -1;
    }
    sb_jr_space(&r);
    if (r.p != r.end) {
        return sb_jr_fail(&r, "end of input expected");
    }
    return 0;
}


/* Unescapes the string at p (len bytes, checked by the reader) into out,
 * which holds len bytes at least; the length written. */
static size_t sb_jr_unescape(const char *p, size_t len, char *out);


/* A key against a name, without allocating: an escaped key is decoded
 * into the stack (an escape is at most 6 bytes for one byte, so a longer
 * key cannot be the name). */
int
sb_json_read_body(sb_json_doc_t *d, const char *src, size_t len, int flags,
    sb_arena_t **mem, sb_answer_t *err)
{
    if (sb_json_read(d, src, len, flags, mem) != 0) {
        if (d->too_large) {
            sb_answer_error(err, 413, "json_too_large", "%s", d->error);
        } else {
            sb_answer_error(err, 400, "malformed_json", "%s (at byte %zu)",
                            d->error, d->error_at);
        }
        return -1;
    }
    if (!sb_json_is(d, 0, SB_JSON_OBJECT)) {
        sb_answer_error(err, 400, "not_an_object",
                        "the body must be a JSON object");
        return -1;
    }
    return 0;
}


static int
sb_key_is(const sb_json_doc_t *d, uint32_t k, const char *key, size_t n)
{
    char  buf[6 * 64];

    if (!d->tok[k].escaped) {
        return d->tok[k].len == n
               && memcmp(d->src + d->tok[k].start, key, n) == 0;
    }
    if (d->tok[k].len > sizeof(buf) || d->tok[k].len > 6 * n) {
        return 0;
    }
    return sb_jr_unescape(d->src + d->tok[k].start, d->tok[k].len, buf) == n
           && memcmp(buf, key, n) == 0;
}


uint32_t
sb_json_get(const sb_json_doc_t *d, uint32_t obj, const char *key)
{
    uint32_t  k, i, found = SB_JSON_NONE;
    size_t    n = strlen(key);

    if (!sb_json_is(d, obj, SB_JSON_OBJECT)) {
        return SB_JSON_NONE;
    }
    for (i = 0, k = obj + 1; i < d->tok[obj].size; i++, k = d->tok[k + 1].next)
    {
        if (sb_key_is(d, k, key, n)) {
            found = k + 1;
        }
    }
    return found;
}


uint32_t
sb_json_path(const sb_json_doc_t *d, uint32_t t, const char *const *path)
{
    for ( /* void */ ; t != SB_JSON_NONE && *path; path++) {
        if ((*path)[0] == '#') {
            t = sb_json_is(d, t, SB_JSON_ARRAY) ? sb_json_first(d, t)
                                                : SB_JSON_NONE;
        } else {
            t = sb_json_get(d, t, *path);
        }
    }
    return t;
}


static size_t
sb_utf8_put(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char) cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char) (0xc0 | cp >> 6);
        o[1] = (char) (0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char) (0xe0 | cp >> 12);
        o[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char) (0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char) (0xf0 | cp >> 18);
    o[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char) (0x80 | (cp & 0x3f));
    return 4;
}


static size_t
sb_jr_unescape(const char *p, size_t len, char *out)
{
    const char  *end = p + len;
    char        *o;
    uint32_t     cp, lo;

    for (o = out; p < end; ) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        switch (p[1]) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u':
            (void) sb_hex4(p + 2, &cp);
            if (cp >= 0xd800 && cp <= 0xdbff) {
                (void) sb_hex4(p + 8, &lo);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            o += sb_utf8_put(o, cp);
            p += 6;
            continue;
        default: *o++ = p[1]; break;
        }
        p += 2;
    }
    return (size_t) (o - out);
}


sb_span_t
sb_json_str(const sb_json_doc_t *d, uint32_t t)
{
    sb_span_t  s = { "", 0 };
    char      *out;

    if (!sb_json_is(d, t, SB_JSON_STRING)) {
        return s;
    }
    if (!d->tok[t].escaped) {
        s.p = d->src + d->tok[t].start;
        s.n = d->tok[t].len;
        return s;
    }
    out = sb_arena_alloc(d->mem, d->tok[t].len + 1);
    if (out == NULL) {
        return s;
    }
    s.n = sb_jr_unescape(d->src + d->tok[t].start, d->tok[t].len, out);
    out[s.n] = '\0';
    s.p = out;
    return s;
}


sb_span_t
sb_json_get_str(const sb_json_doc_t *d, uint32_t obj, const char *key)
{
    return sb_json_str(d, sb_json_get(d, obj, key));
}


int
sb_json_int(const sb_json_doc_t *d, uint32_t t, int64_t *v)
{
    const char  *p, *end;
    int          neg = 0;
    uint64_t     u = 0;

    *v = 0;
    if (!sb_json_is(d, t, SB_JSON_NUMBER) || !d->tok[t].integer) {
        return -1;
    }
    p = d->src + d->tok[t].start;
    end = p + d->tok[t].len;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    for ( /* void */ ; p < end; p++) {
        if (u > (UINT64_MAX - 9) / 10) {
            return -1;
        }
        u = u * 10 + (uint64_t) (*p - '0');
    }
    if (u > (uint64_t) INT64_MAX) {
        return -1;
    }
    *v = neg ? -(int64_t) u : (int64_t) u;
    return 0;
}


sb_span_t
sb_json_raw(const sb_json_doc_t *d, uint32_t t)
{
    sb_span_t  s = { NULL, 0 };

    if (t != SB_JSON_NONE) {
        s.p = d->src + d->tok[t].start
              - (d->tok[t].type == SB_JSON_STRING ? 1 : 0);
        s.n = d->tok[t].len + (d->tok[t].type == SB_JSON_STRING ? 2 : 0);
    }
    return s;
}
