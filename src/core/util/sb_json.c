/* The JSON writer (see sb_json.h) and the answers built with it. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/sb_json.h"


void
sb_jw_init(sb_jw_t *w, size_t hint)
{
    w->cap = hint < 64 ? 64 : hint;
    w->buf = malloc(w->cap);
    w->len = 0;
    w->comma = 0;
    w->failed = w->buf == NULL;
}


void
sb_jw_free(sb_jw_t *w)
{
    free(w->buf);
    w->buf = NULL;
}


static int
sb_jw_room(sb_jw_t *w, size_t n)
{
    char    *b;
    size_t   cap;

    if (w->failed) {
        return 0;
    }
    if (w->len + n <= w->cap) {
        return 1;
    }
    cap = w->cap;
    while (cap < w->len + n) {
        cap *= 2;
    }
    b = realloc(w->buf, cap);
    if (b == NULL) {
        w->failed = 1;
        return 0;
    }
    w->buf = b;
    w->cap = cap;
    return 1;
}


void
sb_jw_bytes(sb_jw_t *w, const char *s, size_t n)
{
    if (sb_jw_room(w, n)) {
        memcpy(w->buf + w->len, s, n);
        w->len += n;
    }
}


static void
sb_jw_char(sb_jw_t *w, char c)
{
    if (sb_jw_room(w, 1)) {
        w->buf[w->len++] = c;
    }
}


/* before a value: the comma its predecessor asks for */
static void
sb_jw_value(sb_jw_t *w)
{
    if (w->comma) {
        sb_jw_char(w, ',');
    }
    w->comma = 1;
}


void
sb_jw_obj(sb_jw_t *w)
{
    sb_jw_value(w);
    sb_jw_char(w, '{');
    w->comma = 0;
}


void
sb_jw_obj_end(sb_jw_t *w)
{
    sb_jw_char(w, '}');
    w->comma = 1;
}


void
sb_jw_arr(sb_jw_t *w)
{
    sb_jw_value(w);
    sb_jw_char(w, '[');
    w->comma = 0;
}


void
sb_jw_arr_end(sb_jw_t *w)
{
    sb_jw_char(w, ']');
    w->comma = 1;
}


/* A JSON string. Bytes that are not UTF-8 (only a damaged record could
 * hold them: inputs are checked) are written as U+FFFD, so that an answer
 * is always JSON. */
