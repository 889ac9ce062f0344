/* The directory (admin API): agents with their groups and per-class
 * capacity, routing groups, canned responses, and unblocking. Checks
 * first, then the writes. */

#include <stdio.h>

#include "commands/sb_commands.h"


static void
sb_member_key(sb_key_t *k, const char *tenant, const char *group,
    const char *agent)
{
    sb_key_init(k, tenant);
    sb_key_str(k, group);
    sb_key_str(k, agent);
}


static int
sb_group_exists(sb_ctx_t *cx, const char *id)
{
    sb_key_t  k;
    MDB_val   val;

    if (strcmp(id, "default") == 0) {
        return 1;
    }
    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, id);
    return sb_get(cx->txn, SB_DB(cx, SB_DB_GROUP), &k, &val) == 0;
}


static int
sb_membership(sb_ctx_t *cx, const sb_agent_t *a, int add)
{
    sb_key_t  k;
    int       g;

    for (g = 0; g < a->ngroups; g++) {
        sb_member_key(&k, cx->tenant, a->groups[g], a->id);
        SB_TRY(add ? sb_put(cx->txn, SB_DB(cx, SB_DB_MEMBER), &k, "", 0)
                   : sb_del(cx->txn, SB_DB(cx, SB_DB_MEMBER), &k));
    }
    return 0;
}


static int
sb_put_agent(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_agent_t  *a;
    char         group[SB_ID_MAX + 1];
    int          rc, i;

    for (i = 0; i < cmd->u.agent.ngroups; i++) {
        snprintf(group, sizeof(group), "%.*s",
                 (int) cmd->u.agent.groups[i].n, cmd->u.agent.groups[i].p);
        if (!sb_group_exists(cx, group)) {
            return sb_refuse_about(cx, SB_REFUSE_UNKNOWN_GROUP, group, 0, 0,
                                   0);
        }
    }

    rc = sb_agent_get(cx, cmd->target, &a);
    if (rc == MDB_NOTFOUND) {
        a = sb_agent_add(cx, cmd->target);
        if (a == NULL) {
            return ENOMEM;
        }
        a->created_at = cx->now;
        cx->res->outcome = SB_CREATED;
    } else if (rc) {
        return rc;
    } else {
        SB_TRY(sb_membership(cx, a, 0));
    }

    snprintf(a->name, sizeof(a->name), "%.*s", (int) cmd->u.agent.name.n,
             cmd->u.agent.name.p);
    a->ngroups = (uint8_t) cmd->u.agent.ngroups;
    for (i = 0; i < cmd->u.agent.ngroups; i++) {
        snprintf(a->groups[i], sizeof(a->groups[i]), "%.*s",
                 (int) cmd->u.agent.groups[i].n, cmd->u.agent.groups[i].p);
    }
    for (i = 0; i < cx->cfg->nclasses; i++) {
        a->cls[i].capacity = (int16_t) cmd->u.agent.capacity[i];
    }
    SB_TRY(sb_membership(cx, a, 1));
    SB_TRY(sb_ready_sync(cx, a));
    return sb_drain_all(cx, cmd->target);
}


/* Its conversations go back to routing (not to it: it leaves the index
 * first), then the agent goes. */
static int
sb_delete_agent(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_agent_t  *a;
    sb_conv_t   *c;
    sb_key_t     prefix;
    uint64_t    *held = NULL;
    size_t       n = 0, cap = 0, i;
    int          rc, k;

    rc = sb_agent_get(cx, cmd->target, &a);
    if (rc == MDB_NOTFOUND) {
        return sb_refuse_about(cx, SB_REFUSE_UNKNOWN_AGENT, cmd->target, 0, 0,
                               0);
    }
    SB_TRY(rc);
    SB_TRY(sb_membership(cx, a, 0));
    for (k = 0; k < SB_MAX_CLASSES; k++) {
        a->cls[k].available = 0;
    }
    a->present = 0;
    SB_TRY(sb_ready_sync(cx, a));

    sb_key_init(&prefix, cx->tenant);
    sb_key_str(&prefix, a->id);
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_HELD), &cur));
    key = sb_key_val(&prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix)
         && key.mv_size == prefix.n + 8;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (n == cap) {
            uint64_t  *more;

            cap = cap ? 2 * cap : 16;
            more = sb_alloc(cx, cap * sizeof(uint64_t));
            if (more == NULL) {
                rc = ENOMEM;
                break;
            }
            if (n) {
                memcpy(more, held, n * sizeof(uint64_t));
            }
            held = more;
        }
        held[n++] = sb_be64((unsigned char *) key.mv_data + prefix.n);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    for (i = 0; i < n; i++) {
        SB_TRY(sb_conv_get(cx, held[i], &c));
        SB_TRY(sb_requeue(cx, c));
    }
    sb_agent_drop(cx, a);
    return 0;
}


