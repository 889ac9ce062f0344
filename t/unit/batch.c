/* The group commit's batch taken under the write lock (sb_apply_collected):
 * collected only once the lock is held, committed, or nothing at all. */

#include <pthread.h>

#include "core.h"

static volatile int  writer_started, writer_done;


/* Another writer (as another worker would be) holds the lock a while. */
static void *
hold_writer(void *arg)
{
    MDB_txn  *txn;

    (void) arg;
    if (mdb_txn_begin(st.env, NULL, 0, &txn) != 0) {
        return NULL;
    }
    writer_started = 1;
    usleep(100000);
    writer_done = 1;
    mdb_txn_abort(txn);
    return NULL;
}


typedef struct {
    sb_cmd_t  *cmds;
    size_t     n;
    int        calls;
    int        writer_was_done;
} collect_t;


static size_t
take(void *data, sb_cmd_t **cmds, size_t cap)
{
    collect_t  *c = data;
    size_t      i;

    c->calls++;
    c->writer_was_done = writer_done;
    for (i = 0; i < c->n && i < cap; i++) {
        cmds[i] = &c->cmds[i];
    }
    return i;
}


static void
visitor_cmd(sb_cmd_t *cmd, const char *visitor, const char *text)
{
    sb_answer_t  err = { 0, NULL, NULL, 0, "" };
    char         body[128];

    sb_cmd_init(cmd, SB_CMD_VISITOR_MESSAGE, now);
    cmd->channel = SB_CH_CHAT;
    snprintf(cmd->tenant, sizeof(cmd->tenant), "default");
    snprintf(cmd->group, sizeof(cmd->group), "default");
    snprintf(cmd->actor, sizeof(cmd->actor), "%s", visitor);
    snprintf(body, sizeof(body), "{\"text\":\"%s\"}", text);
    if (sb_body_parse(cmd, &cfg, body, strlen(body), &err) != 0) {
        printf("Bail out! body refused\n");
        exit(2);
    }
}


static size_t
last_txn(void)
{
    MDB_envinfo  info;

    mdb_env_info(st.env, &info);
    return info.me_last_txnid;
}


static void
test_collected_under_lock(void)
{
    sb_cmd_t     cmds[2], *ptrs[8];
    sb_result_t  res[8];
    sb_moved_t   moved = { 0 };
    sb_conv_t    c;
    collect_t    col = { cmds, 2, 0, 0 };
    pthread_t    writer;
    MDB_txn     *txn;
    size_t       n, i;
    int          rc;

    visitor_cmd(&cmds[0], "v-collect-1", "first");
    visitor_cmd(&cmds[1], "v-collect-2", "second");
    memset(res, 0, sizeof(res));

    pthread_create(&writer, NULL, hold_writer, NULL);
    while (!writer_started) {
        usleep(1000);
    }
    rc = sb_apply_collected(&st, batch, take, &col, ptrs, res, 8, &n,
                            &moved);
    pthread_join(writer, NULL);

    is_int(rc, 0, "the collected batch commits");
    is_int(col.calls, 1, "collect is called once");
    ok(col.writer_was_done, "collect runs only once the other writer let "
       "go of the lock");
    is_int(n, 2, "both commands are in the batch");

    mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
    for (i = 0; i < 2; i++) {
        ok(res[i].outcome != SB_REFUSED && res[i].conv != 0,
           "R1: command %zu opened a conversation", i);
        is_int(sb_load_conv(&st, txn, "default", res[i].conv, &c), 0,
               "its conversation is in the store after the commit");
        sb_result_free(&res[i]);
        sb_cmd_free(&cmds[i]);
    }
    mdb_txn_abort(txn);
    sb_moved_free(&moved);
}


static void
test_nothing_collected(void)
{
    sb_cmd_t     *ptrs[8];
    sb_result_t   res[8];
    sb_moved_t    moved = { 0 };
    collect_t     col = { NULL, 0, 0, 0 };
    size_t        before = last_txn(), n = 99;

    writer_done = 0;
    is_int(sb_apply_collected(&st, batch, take, &col, ptrs, res, 8, &n,
                              &moved), 0, "an empty collection is no error");
    is_int(n, 0, "and says so");
    is_int(last_txn(), before, "nothing is committed for it");
    is_int(moved.n, 0, "nobody is woken");
    sb_moved_free(&moved);
}


int
main(void)
{
    setup();
    test_collected_under_lock();
    test_nothing_collected();
    teardown();
    return done_testing();
}
