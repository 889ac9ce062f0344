/* Unit tests of a reload that renames and removes slot classes (issue 19,
 * item 4) against a real LMDB: queued, held and snoozed conversations of
 * every class, the RECONCILE that moves their rows, FIREs that never
 * stop on a row they cannot act on, and parked rows put back. */

#include "core.h"
#include "domain/sb_cache.h"


/* A command straight through the batch, its result kept for the test. */
static void
direct(sb_cmd_type_t type, int start, sb_result_t *res)
{
    sb_cmd_t     cmd, *cmds[1] = { &cmd };
    sb_moved_t   mv = { 0 };

    sb_cmd_init(&cmd, type, now);
    snprintf(cmd.tenant, sizeof(cmd.tenant), "default");
    cmd.u.reconcile.start = start;
    memset(res, 0, sizeof(*res));
    sb_apply_batch(&st, batch, cmds, res, 1, &mv);
    sb_moved_free(&mv);
    sb_cmd_free(&cmd);
}


/* RECONCILEs until the store says it agrees; how many it took. */
static int
reconcile(size_t *moved)
{
    sb_result_t  res;
    int          n = 0, start = 1, more;

    *moved = 0;
    do {
        direct(SB_CMD_RECONCILE, start, &res);
        start = 0;
        *moved += res.reclassed;
        n++;
        if (res.outcome != SB_DONE) {
            printf("# reconcile failed: %d (LMDB %d)\n", res.outcome,
                   res.store_rc);
            sb_result_free(&res);
            return -1;
        }
        more = res.more;
        sb_result_free(&res);
    } while (more && n < 100);
    return n;
}


static const char *
field(const char *conv, const char *name, char *buf)
{
    json_t  *j = conversation(conv);

    snprintf(buf, 64, "%s",
             json_is_string(json_object_get(j, name))
             ? json_string_value(json_object_get(j, name)) : "-");
    json_decref(j);
    return buf;
}


static json_t *
stats(void)
{
    sb_answer_t  ans = { 0, NULL, NULL, 0, "" };
    MDB_txn     *txn;
    json_t      *j;

    mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
    sb_query_stats(&st, txn, "default", now, &ans);
    mdb_txn_abort(txn);
    j = json_loadb(ans.body, ans.len, 0, NULL);
    sb_answer_free(&ans);
    return j;
}


static long long
queue_length(const char *klass)
{
    json_t     *j = stats();
    long long   n;

    n = json_integer_value(json_object_get(json_object_get(json_object_get(
            json_object_get(j, "queues"), "default"), klass), "length"));
    json_decref(j);
    return n;
}


static long long
agents_in(const char *klass, const char *status)
{
    json_t     *j = stats();
    long long   n;

    n = json_integer_value(json_object_get(json_object_get(
            json_object_get(j, "agents"), klass), status));
    json_decref(j);
    return n;
}


/* snoozed by its holder for three hours */
static void
snooze(const char *conv)
{
    char  body[96], when[40], who[64];
    int   status;

    sb_format_time(now + 3 * 3600000, when, sizeof(when));
    snprintf(body, sizeof(body), "{\"until\":\"%s\"}", when);
    json_decref(run(SB_CMD_SNOOZE, holder(conv, who), conv, 0, body,
                    &status));
    if (status != 200) {
        printf("# snooze %s: %d\n", conv, status);
    }
}


/* time passes, and both agents keep polling (R5a) */
static void
later(int64_t ms)
{
    int  status;

    now += ms;
    json_decref(run(SB_CMD_SEEN, "ann", NULL, 0, NULL, &status));
    json_decref(run(SB_CMD_SEEN, "bob", NULL, 0, NULL, &status));
}


/* the conversation's record replaced by bytes no decoder takes */
static void
corrupt(const char *conv)
{
    MDB_txn   *txn;
    sb_key_t   k;
    uint64_t   id;

    sb_conv_parse(conv, strlen(conv), &id);
    sb_conv_key(&k, "default", id);
    mdb_txn_begin(st.env, NULL, 0, &txn);
    sb_put(txn, st.db[SB_DB_CONV], &k, "garbage", 7);
    mdb_txn_commit(txn);
}


