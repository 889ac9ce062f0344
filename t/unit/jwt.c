/* Unit tests of bearer tokens (R25, issue 19 item 5): a claim given twice
 * is refused, switchboard_token_max_age bounds a token's life however
 * long its issuer made it, and a kid selects a key that may be bound to
 * one tenant and some roles. Tokens are signed here with OpenSSL. */

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core.h"

#define NOW  1800000000LL


static size_t
b64url(const unsigned char *in, size_t n, char *out)
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


/* header and payload JSON as given, signed with secret */
static const char *
mint(const char *header, const char *payload, const char *secret)
{
    static char    tok[2048];
    unsigned char  mac[32];
    unsigned int   maclen;
    size_t         n;

    n = b64url((const unsigned char *) header, strlen(header), tok);
    tok[n++] = '.';
    n += b64url((const unsigned char *) payload, strlen(payload), tok + n);
    HMAC(EVP_sha256(), secret, (int) strlen(secret), (unsigned char *) tok,
         n, mac, &maclen);
    tok[n++] = '.';
    b64url(mac, 32, tok + n);
    return tok;
}


static const char  *why;


static int
verify(const sb_jwt_keys_t *ks, const char *tok)
{
    sb_claims_t  c;

    return sb_jwt_verify(tok, strlen(tok), ks, NOW, &c, &why);
}


