/* Deadline benchmark on the core (the code a worker's commit thread runs):
 * schedule N snoozes and fire them, group-committed in batches of 1000;
 * or leave N snoozes pending a day in a store for the HTTP benchmark. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sb_core.h"

#define BATCH   1000
#define AGENTS  10

static sb_store_t   st;
static sb_config_t  cfg;


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
                             0x3f };
    int          caps[] = { 3, 2, 3 }, i;

    for (i = 0; i < 3; i++) {
        snprintf(cfg.classes[i].name, sizeof(cfg.classes[i].name), "%s",
                 names[i]);
        cfg.classes[i].capacity = caps[i];
        cfg.classes[i].channels = chans[i];
    }
    cfg.nclasses = 3;
    cfg.presence_timeout_ms = 90000;
    cfg.text_max = 4096;
    for (int ch = 0; ch < SB_CH_COUNT; ch++) {
        cfg.caps[ch] = SB_CAP_ALL;
    }
    cfg.first_reply_ms = 300000;
    cfg.reply_ms = 43200000;
    cfg.snooze_max_ms = 30LL * 86400000;
    cfg.auto_close_ms[SB_CH_MOBILE] = 7LL * 86400000;
    st.cfg = &cfg;
}


/* Applies n prepared commands in batches, as the module's committer does. */
static void
apply(sb_cmd_t *cmds, size_t n)
{
    sb_cmd_t     *ptrs[BATCH];
    sb_result_t   res[BATCH];
    sb_moved_t    moved = { 0 };
    size_t        i, j, m;

    for (i = 0; i < n; i += m) {
        m = n - i < BATCH ? n - i : BATCH;
        for (j = 0; j < m; j++) {
            ptrs[j] = &cmds[i + j];
            memset(&res[j], 0, sizeof(sb_result_t));
        }
        if (sb_apply_batch(&st, ptrs, res, m, &moved) != 0) {
            fprintf(stderr, "batch failed: %s\n", res[0].body);
            exit(1);
        }
        for (j = 0; j < m; j++) {
            if (res[j].status >= 400) {
                fprintf(stderr, "command failed: %s\n", res[j].body);
                exit(1);
            }
            sb_result_free(&res[j]);
            sb_cmd_free(ptrs[j]);
        }
        sb_moved_truncate(&moved, 0);
    }
    sb_moved_free(&moved);
}


static void
command(sb_cmd_t *c, sb_cmd_type_t type, const char *actor,
    const char *target, int64_t now)
{
    memset(c, 0, sizeof(*c));
    c->type = type;
    c->now = now;
    c->channel = SB_CH_CHAT;
    snprintf(c->tenant, sizeof(c->tenant), "default");
    snprintf(c->group, sizeof(c->group), "default");
    snprintf(c->actor, sizeof(c->actor), "%s", actor);
    snprintf(c->target, sizeof(c->target), "%s", target);
}


/* Who holds a conversation: asked of the store, as an agent would know. */
static const char *
holder_of(const char *conv)
{
    static char   who[SB_ID_MAX + 1];
    sb_result_t   res = { 0, NULL, NULL };
    MDB_txn      *txn;
    json_t       *j;

    mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
    sb_query_conversation(&st, txn, "default", conv, NULL, sb_now_ms(), &res);
    mdb_txn_abort(txn);
    j = json_loads(res.body, 0, NULL);
    snprintf(who, sizeof(who), "%s",
             json_string_value(json_object_get(j, "agent")));
    json_decref(j);
    sb_result_free(&res);
    return who;
}


int
main(int argc, char **argv)
{
    const char  *dir = argc > 1 ? argv[1] : NULL;
    size_t       n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000, i;
    int          pending = argc > 3 && strcmp(argv[3], "pending") == 0;
    sb_cmd_t    *cmds = calloc(BATCH + 2 * AGENTS, sizeof(sb_cmd_t));
    sb_result_t  err = { 0, NULL, NULL };
    char         msg[64], id[32], errbuf[128];
    const char  *agent = "{\"name\":\"Bench\",\"capacity\":{\"chat\":100}}";
    const char  *avail = "{\"class\":\"all\",\"available\":true}";
    int64_t      now = sb_now_ms(), due;
    double       t0, t1, sched;
    size_t       base, m;
    MDB_txn     *txn;

    if (dir == NULL || cmds == NULL) {
        fprintf(stderr, "usage: deadlines STORE_DIR [N] [pending]\n");
        return 2;
    }
    defaults();
    if (sb_store_open(&st, dir, (size_t) 4 << 30, 0, errbuf,
                      sizeof(errbuf)) != 0)
    {
        fprintf(stderr, "store: %s\n", errbuf);
        return 1;
    }

    /* a team of AGENTS, each taking up to BATCH / AGENTS at a time */
    for (i = 0; i < AGENTS; i++) {
        snprintf(id, sizeof(id), "bench%zu", i);
        command(&cmds[2 * i], SB_CMD_PUT_AGENT, "root", id, now);
        sb_cmd_parse(&cmds[2 * i], &cfg, agent, strlen(agent), &err);
        command(&cmds[2 * i + 1], SB_CMD_AVAILABILITY, id, "", now);
        sb_cmd_parse(&cmds[2 * i + 1], &cfg, avail, strlen(avail), &err);
    }
    apply(cmds, 2 * AGENTS);

    /* waves of BATCH conversations: assigned, then snoozed (scheduled),
     * so the agent never holds more than a realistic handful of records */
    due = pending ? now + 86400000 : now + 60000;
    sched = 0;
    for (base = 0; base < n; base += BATCH) {
        m = n - base < BATCH ? n - base : BATCH;
        for (i = 0; i < m; i++) {
            snprintf(msg, sizeof(msg), "{\"text\":\"hello %zu\"}", base + i);
            snprintf(id, sizeof(id), "dv%zu", base + i);
            command(&cmds[i], SB_CMD_VISITOR_MESSAGE, id, "", now);
            sb_cmd_parse(&cmds[i], &cfg, msg, strlen(msg), &err);
        }
        apply(cmds, m);
        for (i = 0; i < m; i++) {
            snprintf(id, sizeof(id), "c%zu", base + i + 1);
            command(&cmds[i], SB_CMD_SNOOZE, holder_of(id), id, now);
            cmds[i].until = due;
        }
        t0 = seconds();
        apply(cmds, m);
        sched += seconds() - t0;
    }
    printf("schedule %zu snooze deadlines: %.2f s (%.0f/s), in batches of "
           "%d\n", n, sched, n / sched, BATCH);

    /* the team steps away: woken conversations queue */
    avail = "{\"class\":\"all\",\"available\":false}";
    for (i = 0; i < AGENTS; i++) {
        snprintf(id, sizeof(id), "bench%zu", i);
        command(&cmds[i], SB_CMD_AVAILABILITY, id, "", now);
        sb_cmd_parse(&cmds[i], &cfg, avail, strlen(avail), &err);
    }
    apply(cmds, AGENTS);

    if (!pending) {
        /* fire: FIRE commands at the due time until none is left */
        t0 = seconds();
        for ( ;; ) {
            command(&cmds[0], SB_CMD_FIRE, "", "", due + 1);
            apply(cmds, 1);
            mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
            i = sb_deadline_earliest(&st, txn, &now) == 0 && now <= due;
            mdb_txn_abort(txn);
            if (!i) {
                break;
            }
        }
        t1 = seconds();
        printf("fire %zu deadlines: %.2f s (%.0f/s)\n", n, t1 - t0,
               n / (t1 - t0));
    }

    sb_store_close(&st);
    free(cmds);
    return 0;
}
