/* Helpers for the core's unit tests: a real LMDB in a temp directory,
 * the seeds' configuration, and commands run as the module runs them
 * (body validated, batch applied, answer rendered after the commit). */

#ifndef SB_UNIT_CORE_H
#define SB_UNIT_CORE_H

#include <stdlib.h>
#include <unistd.h>
#include <jansson.h>

#include "sb_core.h"
#include "tap.h"
#include "seed_config.h"

#define SB_UNIT_HELPER  static __attribute__((unused))

static sb_store_t   st;
static sb_config_t  cfg;
static sb_batch_t  *batch;
static int64_t      now = 1700000000000;
static const sb_page_t  unit_page = { SB_THREAD_PAGE_MAX, 0 };


SB_UNIT_HELPER void
setup(void)
{
    char  dir[] = "/tmp/sb-unit-XXXXXX", err[256];

    if (mkdtemp(dir) == NULL) {
        exit(2);
    }
    sb_seed_config(&cfg);
    st.cfg = &cfg;
    if (sb_store_open(&st, dir, 64 << 20, 1, err, sizeof(err)) != 0) {
        printf("Bail out! %s\n", err);
        exit(2);
    }
    batch = sb_batch_create(&st);
}


SB_UNIT_HELPER void
teardown(void)
{
    sb_batch_destroy(batch);
    sb_store_close(&st);
}


/* Applies prepared commands in one batch; each answer's JSON (or NULL)
 * and status go to out[i] and status[i]. */
SB_UNIT_HELPER void
apply(sb_cmd_t **cmds, size_t n, json_t **out, int *status, sb_moved_t *mv)
{
    sb_result_t  res[8];
    sb_answer_t  ans;
    sb_moved_t   own = { 0 };
    MDB_txn     *txn;
    size_t       i;

    memset(res, 0, sizeof(res));
    sb_apply_batch(&st, batch, cmds, res, n, mv ? mv : &own);
    mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
    for (i = 0; i < n; i++) {
        memset(&ans, 0, sizeof(ans));
        sb_result_answer(&st, txn, cmds[i], &res[i], &ans);
        status[i] = ans.status;
        if (out) {
            out[i] = ans.len ? json_loadb(ans.body, ans.len, 0, NULL) : NULL;
        }
        sb_answer_free(&ans);
        sb_result_free(&res[i]);
    }
    mdb_txn_abort(txn);
    sb_moved_free(&own);
}


/* A command of tenant with its body as the API would take it; NULL with
 * the 4xx status when the body is refused before any transaction. */
SB_UNIT_HELPER json_t *
run_in(const char *tenant, sb_cmd_type_t type, const char *actor,
    const char *target, int channel, const char *body, int *status)
{
    sb_cmd_t     cmd, *cmds[1] = { &cmd };
    sb_answer_t  err = { 0, NULL, NULL, 0, "" };
    json_t      *out = NULL;

    sb_cmd_init(&cmd, type, now);
    cmd.channel = channel;
    snprintf(cmd.tenant, sizeof(cmd.tenant), "%s", tenant);
    snprintf(cmd.group, sizeof(cmd.group), "default");
    snprintf(cmd.actor, sizeof(cmd.actor), "%s", actor ? actor : "");
    snprintf(cmd.target, sizeof(cmd.target), "%s", target ? target : "");
    if (target && sb_conv_parse(target, strlen(target), &cmd.conv) != 0) {
        cmd.conv = 0;
    }
    if (sb_body_parse(&cmd, &cfg, body ? body : "", body ? strlen(body) : 0,
                      &err) != 0)
    {
        *status = err.status;
        sb_answer_free(&err);
        sb_cmd_free(&cmd);
        return NULL;
    }
    apply(cmds, 1, &out, status, NULL);
    sb_cmd_free(&cmd);
    return out;
}


/* The same, in the default tenant. */
SB_UNIT_HELPER json_t *
run(sb_cmd_type_t type, const char *actor, const char *target, int channel,
    const char *body, int *status)
{
    return run_in("default", type, actor, target, channel, body, status);
}


/* An agent in the default group, available on every class. */
SB_UNIT_HELPER void
agent(const char *id, const char *body)
{
    int  status;

    json_decref(run(SB_CMD_PUT_AGENT, "root", id, 0, body, &status));
    json_decref(run(SB_CMD_AVAILABILITY, id, NULL, 0,
                    "{\"class\":\"all\",\"available\":true}", &status));
}


/* A visitor message; returns the conversation id (static buffer). */
SB_UNIT_HELPER const char *
visitor(const char *v, int channel, const char *text)
{
    static char  id[32];
    char         body[256];
    int          status;
    json_t      *res;

    snprintf(body, sizeof(body), "{\"text\":\"%s\"}", text);
    res = run(SB_CMD_VISITOR_MESSAGE, v, NULL, channel, body, &status);
    snprintf(id, sizeof(id), "%s",
             res ? json_string_value(json_object_get(res, "conversation"))
                 : "?");
    json_decref(res);
    return id;
}


/* A conversation as the admin reads it (caller frees). */
SB_UNIT_HELPER json_t *
conversation(const char *id)
{
    sb_answer_t  ans = { 0, NULL, NULL, 0, "" };
    MDB_txn     *txn;
    json_t      *j;

    mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
    sb_query_conversation(&st, txn, "default", id, NULL, &unit_page, now,
                          &ans);
    mdb_txn_abort(txn);
    j = json_loadb(ans.body, ans.len, 0, NULL);
    sb_answer_free(&ans);
    return j;
}


SB_UNIT_HELPER const char *
holder(const char *conv, char *buf)
{
    json_t  *j = conversation(conv);

    snprintf(buf, 64, "%s", json_is_string(json_object_get(j, "agent"))
             ? json_string_value(json_object_get(j, "agent")) : "-");
    json_decref(j);
    return buf;
}


SB_UNIT_HELPER json_t *
me(const char *agent_id)
{
    sb_answer_t  ans = { 0, NULL, NULL, 0, "" };
    MDB_txn     *txn;
    json_t      *j;

    mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn);
    sb_query_agent_me(&st, txn, "default", agent_id, now, &ans);
    mdb_txn_abort(txn);
    j = json_loadb(ans.body, ans.len, 0, NULL);
    sb_answer_free(&ans);
    return j;
}


SB_UNIT_HELPER int
used(const char *agent_id, const char *klass)
{
    json_t  *j = me(agent_id);
    int      n;

    n = (int) json_integer_value(json_object_get(
            json_object_get(json_object_get(j, "classes"), klass), "used"));
    json_decref(j);
    return n;
}

#endif
