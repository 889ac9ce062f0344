/* Core micro-benchmark: the apply path on a real, durable LMDB, no nginx.
 * Prints the time inside the write transaction per command type, the
 * commit's time per batch, deadline rates, and routing with a team of
 * 10 against 1,000. "pending N" and "ended N" fill the HTTP benchmark's
 * stores with N conversations, with and without a deadline each. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sb_core.h"

#define BATCH  500

static sb_store_t   st;
static sb_config_t  cfg;
static sb_batch_t  *batch;
static int64_t      now;


static double
seconds(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
defaults(void)
{
    const char  *names[] = { "chat", "mobile", "messaging" };
    unsigned     chans[] = { 1u << SB_CH_CHAT, 1u << SB_CH_MOBILE,
                             (1u << SB_CH_MOBILE) - 1 };
    int          caps[] = { 3, 2, 3 }, i;

    for (i = 0; i < 3; i++) {
        snprintf(cfg.classes[i].name, sizeof(cfg.classes[i].name), "%s",
                 names[i]);
        cfg.classes[i].capacity = caps[i];
        cfg.classes[i].channels = chans[i];
    }
    cfg.nclasses = 3;
    cfg.presence_timeout_ms = 3600000;
    cfg.text_max = 4096;
    for (i = 0; i < SB_CH_COUNT; i++) {
        cfg.caps[i] = SB_CAP_ALL;
    }
    cfg.first_reply_ms = 300000;
    cfg.reply_ms = 43200000;
    cfg.snooze_max_ms = 30LL * 86400000;
    cfg.auto_close_ms[SB_CH_MOBILE] = 7LL * 86400000;
    cfg.deliver_attempts = 6;
    cfg.deliver_backoff_ms = 2000;
    cfg.deliver_lease_ms = 120000;
    cfg.dedupe_ms = 7LL * 86400000;
    st.cfg = &cfg;
}


typedef struct {
    double    apply_us;       /* per command, inside the transaction */
    double    commit_ms;      /* per batch, LMDB's commit */
    double    wall;           /* seconds in all */
    size_t    n;
} measure_t;


/* Applies n prepared commands in batches, as the module's committer does. */
static measure_t
apply(sb_cmd_t *cmds, size_t n)
{
    sb_cmd_t     *ptrs[BATCH];
    sb_result_t   res[BATCH];
    sb_moved_t    moved = { 0 };
    measure_t     m = { 0, 0, 0, n };
    int64_t       a0, c0, a1, c1;
    uint64_t      k0, k1;
    size_t        i, j, b, batches = 0;
    double        t0 = seconds();

    sb_batch_timings(batch, &a0, &c0, &k0);
    for (i = 0; i < n; i += b) {
        b = n - i < BATCH ? n - i : BATCH;
        for (j = 0; j < b; j++) {
            ptrs[j] = &cmds[i + j];
            memset(&res[j], 0, sizeof(sb_result_t));
        }
        if (sb_apply_batch(&st, batch, ptrs, res, b, &moved) != 0) {
            fprintf(stderr, "batch failed\n");
            exit(1);
        }
        for (j = 0; j < b; j++) {
            if (res[j].outcome == SB_REFUSED) {
                fprintf(stderr, "command %zu refused: %d\n", i + j,
                        res[j].refusal);
                exit(1);
            }
            sb_result_free(&res[j]);
            sb_cmd_free(ptrs[j]);
        }
        sb_moved_truncate(&moved, 0);
        batches++;
    }
    sb_moved_free(&moved);
    sb_batch_timings(batch, &a1, &c1, &k1);
    m.wall = seconds() - t0;
    m.apply_us = n ? (a1 - a0) / 1e3 / n : 0;
    m.commit_ms = batches ? (c1 - c0) / 1e6 / batches : 0;
    return m;
}


static void
report(const char *what, measure_t m, double target_us)
{
    printf("  %-44s %6.2f us/command in the txn%s  commit %5.2f ms/batch"
           "  %7.0f/s\n", what, m.apply_us,
           target_us == 0 ? "       "
           : m.apply_us <= target_us ? " (<= target)" : " (ABOVE target)",
           m.commit_ms, m.n / m.wall);
}


