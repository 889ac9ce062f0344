/* Fuzz target: RFC 3339 dates ("until", R7) and the durations the views
 * write: whatever is read must write back as a date read to the same
 * instant, and no input may crash the reader. */

#include "fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char     *s = sb_fuzz_string(data, size), out[64], dur[64];
    int64_t   ms, again;
    size_t    n;

    /* an offset may move 9999-12-31 into year 10000, which has no
     * four-digit spelling: the round trip holds for years 0000-9999 */
    if (sb_parse_time(s, &ms) == 0) {
        n = sb_format_time(ms, out, sizeof(out));
        SB_FUZZ_CHECK(n > 0 && n < sizeof(out));
        if (ms >= -62167219200000LL && ms < 253402300800000LL) {
            SB_FUZZ_CHECK(sb_parse_time(out, &again) == 0);
            SB_FUZZ_CHECK(again == ms);
        }
        sb_format_duration(ms, dur, sizeof(dur));
        SB_FUZZ_CHECK(memchr(dur, '\0', sizeof(dur)) != NULL);
    }
    if (size >= 8) {
        /* any span of time the views may be asked to write */
        memcpy(&ms, data, 8);
        sb_format_duration(ms, dur, sizeof(dur));
        SB_FUZZ_CHECK(memchr(dur, '\0', sizeof(dur)) != NULL);
        n = sb_format_time(ms, out, sizeof(out));
        SB_FUZZ_CHECK(n < sizeof(out));
    }
    free(s);
    return 0;
}
