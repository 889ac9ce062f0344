/* Twilio (SMS, and WhatsApp through Twilio): form-encoded webhooks, the
 * X-Twilio-Signature over the public URL plus the sorted fields, and the
 * fields turned into messages and delivery statuses. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sb_internal.h"


static int
sb_hex(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f'
           ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}


/* One form component, '+' as space and %XX decoded; NULL when broken. */
static char *
sb_form_decode(const char *s, size_t len)
{
    char    *out = malloc(len + 1), *o = out;
    size_t   i;
    int      h, l;

    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i < len; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= len) {
                free(out);
                return NULL;
            }
            h = sb_hex((unsigned char) s[i + 1]);
            l = sb_hex((unsigned char) s[i + 2]);
            if (h < 0 || l < 0) {
                free(out);
                return NULL;
            }
            *o++ = (char) (h << 4 | l);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    if (memchr(out, '\0', (size_t) (o - out)) != NULL
        || !sb_valid_utf8((unsigned char *) out, (size_t) (o - out)))
    {
        free(out);
        return NULL;
    }
    return out;
}


/*
 * application/x-www-form-urlencoded as [[name, value], ...] in the order
 * sent (names repeat: MediaUrl0..n are distinct, but a field may not be).
 */
json_t *
sb_form_parse(const char *body, size_t len, sb_result_t *err)
{
    json_t      *pairs = json_array();
    const char  *p = body, *end = body + len, *amp, *eq;
    char        *name, *value;

    while (p < end) {
        amp = memchr(p, '&', (size_t) (end - p));
        if (amp == NULL) {
            amp = end;
        }
        if (amp > p) {
            eq = memchr(p, '=', (size_t) (amp - p));
            name = sb_form_decode(p, (size_t) ((eq ? eq : amp) - p));
            value = eq ? sb_form_decode(eq + 1, (size_t) (amp - eq - 1))
                       : strdup("");
            if (name == NULL || value == NULL || name[0] == '\0') {
                free(name);
                free(value);
                json_decref(pairs);
                sb_result_error(err, 400, "malformed_form",
                                "the body is not a valid "
                                "application/x-www-form-urlencoded form");
                return NULL;
            }
            json_array_append_new(pairs, json_pack("[s,s]", name, value));
            free(name);
            free(value);
        }
        p = amp + 1;
    }
    return pairs;
}


static const char *
sb_pair(json_t *pair, size_t i)
{
    return json_string_value(json_array_get(pair, i));
}


static int
sb_pair_cmp(const void *a, const void *b)
{
    json_t  *x = *(json_t **) a, *y = *(json_t **) b;
    int      c = strcmp(sb_pair(x, 0), sb_pair(y, 0));

    return c ? c : strcmp(sb_pair(x, 1), sb_pair(y, 1));
}


/* base64(HMAC-SHA1(token, url + name1 value1 name2 value2 ...)) */
static int
sb_twilio_sign(const unsigned char *key, size_t keylen, const char *url,
    json_t *pairs, char *out, size_t outlen)
{
    json_t        **sorted;
    unsigned char   mac[EVP_MAX_MD_SIZE];
    unsigned int    maclen = 0;
    size_t          i, n = json_array_size(pairs), total = strlen(url);
    char           *s, *p;
    int             ok;

    for (i = 0; i < n; i++) {
        total += strlen(sb_pair(json_array_get(pairs, i), 0))
                 + strlen(sb_pair(json_array_get(pairs, i), 1));
    }
    sorted = malloc((n ? n : 1) * sizeof(json_t *));
    s = malloc(total + 1);
    if (sorted == NULL || s == NULL || outlen < 29) {
        free(sorted);
        free(s);
        return -1;
    }
    for (i = 0; i < n; i++) {
        sorted[i] = json_array_get(pairs, i);
    }
    qsort(sorted, n, sizeof(json_t *), sb_pair_cmp);

    p = stpcpy(s, url);
    for (i = 0; i < n; i++) {
        p = stpcpy(p, sb_pair(sorted[i], 0));
        p = stpcpy(p, sb_pair(sorted[i], 1));
    }
    ok = HMAC(EVP_sha1(), key, (int) keylen, (unsigned char *) s,
              (size_t) (p - s), mac, &maclen) != NULL;
    free(sorted);
    free(s);
    if (!ok) {
        return -1;
    }
    EVP_EncodeBlock((unsigned char *) out, mac, (int) maclen);
    return 0;
}


