/* Small pure helpers of the core: clock, RFC 3339 times, id and UTF-8
 * checks, channel names, JSON error answers and the moved-logs set. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sb_core.h"


static const char *sb_channel_names[SB_CH_COUNT] = {
    "whatsapp", "messenger", "instagram", "facebook", "twitter", "sms",
    "mobile", "chat"
};


int64_t
sb_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


void
sb_format_time(int64_t ms, char *buf, size_t len)
{
    time_t     s = (time_t) (ms / 1000);
    struct tm  tm;

    gmtime_r(&s, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}


/* The largest unit that divides evenly, as nginx would write it: "5m". */
void
sb_format_duration(int64_t ms, char *buf, size_t len)
{
    static const struct { int64_t ms; const char *unit; }  units[] = {
        { 86400000, "d" }, { 3600000, "h" }, { 60000, "m" }, { 1000, "s" },
        { 1, "ms" }
    };
    size_t  i;

    for (i = 0; i < sizeof(units) / sizeof(units[0]) - 1; i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            break;
        }
    }
    snprintf(buf, len, "%lld%s", (long long) (ms / units[i].ms),
             units[i].unit);
}


/* Accepts RFC 3339: date, 'T', time, optional fraction, 'Z' or +hh:mm. */
int
sb_parse_time(const char *s, int64_t *ms)
{
    int        y, mo, d, h, mi, sec, n, sign, oh, om;
    int64_t    frac = 0, scale = 1000;
    struct tm  tm;
    time_t     t;

    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) {
        return -1;
    }
    s += n;
    if (*s != 'T' && *s != 't') {
        return -1;
    }
    s++;
    if (sscanf(s, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3 || n != 8) {
        return -1;
    }
    s += n;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9') {
            return -1;
        }
        while (*s >= '0' && *s <= '9') {
            if (scale > 1) {
                scale /= 10;
                frac += (*s - '0') * scale;
            }
            s++;
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59
        || sec > 60)
    {
        return -1;
    }

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);

    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        sign = (*s == '+') ? 1 : -1;
        if (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5
            || oh > 23 || om > 59)
        {
            return -1;
        }
        t -= sign * (oh * 3600 + om * 60);
        s += 6;
    } else {
        return -1;
    }
    if (*s != '\0') {
        return -1;
    }

    *ms = (int64_t) t * 1000 + frac;
    return 0;
}


/* Ids are 1-64 of A-Za-z0-9._- ; provider visitor ids may also hold +:@ */
int
sb_valid_id(const char *s, size_t len, int provider)
{
    size_t  i;
    char    c;

    if (len == 0 || len > SB_ID_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')
        {
            continue;
        }
        if (provider && (c == '+' || c == ':' || c == '@')) {
            continue;
        }
        return 0;
    }
    return 1;
}


/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
int
sb_valid_utf8(const unsigned char *s, size_t len)
{
    size_t    i = 0, n, k;
    uint32_t  cp, min;

    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if ((s[i] & 0xe0) == 0xc0) {
            n = 1; cp = s[i] & 0x1f; min = 0x80;
        } else if ((s[i] & 0xf0) == 0xe0) {
            n = 2; cp = s[i] & 0x0f; min = 0x800;
        } else if ((s[i] & 0xf8) == 0xf0) {
            n = 3; cp = s[i] & 0x07; min = 0x10000;
        } else {
            return 0;
        }
        if (i + n >= len) {
            return 0;
        }
        for (k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
        i += n + 1;
    }
    return 1;
}


const char *
sb_channel_name(int ch)
{
    return (ch >= 0 && ch < SB_CH_COUNT) ? sb_channel_names[ch] : "?";
}


static const char *sb_cap_names[SB_CAP_COUNT] = {
    "canned", "block", "emoji", "tags", "attachments", "offers", "transfer"
};


const char *
sb_cap_name(unsigned cap)
{
    int  i;

    for (i = 0; i < SB_CAP_COUNT; i++) {
        if (cap == (1u << i)) {
            return sb_cap_names[i];
        }
    }
    return "?";
}


