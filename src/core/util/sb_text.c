/* Text checks: ids, strict UTF-8, emoji (R12), character counts and cuts
 * on character boundaries, and tag normalisation (R11). */

#include <ctype.h>

#include "util/sb_util.h"


/* Ids are 1-64 of A-Za-z0-9._- ; provider visitor ids may also hold +:@ .
 * "." and ".." are not ids: a URL path could never name them (nginx
 * merges them away), so an admin could not reach what they would name. */
int
sb_valid_id(const char *s, size_t len, int provider)
{
    size_t  i;
    char    c;

    if (len == 0 || len > (provider ? SB_VISITOR_MAX : SB_ID_MAX)
        || (len <= 2 && s[0] == '.' && s[len - 1] == '.'))
    {
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


/* The length of the UTF-8 character at s (1-4 bytes), or 0 when the
 * bytes are not one: strict, no overlongs, no surrogates, nothing above
 * U+10FFFF. */
size_t
sb_utf8_char(const unsigned char *s, size_t len)
{
    size_t    n, k;
    uint32_t  cp, min;

    if (s[0] < 0x80) {
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        n = 1; cp = s[0] & 0x1f; min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 2; cp = s[0] & 0x0f; min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 3; cp = s[0] & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (n >= len) {
        return 0;
    }
    for (k = 1; k <= n; k++) {
        if ((s[k] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n + 1;
}


int
sb_valid_utf8(const unsigned char *s, size_t len)
{
    size_t  i = 0, n;

    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        n = sb_utf8_char(s + i, len - i);
        if (n == 0) {
            return 0;
        }
        i += n;
    }
    return 1;
}


/* Pictographs, dingbats, flags, keycaps, variation selector 16: what a
 * channel without emoji could not show. Input is valid UTF-8. */
int
sb_has_emoji(const unsigned char *s, size_t len)
{
    size_t    i = 0, n, k;
    uint32_t  cp;

    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        n = (s[i] >= 0xf0) ? 3 : (s[i] >= 0xe0) ? 2 : 1;
        cp = s[i] & (0x3f >> n);
        for (k = 1; k <= n && i + k < len; k++) {
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


/* Characters (code points) in valid UTF-8: what providers count. */
size_t
sb_utf8_chars(const char *s, size_t len)
{
    size_t  i, chars = 0;

    for (i = 0; i < len; i++) {
        chars += ((unsigned char) s[i] & 0xc0) != 0x80;
    }
    return chars;
}


/* The longest prefix of s within max bytes that ends on a character. */
size_t
sb_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }
    while (max > 0 && ((unsigned char) s[max] & 0xc0) == 0x80) {
        max--;
    }
    return max;
}


/* R11: lower-case, outer blanks trimmed, inner blanks as one '-'; 1-32
 * bytes, no control characters or commas. out holds SB_TAG_MAX + 1. */
int
sb_normalize_tag(const char *in, size_t len, char *out)
{
    const char  *end = in + len;
    size_t       n = 0;
    int          blank = 0;

    while (in < end && (*in == ' ' || *in == '\t')) {
        in++;
    }
    for ( ; in < end; in++) {
        if (*in == ' ' || *in == '\t') {
            blank = 1;
            continue;
        }
        if ((unsigned char) *in < 0x20 || *in == 0x7f || *in == ',') {
            return -1;
        }
        if (blank && n) {
            if (n == SB_TAG_MAX) {
                return -1;
            }
            out[n++] = '-';
        }
        blank = 0;
        if (n == SB_TAG_MAX) {
            return -1;
        }
        out[n++] = (char) tolower((unsigned char) *in);
    }
    out[n] = '\0';
    return n ? 0 : -1;
}


static int
sb_hex_digit(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}


/*
 * Percent-decoding, for query arguments and form fields (with plus_space,
 * '+' is a space, as forms write it): into out (len + 1 bytes, NUL
 * ended); -1 for a "%" without two hex digits, or a value that decodes to
 * a NUL or to invalid UTF-8: refused whole, never cut at the NUL or
 * passed on as it came (R26).
 */
int
sb_percent_decode(const char *in, size_t len, int plus_space, char *out,
    size_t *out_len)
{
    size_t  i, n = 0;
    int     hi, lo;

    for (i = 0; i < len; i++) {
        if (in[i] == '+' && plus_space) {
            out[n++] = ' ';
            continue;
        }
        if (in[i] != '%') {
            out[n++] = in[i];
            continue;
        }
        if (len - i < 3
            || (hi = sb_hex_digit((unsigned char) in[i + 1])) < 0
            || (lo = sb_hex_digit((unsigned char) in[i + 2])) < 0)
        {
            return -1;
        }
        out[n++] = (char) (hi << 4 | lo);
        i += 2;
    }
    out[n] = '\0';
    if (memchr(out, '\0', n) != NULL
        || !sb_valid_utf8((const unsigned char *) out, n))
    {
        return -1;
    }
    *out_len = n;
    return 0;
}