/*
 * The same URL with its default port written out when it was implicit,
 * or taken away when it was explicit: Twilio signs whichever form it
 * called, and the operator may configure either.
 */
static int
sb_url_other_port(const char *url, char *out, size_t outlen)
{
    const char  *port = strncmp(url, "https://", 8) == 0 ? ":443"
                        : strncmp(url, "http://", 7) == 0 ? ":80" : NULL;
    const char  *host, *end, *colon;

    if (port == NULL) {
        return -1;
    }
    host = strstr(url, "://") + 3;
    end = host + strcspn(host, "/?#");
    colon = memchr(host, ':', (size_t) (end - host));
    if (colon == NULL) {
        snprintf(out, outlen, "%.*s%s%s", (int) (end - url), url, port, end);
    } else if ((size_t) (end - colon) == strlen(port)
               && memcmp(colon, port, strlen(port)) == 0)
    {
        snprintf(out, outlen, "%.*s%s", (int) (colon - url), url, end);
    } else {
        return -1;
    }
    return 0;
}


/* 0 when the header matches the URL with or without its default port. */
int
sb_twilio_signature_ok(const char *header, size_t hlen,
    const unsigned char *key, size_t keylen, const char *url, json_t *pairs)
{
    char   want[64], other[2048];
    int    i;

    for (i = 0; i < 2; i++) {
        if (i == 1 && sb_url_other_port(url, other, sizeof(other)) != 0) {
            break;
        }
        if (sb_twilio_sign(key, keylen, i ? other : url, pairs, want,
                           sizeof(want)) == 0
            && hlen == strlen(want) && CRYPTO_memcmp(want, header, hlen) == 0)
        {
            return 0;
        }
    }
    return -1;
}


static const char *
sb_field(json_t *pairs, const char *name)
{
    json_t  *pair;
    size_t   i;

    json_array_foreach(pairs, i, pair) {
        if (strcmp(sb_pair(pair, 0), name) == 0) {
            return sb_pair(pair, 1);
        }
    }
    return NULL;
}


/*
 * An inbound message ({messages: [one]}) or a status callback ({statuses:
 * [one]}), in the shape sb_webhook_parse gives. Fields Twilio adds later
 * are carried along, never refused.
 */
json_t *
sb_twilio_parse(json_t *pairs, int *ignored, sb_result_t *err)
{
    json_t      *list = json_array(), *statuses = json_array(), *media, *ref;
    const char  *sid = sb_field(pairs, "MessageSid");
    const char  *from = sb_field(pairs, "From"), *to = sb_field(pairs, "To");
    const char  *status = sb_field(pairs, "MessageStatus"), *url, *body;
    char         name[48];
    long         i, nmedia;

    *ignored = 0;
    if (sid == NULL || sid[0] == '\0') {
        json_decref(list);
        json_decref(statuses);
        sb_result_error(err, 400, "unexpected_payload",
                        "expected a Twilio message webhook with MessageSid");
        return NULL;
    }

    if (status && strcmp(status, "received") != 0) {
        sb_status_add(statuses, sid, status, sb_field(pairs, "ErrorCode"));

    } else if (from && to && from[0] && to[0]) {
        nmedia = sb_field(pairs, "NumMedia")
                 ? strtol(sb_field(pairs, "NumMedia"), NULL, 10) : 0;
        media = json_array();
        for (i = 0; i < nmedia && i < 10; i++) {
            snprintf(name, sizeof(name), "MediaUrl%ld", i);
            url = sb_field(pairs, name);
            snprintf(name, sizeof(name), "MediaContentType%ld", i);
            if (url) {
                json_array_append_new(media,
                    json_pack("{s:s,s:s?}", "url", url, "content_type",
                              sb_field(pairs, name)));
            }
        }
        body = sb_field(pairs, "Body");
        if (json_array_size(media)) {
            ref = json_pack("{s:s,s:O}", "type", "media", "ref", media);
            sb_inbound_add(list, SB_CH_SMS, to, from, sid, body, ref);
            json_decref(ref);
        } else if (body && body[0]) {
            sb_inbound_add(list, SB_CH_SMS, to, from, sid, body, NULL);
        } else {
            (*ignored)++;
        }
        json_decref(media);

    } else {
        (*ignored)++;
    }
    return json_pack("{s:o,s:o}", "messages", list, "statuses", statuses);
}