int
main(void)
{
    char         c_held[32], c_queued[32], c_mob[32], c_snz[32], buf[64];
    char         c_bad[32], c_after[32];
    sb_result_t  res;
    size_t       moved;
    int          status;

    setup();
    agent("ann", "{\"name\":\"Ann\",\"capacity\":{\"chat\":1}}");
    agent("bob", "{\"name\":\"Bob\",\"capacity\":{\"chat\":1}}");
    snprintf(c_held, 32, "%s", visitor("v1", SB_CH_CHAT, "held"));
    snprintf(c_snz, 32, "%s", visitor("v2", SB_CH_CHAT, "to snooze"));
    snprintf(c_mob, 32, "%s", visitor("v3", SB_CH_MOBILE, "mobile"));
    is_str(holder(c_held, buf), "ann", "a chat conversation held by ann");
    is_str(holder(c_snz, buf), "bob", "another by bob");
    snooze(c_mob);
    snooze(c_snz);
    is_str(holder(visitor("v4", SB_CH_CHAT, "to bob"), buf), "bob",
           "bob's freed slot takes the next chat conversation");
    snprintf(c_queued, 32, "%s", visitor("v5", SB_CH_CHAT, "queued"));
    is_str(field(c_queued, "state", buf), "queued", "with both full, the "
           "next one is queued");
    is_int(queue_length("chat"), 1, "the chat queue holds it");

    /* the reload: chat renamed web (same channel), mobile removed */
    snprintf(cfg.classes[0].name, SB_ID_MAX, "web");
    cfg.classes[1] = cfg.classes[2];
    cfg.nclasses = 2;

    is_int(used("ann", "web"), 0, "before the reconcile, the renamed class "
           "starts with no slot counted");
    ok(reconcile(&moved) >= 2, "the reconcile runs (a recount per tenant)");
    ok(moved >= 2, "it moved the queued and the held rows (%zu)", moved);
    is_int(queue_length("web"), 1, "the queued conversation is in the web "
           "queue now");
    is_int(queue_length("chat"), 0, "... and no chat queue is left");
    is_int(used("ann", "web"), 1, "ann's held conversation counts in web");
    is_int(agents_in("web", "red") + agents_in("web", "green")
           + agents_in("web", "orange"), 2,
           "both agents are counted in the web class");
    ok(json_object_get(json_object_get(stats(), "agents"), "chat") == NULL
       || agents_in("chat", "red") + agents_in("chat", "green") == 0,
       "... and no longer in chat");

    /* bob goes available in web: he takes the queued one (R3) */
    json_decref(run(SB_CMD_AVAILABILITY, "bob", NULL, 0,
                    "{\"class\":\"web\",\"available\":true}", &status));
    is_int(status, 200, "bob goes available in web");
    is_str(holder(c_queued, buf), "bob", "and takes the conversation that "
           "was queued under chat");

    /* ann's conversation held under chat ends normally */
    json_decref(run(SB_CMD_END, "ann", c_held, 0, NULL, &status));
    is_int(status, 200, "ann ends the conversation she held under chat");
    is_int(used("ann", "web"), 0, "... and her web slot is free");

    /* transfer and release of a class-less conversation are refused */
    json_decref(run(SB_CMD_AVAILABILITY, "ann", NULL, 0,
                    "{\"class\":\"all\",\"available\":true}", &status));

    /* a corrupt record first in line, then good rows behind it */
    snprintf(c_bad, 32, "%s", visitor("v8", SB_CH_CHAT, "bad"));
    snooze(c_bad);
    snprintf(c_after, 32, "%s", visitor("v9", SB_CH_CHAT, "after"));
    snooze(c_after);
    corrupt(c_bad);

    later(3 * 3600000 + 1000);
    direct(SB_CMD_FIRE, 0, &res);
    is_int(res.outcome, SB_DONE, "the FIRE commits despite a bad row");
    is_int(res.parked, 1, "the corrupt conversation's row is parked");
    ok(strstr(res.note, c_bad + 1) != NULL && strstr(res.note, "snooze"),
       "the note names it: %s", res.note);
    sb_result_free(&res);
    is_str(field(c_snz, "state", buf), "assigned", "the chat snooze behind "
           "it woke, routed in web");
    is_str(field(c_after, "state", buf), "assigned", "so did the one after "
           "the bad row");
    is_str(field(c_mob, "state", buf), "snoozed", "the mobile one waits: no "
           "class takes mobile now");

    /* the mobile conversation's snooze moved an hour on, not lost */
    later(3600000 + 1000);
    direct(SB_CMD_FIRE, 0, &res);
    is_int(res.parked, 0, "a later FIRE has nothing to park");
    ok(strstr(res.note, "cannot wake") != NULL, "the wait is said again an "
       "hour later: %s", res.note);
    sb_result_free(&res);

    /* a class for mobile again (the next reload): it wakes */
    snprintf(cfg.classes[2].name, SB_ID_MAX, "app");
    cfg.classes[2].capacity = 2;
    cfg.classes[2].channels = 1u << SB_CH_MOBILE;
    cfg.nclasses = 3;
    ok(reconcile(&moved) >= 1, "the next reload's reconcile");
    json_decref(run(SB_CMD_AVAILABILITY, "ann", NULL, 0,
                    "{\"class\":\"all\",\"available\":true}", &status));
    later(3600000 + 1000);
    direct(SB_CMD_FIRE, 0, &res);
    is_int(res.parked, 1, "the parked row was put back and fails again "
           "(its record is still corrupt): parked again");
    sb_result_free(&res);
    is_str(field(c_mob, "state", buf), "assigned", "the mobile conversation "
           "woke into the app class");

    teardown();
    return done_testing();
}
