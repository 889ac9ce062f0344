/* Unit tests of the core's routing and commands (R1-R5a, R9, R19, R21,
 * R26) against a real LMDB in a temporary directory: typed commands in,
 * answers rendered after the commit out. */

#include "core.h"


static void
test_routing(void)
{
    char         buf[64], c1[32], c2[32], c3[32];
    int          status;
    json_t      *res;

    agent("ann", "{\"name\":\"Ann\"}");
    now += 1000;
    agent("bob", "{\"name\":\"Bob\"}");
    now += 1000;

    /* R2: equal load, neither assigned yet: ann was first in the tie */
    snprintf(c1, sizeof(c1), "%s", visitor("v1", SB_CH_CHAT, "hi"));
    now += 1000;
    snprintf(c2, sizeof(c2), "%s", visitor("v2", SB_CH_CHAT, "hi"));
    now += 1000;
    ok(strcmp(holder(c1, buf), holder(c2, buf + 32)) != 0,
       "R2: two conversations go to two different agents (fewest first)");

    /* R2 tie-break: both hold 1; the one assigned longest ago gets it */
    snprintf(c3, sizeof(c3), "%s", visitor("v3", SB_CH_CHAT, "hi"));
    is_str(holder(c3, buf), holder(c1, buf + 32),
           "R2: at equal load the longest-idle agent is chosen");

    /* R1: a second message goes to the same open conversation */
    is_str(visitor("v1", SB_CH_CHAT, "again"), c1,
           "R1: the visitor's open conversation takes the message");

    /* R4: classes are independent */
    res = run(SB_CMD_AVAILABILITY, "bob", NULL, 0,
              "{\"class\":\"all\",\"available\":false}", &status);
    is_int(status, 200, "bob goes unavailable");
    json_decref(res);
    visitor("v4", SB_CH_CHAT, "x");
    is_int(used("ann", "chat"), 3, "ann is full on chat");
    now += 1000;
    snprintf(c2, sizeof(c2), "%s", visitor("v5", SB_CH_CHAT, "first"));
    now += 1000;
    visitor("m1", SB_CH_MOBILE, "x");
    is_int(used("ann", "mobile"), 1, "R4: full on chat, still gets mobile");

    /* R3: a chat conversation waits; it goes to ann the moment she ends */
    snprintf(c3, sizeof(c3), "%s", visitor("v6", SB_CH_CHAT, "wait"));
    is_str(holder(c3, buf), "-", "R3: nobody qualifies: queued");
    res = run(SB_CMD_END, "ann", c1, 0, NULL, &status);
    is_int(status, 200, "R9: ann ends a conversation");
    is_str(json_string_value(json_object_get(res, "credited_agent")), NULL,
           "R19: no agent message, no credit");
    json_decref(res);
    is_str(holder(c2, buf), "ann",
           "R3: the longest waiting is assigned at once");
    is_str(holder(c3, buf), "-", "R3: the later one still waits");

    res = run(SB_CMD_END, "bob", c3, 0, NULL, &status);
    is_int(status, 403, "R25: ending a conversation one does not hold: 403");
    json_decref(res);
}


static void
test_batch_isolation(void)
{
    sb_cmd_t     a, b, *cmds[2] = { &a, &b };
    sb_moved_t   moved = { 0 };
    int          status[2];

    sb_cmd_init(&a, SB_CMD_VISITOR_MESSAGE, now);
    a.channel = SB_CH_SMS;
    snprintf(a.tenant, sizeof(a.tenant), "default");
    snprintf(a.group, sizeof(a.group), "default");
    snprintf(a.actor, sizeof(a.actor), "+33600000000");
    a.u.msg.text = sb_arena_copy(&a.mem, "batched", 7);
    sb_cmd_init(&b, SB_CMD_AGENT_MESSAGE, now);
    snprintf(b.tenant, sizeof(b.tenant), "default");
    snprintf(b.actor, sizeof(b.actor), "ann");
    b.conv = 999;
    b.u.msg.text = sb_arena_copy(&b.mem, "batched", 7);

    apply(cmds, 2, NULL, status, &moved);
    is_int(status[0], 201, "group commit: the good command commits");
    is_int(status[1], 404, "group commit: the bad one answers 404");
    ok(moved.n >= 1, "group commit: moved logs reported after commit");
    sb_moved_free(&moved);
    sb_cmd_free(&a);
    sb_cmd_free(&b);
}


