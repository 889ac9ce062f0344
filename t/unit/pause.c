/* Unit tests of a tenant's pause for a move (issue 12) against a real
 * LMDB: its commands are refused in the transaction, its deadlines wait
 * while another tenant's fire (past the paused ones), the timer is armed
 * on the other tenant's, and a resume lets them fire. */

#include "core.h"


/* a chat command of tenant */
static json_t *
run_as(const char *tenant, sb_cmd_type_t type, const char *actor,
    const char *target, const char *body, int *status)
{
    return run_in(tenant, type, actor, target, SB_CH_CHAT, body, status);
}


/* ann in tenant, a visitor's conversation snoozed until `until`. */
static void
snoozed(const char *tenant, const char *visitor, int64_t until, char *conv)
{
    char     body[96], when[40];
    int      status;
    json_t  *res;

    json_decref(run_as(tenant, SB_CMD_PUT_AGENT, "root", "ann",
                       "{\"name\":\"Ann\"}", &status));
    json_decref(run_as(tenant, SB_CMD_AVAILABILITY, "ann", NULL,
                       "{\"class\":\"all\",\"available\":true}", &status));
    res = run_as(tenant, SB_CMD_VISITOR_MESSAGE, visitor, NULL,
                 "{\"text\":\"hi\"}", &status);
    snprintf(conv, 32, "%s",
             json_string_value(json_object_get(res, "conversation")));
    json_decref(res);
    sb_format_time(until, when, sizeof(when));
    snprintf(body, sizeof(body), "{\"until\":\"%s\"}", when);
    json_decref(run_as(tenant, SB_CMD_SNOOZE, "ann", conv, body, &status));
}


static const char *
state_of(const char *tenant, const char *conv)
{
    static char  state[16];
    sb_answer_t  ans = { 0, NULL, NULL, 0, "" };
    MDB_txn     *txn;
    json_t      *j;

    mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
    sb_query_conversation(&st, txn, tenant, conv, NULL, &unit_page, now,
                          &ans);
    mdb_txn_abort(txn);
    j = json_loadb(ans.body, ans.len, 0, NULL);
    snprintf(state, sizeof(state), "%s",
             json_string_value(json_object_get(j, "state")));
    json_decref(j);
    sb_answer_free(&ans);
    return state;
}


static void
fire(void)
{
    int  status;

    json_decref(run_as("default", SB_CMD_FIRE, "", NULL, NULL, &status));
}


int
main(void)
{
    char      a1[32], a2[32], a3[32], b1[32];
    int64_t   due;
    MDB_txn  *txn;
    int       status;
    json_t   *res;

    setup();
    /* three of the paused tenant's snoozes fall due before the other's */
    snoozed("moving", "v1", now + 1000, a1);
    snoozed("moving", "v2", now + 1001, a2);
    snoozed("moving", "v3", now + 1002, a3);
    snoozed("staying", "w1", now + 1003, b1);

    res = run_as("moving", SB_CMD_PAUSE, "root", NULL, NULL, &status);
    is_int(status, 200, "the pause commits");
    ok(json_is_true(json_object_get(res, "paused")), "... paused: true");
    json_decref(res);

    res = run_as("moving", SB_CMD_VISITOR_MESSAGE, "v9", NULL,
                 "{\"text\":\"hi\"}", &status);
    is_int(status, 503, "a command of the paused tenant: 503");
    is_str(json_string_value(json_object_get(json_object_get(res, "error"),
                                             "code")),
           "tenant_paused", "... tenant_paused");
    json_decref(res);
    res = run_as("staying", SB_CMD_VISITOR_MESSAGE, "w9", NULL,
                 "{\"text\":\"hi\"}", &status);
    is_int(status, 201, "another tenant's command is taken");
    json_decref(res);

    mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
    is_int(sb_deadline_earliest(&st, txn, &due), 0, "a deadline is pending");
    mdb_txn_abort(txn);
    is_int(due, now + 1003, "the timer's is the other tenant's, past the "
           "paused ones");

    now += 2000;
    fire();
    is_str(state_of("staying", b1), "assigned",
           "the other tenant's snooze fired");
    is_str(state_of("moving", a1), "snoozed", "the paused tenant's waits");
    is_str(state_of("moving", a3), "snoozed", "... each of them");

    res = run_as("moving", SB_CMD_RESUME, "root", NULL, NULL, &status);
    is_int(status, 200, "the resume commits");
    ok(json_is_false(json_object_get(res, "paused")), "... paused: false");
    json_decref(res);
    fire();
    is_str(state_of("moving", a1), "assigned", "resumed: its snoozes fire");
    is_str(state_of("moving", a2), "assigned", "... each of them");
    is_str(state_of("moving", a3), "assigned", "... (ann has three chat "
           "slots)");

    teardown();
    return done_testing();
}
