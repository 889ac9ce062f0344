/* A JSON writer for answers: one growing buffer, no tree, no allocation
 * per value. Strings are written as given (valid UTF-8) with the escapes
 * JSON requires. Errors (out of memory) stick and show at the end. */

#ifndef SB_JSON_H
#define SB_JSON_H

#include "util/sb_util.h"

typedef struct {
    char    *buf;
    size_t   len, cap;
    int      comma;           /* a value came before: the next needs ',' */
    int      failed;
} sb_jw_t;

void sb_jw_init(sb_jw_t *w, size_t hint);
void sb_jw_free(sb_jw_t *w);
void sb_jw_obj(sb_jw_t *w);
void sb_jw_obj_end(sb_jw_t *w);
void sb_jw_arr(sb_jw_t *w);
void sb_jw_arr_end(sb_jw_t *w);
void sb_jw_key(sb_jw_t *w, const char *key);
void sb_jw_strn(sb_jw_t *w, const char *s, size_t n);
void sb_jw_str(sb_jw_t *w, const char *s);         /* NULL: null */
void sb_jw_span(sb_jw_t *w, sb_span_t s);          /* empty: null */
void sb_jw_int(sb_jw_t *w, int64_t v);
void sb_jw_bool(sb_jw_t *w, int v);
void sb_jw_null(sb_jw_t *w);
void sb_jw_time(sb_jw_t *w, int64_t ms);           /* 0: null */
void sb_jw_raw(sb_jw_t *w, const char *json, size_t n);
void sb_jw_bytes(sb_jw_t *w, const char *s, size_t n);  /* unquoted */

/* "key": value, in one call */
void sb_jw_kstr(sb_jw_t *w, const char *key, const char *s);
void sb_jw_kspan(sb_jw_t *w, const char *key, sb_span_t s);
void sb_jw_kint(sb_jw_t *w, const char *key, int64_t v);
void sb_jw_kbool(sb_jw_t *w, const char *key, int v);
void sb_jw_ktime(sb_jw_t *w, const char *key, int64_t ms);

/* the finished document into an answer; 0, or -1 when out of memory */
int sb_jw_answer(sb_jw_t *w, int status, sb_answer_t *ans);

/* {"error":{"code":…,"message":…}} */
void sb_answer_error(sb_answer_t *ans, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int sb_answer_text(sb_answer_t *ans, int status, const char *type,
    const char *body, size_t len);
void sb_answer_free(sb_answer_t *ans);

#endif
