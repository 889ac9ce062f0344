/* The directory (admin API): agents with their groups and per-class
 * capacity, and routing groups. Validation first, then the write. */

#include <stdio.h>
#include <string.h>

#include "sb_internal.h"

#define SB_NAME_MAX    128
#define SB_GROUPS_MAX  32
#define SB_CAP_MAX     1000


static int
sb_validate_name(json_t *body, sb_result_t *err)
{
    json_t  *name = json_object_get(body, "name");

    if (name == NULL) {
        sb_result_error(err, 400, "missing_field", "\"name\" is required");
        return -1;
    }
    if (!json_is_string(name) || json_string_length(name) == 0
        || json_string_length(name) > SB_NAME_MAX)
    {
        sb_result_error(err, 400, "bad_type",
                        "\"name\" must be a string of 1 to %d bytes",
                        SB_NAME_MAX);
        return -1;
    }
    return 0;
}


static int
sb_validate_groups(json_t *body, sb_result_t *err)
{
    json_t  *groups = json_object_get(body, "groups"), *g;
    size_t   i, j;

    if (groups == NULL) {
        json_object_set_new(body, "groups", json_pack("[s]", "default"));
        return 0;
    }
    if (!json_is_array(groups) || json_array_size(groups) == 0
        || json_array_size(groups) > SB_GROUPS_MAX)
    {
        sb_result_error(err, 400, "bad_type",
                        "\"groups\" must be an array of 1 to %d group ids",
                        SB_GROUPS_MAX);
        return -1;
    }
    json_array_foreach(groups, i, g) {
        if (!json_is_string(g)
            || !sb_valid_id(json_string_value(g), json_string_length(g), 0))
        {
            sb_result_error(err, 400, "bad_id",
                            "group ids are 1-64 characters of A-Za-z0-9._-");
            return -1;
        }
        for (j = 0; j < i; j++) {
            if (json_equal(json_array_get(groups, j), g)) {
                sb_result_error(err, 400, "duplicate_group",
                                "group %s is listed twice",
                                json_string_value(g));
                return -1;
            }
        }
    }
    return 0;
}


static int
sb_validate_capacity(json_t *body, const sb_config_t *cfg, sb_result_t *err)
{
    json_t      *cap = json_object_get(body, "capacity"), *v;
    const char  *name;

    if (cap == NULL) {
        json_object_set_new(body, "capacity", json_object());
        return 0;
    }
    if (!json_is_object(cap)) {
        sb_result_error(err, 400, "bad_type", "\"capacity\" must be an object");
        return -1;
    }
    json_object_foreach(cap, name, v) {
        if (sb_class_find(cfg, name, strlen(name)) < 0) {
            sb_result_error(err, 422, "unknown_class",
                            "no slot class named \"%s\"", name);
            return -1;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0
            || json_integer_value(v) > SB_CAP_MAX)
        {
            sb_result_error(err, 400, "bad_type",
                            "capacity of %s must be an integer 0-%d", name,
                            SB_CAP_MAX);
            return -1;
        }
    }
    return 0;
}


int
sb_admin_validate(sb_cmd_t *cmd, const sb_config_t *cfg, sb_result_t *err)
{
    if (sb_validate_name(cmd->body, err)) {
        return -1;
    }
    if (cmd->type == SB_CMD_PUT_AGENT
        && (sb_validate_groups(cmd->body, err)
            || sb_validate_capacity(cmd->body, cfg, err)))
    {
        return -1;
    }
    return 0;
}


static void
sb_member_key(sb_ctx_t *cx, sb_key_t *k, const char *group, const char *agent)
{
    sb_key_init(k, cx->tenant);
    sb_key_str(k, group);
    sb_key_str(k, agent);
}


static int
sb_group_exists(sb_ctx_t *cx, const char *id)
{
    sb_key_t  k;
    MDB_val   key, val;

    if (strcmp(id, "default") == 0) {
        return 1;
    }
    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, id);
    key.mv_size = k.n;
    key.mv_data = k.b;
    return mdb_get(cx->txn, cx->st->db[SB_DB_GROUP], &key, &val) == 0;
}


