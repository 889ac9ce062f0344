/* HS256 JSON Web Tokens: signature checked in constant time over the raw
 * "header.payload" bytes before any JSON is parsed, then the claims. */

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <jansson.h>

#include "edge/sb_edge.h"


static int
sb_b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}


/* Unpadded base64url; returns the decoded length or -1. */
static long
sb_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    size_t    i, o = 0;
    uint32_t  acc = 0;
    int       bits = 0, v;

    if (len % 4 == 1) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        v = sb_b64url_value((unsigned char) in[i]);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (uint32_t) v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap) {
                return -1;
            }
            out[o++] = (unsigned char) (acc >> bits);
        }
    }
    return (long) o;
}


static int
sb_claim_string(json_t *obj, const char *name, char *dst, size_t cap,
    int required)
{
    json_t      *v = json_object_get(obj, name);
    const char  *s;
    size_t       n;

    if (v == NULL) {
        return required ? -1 : 0;
    }
    if (!json_is_string(v)) {
        return -1;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (n >= cap) {
        return -1;
    }
    memcpy(dst, s, n + 1);
    return 0;
}


int
sb_jwt_verify(const char *token, size_t len, const unsigned char *key,
    size_t keylen, int64_t now_s, sb_claims_t *claims, const char **why)
{
    const char     *dot1, *dot2;
    unsigned char   mac[EVP_MAX_MD_SIZE], sig[64], part[2048];
    unsigned int    maclen = 0;
    long            n;
    json_t         *hdr, *body, *exp;
    json_error_t    jerr;
    int             ok;

    memset(claims, 0, sizeof(*claims));
    *why = "malformed token";

    dot1 = memchr(token, '.', len);
    if (dot1 == NULL) {
        return -1;
    }
    dot2 = memchr(dot1 + 1, '.', len - (size_t) (dot1 + 1 - token));
    if (dot2 == NULL) {
        return -1;
    }

    n = sb_b64url_decode(dot2 + 1, len - (size_t) (dot2 + 1 - token),
                         sig, sizeof(sig));
    if (n != 32) {
        return -1;
    }
    if (HMAC(EVP_sha256(), key, (int) keylen, (const unsigned char *) token,
             (size_t) (dot2 - token), mac, &maclen) == NULL
        || maclen != 32)
    {
        *why = "cannot compute signature";
        return -1;
    }
    if (CRYPTO_memcmp(mac, sig, 32) != 0) {
        *why = "bad signature";
        return -1;
    }

    n = sb_b64url_decode(token, (size_t) (dot1 - token), part, sizeof(part));
    if (n < 0) {
        return -1;
    }
    hdr = json_loadb((const char *) part, (size_t) n, 0, &jerr);
    ok = hdr != NULL && json_is_object(hdr)
         && json_is_string(json_object_get(hdr, "alg"))
         && strcmp(json_string_value(json_object_get(hdr, "alg")), "HS256")
            == 0;
    json_decref(hdr);
    if (!ok) {
        *why = "token algorithm must be HS256";
        return -1;
    }

    n = sb_b64url_decode(dot1 + 1, (size_t) (dot2 - dot1 - 1), part,
                         sizeof(part));
    if (n < 0) {
        return -1;
    }
    body = json_loadb((const char *) part, (size_t) n, 0, &jerr);
    if (body == NULL || !json_is_object(body)) {
        json_decref(body);
        return -1;
    }

    exp = json_object_get(body, "exp");
    if (sb_claim_string(body, "sub", claims->sub, sizeof(claims->sub), 1)
        || sb_claim_string(body, "role", claims->role, sizeof(claims->role),
                           1)
        || sb_claim_string(body, "tnt", claims->tenant,
                           sizeof(claims->tenant), 0)
        || sb_claim_string(body, "chn", claims->channel,
                           sizeof(claims->channel), 0)
        || !json_is_number(exp))
    {
        json_decref(body);
        *why = "token lacks sub, role or exp";
        return -1;
    }
    claims->exp = (int64_t) json_number_value(exp);
    json_decref(body);

    if (!sb_valid_id(claims->sub, strlen(claims->sub), 1)) {
        *why = "token subject is not a valid id";
        return -1;
    }
    if (claims->exp <= now_s) {
        *why = "token expired";
        return -1;
    }
    *why = NULL;
    return 0;
}