int
main(void)
{
    const char     *plain = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    const char     *shop = "{\"alg\":\"HS256\",\"kid\":\"shop\"}";
    sb_jwt_key_t    k[3] = {
        { (const unsigned char *) "main-secret-0123456789", 22, NULL, NULL,
          0 },
        { (const unsigned char *) "old-secret-0123456789", 21, NULL, NULL,
          0 },
        { (const unsigned char *) "shop-secret-0123456789", 22, "shop",
          "shop", 1u << SB_ROLE_VISITOR }
    };
    sb_jwt_keys_t   ks = { k, 3, { 12 * 3600, 12 * 3600, 12 * 3600 } };
    char            p[512];

    snprintf(p, sizeof(p), "{\"sub\":\"ann\",\"role\":\"agent\","
             "\"exp\":%lld}", NOW + 3600);
    is_int(verify(&ks, mint(plain, p, "main-secret-0123456789")), 0,
           "a token of the unnamed key");
    is_int(verify(&ks, mint(plain, p, "old-secret-0123456789")), 0,
           "... or of the key it replaces (rotation)");
    ok(verify(&ks, mint(plain, p, "shop-secret-0123456789")) != 0,
       "a kid's key does not sign tokens that name no kid");

    /* a claim twice: which one counts would depend on the reader */
    snprintf(p, sizeof(p), "{\"sub\":\"ann\",\"role\":\"visitor\","
             "\"role\":\"admin\",\"exp\":%lld}", NOW + 3600);
    ok(verify(&ks, mint(plain, p, "main-secret-0123456789")) != 0
       && strstr(why, "twice"), "a repeated claim is refused: %s", why);
    snprintf(p, sizeof(p), "{\"sub\":\"ann\",\"role\":\"agent\","
             "\"exp\":%lld,\"\\u0065xp\":%lld}", NOW + 3600, NOW + 900000000LL);
    ok(verify(&ks, mint(plain, p, "main-secret-0123456789")) != 0,
       "... also when one is escaped");
    ok(verify(&ks, mint("{\"alg\":\"none\",\"alg\":\"HS256\"}", "{}",
                        "main-secret-0123456789")) != 0,
       "a header with alg twice is refused");

    /* the maximum age */
    snprintf(p, sizeof(p), "{\"sub\":\"ann\",\"role\":\"agent\","
             "\"exp\":%lld}", NOW + 12 * 3600);
    is_int(verify(&ks, mint(plain, p, "main-secret-0123456789")), 0,
           "a token of exactly the maximum age");
    snprintf(p, sizeof(p), "{\"sub\":\"ann\",\"role\":\"agent\","
             "\"exp\":%lld}", NOW + 12 * 3600 + 1);
    ok(verify(&ks, mint(plain, p, "main-secret-0123456789")) != 0
       && strstr(why, "max_age"), "one that expires later is refused: %s",
       why);
    snprintf(p, sizeof(p), "{\"sub\":\"ann\",\"role\":\"agent\","
             "\"iat\":%lld,\"exp\":%lld}", NOW - 13 * 3600, NOW + 60);
    ok(verify(&ks, mint(plain, p, "main-secret-0123456789")) != 0,
       "one issued for longer (exp - iat) is refused even near its end");
    ks.max_age[SB_ROLE_VISITOR] = 30 * 86400;
    snprintf(p, sizeof(p), "{\"sub\":\"v1\",\"role\":\"visitor\","
             "\"exp\":%lld}", NOW + 7 * 86400);
    is_int(verify(&ks, mint(plain, p, "main-secret-0123456789")), 0,
           "visitors may have a longer maximum");
    ks.max_age[SB_ROLE_AGENT] = 0;
    snprintf(p, sizeof(p), "{\"sub\":\"ann\",\"role\":\"agent\","
             "\"exp\":%lld}", NOW + 400 * 86400);
    is_int(verify(&ks, mint(plain, p, "main-secret-0123456789")), 0,
           "0 is no maximum");
    ks.max_age[SB_ROLE_AGENT] = 12 * 3600;

    /* kid: a tenant's key signs its visitors only */
    snprintf(p, sizeof(p), "{\"sub\":\"v1\",\"role\":\"visitor\","
             "\"tnt\":\"shop\",\"exp\":%lld}", NOW + 3600);
    is_int(verify(&ks, mint(shop, p, "shop-secret-0123456789")), 0,
           "kid shop: the shop's visitor token");
    ok(verify(&ks, mint(shop, p, "main-secret-0123456789")) != 0,
       "kid shop signed with another key: refused");
    snprintf(p, sizeof(p), "{\"sub\":\"root\",\"role\":\"admin\","
             "\"tnt\":\"shop\",\"exp\":%lld}", NOW + 3600);
    ok(verify(&ks, mint(shop, p, "shop-secret-0123456789")) != 0
       && strstr(why, "role"), "kid shop cannot mint an admin: %s", why);
    snprintf(p, sizeof(p), "{\"sub\":\"v1\",\"role\":\"visitor\","
             "\"tnt\":\"bank\",\"exp\":%lld}", NOW + 3600);
    ok(verify(&ks, mint(shop, p, "shop-secret-0123456789")) != 0
       && strstr(why, "tenant"), "... nor another tenant's visitor: %s", why);
    snprintf(p, sizeof(p), "{\"sub\":\"v1\",\"role\":\"visitor\","
             "\"exp\":%lld}", NOW + 3600);
    ok(verify(&ks, mint(shop, p, "shop-secret-0123456789")) != 0,
       "... nor one of the default tenant");
    snprintf(p, sizeof(p), "{\"sub\":\"v1\",\"role\":\"visitor\","
             "\"tnt\":\"shop\",\"exp\":%lld}", NOW + 3600);
    ok(verify(&ks, mint("{\"alg\":\"HS256\",\"kid\":\"nope\"}", p,
                        "shop-secret-0123456789")) != 0,
       "an unknown kid is refused");
    ok(verify(&ks, mint("{\"alg\":\"HS256\",\"kid\":7}", p,
                        "shop-secret-0123456789")) != 0,
       "a kid that is not a string is refused");
    snprintf(p, sizeof(p), "{\"sub\":\"v1\",\"role\":\"owner\","
             "\"exp\":%lld}", NOW + 3600);
    ok(verify(&ks, mint(plain, p, "main-secret-0123456789")) != 0,
       "a role that is none of ours is refused");
    return done_testing();
}