static int
sb_set_membership(sb_ctx_t *cx, json_t *groups, const char *agent, int add)
{
    sb_key_t  k;
    size_t    i;
    json_t   *g;

    json_array_foreach(groups, i, g) {
        sb_member_key(cx, &k, json_string_value(g), agent);
        SB_TRY(add ? sb_raw_put(cx->txn, cx->st->db[SB_DB_MEMBER], &k, "", 0)
                   : sb_raw_del(cx->txn, cx->st->db[SB_DB_MEMBER], &k));
    }
    return 0;
}


static int
sb_put_agent(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    json_t  *groups = json_object_get(cmd->body, "groups"), *agent, *g;
    size_t   i;
    int      rc, created = 0;

    json_array_foreach(groups, i, g) {
        if (!sb_group_exists(cx, json_string_value(g))) {
            sb_result_error(res, 404, "unknown_group", "no group %s",
                            json_string_value(g));
            return 0;
        }
    }

    rc = sb_agent_load(cx, cmd->target, &agent);
    if (rc == MDB_NOTFOUND) {
        created = 1;
        rc = 0;
        agent = json_pack("{s:s,s:{},s:{},s:I,s:I,s:I}", "id", cmd->target,
                          "available", "held", "seen_at", (json_int_t) 0,
                          "last_assigned_at", (json_int_t) 0, "created_at",
                          (json_int_t) cx->now);
    } else if (rc) {
        return rc;
    } else {
        rc = sb_set_membership(cx, json_object_get(agent, "groups"),
                               cmd->target, 0);
    }

    json_object_set(agent, "name", json_object_get(cmd->body, "name"));
    json_object_set(agent, "groups", groups);
    json_object_set(agent, "capacity", json_object_get(cmd->body, "capacity"));

    if (rc == 0) {
        rc = sb_set_membership(cx, groups, cmd->target, 1);
    }
    if (rc == 0) {
        rc = sb_agent_save(cx, agent);
    }
    json_decref(agent);
    if (rc == 0) {
        rc = sb_drain_all(cx, cmd->target);
    }
    if (rc == 0) {
        rc = sb_query_agent_me(cx->st, cx->txn, cx->tenant, cmd->target,
                               cx->now, res);
        res->status = created ? 201 : 200;
    }
    return rc;
}


static int
sb_delete_agent(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    json_t      *agent, *held, *list, *conv, *id;
    const char  *klass;
    sb_key_t     k;
    size_t       i;
    int          rc;

    rc = sb_agent_load(cx, cmd->target, &agent);
    if (rc == MDB_NOTFOUND) {
        sb_result_error(res, 404, "unknown_agent", "no agent %s", cmd->target);
        return 0;
    }
    if (rc) {
        return rc;
    }

    /* remove it from routing first, so that its conversations go elsewhere */
    rc = sb_set_membership(cx, json_object_get(agent, "groups"), cmd->target,
                           0);
    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, cmd->target);
    if (rc == 0) {
        rc = sb_raw_del(cx->txn, cx->st->db[SB_DB_AGENT], &k);
    }

    held = json_object_get(agent, "held");
    json_object_foreach(held, klass, list) {
        json_array_foreach(list, i, id) {
            if (rc == 0) {
                rc = sb_conv_load(cx, json_string_value(id), &conv);
            }
            if (rc == 0) {
                rc = sb_requeue(cx, conv);
                json_decref(conv);
            }
        }
    }
    json_decref(agent);
    res->status = 204;
    return rc;
}


static int
sb_put_group(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    sb_key_t  k;
    json_t   *rec;
    int       rc, created = !sb_group_exists(cx, cmd->target);

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, cmd->target);
    rec = json_pack("{s:s,s:O}", "id", cmd->target, "name",
                    json_object_get(cmd->body, "name"));
    rc = sb_rec_put(cx->txn, cx->st->db[SB_DB_GROUP], &k, rec);
    if (rc == 0) {
        sb_result_set(res, created ? 201 : 200, rec);
    } else {
        json_decref(rec);
    }
    return rc;
}


