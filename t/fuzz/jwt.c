/* Fuzz target: bearer tokens (R25). Odd first byte: the rest is a token as
 * sent; even: "header\npayload" JSON, encoded and signed here, so that the
 * claims reader is reached past the signature. */

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz.h"

static const unsigned char  key[] = "fuzz-secret-0123456789abcdef";
#define NOW_S  1700000000

/* the key twice: unnamed, and with a kid bound to one tenant's visitors */
static const sb_jwt_key_t   keys[] = {
    { key, sizeof(key) - 1, NULL, NULL, 0 },
    { key, sizeof(key) - 1, "shop", "shop", 1u << SB_ROLE_VISITOR }
};
static const sb_jwt_keys_t  keyset = { keys, 2, { 43200, 86400, 43200 } };


/* base64url without padding; returns the length written */
static size_t
sb_fuzz_b64url(const unsigned char *in, size_t n, char *out)
{
    size_t  len = (size_t) EVP_EncodeBlock((unsigned char *) out, in, (int) n);
    size_t  i;

    while (len && out[len - 1] == '=') {
        len--;
    }
    for (i = 0; i < len; i++) {
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    out[len] = '\0';
    return len;
}


static void
sb_fuzz_verify(const char *token, size_t len)
{
    sb_claims_t  claims;
    const char  *why = NULL;

    if (sb_jwt_verify(token, len, &keyset, NOW_S, &claims, &why) == 0)
    {
        /* what an accepted token gives is what the module relies on */
        SB_FUZZ_CHECK(why == NULL);
        SB_FUZZ_CHECK(sb_valid_id(claims.sub, strlen(claims.sub), 1));
        SB_FUZZ_CHECK(claims.exp > NOW_S);
        SB_FUZZ_CHECK(claims.exp - NOW_S <= 86400);
        SB_FUZZ_CHECK(memchr(claims.role, '\0', sizeof(claims.role)));
        SB_FUZZ_CHECK(memchr(claims.tenant, '\0', sizeof(claims.tenant)));
        SB_FUZZ_CHECK(memchr(claims.channel, '\0', sizeof(claims.channel)));
    } else {
        SB_FUZZ_CHECK(why != NULL);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t  *nl;
    char           *token, *p;
    unsigned char   mac[EVP_MAX_MD_SIZE];
    unsigned int    maclen = 0;
    size_t          hlen;

    if (size == 0) {
        return 0;
    }
    if (data[0] & 1) {
        token = sb_fuzz_string(data + 1, size - 1);
        sb_fuzz_verify(token, size - 1);
        free(token);
        return 0;
    }

    data++;
    size--;
    nl = memchr(data, '\n', size);
    hlen = nl ? (size_t) (nl - data) : size;
    token = malloc(2 * size + 64);
    if (token == NULL) {
        abort();
    }
    p = token + sb_fuzz_b64url(data, hlen, token);
    *p++ = '.';
    if (nl) {
        p += sb_fuzz_b64url(nl + 1, size - hlen - 1, p);
    }
    HMAC(EVP_sha256(), key, sizeof(key) - 1, (unsigned char *) token,
         (size_t) (p - token), mac, &maclen);
    *p++ = '.';
    p += sb_fuzz_b64url(mac, maclen, p);
    sb_fuzz_verify(token, (size_t) (p - token));
    free(token);
    return 0;
}
