/* Unit tests of the event webhooks' outbox (issue 11) against a real
 * LMDB: one due row per conversation, retries with back-off, giving up,
 * replay into a busy line, stale outcomes, leases that run out, and
 * lines that do not wait for each other. */

#include "core.h"


/* A FIRE at now: the ids it claimed, in order, into ids (up to 8). */
static size_t
fire(uint64_t *ids, int64_t *attempts)
{
    sb_cmd_t     cmd, *cmds[1] = { &cmd };
    sb_result_t  res;
    sb_moved_t   mv = { 0 };
    size_t       i, n;

    memset(&res, 0, sizeof(res));
    sb_cmd_init(&cmd, SB_CMD_FIRE, now);
    sb_apply_batch(&st, batch, cmds, &res, 1, &mv);
    n = res.nhooks;
    for (i = 0; i < n && i < 8; i++) {
        ids[i] = res.hooks[i].id;
        if (attempts) {
            attempts[i] = res.hooks[i].attempt;
        }
    }
    sb_result_free(&res);
    sb_moved_free(&mv);
    sb_cmd_free(&cmd);
    return n;
}


/* The glue's word on one attempt. */
static void
sent(uint64_t conv, uint64_t id, int64_t attempt, sb_send_outcome_t outcome)
{
    sb_cmd_t     cmd, *cmds[1] = { &cmd };
    sb_result_t  res;
    sb_moved_t   mv = { 0 };

    memset(&res, 0, sizeof(res));
    sb_cmd_init(&cmd, SB_CMD_HOOK_SENT, now);
    snprintf(cmd.tenant, sizeof(cmd.tenant), "default");
    cmd.conv = conv;
    cmd.u.delivered.seq = id;
    cmd.u.delivered.attempt = attempt;
    cmd.u.delivered.outcome = outcome;
    cmd.u.delivered.http_status = outcome == SB_SENT_OK ? 200 : 500;
    sb_apply_batch(&st, batch, cmds, &res, 1, &mv);
    sb_result_free(&res);
    sb_moved_free(&mv);
    sb_cmd_free(&cmd);
}


static json_t *
outbox(void)
{
    sb_answer_t  ans = { 0, NULL, NULL, 0, "" };
    MDB_txn     *txn;
    json_t      *j;

    mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
    sb_query_hooks(&st, txn, "default", 0, &ans);
    mdb_txn_abort(txn);
    j = json_loadb(ans.body, ans.len, 0, NULL);
    sb_answer_free(&ans);
    return j;
}


static long long
outbox_count(const char *what)
{
    json_t     *j = outbox();
    long long   n = json_integer_value(json_object_get(j, what));

    json_decref(j);
    return n;
}


int
main(void)
{
    uint64_t   ids[8], c1, c2;
    int64_t    att[8];
    int        status;
    json_t    *res;

    setup();
    cfg.hook_types = (1u << SB_HOOK_CONV_CREATED)
                     | (1u << SB_HOOK_MSG_CREATED);
    cfg.hook_attempts = 2;
    cfg.hook_backoff_ms = 1000;
    cfg.hook_lease_ms = 5000;

    /* events 1 (created) and 2 (message) in one line: only 1 is due */
    sb_conv_parse(visitor("v1", SB_CH_CHAT, "hi"), 2, &c1);
    is_int(outbox_count("pending"), 2, "two events in the outbox");
    is_int(fire(ids, att), 1, "a FIRE claims one row of the line");
    is_int(ids[0], 1, "... its first");
    is_int(att[0], 1, "... first attempt");
    is_int(fire(ids, NULL), 0, "in flight: nothing more is due");

    /* a failure backs off; the line waits */
    sent(c1, 1, 1, SB_SENT_RETRY);
    is_int(fire(ids, NULL), 0, "a retry is not due at once");

    /* another conversation's line does not wait */
    now += 10;
    sb_conv_parse(visitor("v2", SB_CH_CHAT, "hi"), 2, &c2);
    is_int(fire(ids, NULL), 1, "another line goes on meanwhile");
    is_int(ids[0], 3, "... with its own first event");
    sent(c2, 3, 1, SB_SENT_OK);
    is_int(fire(ids, NULL), 1, "its next event is due once it is sent");
    is_int(ids[0], 4, "... event 4");
    sent(c2, 4, 1, SB_SENT_OK);

    now += 1000;
    is_int(fire(ids, att), 1, "after the back-off, the retry");
    is_int(ids[0], 1, "... of event 1");
    is_int(att[0], 2, "... attempt 2");
    sent(c1, 1, 1, SB_SENT_OK);
    is_int(outbox_count("pending"), 2, "a stale outcome changes nothing");

    /* the last attempt fails: the event gives up, the line goes on */
    sent(c1, 1, 2, SB_SENT_RETRY);
    is_int(outbox_count("failed"), 1, "out of attempts: failed");
    is_int(outbox_count("failed_attempts"), 2, "two attempts failed");
    is_int(fire(ids, NULL), 1, "the line goes on");
    is_int(ids[0], 2, "... with event 2");

    /* replayed while event 2 is in flight: it waits for it */
    res = run(SB_CMD_HOOK_REPLAY, "root", NULL, 0, "", &status);
    is_int(status, 200, "replay answers 200");
    is_int(json_integer_value(json_object_get(res, "replayed")), 1,
           "... one replayed");
    json_decref(res);
    is_int(outbox_count("failed"), 0, "nothing failed");
    is_int(fire(ids, NULL), 0, "a replayed event waits for the one in "
           "flight");
    sent(c1, 2, 1, SB_SENT_OK);
    is_int(fire(ids, att), 1, "then it is due");
    is_int(ids[0], 1, "... event 1 again");
    is_int(att[0], 1, "... with its attempts anew");
    sent(c1, 1, 1, SB_SENT_OK);
    is_int(outbox_count("pending"), 0, "the outbox is empty");
    is_int(fire(ids, NULL), 0, "and nothing is due");

    /* a worker dies with the POST in flight: the lease runs out */
    sb_conv_parse(visitor("v4", SB_CH_CHAT, "hi"), 2, &c2);
    is_int(fire(ids, att), 1, "a new event is claimed");
    now += 4999;
    is_int(fire(ids, NULL), 0, "not again while its lease runs");
    now += 1;
    is_int(fire(ids, att), 1, "claimed again once the lease is over");
    is_int(att[0], 2, "... as its next attempt");
    sent(c2, ids[0], 2, SB_SENT_OK);
    is_int(fire(ids, att), 1, "then the line goes on");
    sent(c2, ids[0], att[0], SB_SENT_OK);
    is_int(outbox_count("pending"), 0, "and empties");

    /* types not asked for leave no row */
    cfg.hook_types = 0;
    visitor("v3", SB_CH_CHAT, "hi");
    is_int(outbox_count("pending"), 0, "no webhook: no outbox row");

    teardown();
    return done_testing();
}
