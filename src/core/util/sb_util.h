/* Small pure helpers: a bump arena, the clock and RFC 3339 times, UTF-8
 * and id checks, the names of the core's enums, the moved-logs set. */

#ifndef SB_UTIL_H
#define SB_UTIL_H

#include <errno.h>
#include <string.h>

#include "sb_types.h"

#define SB_TRY(expr)  do { int rc_ = (expr); if (rc_) return rc_; } while (0)

/* arena: many small allocations, freed together */
void *sb_arena_alloc(sb_arena_t **a, size_t n);
sb_span_t sb_arena_copy(sb_arena_t **a, const char *p, size_t n);
void sb_arena_reset(sb_arena_t *a);
void sb_arena_free(sb_arena_t *a);

/* time */
int64_t sb_now_ms(void);
size_t sb_format_time(int64_t ms, char *buf, size_t len);
void sb_format_duration(int64_t ms, char *buf, size_t len);
int sb_parse_time(const char *s, int64_t *ms);

/* text */
int sb_valid_id(const char *s, size_t len, int provider);
int sb_valid_utf8(const unsigned char *s, size_t len);
size_t sb_utf8_char(const unsigned char *s, size_t len);
int sb_has_emoji(const unsigned char *s, size_t len);
size_t sb_utf8_chars(const char *s, size_t len);
size_t sb_utf8_cut(const char *s, size_t len, size_t max);
int sb_normalize_tag(const char *in, size_t len, char *out);
int sb_percent_decode(const char *in, size_t len, int plus_space, char *out,
    size_t *out_len);

static inline sb_span_t
sb_cspan(const char *s)
{
    sb_span_t  sp = { s, s ? strlen(s) : 0 };

    return sp;
}

static inline int
sb_span_is(sb_span_t s, const char *word)
{
    size_t  n = strlen(word);

    return s.n == n && memcmp(s.p, word, n) == 0;
}

static inline int
sb_span_eq(sb_span_t a, sb_span_t b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* names of the enums, and back */
const char *sb_channel_name(int ch);
int sb_channel_parse(const char *s, size_t len);
const char *sb_state_name(int state);
int sb_state_parse(const char *s, size_t len);
const char *sb_status_name(int status);
const char *sb_why_name(int why);
const char *sb_delivery_name(int state);
const char *sb_cap_name(unsigned cap);
const char *sb_cmd_name(int type);
const char *sb_hook_name(int type);
unsigned sb_hook_parse(const char *s, size_t len);
unsigned sb_cap_parse(const char *s, size_t len);
int sb_class_of_channel(const sb_config_t *cfg, int channel);
int sb_class_find(const sb_config_t *cfg, const char *name, size_t len);

/* commands */
void sb_cmd_init(sb_cmd_t *cmd, sb_cmd_type_t type, int64_t now);
void sb_cmd_free(sb_cmd_t *cmd);
void sb_result_free(sb_result_t *res);
void sb_result_free_record(sb_result_t *res);

/* event logs that moved */
int sb_moved_add(sb_moved_t *mv, const char *tenant, const char *owner,
    size_t owner_len);
void sb_moved_truncate(sb_moved_t *mv, size_t n);
void sb_moved_free(sb_moved_t *mv);

#endif