static int
sb_prefix_used(sb_ctx_t *cx, MDB_dbi dbi, sb_key_t *prefix)
{
    MDB_cursor  *cur;
    MDB_val      key = { prefix->n, prefix->b }, val;
    int          rc, used;

    if (mdb_cursor_open(cx->txn, dbi, &cur)) {
        return 1;
    }
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    used = rc == 0 && key.mv_size > prefix->n
           && memcmp(key.mv_data, prefix->b, prefix->n) == 0;
    mdb_cursor_close(cur);
    return used;
}


static int
sb_delete_group(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    sb_key_t  k;

    if (strcmp(cmd->target, "default") == 0) {
        sb_result_error(res, 409, "builtin_group",
                        "the default group always exists");
        return 0;
    }
    if (!sb_group_exists(cx, cmd->target)) {
        sb_result_error(res, 404, "unknown_group", "no group %s", cmd->target);
        return 0;
    }
    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, cmd->target);
    if (sb_prefix_used(cx, cx->st->db[SB_DB_MEMBER], &k)
        || sb_prefix_used(cx, cx->st->db[SB_DB_QUEUE], &k))
    {
        sb_result_error(res, 409, "group_in_use",
                        "group %s still has agents or queued conversations",
                        cmd->target);
        return 0;
    }
    res->status = 204;
    return sb_raw_del(cx->txn, cx->st->db[SB_DB_GROUP], &k);
}


/* R6: canned responses, with {{visitor}} and {{agent}} placeholders. */
static int
sb_put_canned(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    sb_key_t  k;
    json_t   *rec, *old = NULL;
    int       rc;

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, cmd->target);
    rc = sb_rec_get(cx->txn, cx->st->db[SB_DB_CANNED], &k, &old);
    if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    json_decref(old);
    rec = json_pack("{s:s,s:O,s:O}", "id", cmd->target, "title",
                    json_object_get(cmd->body, "title"), "text",
                    json_object_get(cmd->body, "text"));
    rc = sb_rec_put(cx->txn, cx->st->db[SB_DB_CANNED], &k, rec);
    if (rc == 0) {
        sb_result_set(res, old ? 200 : 201, rec);
    } else {
        json_decref(rec);
    }
    return rc;
}


/* Deletes the row under key, or answers 404 with code. */
static int
sb_delete_row(sb_ctx_t *cx, int db, sb_key_t *k, const char *code,
    const char *what, sb_result_t *res)
{
    MDB_val  key = { k->n, k->b };
    int      rc = mdb_del(cx->txn, cx->st->db[db], &key, NULL);

    if (rc == MDB_NOTFOUND) {
        sb_result_error(res, 404, code, "no such %s", what);
        return 0;
    }
    if (rc == 0) {
        res->status = 204;
    }
    return rc;
}


int
sb_admin_apply(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    sb_key_t  k;

    switch (cmd->type) {
    case SB_CMD_PUT_CANNED:
        return sb_put_canned(cx, cmd, res);
    case SB_CMD_DELETE_CANNED:
        sb_key_init(&k, cx->tenant);
        sb_key_str(&k, cmd->target);
        return sb_delete_row(cx, SB_DB_CANNED, &k, "unknown_canned",
                             "canned response", res);
    case SB_CMD_UNBLOCK:
        sb_key_init(&k, cx->tenant);
        sb_key_str(&k, sb_channel_name(cmd->channel));
        sb_key_str(&k, cmd->target);
        return sb_delete_row(cx, SB_DB_BLOCK, &k, "not_blocked",
                             "block on visitor", res);
    case SB_CMD_PUT_AGENT:
        return sb_put_agent(cx, cmd, res);
    case SB_CMD_DELETE_AGENT:
        return sb_delete_agent(cx, cmd, res);
    case SB_CMD_PUT_GROUP:
        return sb_put_group(cx, cmd, res);
    case SB_CMD_DELETE_GROUP:
        return sb_delete_group(cx, cmd, res);
    default:
        sb_result_error(res, 500, "bad_command", "unknown command");
        return 0;
    }
}