static void
command(sb_cmd_t *c, sb_cmd_type_t type, const char *tenant,
    const char *actor)
{
    sb_cmd_init(c, type, now);
    c->channel = SB_CH_CHAT;
    snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
    snprintf(c->group, sizeof(c->group), "default");
    snprintf(c->actor, sizeof(c->actor), "%s", actor);
}


static void
team(const char *tenant, int agents, int capacity)
{
    sb_cmd_t  *cmds = calloc(2 * agents, sizeof(sb_cmd_t));
    char       id[32];
    int        i;

    for (i = 0; i < agents; i++) {
        snprintf(id, sizeof(id), "agent%d", i);
        command(&cmds[2 * i], SB_CMD_PUT_AGENT, tenant, "root");
        snprintf(cmds[2 * i].target, sizeof(cmds[2 * i].target), "%s", id);
        cmds[2 * i].u.agent.name = sb_arena_copy(&cmds[2 * i].mem, id,
                                                 strlen(id));
        cmds[2 * i].u.agent.groups[0] = sb_arena_copy(&cmds[2 * i].mem,
                                                      "default", 7);
        cmds[2 * i].u.agent.ngroups = 1;
        memset(cmds[2 * i].u.agent.capacity, 0xff,
               sizeof(cmds[2 * i].u.agent.capacity));
        cmds[2 * i].u.agent.capacity[0] = capacity;
        command(&cmds[2 * i + 1], SB_CMD_AVAILABILITY, tenant, id);
        cmds[2 * i + 1].u.availability.klass = -1;
        cmds[2 * i + 1].u.availability.available = 1;
    }
    apply(cmds, 2 * agents);
    free(cmds);
}


static void
available(const char *tenant, int agents, int on)
{
    sb_cmd_t  *cmds = calloc(agents, sizeof(sb_cmd_t));
    char       id[32];
    int        i;

    for (i = 0; i < agents; i++) {
        snprintf(id, sizeof(id), "agent%d", i);
        command(&cmds[i], SB_CMD_AVAILABILITY, tenant, id);
        cmds[i].u.availability.klass = -1;
        cmds[i].u.availability.available = on;
    }
    apply(cmds, agents);
    free(cmds);
}


/* n visitor messages from visitors first..first+n-1 */
static measure_t
visitors(const char *tenant, size_t first, size_t n)
{
    sb_cmd_t  *cmds = calloc(n, sizeof(sb_cmd_t));
    char       id[32];
    size_t     i;
    measure_t  m;

    for (i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "v%zu", first + i);
        command(&cmds[i], SB_CMD_VISITOR_MESSAGE, tenant, id);
        cmds[i].u.msg.text = sb_arena_copy(&cmds[i].mem,
                                           "Hello, where is my order?", 25);
    }
    m = apply(cmds, n);
    free(cmds);
    return m;
}


/* Who holds conversation id, as the store says (outside any timing). */
static void
holder(const char *tenant, uint64_t id, char *agent)
{
    sb_conv_t  c;
    MDB_txn   *txn;

    mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
    agent[0] = '\0';
    if (sb_load_conv(&st, txn, tenant, id, &c) == 0) {
        memcpy(agent, c.agent, sizeof(c.agent));
    }
    mdb_txn_abort(txn);
}


/* A command per conversation first..first+n-1, by its holder. */
static measure_t
on_conversations(const char *tenant, sb_cmd_type_t type, uint64_t first,
    size_t n, int64_t until)
{
    sb_cmd_t  *cmds = calloc(n, sizeof(sb_cmd_t));
    char       agent[SB_ID_MAX + 1];
    size_t     i;
    measure_t  m;

    for (i = 0; i < n; i++) {
        holder(tenant, first + i, agent);
        command(&cmds[i], type, tenant, agent);
        cmds[i].conv = first + i;
        if (type == SB_CMD_AGENT_MESSAGE) {
            cmds[i].u.msg.text = sb_arena_copy(&cmds[i].mem,
                                               "It ships tomorrow.", 18);
        } else {
            cmds[i].u.snooze.until = until;
        }
    }
    m = apply(cmds, n);
    free(cmds);
    return m;
}


