/* The clock and times: milliseconds inside, RFC 3339 UTC at the edge,
 * and durations written the way nginx.conf writes them ("5m"). */

#include <stdio.h>
#include <time.h>

#include "util/sb_util.h"


int64_t
sb_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* "2026-11-23T10:00:00.000Z" (24 bytes); returns the length written. */
size_t
sb_format_time(int64_t ms, char *buf, size_t len)
{
    time_t     s = (time_t) (ms / 1000);
    struct tm  tm;
    int        n;

    gmtime_r(&s, &tm);
    n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (int) (ms % 1000));
    return n < 0 ? 0 : (size_t) n < len ? (size_t) n : len - 1;
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