static void
test_parse(void)
{
    int  status;

    ok(run(SB_CMD_VISITOR_MESSAGE, "v", NULL, SB_CH_CHAT, "{\"text\":",
           &status) == NULL && status == 400, "R26: malformed JSON is 400");
    ok(run(SB_CMD_VISITOR_MESSAGE, "v", NULL, SB_CH_CHAT, "[1]", &status)
       == NULL && status == 400, "R26: a non-object is 400");
    ok(run(SB_CMD_VISITOR_MESSAGE, "v", NULL, SB_CH_CHAT, "{\"text\":5}",
           &status) == NULL && status == 400, "R26: wrong type is 400");
    ok(run(SB_CMD_VISITOR_MESSAGE, "v", NULL, SB_CH_CHAT,
           "{\"text\":\"\\ud800\"}", &status) == NULL && status == 400,
       "R26: a lone surrogate is 400");
    ok(run(SB_CMD_VISITOR_MESSAGE, "v", NULL, SB_CH_CHAT,
           "{\"text\":\"\xff\"}", &status) == NULL && status == 400,
       "R26: invalid UTF-8 is 400");
    ok(run(SB_CMD_AVAILABILITY, "ann", NULL, 0,
           "{\"class\":\"nope\",\"available\":true}", &status) == NULL
       && status == 422, "an unknown class is 422");
    ok(run(SB_CMD_PUT_AGENT, "root", "zed", 0,
           "{\"name\":\"Z\",\"capacity\":{\"chat\":-1}}", &status) == NULL
       && status == 400, "a negative capacity is 400");
}


static void
test_util(void)
{
    int64_t      ms;
    sb_claims_t  c;
    const char  *why;
    /* HS256 over {"alg":"HS256"}.{"sub":"a","role":"agent","exp":4102444800}
     * with key "0123456789abcdef", made by t/lib/Switchboard/Token.pm */
    const char  *tok = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
        ".eyJleHAiOjQxMDI0NDQ4MDAsInJvbGUiOiJhZ2VudCIsInN1YiI6ImEifQ"
        ".IrmPYAtIMXBy1LrMna92VrhRBXdm6sJm2QnSBMQgO0M";

    ok(sb_parse_time("2026-11-23T10:00:00Z", &ms) == 0
       && ms == 1795428000000LL, "RFC 3339 Z parses");
    ok(sb_parse_time("2026-11-23T11:00:00+01:00", &ms) == 0
       && ms == 1795428000000LL, "RFC 3339 offset parses");
    ok(sb_parse_time("2026-11-23 10:00", &ms) != 0, "bad date refused");
    ok(sb_parse_time("2028-02-29T00:00:00.5z", &ms) == 0
       && ms == 1835395200500LL, "29 Feb of a leap year, fraction, 'z'");
    {
        /* issue 8, item 11: what timegm would quietly normalise */
        static const char *const  bad[] = {
            "2026-11-31T10:00:00Z", "2027-02-29T10:00:00Z",
            "2026-11-23T10:00:60Z", "2026-11-23T24:00:00Z",
            "2026-+1-23T10:00:00Z", "2026-11-+3T10:00:00Z",
            "+026-11-23T10:00:00Z", "2026-11-23T+1:00:00Z",
            "2026-11-23T10:00:00+1:00", "2026-11-23T10:00:00+01:-1",
            " 2026-11-23T10:00:00Z", "2026-11-23T10: 0:00Z",
            "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00", "2026", "",
            "2026-00-10T10:00:00Z", "2026-11-00T10:00:00Z",
            "2026-11-23T10:00:00Zjunk"
        };
        size_t  i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            ok(sb_parse_time(bad[i], &ms) != 0, "RFC 3339: \"%s\" refused",
               bad[i]);
        }
    }
    ok(sb_valid_id("alice.b-c_1", 11, 0), "id with . _ - is valid");
    ok(!sb_valid_id("al/ice", 6, 0), "id with / is refused");
    ok(!sb_valid_id("+336", 4, 0) && sb_valid_id("+336", 4, 1),
       "+ only in provider ids");
    ok(sb_valid_utf8((const unsigned char *) "\xf0\x9f\x98\x80", 4),
       "4-byte emoji is valid UTF-8");
    ok(!sb_valid_utf8((const unsigned char *) "\xed\xa0\x80", 3),
       "an encoded surrogate is invalid UTF-8");
    ok(!sb_valid_utf8((const unsigned char *) "\xc0\xaf", 2),
       "an overlong form is invalid UTF-8");

    {
        sb_jwt_key_t   good = { (const unsigned char *) "0123456789abcdef",
                                16, NULL, NULL, 0 };
        sb_jwt_key_t   other = { (const unsigned char *) "0123456789abcdeX",
                                 16, NULL, NULL, 0 };
        sb_jwt_keys_t  ks = { &good, 1, { 0 } }, ko = { &other, 1, { 0 } };

        ok(sb_jwt_verify(tok, strlen(tok), &ks, 1700000000, &c, &why) == 0
           && strcmp(c.sub, "a") == 0 && strcmp(c.role, "agent") == 0,
           "R25: a good token verifies");
        ok(sb_jwt_verify(tok, strlen(tok), &ko, 1700000000, &c, &why) != 0,
           "R25: another key fails");
        ok(sb_jwt_verify(tok, strlen(tok), &ks, 4102444801LL, &c, &why) != 0,
           "R25: an expired token fails");
    }
}


