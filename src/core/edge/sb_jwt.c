/* HS256 JSON Web Tokens: signature checked in constant time over the raw
 * "header.payload" bytes before any JSON is parsed, then the claims. */

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdlib.h>

#include "edge/sb_edge.h"
#include "util/sb_jread.h"


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


/* Unpadded base64url; returns the decoded length or -1. The bits of the
 * last character that carry no byte must be zero: one token, one
 * spelling (a signature with another last character is refused). */
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
    if (acc & ((1u << bits) - 1)) {
        return -1;
    }
    return (long) o;
}


/* A string claim into dst; absent is fine unless required. */
static int
sb_claim_string(const sb_json_doc_t *d, const char *name, char *dst,
    size_t cap, int required)
{
    uint32_t   t = sb_json_get(d, 0, name);
    sb_span_t  s;

    if (t == SB_JSON_NONE) {
        return required ? -1 : 0;
    }
    s = sb_json_str(d, t);
    if (!sb_json_is(d, t, SB_JSON_STRING) || s.n >= cap) {
        return -1;
    }
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
    return 0;
}


/* exp, nbf: a number of seconds; a fraction is dropped, a value beyond
 * any date is refused before it is converted (no undefined conversion of
 * 1e300); absent is fine unless required */
static int
sb_claim_time(const sb_json_doc_t *d, const char *name, int64_t *v,
    int required)
{
    uint32_t   t = sb_json_get(d, 0, name);
    sb_span_t  raw;
    char       buf[64];
    double     x;

    if (t == SB_JSON_NONE && !required) {
        return 0;
    }
    if (sb_json_int(d, t, v) == 0) {
        return 0;
    }
    if (!sb_json_is(d, t, SB_JSON_NUMBER)) {
        return -1;
    }
    raw = sb_json_raw(d, t);
    if (raw.n >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, raw.p, raw.n);
    buf[raw.n] = '\0';
    x = strtod(buf, NULL);
    if (!(x > -1e15 && x < 1e15)) {
        return -1;
    }
    *v = (int64_t) x;
    return 0;
}


/* The keys that may have signed a token: those of its kid, or, without
 * one, the unnamed ones (the key and the one a rotation replaces). */
static int
sb_key_fits(const sb_jwt_key_t *k, sb_span_t kid)
{
    if (kid.p == NULL) {
        return k->kid == NULL;
    }
    return k->kid && strlen(k->kid) == kid.n
           && memcmp(k->kid, kid.p, kid.n) == 0;
}


static int
sb_signed_by(const sb_jwt_key_t *k, const char *token, size_t signed_len,
    const unsigned char *sig)
{
    unsigned char  mac[EVP_MAX_MD_SIZE];
    unsigned int   maclen = 0;

    return HMAC(EVP_sha256(), k->secret, (int) k->len,
                (const unsigned char *) token, signed_len, mac, &maclen)
           != NULL && maclen == 32 && CRYPTO_memcmp(mac, sig, 32) == 0;
}


static int
sb_role_index(const char *role)
{
    return strcmp(role, "agent") == 0 ? SB_ROLE_AGENT
           : strcmp(role, "visitor") == 0 ? SB_ROLE_VISITOR
           : strcmp(role, "admin") == 0 ? SB_ROLE_ADMIN : -1;
}


/*
 * The header is read first (it is small, and names the key); then the
 * signature over the raw "header.payload" bytes, in constant time, with
 * the key(s) it names, before the claims are parsed. Claims given twice
 * are refused: which one counts would depend on the reader.
 */
