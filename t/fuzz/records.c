/* Fuzz target: the binary records read in place from the store, the
 * event webhooks' outbox rows too. A corrupted record must be refused
 * (MDB_CORRUPTED), never read past its end; one that is taken must
 * render, and write back to bytes that read the same. */

#include "fuzz.h"


/* Encodes with enc, decodes the bytes with dec, encodes again: the two
 * encodings must be the same bytes. */
#define SB_FUZZ_ROUND_TRIP(type, enc, dec, x, ...)                          \
    do {                                                                    \
        sb_wr_t         w1 = { NULL, 0 }, w2 = { NULL, 0 };                 \
        type            y;                                                  \
        unsigned char  *b1, *b2;                                            \
        enc(&w1, x, ##__VA_ARGS__);                                         \
        b1 = malloc(w1.n + 1);                                              \
        w1.p = b1; w1.n = 0;                                                \
        enc(&w1, x, ##__VA_ARGS__);                                         \
        SB_FUZZ_CHECK(dec(b1, w1.n, &y, ##__VA_ARGS__) == 0);               \
        enc(&w2, &y, ##__VA_ARGS__);                                        \
        SB_FUZZ_CHECK(w2.n == w1.n);                                        \
        b2 = malloc(w2.n + 1);                                              \
        w2.p = b2; w2.n = 0;                                                \
        enc(&w2, &y, ##__VA_ARGS__);                                        \
        SB_FUZZ_CHECK(memcmp(b1, b2, w1.n) == 0);                           \
        free(b1);                                                           \
        free(b2);                                                           \
    } while (0)


static void
sb_fuzz_render(sb_span_t record, const sb_event_t *e)
{
    sb_jw_t      w;
    sb_answer_t  ans = { 0, NULL, NULL, 0, "" };

    sb_jw_init(&w, 256);
    if (e) {
        sb_render_event(&w, e);
    } else {
        sb_render_message(&w, record);
    }
    SB_FUZZ_CHECK(sb_jw_answer(&w, 200, &ans) == 0);
    sb_fuzz_answer_ok(&ans);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sb_config_t  *cfg = sb_fuzz_config();
    unsigned char      *p = malloc(size ? size : 1);
    sb_conv_t           conv;
    sb_agent_t          agent;
    sb_msg_t            msg;
    sb_event_t          ev;
    sb_handler_t        handler;
    sb_block_t          block;
    sb_idem_t           idem;
    sb_ledger_t         ledger;
    sb_outevent_t       out;
    sb_answer_t         body = { 200, NULL, NULL, 0, "" };
    sb_span_t           a, b, record;

    /* an exact-size copy: a read past the record is an ASan finding */
    if (p == NULL) {
        abort();
    }
    memcpy(p, data, size);
    record.p = (const char *) p;
    record.n = size;

    if (sb_conv_decode(p, size, &conv, cfg) == 0) {
        SB_FUZZ_ROUND_TRIP(sb_conv_t, sb_conv_encode, sb_conv_decode, &conv,
                           cfg);
    }
    if (sb_agent_decode(p, size, &agent, cfg) == 0) {
        SB_FUZZ_ROUND_TRIP(sb_agent_t, sb_agent_encode, sb_agent_decode,
                           &agent, cfg);
    }
    if (sb_msg_decode(p, size, &msg) == 0) {
        sb_fuzz_render(record, NULL);
        SB_FUZZ_ROUND_TRIP(sb_msg_t, sb_msg_encode, sb_msg_decode, &msg);
    }
    if (sb_event_decode(p, size, &ev) == 0) {
        sb_fuzz_render(record, &ev);
        SB_FUZZ_ROUND_TRIP(sb_event_t, sb_event_encode, sb_event_decode,
                           &ev);
    }
    if (sb_handler_decode(p, size, &handler) == 0) {
        SB_FUZZ_ROUND_TRIP(sb_handler_t, sb_handler_encode,
                           sb_handler_decode, &handler);
    }
    if (sb_block_decode(p, size, &block) == 0) {
        SB_FUZZ_ROUND_TRIP(sb_block_t, sb_block_encode, sb_block_decode,
                           &block);
    }
    if (sb_idem_decode(p, size, &idem) == 0) {
        SB_FUZZ_ROUND_TRIP(sb_idem_t, sb_idem_encode, sb_idem_decode, &idem);
    }
    if (sb_ledger_decode(p, size, &ledger) == 0) {
        SB_FUZZ_ROUND_TRIP(sb_ledger_t, sb_ledger_encode, sb_ledger_decode,
                           &ledger);
    }
    /* an outbox row renders as the body a CRM is sent: JSON */
    if (sb_outevent_decode(p, size, &out) == 0) {
        body.body = sb_hook_body(p, size, "tenant", &body.len);
        SB_FUZZ_CHECK(body.body != NULL);
        sb_fuzz_answer_ok(&body);
        SB_FUZZ_ROUND_TRIP(sb_outevent_t, sb_outevent_encode,
                           sb_outevent_decode, &out);
    }
    /* groups ('G') and canned responses ('K') are pairs of strings */
    if (sb_pair_decode(p, size, 'G', &a, &b) == 0
        || sb_pair_decode(p, size, 'K', &a, &b) == 0)
    {
        SB_FUZZ_CHECK(a.n <= size && b.n <= size);
    }
    free(p);
    return 0;
}
