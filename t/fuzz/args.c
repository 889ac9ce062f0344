/* Fuzz target: what a URL names (R25, R26): query arguments, the ids of
 * paths, conversation names, channels, states and tags. Whatever is taken
 * must be what the store's keys and the views can hold. */

#include "fuzz.h"


static void
sb_fuzz_ids(const char *s, size_t n)
{
    char      tag[SB_TAG_MAX + 1], name[32];
    uint64_t  id;
    int       ch, state;
    size_t    i;

    for (i = 0; i < 2; i++) {
        if (sb_valid_id(s, n, (int) i)) {
            SB_FUZZ_CHECK(n >= 1 && n <= (i ? SB_VISITOR_MAX : SB_ID_MAX));
            SB_FUZZ_CHECK(memchr(s, '/', n) == NULL);
            SB_FUZZ_CHECK(memchr(s, ' ', n) == NULL);
            SB_FUZZ_CHECK(!(n == 2 && memcmp(s, "..", 2) == 0));
        }
    }
    if (sb_conv_parse(s, n, &id) == 0) {
        /* a name read is the name written */
        SB_FUZZ_CHECK(sb_conv_name(id, name) == n);
        SB_FUZZ_CHECK(memcmp(name, s, n) == 0);
    }
    ch = sb_channel_parse(s, n);
    if (ch >= 0) {
        SB_FUZZ_CHECK(ch < SB_CH_COUNT);
        SB_FUZZ_CHECK(strlen(sb_channel_name(ch)) == n);
    }
    state = sb_state_parse(s, n);
    if (state >= 0) {
        SB_FUZZ_CHECK(strlen(sb_state_name(state)) == n);
    }
    if (sb_normalize_tag(s, n, tag) == 0) {
        SB_FUZZ_CHECK(strlen(tag) >= 1 && strlen(tag) <= SB_TAG_MAX);
        SB_FUZZ_CHECK(strchr(tag, ',') == NULL && strchr(tag, ' ') == NULL);
    }
    sb_cap_parse(s, n);
    sb_class_find(sb_fuzz_config(), s, n);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char    *raw = sb_fuzz_string(data, size), *out = malloc(size + 1);
    size_t   n = 0;

    if (out == NULL) {
        abort();
    }
    /* the bytes as a path segment, and as a query argument */
    sb_fuzz_ids(raw, size);
    if (sb_percent_decode(raw, size, 0, out, &n) == 0) {
        SB_FUZZ_CHECK(n <= size && out[n] == '\0');
        SB_FUZZ_CHECK(strlen(out) == n);
        SB_FUZZ_CHECK(sb_valid_utf8((unsigned char *) out, n));
        sb_fuzz_ids(out, n);
    }
    free(out);
    free(raw);
    return 0;
}