int
sb_jwt_verify(const char *token, size_t len, const sb_jwt_keys_t *keys,
    int64_t now_s, sb_claims_t *claims, const char **why)
{
    const char          *dot1, *dot2;
    const sb_jwt_key_t  *key = NULL;
    unsigned char        sig[64], part[2048];
    long                 n;
    sb_json_doc_t        d;
    sb_json_tok_t        toks[32];
    sb_arena_t          *mem = NULL;
    sb_span_t            kid = { NULL, 0 };
    uint32_t             t;
    int64_t              nbf = 0, iat = 0, max;
    size_t               i;
    int                  ok, role;

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

    n = sb_b64url_decode(token, (size_t) (dot1 - token), part, sizeof(part));
    ok = n >= 0
         && sb_json_read_in(&d, (const char *) part, (size_t) n,
                            SB_JSON_NO_DUPLICATES, &mem, toks, 32) == 0
         && sb_json_is(&d, 0, SB_JSON_OBJECT)
         && sb_span_is(sb_json_get_str(&d, 0, "alg"), "HS256");
    if (!ok) {
        sb_arena_free(mem);
        *why = "token algorithm must be HS256";
        return -1;
    }
    t = sb_json_get(&d, 0, "kid");
    if (t != SB_JSON_NONE) {
        kid = sb_json_str(&d, t);
        if (!sb_json_is(&d, t, SB_JSON_STRING) || kid.n == 0) {
            sb_arena_free(mem);
            *why = "token kid must be a string";
            return -1;
        }
    }
    for (i = 0; i < keys->n && key == NULL; i++) {
        if (sb_key_fits(&keys->keys[i], kid)
            && sb_signed_by(&keys->keys[i], token, (size_t) (dot2 - token),
                            sig))
        {
            key = &keys->keys[i];
        }
    }
    sb_arena_free(mem);
    mem = NULL;
    if (key == NULL) {
        *why = kid.p ? "bad signature, or no key of that kid"
                     : "bad signature";
        return -1;
    }

    n = sb_b64url_decode(dot1 + 1, (size_t) (dot2 - dot1 - 1), part,
                         sizeof(part));
    if (n < 0
        || sb_json_read_in(&d, (const char *) part, (size_t) n,
                           SB_JSON_NO_DUPLICATES, &mem, toks, 32) != 0
        || !sb_json_is(&d, 0, SB_JSON_OBJECT))
    {
        *why = d.error[0] && strstr(d.error, "duplicate")
               ? "token has a claim twice" : "malformed token";
        sb_arena_free(mem);
        return -1;
    }
    ok = sb_claim_string(&d, "sub", claims->sub, sizeof(claims->sub), 1) == 0
         && sb_claim_string(&d, "role", claims->role, sizeof(claims->role),
                            1) == 0
         && sb_claim_string(&d, "tnt", claims->tenant,
                            sizeof(claims->tenant), 0) == 0
         && sb_claim_string(&d, "chn", claims->channel,
                            sizeof(claims->channel), 0) == 0
         && sb_claim_time(&d, "exp", &claims->exp, 1) == 0
         && sb_claim_time(&d, "nbf", &nbf, 0) == 0
         && sb_claim_time(&d, "iat", &iat, 0) == 0;
    sb_arena_free(mem);
    if (!ok) {
        *why = "token lacks sub, role or exp, or has a bad exp, nbf or iat";
        return -1;
    }

    if (!sb_valid_id(claims->sub, strlen(claims->sub), 1)) {
        *why = "token subject is not a valid id";
        return -1;
    }
    if (claims->exp <= now_s) {
        *why = "token expired";
        return -1;
    }
    if (nbf > now_s) {
        *why = "token not valid yet (nbf)";
        return -1;
    }
    role = sb_role_index(claims->role);
    if (role < 0) {
        *why = "token role is not agent, visitor or admin";
        return -1;
    }
    if (key->roles && !(key->roles & (1u << role))) {
        *why = "this key does not sign tokens of that role";
        return -1;
    }
    if (key->tenant && strcmp(key->tenant, claims->tenant[0]
                                           ? claims->tenant : "default") != 0)
    {
        *why = "this key does not sign tokens of that tenant";
        return -1;
    }
    /* a stolen token is worth at most the maximum age, however long
     * its issuer made it */
    max = keys->max_age[role];
    if (max > 0 && (claims->exp - now_s > max
                    || (iat && claims->exp - iat > max)))
    {
        *why = "token lives longer than switchboard_token_max_age";
        return -1;
    }
    *why = NULL;
    return 0;
}