unsigned
sb_cap_parse(const char *s, size_t len)
{
    int  i;

    for (i = 0; i < SB_CAP_COUNT; i++) {
        if (strlen(sb_cap_names[i]) == len
            && memcmp(sb_cap_names[i], s, len) == 0)
        {
            return 1u << i;
        }
    }
    return 0;
}


/* Pictographs, dingbats, flags, keycaps, variation selector 16: what a
 * channel without emoji could not show. Input is valid UTF-8. */
int
sb_has_emoji(const unsigned char *s, size_t len)
{
    size_t    i = 0, n;
    uint32_t  cp;

    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        n = (s[i] >= 0xf0) ? 3 : (s[i] >= 0xe0) ? 2 : 1;
        cp = s[i] & (0x3f >> n);
        for (size_t k = 1; k <= n && i + k < len; k++) {
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((cp >= 0x1f000 && cp <= 0x1faff) || (cp >= 0x2600 && cp <= 0x27bf)
            || cp == 0xfe0f || cp == 0x20e3)
        {
            return 1;
        }
        i += n + 1;
    }
    return 0;
}


int
sb_channel_parse(const char *s, size_t len)
{
    int  i;

    for (i = 0; i < SB_CH_COUNT; i++) {
        if (strlen(sb_channel_names[i]) == len
            && memcmp(sb_channel_names[i], s, len) == 0)
        {
            return i;
        }
    }
    return -1;
}


int
sb_class_of_channel(const sb_config_t *cfg, int channel)
{
    int  i;

    for (i = 0; i < cfg->nclasses; i++) {
        if (cfg->classes[i].channels & (1u << channel)) {
            return i;
        }
    }
    return -1;
}


int
sb_class_find(const sb_config_t *cfg, const char *name, size_t len)
{
    int  i;

    for (i = 0; i < cfg->nclasses; i++) {
        if (strlen(cfg->classes[i].name) == len
            && memcmp(cfg->classes[i].name, name, len) == 0)
        {
            return i;
        }
    }
    return -1;
}


/* Takes ownership of body. */
void
sb_result_set(sb_result_t *res, int status, json_t *body)
{
    free(res->body);
    res->status = status;
    res->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
}


void
sb_result_error(sb_result_t *res, int status, const char *code,
    const char *fmt, ...)
{
    char     msg[512];
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    sb_result_set(res, status,
                  json_pack("{s:{s:s,s:s}}", "error", "code", code,
                            "message", msg));
}


void
sb_result_free(sb_result_t *res)
{
    free(res->body);
    res->body = NULL;
    json_decref(res->data);
    res->data = NULL;
}


int
sb_moved_add(sb_moved_t *mv, const char *tenant, const char *owner)
{
    size_t   i;
    char    *key, **keys;

    if (asprintf(&key, "%s/%s", tenant, owner) < 0) {
        return -1;
    }
    /* a recent repeat is dropped; an older one only costs a second look */
    for (i = mv->n > 16 ? mv->n - 16 : 0; i < mv->n; i++) {
        if (strcmp(mv->keys[i], key) == 0) {
            free(key);
            return 0;
        }
    }
    if (mv->n == mv->cap) {
        mv->cap = mv->cap ? mv->cap * 2 : 16;
        keys = realloc(mv->keys, mv->cap * sizeof(char *));
        if (keys == NULL) {
            free(key);
            return -1;
        }
        mv->keys = keys;
    }
    mv->keys[mv->n++] = key;
    return 0;
}


void
sb_moved_truncate(sb_moved_t *mv, size_t n)
{
    while (mv->n > n) {
        free(mv->keys[--mv->n]);
    }
}


void
sb_moved_free(sb_moved_t *mv)
{
    sb_moved_truncate(mv, 0);
    free(mv->keys);
    mv->keys = NULL;
    mv->cap = 0;
}