/* R21: the dedupe purge goes a slice at a time and resumes where it
 * stopped; rows inside the window stay. */
static void
test_purge(void)
{
    sb_cmd_t     cmd, *cmds[1] = { &cmd };
    sb_result_t  res;
    sb_moved_t   moved = { 0 };
    MDB_txn     *txn;
    MDB_val      key, val;
    char         k[32], v[64];
    int          i, old = 0;
    int64_t      purged[3];

    cfg.dedupe_ms = 60000;
    mdb_txn_begin(st.env, NULL, 0, &txn);
    for (i = 0; i < 5000; i++) {
        /* 4,900 rows past the window, 100 inside it */
        sb_idem_t  row = { 1, 1, i < 4900 ? now - 120000 : now - 1000 };
        sb_wr_t    w = { (unsigned char *) v, 0 };

        sb_idem_encode(&w, &row);
        snprintf(k, sizeof(k), "purge-test-%05d", i);
        key.mv_data = k;
        key.mv_size = strlen(k);
        val.mv_data = v;
        val.mv_size = w.n;
        mdb_put(txn, st.db[SB_DB_IDEM], &key, &val, 0);
    }
    mdb_txn_commit(txn);

    for (i = 0; i < 3; i++) {
        sb_cmd_init(&cmd, SB_CMD_PURGE, now);
        memset(&res, 0, sizeof(res));
        sb_apply_batch(&st, batch, cmds, &res, 1, &moved);
        purged[i] = (int64_t) res.purged;
        if (i == 0) {
            ok(res.more, "R21: a first slice says there is more");
        }
        sb_result_free(&res);
    }
    ok(purged[0] > 0 && purged[0] + purged[1] >= 4900,
       "R21: two slices purge every expired row (%lld + %lld)",
       (long long) purged[0], (long long) purged[1]);
    is_int(purged[2], 0, "R21: a third walk finds nothing expired");

    mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
    for (i = 0; i < 5000; i++) {
        snprintf(k, sizeof(k), "purge-test-%05d", i);
        key.mv_data = k;
        key.mv_size = strlen(k);
        old += i < 4900 && mdb_get(txn, st.db[SB_DB_IDEM], &key, &val) == 0;
        if (i >= 4900 && mdb_get(txn, st.db[SB_DB_IDEM], &key, &val) != 0) {
            old = -100000;
        }
    }
    mdb_txn_abort(txn);
    is_int(old, 0, "R21: expired rows gone, rows inside the window kept");
}


int
main(void)
{
    setup();
    test_routing();
    test_batch_isolation();
    test_parse();
    test_util();
    test_purge();
    teardown();
    return done_testing();
}
