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
    int64_t    frac = ms % 1000;
    time_t     s = (time_t) (ms / 1000 - (frac < 0));
    struct tm  tm;
    int        n;

    /* before 1970 too: the second is the floor, the fraction positive */
    if (gmtime_r(&s, &tm) == NULL) {
        memset(&tm, 0, sizeof(tm));
    }
    n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (int) (frac < 0 ? frac + 1000 : frac));
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


/* n decimal digits at s, nothing else (no sign, no blank), or -1. */
static int
sb_digits(const char *s, int n)
{
    int  v = 0;

    while (n--) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        v = v * 10 + (*s++ - '0');
    }
    return v;
}


static int
sb_days_in_month(int y, int mo)
{
    static const int  days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                                 31 };

    if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
        return 29;
    }
    return days[mo - 1];
}


/*
 * RFC 3339 (its "date-time"): YYYY-MM-DD, 'T', hh:mm:ss, an optional
 * fraction, 'Z' or +hh:mm / -hh:mm; 't' and 'z' too. Every field is its
 * exact count of digits, and the date and time must exist: no Nov 31, no
 * second 60 (timegm would quietly move them), no sign or blank inside a
 * field.
 */
int
sb_parse_time(const char *s, int64_t *ms)
{
    int        y, mo, d, h, mi, sec, sign, oh, om;
    int64_t    frac = 0, scale = 1000;
    struct tm  tm;
    time_t     t;

    /* field by field: a short string stops at its first missing byte */
    if ((y = sb_digits(s, 4)) < 0 || s[4] != '-'
        || (mo = sb_digits(s + 5, 2)) < 1 || mo > 12 || s[7] != '-'
        || (d = sb_digits(s + 8, 2)) < 1 || d > sb_days_in_month(y, mo)
        || (s[10] != 'T' && s[10] != 't'))
    {
        return -1;
    }
    s += 11;
    if ((h = sb_digits(s, 2)) < 0 || h > 23 || s[2] != ':'
        || (mi = sb_digits(s + 3, 2)) < 0 || mi > 59 || s[5] != ':'
        || (sec = sb_digits(s + 6, 2)) < 0 || sec > 59)
    {
        return -1;
    }
    s += 8;
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
        if ((oh = sb_digits(s + 1, 2)) < 0 || oh > 23 || s[3] != ':'
            || (om = sb_digits(s + 4, 2)) < 0 || om > 59)
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