static int
sb_delete_group(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_key_t  k;

    if (strcmp(cmd->target, "default") == 0) {
        return sb_refuse(cx, SB_REFUSE_BUILTIN_GROUP);
    }
    if (!sb_group_exists(cx, cmd->target)) {
        return sb_refuse_about(cx, SB_REFUSE_UNKNOWN_GROUP, cmd->target, 0, 0,
                               0);
    }
    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, cmd->target);
    if (sb_prefix_any(cx->txn, SB_DB(cx, SB_DB_MEMBER), &k)
        || sb_prefix_any(cx->txn, SB_DB(cx, SB_DB_QUEUE), &k))
    {
        return sb_refuse(cx, SB_REFUSE_GROUP_IN_USE);
    }
    return sb_del(cx->txn, SB_DB(cx, SB_DB_GROUP), &k);
}


/* A group ('G': name) or a canned response ('K': title, text). */
static int
sb_put_entry(sb_ctx_t *cx, const sb_cmd_t *cmd, int db, char type,
    sb_span_t a, sb_span_t b)
{
    sb_key_t  k;
    MDB_val   val;
    int       rc;

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, cmd->target);
    rc = sb_get(cx->txn, SB_DB(cx, db), &k, &val);
    if (rc == MDB_NOTFOUND
        && !(db == SB_DB_GROUP && strcmp(cmd->target, "default") == 0))
    {
        cx->res->outcome = SB_CREATED;
    } else if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    return SB_REC_PUT(cx->txn, SB_DB(cx, db), &k, sb_pair_encode, type, a, b);
}


static int
sb_delete_row(sb_ctx_t *cx, int db, sb_key_t *k, sb_refusal_t missing)
{
    MDB_val  key = sb_key_val(k);
    int      rc = mdb_del(cx->txn, SB_DB(cx, db), &key, NULL);

    return rc == MDB_NOTFOUND ? sb_refuse(cx, missing) : rc;
}


/* Issue 19: a provider account bound to this tenant by its admin (who
 * cannot take one another tenant holds), or let go. */
static int
sb_account_directory(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_span_t     account = sb_cspan(cmd->target);
    sb_account_t  a;
    int           rc;

    rc = sb_account_owner(cx->st, cx->txn, cmd->channel, account, &a);
    if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    if (rc == 0 && strcmp(a.tenant, cx->tenant) != 0) {
        return sb_refuse(cx, cmd->type == SB_CMD_PUT_ACCOUNT
                             ? SB_REFUSE_ACCOUNT_TAKEN
                             : SB_REFUSE_UNKNOWN_ACCOUNT);
    }
    if (cmd->type == SB_CMD_DELETE_ACCOUNT) {
        return rc == MDB_NOTFOUND ? sb_refuse(cx, SB_REFUSE_UNKNOWN_ACCOUNT)
                                  : sb_account_unbind(cx, cmd->channel,
                                                      account);
    }
    if (rc == MDB_NOTFOUND) {
        cx->res->outcome = SB_CREATED;
        return sb_account_bind(cx, cmd->channel, account);
    }
    return 0;                                   /* this tenant's already */
}


int
sb_apply_directory(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_span_t  none = { NULL, 0 };
    sb_key_t   k;

    switch (cmd->type) {
    case SB_CMD_PUT_AGENT:
        return sb_put_agent(cx, cmd);
    case SB_CMD_DELETE_AGENT:
        return sb_delete_agent(cx, cmd);
    case SB_CMD_PUT_GROUP:
        return sb_put_entry(cx, cmd, SB_DB_GROUP, 'G', cmd->u.entry.name,
                            none);
    case SB_CMD_DELETE_GROUP:
        return sb_delete_group(cx, cmd);
    case SB_CMD_PUT_CANNED:
        return sb_put_entry(cx, cmd, SB_DB_CANNED, 'K', cmd->u.entry.title,
                            cmd->u.entry.text);
    case SB_CMD_DELETE_CANNED:
        sb_key_init(&k, cx->tenant);
        sb_key_str(&k, cmd->target);
        return sb_delete_row(cx, SB_DB_CANNED, &k, SB_REFUSE_UNKNOWN_CANNED);
    case SB_CMD_UNBLOCK:
        sb_open_key(&k, cx->tenant, cmd->channel, cmd->target);
        return sb_delete_row(cx, SB_DB_BLOCK, &k, SB_REFUSE_NOT_BLOCKED);
    case SB_CMD_PUT_ACCOUNT:
    case SB_CMD_DELETE_ACCOUNT:
        return sb_account_directory(cx, cmd);
    default:
        return EINVAL;
    }
}
