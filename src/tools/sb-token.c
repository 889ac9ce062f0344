/* sb-token: prints a Switchboard bearer token (an HS256 JWT, R25) signed
 * with the key file that nginx's switchboard_jwt_secret names. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>


static void
usage(void)
{
    fprintf(stderr, "usage: sb-token --secret FILE --sub ID --role "
            "agent|visitor|admin [--tenant T] [--channel mobile|chat] "
            "[--ttl SECONDS] [--kid ID]\n"
            "  --ttl defaults to 3600; nginx refuses a token that lives "
            "longer than\n  switchboard_token_max_age (12h unless set)\n"
            "  --kid names the key (switchboard_jwt_secret FILE kid=ID)\n");
    exit(2);
}


/* Unpadded base64url of n bytes after out. */
static char *
b64url(char *out, const unsigned char *in, size_t n)
{
    static const char  a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                             "wxyz0123456789-_";
    size_t             i;
    unsigned long      v;

    for (i = 0; i + 2 < n; i += 3) {
        v = (unsigned long) in[i] << 16 | in[i + 1] << 8 | in[i + 2];
        *out++ = a[v >> 18];
        *out++ = a[(v >> 12) & 63];
        *out++ = a[(v >> 6) & 63];
        *out++ = a[v & 63];
    }
    if (n - i == 1) {
        v = (unsigned long) in[i] << 16;
        *out++ = a[v >> 18];
        *out++ = a[(v >> 12) & 63];
    } else if (n - i == 2) {
        v = (unsigned long) in[i] << 16 | in[i + 1] << 8;
        *out++ = a[v >> 18];
        *out++ = a[(v >> 12) & 63];
        *out++ = a[(v >> 6) & 63];
    }
    *out = '\0';
    return out;
}


/* The key, its trailing newline cut (as nginx reads it). */
static size_t
read_secret(const char *path, unsigned char *key, size_t cap)
{
    FILE    *f = fopen(path, "rb");
    size_t   n;

    if (f == NULL) {
        perror(path);
        exit(1);
    }
    n = fread(key, 1, cap, f);
    fclose(f);
    while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r')) {
        n--;
    }
    if (n < 16) {
        fprintf(stderr, "%s: the key is shorter than 16 bytes\n", path);
        exit(1);
    }
    return n;
}


/* Ids are 1-64 of A-Za-z0-9._- (visitors may also have +:@): nothing in
 * them needs escaping in JSON. */
static const char *
checked(const char *what, const char *s)
{
    size_t  i, n = strlen(s);

    for (i = 0; i < n; i++) {
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789._-+:@", s[i]))
        {
            break;
        }
    }
    if (n == 0 || n > 64 || i < n) {
        fprintf(stderr, "sb-token: --%s is not a valid id\n", what);
        exit(2);
    }
    return s;
}


int
main(int argc, char **argv)
{
    static struct option  opts[] = {
        { "secret", 1, NULL, 's' }, { "sub", 1, NULL, 'u' },
        { "role", 1, NULL, 'r' }, { "tenant", 1, NULL, 't' },
        { "channel", 1, NULL, 'c' }, { "ttl", 1, NULL, 'l' },
        { "kid", 1, NULL, 'k' }, { NULL, 0, NULL, 0 }
    };
    const char     *secret = NULL, *sub = NULL, *role = NULL;
    const char     *tenant = NULL, *channel = NULL, *kid = NULL;
    long            ttl = 3600;
    unsigned char   key[4096], mac[EVP_MAX_MD_SIZE];
    unsigned int    maclen = 0;
    char            claims[512], header[128], token[2048], *p;
    long long       now;
    size_t          keylen;
    int             o;

    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's': secret = optarg; break;
        case 'u': sub = checked("sub", optarg); break;
        case 'r': role = optarg; break;
        case 't': tenant = checked("tenant", optarg); break;
        case 'c': channel = checked("channel", optarg); break;
        case 'l': ttl = strtol(optarg, NULL, 10); break;
        case 'k': kid = checked("kid", optarg); break;
        default: usage();
        }
    }
    if (secret == NULL || sub == NULL || role == NULL
        || (strcmp(role, "agent") && strcmp(role, "visitor")
            && strcmp(role, "admin")) || ttl <= 0)
    {
        usage();
    }
    keylen = read_secret(secret, key, sizeof(key));

    now = (long long) time(NULL);
    snprintf(claims, sizeof(claims), "{\"exp\":%lld,\"iat\":%lld,"
             "\"role\":\"%s\",\"sub\":\"%s\"%s%s%s%s%s%s}", now + ttl, now,
             role, sub, tenant ? ",\"tnt\":\"" : "", tenant ? tenant : "",
             tenant ? "\"" : "", channel ? ",\"chn\":\"" : "",
             channel ? channel : "", channel ? "\"" : "");
    snprintf(header, sizeof(header), "{\"alg\":\"HS256\",%s%s%s\"typ\":"
             "\"JWT\"}", kid ? "\"kid\":\"" : "", kid ? kid : "",
             kid ? "\"," : "");
    p = b64url(token, (const unsigned char *) header, strlen(header));
    *p++ = '.';
    p = b64url(p, (unsigned char *) claims, strlen(claims));
    HMAC(EVP_sha256(), key, (int) keylen, (unsigned char *) token,
         (size_t) (p - token), mac, &maclen);
    *p++ = '.';
    b64url(p, mac, maclen);
    puts(token);
    return 0;
}
