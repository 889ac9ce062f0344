/* sb-sign: prints the signature header a provider would send with a body,
 * for the secret nginx's switchboard_webhook_secret holds, so that an
 * operator can try a webhook location with curl (conf/samples/). */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>


static void
usage(void)
{
    fprintf(stderr, "usage: sb-sign --provider meta|x|twilio "
            "(--secret S | --secret-file F) [--url URL] BODY-FILE\n"
            "prints the header to send: curl -H \"$(sb-sign …)\" "
            "--data-binary @BODY-FILE …\n");
    exit(2);
}


static char *
slurp(const char *path, size_t *len, int trim)
{
    FILE   *f = fopen(path, "rb");
    char   *p = NULL;
    size_t  cap = 0, n = 0, got;

    if (f == NULL) {
        perror(path);
        exit(1);
    }
    do {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            p = realloc(p, cap + 1);
            if (p == NULL) {
                exit(1);
            }
        }
        got = fread(p + n, 1, cap - n, f);
        n += got;
    } while (got);
    fclose(f);
    while (trim && n && (p[n - 1] == '\n' || p[n - 1] == '\r')) {
        n--;
    }
    p[n] = '\0';
    *len = n;
    return p;
}


typedef struct {
    char  *name, *value;
} pair_t;


/* application/x-www-form-urlencoded, decoded in place */
static char *
form_decode(char *s)
{
    char  *o = s, *p = s, hex[3] = { 0, 0, 0 };

    for ( ; *p; p++) {
        if (*p == '+') {
            *o++ = ' ';
        } else if (*p == '%' && p[1] && p[2]) {
            hex[0] = p[1];
            hex[1] = p[2];
            *o++ = (char) strtol(hex, NULL, 16);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return s;
}


static int
pair_cmp(const void *a, const void *b)
{
    const pair_t  *x = a, *y = b;
    int            c = strcmp(x->name, y->name);

    return c ? c : strcmp(x->value, y->value);
}


/* Twilio: base64(HMAC-SHA1(token, URL + each name and value, sorted)) */
static void
twilio(const char *secret, size_t slen, const char *url, char *body,
    size_t len)
{
    pair_t         *pairs = calloc(len / 2 + 2, sizeof(pair_t));
    char           *data = malloc(strlen(url) + len + 1), *p, *tok, *save;
    unsigned char   mac[EVP_MAX_MD_SIZE], b64[64];
    unsigned int    maclen = 0;
    size_t          n = 0, i;

    if (pairs == NULL || data == NULL) {
        exit(1);
    }
    for (tok = strtok_r(body, "&", &save); tok;
         tok = strtok_r(NULL, "&", &save))
    {
        p = strchr(tok, '=');
        if (p) {
            *p++ = '\0';
        }
        pairs[n].name = form_decode(tok);
        pairs[n++].value = p ? form_decode(p) : "";
    }
    qsort(pairs, n, sizeof(pair_t), pair_cmp);
    p = stpcpy(data, url);
    for (i = 0; i < n; i++) {
        p = stpcpy(stpcpy(p, pairs[i].name), pairs[i].value);
    }
    HMAC(EVP_sha1(), secret, (int) slen, (unsigned char *) data,
         (size_t) (p - data), mac, &maclen);
    EVP_EncodeBlock(b64, mac, (int) maclen);
    printf("X-Twilio-Signature: %s\n", b64);
}


int
main(int argc, char **argv)
{
    static const struct option  opts[] = {
        { "provider", required_argument, NULL, 'p' },
        { "secret", required_argument, NULL, 's' },
        { "secret-file", required_argument, NULL, 'f' },
        { "url", required_argument, NULL, 'u' },
        { NULL, 0, NULL, 0 }
    };
    const char     *provider = NULL, *url = NULL;
    char           *secret = NULL, *body;
    unsigned char   mac[EVP_MAX_MD_SIZE], b64[64];
    unsigned int    maclen = 0, i;
    size_t          slen = 0, len;
    int             c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': provider = optarg; break;
        case 's': secret = optarg; slen = strlen(optarg); break;
        case 'f': secret = slurp(optarg, &slen, 1); break;
        case 'u': url = optarg; break;
        default: usage();
        }
    }
    if (provider == NULL || secret == NULL || optind != argc - 1) {
        usage();
    }
    body = slurp(argv[optind], &len, 0);

    if (strcmp(provider, "meta") == 0) {
        HMAC(EVP_sha256(), secret, (int) slen, (unsigned char *) body, len,
             mac, &maclen);
        printf("X-Hub-Signature-256: sha256=");
        for (i = 0; i < maclen; i++) {
            printf("%02x", mac[i]);
        }
        printf("\n");
    } else if (strcmp(provider, "x") == 0) {
        HMAC(EVP_sha256(), secret, (int) slen, (unsigned char *) body, len,
             mac, &maclen);
        EVP_EncodeBlock(b64, mac, (int) maclen);
        printf("X-Twitter-Webhooks-Signature: sha256=%s\n", b64);
    } else if (strcmp(provider, "twilio") == 0) {
        if (url == NULL) {
            fprintf(stderr, "sb-sign: Twilio signs the URL: give --url, the "
                    "location's switchboard_public_url\n");
            return 2;
        }
        twilio(secret, slen, url, body, len);
    } else {
        usage();
    }
    return 0;
}
