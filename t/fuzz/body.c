/* Fuzz target: the agents', visitors' and admin's command bodies (R26).
 * First byte: the command; second: the conversation's channel; the rest:
 * the body. A body is taken whole or refused with a 4xx JSON answer. */

#include "fuzz.h"

static const sb_cmd_type_t  types[] = {
    SB_CMD_VISITOR_MESSAGE, SB_CMD_AGENT_MESSAGE, SB_CMD_AVAILABILITY,
    SB_CMD_SNOOZE, SB_CMD_TRANSFER, SB_CMD_TAGS, SB_CMD_PUT_AGENT,
    SB_CMD_PUT_GROUP, SB_CMD_PUT_CANNED, SB_CMD_END, SB_CMD_BLOCK
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sb_cmd_t     cmd;
    sb_answer_t  err = { 0, NULL, NULL, 0, "" };
    char        *body;
    int          rc;

    if (size < 2) {
        return 0;
    }
    sb_cmd_init(&cmd, types[data[0] % (sizeof(types) / sizeof(types[0]))],
                1700000000000);
    cmd.channel = data[1] % SB_CH_COUNT;
    body = sb_fuzz_string(data + 2, size - 2);
    rc = sb_body_parse(&cmd, sb_fuzz_config(), body, size - 2, &err);
    if (rc == 0) {
        SB_FUZZ_CHECK(err.status == 0 && err.body == NULL);
    } else {
        SB_FUZZ_CHECK(err.status >= 400 && err.status < 500);
        sb_fuzz_answer_ok(&err);
    }
    sb_answer_free(&err);
    sb_cmd_free(&cmd);
    free(body);
    return 0;
}
