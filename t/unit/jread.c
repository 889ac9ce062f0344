/* Unit tests of the JSON reader's hostile-body defences (issue 19):
 * duplicate keys found in O(n log n) whatever their escapes, the key and
 * token caps, and lookups of escaped keys that allocate nothing. */

#include <time.h>

#include "core.h"


static int
read_body(const char *src, size_t len, sb_json_doc_t *d, sb_arena_t **mem)
{
    return sb_json_read(d, src, len, SB_JSON_NO_DUPLICATES, mem);
}


/* {"k0":0,"k1":0,…} of n distinct keys, escaped ones every `every` */
static char *
many_keys(size_t n, size_t every, size_t *len)
{
    char    *s = malloc(n * 24 + 4), *o = s;
    size_t   i;

    *o++ = '{';
    for (i = 0; i < n; i++) {
        o += sprintf(o, "%s\"%s%zu\":0", i ? "," : "",
                     every && i % every == 0 ? "\\u006b" : "k", i);
    }
    *o++ = '}';
    *o = '\0';
    *len = (size_t) (o - s);
    return s;
}


static double
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}


static void
test_duplicates(void)
{
    sb_arena_t     *mem = NULL;
    sb_json_doc_t   d;
    const char     *dup_escaped = "{\"a\":1,\"b\":2,\"\\u0061\":3}";
    const char     *nested = "{\"x\":{\"a\":1},\"y\":{\"a\":2}}";

    ok(read_body(dup_escaped, strlen(dup_escaped), &d, &mem) != 0
       && strcmp(d.error, "duplicate object key") == 0 && !d.too_large,
       "\"a\" and \"\\u0061\" are the same key");
    ok(read_body(nested, strlen(nested), &d, &mem) == 0,
       "the same key in two objects is no duplicate");
    ok(read_body("{\"a\":1,\"ab\":2,\"a\\u0062\":3}", 26, &d, &mem) != 0,
       "a key equal to another only once unescaped");
    ok(sb_json_read(&d, dup_escaped, strlen(dup_escaped), 0, &mem) == 0
       && sb_json_get(&d, 0, "a") == 6,
       "without the flag duplicates are read, the last one wins");
    sb_arena_free(mem);
}


static void
test_many_keys(void)
{
    sb_arena_t     *mem = NULL;
    sb_json_doc_t   d;
    size_t          len;
    char           *s;
    double          t0, ms;

    /* the body: ~64 KB of distinct keys, some escaped */
    s = many_keys(SB_JSON_MAX_KEYS, 7, &len);
    t0 = now_ms();
    ok(read_body(s, len, &d, &mem) == 0, "%d distinct keys (%zu bytes) are "
       "read", SB_JSON_MAX_KEYS, len);
    ms = now_ms() - t0;
    ok(ms < 50, "... in %.2f ms (the pairwise check took ~0.8 s)", ms);
    ok(sb_json_get(&d, 0, "k4095") != SB_JSON_NONE
       && sb_json_get(&d, 0, "k4094") != SB_JSON_NONE,
       "... and found by lookups, escaped or not");
    free(s);

    s = many_keys(SB_JSON_MAX_KEYS + 1, 0, &len);
    ok(read_body(s, len, &d, &mem) != 0 && d.too_large,
       "%d keys in one object are over the limit", SB_JSON_MAX_KEYS + 1);
    free(s);

    sb_arena_free(mem);
}


static void
test_duplicate_at_the_end(void)
{
    sb_arena_t     *mem = NULL;
    sb_json_doc_t   d;
    size_t          len;
    char           *s, *body;

    s = many_keys(3000, 5, &len);
    body = malloc(len + 16);
    memcpy(body, s, len - 1);
    memcpy(body + len - 1, ",\"k1\":1}", 9);  /* k1 again, after 3000 */
    ok(read_body(body, len + 7, &d, &mem) != 0
       && strcmp(d.error, "duplicate object key") == 0,
       "a duplicate after 3000 keys is found");
    memcpy(body + len - 1, ",\"\\u006b0\":1}", 14);  /* k0, escaped */
    ok(read_body(body, len + 12, &d, &mem) != 0,
       "... also when one of the two is escaped");
    free(body);
    free(s);
    sb_arena_free(mem);
}


static void
test_tokens(void)
{
    sb_arena_t     *mem = NULL;
    sb_json_doc_t   d;
    size_t          n = SB_JSON_MAX_TOKENS, i;
    char           *s = malloc(2 * n + 8), *o = s;

    *o++ = '[';
    for (i = 0; i < n - 1; i++) {            /* the array is a token too */
        *o++ = '0';
        *o++ = ',';
    }
    o[-1] = ']';
    ok(sb_json_read(&d, s, (size_t) (o - s), 0, &mem) == 0,
       "%d values in all are read", SB_JSON_MAX_TOKENS);
    o[-1] = ',';
    *o++ = '0';
    *o++ = ']';
    ok(sb_json_read(&d, s, (size_t) (o - s), 0, &mem) != 0 && d.too_large,
       "one more is over the limit");
    ok(strstr(d.error, "200000") != NULL, "... and says which: %s", d.error);
    free(s);
    sb_arena_free(mem);
}


static void
test_read_body(void)
{
    sb_arena_t     *mem = NULL;
    sb_json_doc_t   d;
    sb_answer_t     a;
    size_t          len;
    char           *s = many_keys(SB_JSON_MAX_KEYS + 1, 0, &len);

    memset(&a, 0, sizeof(a));
    ok(sb_json_read_body(&d, s, len, 0, &mem, &a) != 0 && a.status == 413
       && strcmp(a.code, "json_too_large") == 0,
       "a body over the key limit is 413 json_too_large");
    sb_answer_free(&a);
    memset(&a, 0, sizeof(a));
    ok(sb_json_read_body(&d, "{\"a\":", 5, 0, &mem, &a) != 0
       && a.status == 400 && strcmp(a.code, "malformed_json") == 0,
       "a broken body is 400 malformed_json");
    sb_answer_free(&a);
    memset(&a, 0, sizeof(a));
    ok(sb_json_read_body(&d, "[]", 2, 0, &mem, &a) != 0 && a.status == 400
       && strcmp(a.code, "not_an_object") == 0,
       "an array is 400 not_an_object");
    sb_answer_free(&a);
    free(s);
    sb_arena_free(mem);
}


int
main(void)
{
    test_duplicates();
    test_many_keys();
    test_duplicate_at_the_end();
    test_tokens();
    test_read_body();
    return done_testing();
}