/* FIRE at time at until nothing is due; the measure is per deadline. */
static measure_t
fire_all(int64_t at, size_t expected)
{
    sb_cmd_t   cmd;
    MDB_txn   *txn;
    measure_t  m, sum = { 0, 0, 0, expected };
    int64_t    due;
    int        more, rounds = 0;
    double     apply_us = 0, commit_ms = 0;

    do {
        sb_cmd_init(&cmd, SB_CMD_FIRE, at);
        m = apply(&cmd, 1);
        apply_us += m.apply_us;
        commit_ms += m.commit_ms;
        sum.wall += m.wall;
        rounds++;
        mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
        more = sb_deadline_earliest(&st, txn, &due) == 0 && due <= at;
        mdb_txn_abort(txn);
    } while (more);
    sum.apply_us = apply_us / expected;
    sum.commit_ms = commit_ms / rounds;
    return sum;
}


/* The outcome "sent" for every event of tenant a FIRE claimed (those
 * with a lease), as the glue reports a 2xx. */
static measure_t
hooks_sent(const char *tenant)
{
    MDB_cursor     *cur;
    MDB_val         key, val;
    MDB_txn        *txn;
    sb_key_t        prefix;
    sb_outevent_t   h;
    sb_cmd_t       *cmds = NULL;
    size_t          n = 0, cap = 0;
    measure_t       m;
    int             rc;

    sb_key_init(&prefix, tenant);
    sb_key_u8(&prefix, 'p');
    mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
    mdb_cursor_open(txn, st.db[SB_DB_HOOK], &cur);
    key = sb_key_val(&prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (sb_outevent_decode(val.mv_data, val.mv_size, &h) != 0
            || h.attempts == 0)
        {
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            cmds = realloc(cmds, cap * sizeof(sb_cmd_t));
        }
        command(&cmds[n], SB_CMD_HOOK_SENT, tenant, "");
        cmds[n].conv = h.conv;
        cmds[n].u.delivered.seq = h.id;
        cmds[n].u.delivered.attempt = h.attempts;
        cmds[n].u.delivered.outcome = SB_SENT_OK;
        cmds[n].u.delivered.http_status = 200;
        n++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    m = apply(cmds, n);
    free(cmds);
    return m;
}


static void
open_store(const char *dir)
{
    char  err[256];

    defaults();
    if (sb_store_open(&st, dir, (size_t) 8 << 30, 0, err, sizeof(err)) != 0) {
        fprintf(stderr, "store: %s\n", err);
        exit(1);
    }
    batch = sb_batch_create(&st);
}


/* The HTTP benchmark's stores: n conversations, either snoozed until a
 * day from now (n pending deadlines) or ended (the same rows, none due). */
static int
fill(size_t n, int snoozed)
{
    size_t  done;

    team("default", 10, 1000000);
    for (done = 0; done < n; done += 10000) {
        size_t  m = n - done < 10000 ? n - done : 10000;

        visitors("default", 1000000 + done, m);
        on_conversations("default", snoozed ? SB_CMD_SNOOZE : SB_CMD_END,
                         done + 1, m, now + 86400000);
    }
    available("default", 10, 0);
    printf("%zu conversations, %zu pending deadlines\n", n,
           snoozed ? n : 0);
    return 0;
}


/* Issue 19: reading a body of thousands of distinct keys (what the
 * duplicate check compared pair by pair: ~0.8 s for 60 KB), beside an
 * ordinary visitor message; the body parser every API request goes
 * through, best of 20 */
static void
hostile_bodies(void)
{
    static const char  *normal = "{\"text\":\"Hello, where is my order? "
                                 "\xf0\x9f\x93\xa6\"}";
    char        *big, *o;
    size_t       len, keys;
    double       t0, best_n = 1e9, best_b = 1e9, dt;
    sb_cmd_t     cmd;
    sb_answer_t  err;
    int          i, k, rc = 0;

    big = malloc(70000);
    o = big + sprintf(big, "{\"text\":\"hi\"");
    for (keys = 0; o - big < 65536 - 40; keys++) {
        o += sprintf(o, ",\"key-%05zu-\\u0078\":%zu", keys, keys);
    }
    *o++ = '}';
    len = (size_t) (o - big);
    for (i = 0; i < 20; i++) {
        for (k = 0; k < 2; k++) {
            memset(&err, 0, sizeof(err));
            sb_cmd_init(&cmd, SB_CMD_VISITOR_MESSAGE, now);
            t0 = seconds();
            rc |= sb_body_parse(&cmd, &cfg, k ? big : normal,
                                k ? len : strlen(normal), &err);
            dt = seconds() - t0;
            if (k) {
                best_b = dt < best_b ? dt : best_b;
            } else {
                best_n = dt < best_n ? dt : best_n;
            }
            sb_answer_free(&err);
            sb_cmd_free(&cmd);
        }
    }
    printf("\nbodies read (the API's body parser, best of 20):\n");
    printf("  an ordinary visitor message (%zu bytes)          %8.2f us\n",
           strlen(normal), best_n * 1e6);
    printf("  %zu distinct keys, escaped, %zu bytes          %8.2f ms%s\n",
           keys, len, best_b * 1e3, rc ? " (refused!)" : "");
    free(big);
}


int
main(int argc, char **argv)
{
    const char  *dir = argc > 1 ? argv[1] : NULL;
    size_t       n = 20000;
    measure_t    m10, m1000, m;

    if (dir == NULL) {
        fprintf(stderr, "usage: core STORE_DIR [pending|ended N]\n");
        return 2;
    }
    now = sb_now_ms();
    open_store(dir);
    if (argc > 3 && (strcmp(argv[2], "pending") == 0
                     || strcmp(argv[2], "ended") == 0))
    {
        return fill(strtoul(argv[3], NULL, 10), argv[2][0] == 'p');
    }

    hostile_bodies();
    printf("\ncore, durable LMDB, batches of %d (time inside the write "
           "transaction; commit = its fsyncs):\n", BATCH);
    team("default", 10, 1000000);
    report("new conversation with routing (10 agents)",
           visitors("default", 0, n), 20);
    report("inbound message to an open conversation",
           visitors("default", 0, n), 5);
    report("agent reply", on_conversations("default", SB_CMD_AGENT_MESSAGE,
                                           1, n, 0), 10);
    m = on_conversations("default", SB_CMD_SNOOZE, 1, n, now + 60000);
    report("snooze (schedules a deadline)", m, 10);
    available("default", 10, 0);
    report("deadline fire (snooze ends, queued)",
           fire_all(now + 60001, n), 10);

    printf("\nrouting, new conversations into one group:\n");
    team("team10", 10, 1000000);
    team("team1000", 1000, 1000000);
    m10 = visitors("team10", 0, n);
    m1000 = visitors("team1000", 0, n);
    report("10 agents", m10, 20);
    report("1,000 agents", m1000, 20);
    printf("  1,000 agents / 10 agents throughput: %.2f\n",
           (n / m1000.wall) / (n / m10.wall));

    /* the same commands with every event type sent to a webhook: each new
     * conversation writes three outbox rows (created, its message,
     * assigned), a reply one; then the FIRE that claims the first of
     * each line, and the outcome that takes it out and makes the next
     * due */
    printf("\nevent webhooks on (every type), 10 agents:\n");
    team("hooked", 10, 1000000);
    cfg.hook_types = (1u << SB_HOOK_COUNT) - 1;
    cfg.hook_attempts = 8;
    cfg.hook_backoff_ms = 5000;
    cfg.hook_lease_ms = 60000;
    m = visitors("hooked", 0, n);
    report("new conversation with routing, 3 events", m, 0);
    printf("  vs webhooks off: %.2fx the time in the txn\n",
           m.apply_us / m10.apply_us);
    report("agent reply, 1 event", on_conversations("hooked",
           SB_CMD_AGENT_MESSAGE, 1, n, 0), 0);
    now += 1;
    report("FIRE claiming the first event of a line", fire_all(now, n), 0);
    report("outcome sent (the next event made due)", hooks_sent("hooked"),
           0);
    cfg.hook_types = 0;

    sb_batch_destroy(batch);
    sb_store_close(&st);
    return 0;
}