static void
sb_jw_quoted(sb_jw_t *w, const char *s, size_t n)
{
    static const char  hex[] = "0123456789abcdef";
    const char        *p, *end = s + n, *run;
    char               esc[6];
    unsigned char      c;
    size_t             len;

    sb_jw_char(w, '"');
    for (p = run = s; p < end; p++) {
        c = (unsigned char) *p;
        if (c >= 0x80) {
            len = sb_utf8_char((const unsigned char *) p, (size_t) (end - p));
            if (len) {
                p += len - 1;
                continue;
            }
            sb_jw_bytes(w, run, (size_t) (p - run));
            run = p + 1;
            sb_jw_bytes(w, "\\ufffd", 6);
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        sb_jw_bytes(w, run, (size_t) (p - run));
        run = p + 1;
        esc[0] = '\\';
        switch (c) {
        case '"': sb_jw_bytes(w, "\\\"", 2); continue;
        case '\\': sb_jw_bytes(w, "\\\\", 2); continue;
        case '\n': sb_jw_bytes(w, "\\n", 2); continue;
        case '\r': sb_jw_bytes(w, "\\r", 2); continue;
        case '\t': sb_jw_bytes(w, "\\t", 2); continue;
        case '\b': sb_jw_bytes(w, "\\b", 2); continue;
        case '\f': sb_jw_bytes(w, "\\f", 2); continue;
        default:
            esc[1] = 'u';
            sb_jw_bytes(w, esc, 2);
            esc[0] = '0';
            esc[1] = '0';
            esc[2] = hex[c >> 4];
            esc[3] = hex[c & 0xf];
            sb_jw_bytes(w, esc, 4);
        }
    }
    sb_jw_bytes(w, run, (size_t) (p - run));
    sb_jw_char(w, '"');
}


void
sb_jw_key(sb_jw_t *w, const char *key)
{
    sb_jw_value(w);
    sb_jw_quoted(w, key, strlen(key));
    sb_jw_char(w, ':');
    w->comma = 0;
}


void
sb_jw_strn(sb_jw_t *w, const char *s, size_t n)
{
    sb_jw_value(w);
    sb_jw_quoted(w, s, n);
}


void
sb_jw_str(sb_jw_t *w, const char *s)
{
    if (s == NULL) {
        sb_jw_null(w);
        return;
    }
    sb_jw_strn(w, s, strlen(s));
}


void
sb_jw_span(sb_jw_t *w, sb_span_t s)
{
    if (s.n == 0) {
        sb_jw_null(w);
        return;
    }
    sb_jw_strn(w, s.p, s.n);
}


void
sb_jw_int(sb_jw_t *w, int64_t v)
{
    char  buf[24];
    int   n = snprintf(buf, sizeof(buf), "%lld", (long long) v);

    sb_jw_value(w);
    sb_jw_bytes(w, buf, (size_t) n);
}


void
sb_jw_bool(sb_jw_t *w, int v)
{
    sb_jw_value(w);
    sb_jw_bytes(w, v ? "true" : "false", v ? 4 : 5);
}


void
sb_jw_null(sb_jw_t *w)
{
    sb_jw_value(w);
    sb_jw_bytes(w, "null", 4);
}


void
sb_jw_time(sb_jw_t *w, int64_t ms)
{
    char    buf[40];
    size_t  n;

    if (ms == 0) {
        sb_jw_null(w);
        return;
    }
    n = sb_format_time(ms, buf, sizeof(buf));
    sb_jw_strn(w, buf, n);
}


void
sb_jw_raw(sb_jw_t *w, const char *json, size_t n)
{
    sb_jw_value(w);
    sb_jw_bytes(w, json, n);
}


void
sb_jw_kstr(sb_jw_t *w, const char *key, const char *s)
{
    sb_jw_key(w, key);
    sb_jw_str(w, s);
}


void
sb_jw_kspan(sb_jw_t *w, const char *key, sb_span_t s)
{
    sb_jw_key(w, key);
    sb_jw_span(w, s);
}


void
sb_jw_kint(sb_jw_t *w, const char *key, int64_t v)
{
    sb_jw_key(w, key);
    sb_jw_int(w, v);
}


void
sb_jw_kbool(sb_jw_t *w, const char *key, int v)
{
    sb_jw_key(w, key);
    sb_jw_bool(w, v);
}


void
sb_jw_ktime(sb_jw_t *w, const char *key, int64_t ms)
{
    sb_jw_key(w, key);
    sb_jw_time(w, ms);
}


int
sb_jw_answer(sb_jw_t *w, int status, sb_answer_t *ans)
{
    sb_answer_free(ans);
    if (w->failed) {
        sb_jw_free(w);
        ans->status = 500;
        return -1;
    }
    ans->status = status;
    ans->content_type = NULL;
    ans->body = w->buf;
    ans->len = w->len;
    w->buf = NULL;
    return 0;
}


void
sb_answer_error(sb_answer_t *ans, int status, const char *code,
    const char *fmt, ...)
{
    sb_jw_t  w;
    char     msg[512];
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    sb_jw_init(&w, 128);
    sb_jw_obj(&w);
    sb_jw_key(&w, "error");
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "code", code);
    sb_jw_kstr(&w, "message", msg);
    sb_jw_obj_end(&w);
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, status, ans);
    snprintf(ans->code, sizeof(ans->code), "%s", code);
}


int
sb_answer_text(sb_answer_t *ans, int status, const char *type,
    const char *body, size_t len)
{
    sb_answer_free(ans);
    ans->status = status;
    ans->content_type = type;
    ans->body = malloc(len ? len : 1);
    if (ans->body == NULL) {
        ans->status = 500;
        return -1;
    }
    memcpy(ans->body, body, len);
    ans->len = len;
    return 0;
}


void
sb_answer_free(sb_answer_t *ans)
{
    free(ans->body);
    ans->body = NULL;
    ans->len = 0;
    ans->code[0] = '\0';
}
