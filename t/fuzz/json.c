/* Fuzz target: the JSON token reader every body and webhook goes through.
 * What it takes must hold together: tokens inside the text, strings that
 * unescape to valid UTF-8 without NUL, and lookups that stay in bounds. */

#include "fuzz.h"
#include "util/sb_jread.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const  path[] = { "entry", "#0", "changes", NULL };
    sb_json_doc_t             d;
    sb_arena_t               *mem = NULL;
    sb_span_t                 s;
    char                     *src = sb_fuzz_string(data, size);
    uint32_t                  t;

    if (sb_json_read(&d, src, size, SB_JSON_NO_DUPLICATES, &mem) == 0) {
        SB_FUZZ_CHECK(d.n >= 1);
        for (t = 0; t < d.n; t++) {
            SB_FUZZ_CHECK((size_t) d.tok[t].start + d.tok[t].len <= size);
            SB_FUZZ_CHECK(d.tok[t].next > t && d.tok[t].next <= d.n);
            if (d.tok[t].type == SB_JSON_STRING) {
                s = sb_json_str(&d, t);
                SB_FUZZ_CHECK(s.p != NULL);
                SB_FUZZ_CHECK(memchr(s.p, '\0', s.n) == NULL);
                SB_FUZZ_CHECK(sb_valid_utf8((const unsigned char *) s.p,
                                            s.n));
            }
        }
        sb_json_get(&d, 0, "object");
        sb_json_path(&d, 0, path);
    } else {
        SB_FUZZ_CHECK(d.error[0] != '\0' && d.error_at <= size);
    }
    sb_arena_free(mem);
    free(src);
    return 0;
}
