/* Agents working together (R6, R10-R12): canned replies, attachments and
 * offers, transfer, tags and blocking, each checked against the channel's
 * capabilities before anything is written. */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_internal.h"

#define SB_COMMENT_MAX  500
#define SB_TAGS_MAX     20
#define SB_TAG_MAX      32
#define SB_URL_MAX      2048
#define SB_TITLE_MAX    200


static int
sb_opt_string(json_t *body, const char *name, size_t max, int required,
    sb_result_t *err)
{
    json_t  *v = json_object_get(body, name);

    if (v == NULL) {
        if (required) {
            sb_result_error(err, 400, "missing_field", "\"%s\" is required",
                            name);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        sb_result_error(err, 400, "bad_type", "\"%s\" must be a string",
                        name);
        return -1;
    }
    if (json_string_length(v) == 0) {
        sb_result_error(err, 400, "empty_field", "\"%s\" is empty", name);
        return -1;
    }
    if (json_string_length(v) > max) {
        sb_result_error(err, 413, "field_too_long",
                        "\"%s\" is over %zu bytes", name, max);
        return -1;
    }
    return 0;
}


static int
sb_valid_url(json_t *v)
{
    const char  *s = json_string_value(v);

    return s && (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7)
                 == 0) && strlen(s) > 8 && strpbrk(s, " \t\r\n") == NULL;
}


static int
sb_parse_link(json_t *body, const char *name, const char *label,
    sb_result_t *err)
{
    json_t  *o = json_object_get(body, name);

    if (o == NULL) {
        return 0;
    }
    if (!json_is_object(o)) {
        sb_result_error(err, 400, "bad_type", "\"%s\" must be an object",
                        name);
        return -1;
    }
    if (sb_opt_string(o, "url", SB_URL_MAX, 1, err)
        || sb_opt_string(o, label, SB_TITLE_MAX, name[0] == 'o', err))
    {
        return -1;
    }
    if (!sb_valid_url(json_object_get(o, "url"))) {
        sb_result_error(err, 400, "bad_url",
                        "\"%s.url\" must be an http(s) URL", name);
        return -1;
    }
    return 0;
}


/* Lower-case, outer blanks trimmed, inner blanks as one '-'. */
static int
sb_normalize_tag(const char *in, char *out)
{
    size_t  n = 0;
    int     blank = 0;

    while (*in == ' ' || *in == '\t') {
        in++;
    }
    for ( ; *in; in++) {
        if (*in == ' ' || *in == '\t') {
            blank = 1;
            continue;
        }
        if ((unsigned char) *in < 0x20 || *in == 0x7f || *in == ',') {
            return -1;
        }
        if (blank && n) {
            if (n == SB_TAG_MAX) {
                return -1;
            }
            out[n++] = '-';
        }
        blank = 0;
        if (n == SB_TAG_MAX) {
            return -1;
        }
        out[n++] = (char) tolower((unsigned char) *in);
    }
    out[n] = '\0';
    return n ? 0 : -1;
}


static int
sb_parse_tags(json_t *body, sb_result_t *err)
{
    json_t  *tags = json_object_get(body, "tags"), *set, *t;
    char     norm[SB_TAG_MAX + 1];
    size_t   i, j;

    if (tags == NULL) {
        sb_result_error(err, 400, "missing_field", "\"tags\" is required");
        return -1;
    }
    if (!json_is_array(tags)) {
        sb_result_error(err, 400, "bad_type", "\"tags\" must be an array");
        return -1;
    }
    set = json_array();
    json_array_foreach(tags, i, t) {
        if (!json_is_string(t) || sb_normalize_tag(json_string_value(t), norm))
        {
            json_decref(set);
            sb_result_error(err, 400, "bad_tag",
                            "tags are strings of 1-%d bytes, no control "
                            "characters or commas", SB_TAG_MAX);
            return -1;
        }
        for (j = 0; j < json_array_size(set); j++) {
            if (strcmp(json_string_value(json_array_get(set, j)), norm) == 0) {
                break;
            }
        }
        if (j == json_array_size(set)) {
            json_array_append_new(set, json_string(norm));
        }
    }
    if (json_array_size(set) > SB_TAGS_MAX) {
        json_decref(set);
        sb_result_error(err, 422, "too_many_tags",
                        "at most %d tags per conversation", SB_TAGS_MAX);
        return -1;
    }
    json_object_set_new(body, "tags", set);
    return 0;
}


static int
sb_parse_transfer(json_t *body, sb_result_t *err)
{
    json_t  *agent = json_object_get(body, "agent");
    json_t  *group = json_object_get(body, "group");
    json_t  *to, *anyway = json_object_get(body, "anyway");

    if ((agent == NULL) == (group == NULL)) {
        sb_result_error(err, 400, "missing_field",
                        "give exactly one of \"agent\" and \"group\"");
        return -1;
    }
    to = agent ? agent : group;
    if (!json_is_string(to)
        || !sb_valid_id(json_string_value(to), json_string_length(to), 0))
    {
        sb_result_error(err, 400, "bad_id", "\"%s\" must be a valid id",
                        agent ? "agent" : "group");
        return -1;
    }
    if (anyway && !json_is_boolean(anyway)) {
        sb_result_error(err, 400, "bad_type", "\"anyway\" must be a boolean");
        return -1;
    }
    return sb_opt_string(body, "comment", SB_COMMENT_MAX, 0, err);
}


int
sb_collab_parse(json_t *body, sb_cmd_t *cmd, const sb_config_t *cfg,
    sb_result_t *err)
{
    json_t  *canned, *text;

    switch (cmd->type) {

    case SB_CMD_AGENT_MESSAGE:
        canned = json_object_get(body, "canned");
        text = json_object_get(body, "text");
        if (canned && text) {
            sb_result_error(err, 400, "bad_body",
                            "give \"text\" or \"canned\", not both");
            return -1;
        }
        if (canned) {
            if (!json_is_string(canned)
                || !sb_valid_id(json_string_value(canned),
                                json_string_length(canned), 0))
            {
                sb_result_error(err, 400, "bad_id",
                                "\"canned\" must be a canned response id");
                return -1;
            }
        } else if (text || (!json_object_get(body, "attachment")
                            && !json_object_get(body, "offer")))
        {
            if (sb_parse_text(body, cmd, cfg, err)) {
                return -1;
            }
        }
        return sb_parse_link(body, "attachment", "name", err)
               || sb_parse_link(body, "offer", "title", err) ? -1 : 0;

    case SB_CMD_TRANSFER:
        return sb_parse_transfer(body, err);

    case SB_CMD_TAGS:
        return sb_parse_tags(body, err);

    case SB_CMD_PUT_CANNED:
        return (sb_opt_string(body, "title", SB_TITLE_MAX, 1, err)
                || sb_opt_string(body, "text", cfg->text_max, 1, err))
               ? -1 : 0;

    default:
        return 0;
    }
}


/* R12: 422 with a code naming the capability the channel lacks. */
int
sb_channel_can(sb_ctx_t *cx, json_t *conv, unsigned cap, sb_result_t *res)
{
    const char  *ch = sb_get_str(conv, "channel");
    char         code[64];

    if (cx->st->cfg->caps[sb_channel_parse(ch, strlen(ch))] & cap) {
        return 1;
    }
    snprintf(code, sizeof(code), "channel_lacks_%s", sb_cap_name(cap));
    sb_result_error(res, 422, code, "the %s channel has no %s", ch,
                    sb_cap_name(cap));
    return 0;
}


/* R6: {"canned": id} becomes the stored text, placeholders filled. */
int
sb_resolve_canned(sb_ctx_t *cx, sb_cmd_t *cmd, json_t *conv, json_t *agent,
    sb_result_t *res)
{
    const char  *id = sb_get_str(cmd->body, "canned"), *p, *q;
    json_t      *rec;
    sb_key_t     k;
    char         out[16384];
    size_t       n = 0, len;
    int          rc;

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, id);
    rc = sb_rec_get(cx->txn, cx->st->db[SB_DB_CANNED], &k, &rec);
    if (rc == MDB_NOTFOUND) {
        sb_result_error(res, 404, "unknown_canned",
                        "no canned response %s", id);
        return 0;
    }
    if (rc) {
        return rc;
    }

    for (p = sb_get_str(rec, "text"); *p; p = q) {
        const char  *with = NULL;

        if (strncmp(p, "{{visitor}}", 11) == 0) {
            with = sb_get_str(conv, "visitor");
            q = p + 11;
        } else if (strncmp(p, "{{agent}}", 9) == 0) {
            with = sb_get_str(agent, "name");
            q = p + 9;
        } else {
            q = p + 1;
        }
        len = with ? strlen(with) : 1;
        if (n + len >= sizeof(out)) {
            break;
        }
        memcpy(out + n, with ? with : p, len);
        n += len;
    }
    out[n] = '\0';
    json_decref(rec);

    if (n > cx->st->cfg->text_max) {
        sb_result_error(res, 413, "text_too_long",
                        "the filled canned response is too long");
        return 0;
    }
    free(cmd->text);
    cmd->text = strdup(out);
    return cmd->text ? 0 : ENOMEM;
}


/* R11: tags replace the set; the agent must hold the conversation. */
int
sb_apply_tags(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    json_t  *conv;
    int      rc;

    rc = sb_held_conversation(cx, cmd, &conv, res);
    if (rc || conv == NULL) {
        return rc;
    }
    if (sb_channel_can(cx, conv, SB_CAP_TAGS, res)) {
        json_object_set(conv, "tags", json_object_get(cmd->body, "tags"));
        rc = sb_conv_save(cx, conv);
        if (rc == 0) {
            rc = sb_query_conversation(cx->st, cx->txn, cx->tenant,
                                       cmd->target, NULL, cx->now, res);
        }
    }
    json_decref(conv);
    return rc;
}


static int
sb_block_key(sb_ctx_t *cx, sb_key_t *k, const char *channel,
    const char *visitor)
{
    sb_key_init(k, cx->tenant);
    sb_key_str(k, channel);
    sb_key_str(k, visitor);
    return 0;
}


/* R11: the conversation ends; the visitor's later messages are dropped. */
int
sb_apply_block(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    json_t    *conv, *agent = NULL, *rec;
    sb_key_t   k;
    char       text[256];
    int        rc;

    rc = sb_held_conversation(cx, cmd, &conv, res);
    if (rc || conv == NULL) {
        return rc;
    }
    if (!sb_channel_can(cx, conv, SB_CAP_BLOCK, res)) {
        json_decref(conv);
        return 0;
    }
    rc = sb_load_actor(cx, cmd, &agent, res);
    if (rc || agent == NULL) {
        json_decref(conv);
        return rc;
    }

    sb_block_key(cx, &k, sb_get_str(conv, "channel"),
                 sb_get_str(conv, "visitor"));
    rec = json_pack("{s:s,s:s,s:s,s:I,s:i}", "channel",
                    sb_get_str(conv, "channel"), "visitor",
                    sb_get_str(conv, "visitor"), "by", cmd->actor, "at",
                    (json_int_t) cx->now, "dropped", 0);
    json_object_set(rec, "conversation", json_object_get(conv, "id"));
    rc = sb_rec_put(cx->txn, cx->st->db[SB_DB_BLOCK], &k, rec);
    json_decref(rec);

    snprintf(text, sizeof(text), "%s blocked this visitor",
             sb_get_str(agent, "name"));
    if (rc == 0) {
        rc = sb_thread_append(cx, conv, "system", cmd->actor, text,
                              "blocked", NULL);
    }
    snprintf(text, sizeof(text), "%s ended this conversation",
             sb_get_str(agent, "name"));
    if (rc == 0) {
        rc = sb_end(cx, conv, cmd->actor, text, "blocked");
    }
    if (rc == 0) {
        rc = sb_query_conversation(cx->st, cx->txn, cx->tenant, cmd->target,
                                   NULL, cx->now, res);
    }
    json_decref(agent);
    json_decref(conv);
    return rc;
}


/* A blocked visitor's message is acknowledged and counted, not routed. */
int
sb_blocked_visitor(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    sb_key_t   k;
    json_t    *rec;
    int        rc;

    sb_block_key(cx, &k, sb_channel_name(cmd->channel), cmd->actor);
    rc = sb_rec_get(cx->txn, cx->st->db[SB_DB_BLOCK], &k, &rec);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : -rc;
    }
    json_object_set_new(rec, "dropped",
                        json_integer(sb_get_int(rec, "dropped") + 1));
    json_object_set_new(rec, "last_dropped_at", json_integer(cx->now));
    rc = sb_rec_put(cx->txn, cx->st->db[SB_DB_BLOCK], &k, rec);
    json_decref(rec);
    if (rc) {
        return -rc;
    }
    sb_result_set(res, 202, json_pack("{s:b}", "accepted", 1));
    return 1;
}


/* R10: to an agent of one's groups, or to another group. */
int
sb_apply_transfer(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    const sb_config_t  *cfg = cx->st->cfg;
    json_t             *conv, *me = NULL, *target = NULL, *g, *group = NULL;
    const char         *to_agent = sb_get_str(cmd->body, "agent");
    const char         *to_group = sb_get_str(cmd->body, "group");
    const char         *comment = sb_get_str(cmd->body, "comment");
    int                 anyway = json_is_true(json_object_get(cmd->body,
                                                               "anyway"));
    char                text[1024], owner[SB_ID_MAX + 8];
    size_t              i, j;
    sb_key_t            k;
    int                 rc, klass, shared = 0;

    rc = sb_held_conversation(cx, cmd, &conv, res);
    if (rc || conv == NULL) {
        return rc;
    }
    klass = sb_conv_class(cx, conv);
    if (!sb_channel_can(cx, conv, SB_CAP_TRANSFER, res)) {
        goto done;
    }
    rc = sb_load_actor(cx, cmd, &me, res);
    if (rc || me == NULL) {
        goto done;
    }

    if (to_agent) {
        if (strcmp(to_agent, cmd->actor) == 0) {
            sb_result_error(res, 400, "self_transfer",
                            "this conversation is already yours");
            goto done;
        }
        rc = sb_agent_load(cx, to_agent, &target);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            sb_result_error(res, 404, "unknown_agent", "no agent %s",
                            to_agent);
            goto done;
        }
        if (rc) {
            goto done;
        }
        json_array_foreach(json_object_get(me, "groups"), i, g) {
            for (j = 0; j < json_array_size(json_object_get(target,
                                                            "groups")); j++)
            {
                shared |= json_equal(g, json_array_get(
                              json_object_get(target, "groups"), j));
            }
        }
        if (!shared) {
            sb_result_error(res, 403, "not_in_your_groups",
                            "%s is in none of your groups", to_agent);
            goto done;
        }
        if (!anyway && !sb_agent_available(cfg, target, klass)) {
            sb_result_error(res, 409, "target_unavailable",
                            "%s is unavailable; say \"anyway\" to insist",
                            to_agent);
            goto done;
        }
        if (!anyway && !sb_agent_present(cfg, target, cx->now)) {
            sb_result_error(res, 409, "target_away",
                            "%s is away; say \"anyway\" to insist",
                            to_agent);
            goto done;
        }
        if (!anyway && sb_agent_used(cfg, target, klass)
                       >= sb_agent_capacity(cfg, target, klass))
        {
            sb_result_error(res, 409, "target_full",
                            "%s has no free slot; say \"anyway\" to insist",
                            to_agent);
            goto done;
        }
        snprintf(text, sizeof(text), "%s transferred this conversation to %s"
                 "%s%s", sb_get_str(me, "name"), sb_get_str(target, "name"),
                 comment ? ": " : "", comment ? comment : "");

    } else {
        if (strcmp(to_group, sb_get_str(conv, "group")) == 0) {
            sb_result_error(res, 409, "same_group",
                            "the conversation is already in %s", to_group);
            goto done;
        }
        sb_key_init(&k, cx->tenant);
        sb_key_str(&k, to_group);
        rc = sb_rec_get(cx->txn, cx->st->db[SB_DB_GROUP], &k, &group);
        if (rc == MDB_NOTFOUND && strcmp(to_group, "default") != 0) {
            rc = 0;
            sb_result_error(res, 404, "unknown_group", "no group %s",
                            to_group);
            goto done;
        }
        if (rc && rc != MDB_NOTFOUND) {
            goto done;
        }
        rc = 0;
        snprintf(text, sizeof(text), "%s transferred this conversation to "
                 "group %s%s%s", sb_get_str(me, "name"),
                 group ? sb_get_str(group, "name") : to_group,
                 comment ? ": " : "", comment ? comment : "");
    }

    /* every check passed: now the writes */
    rc = sb_hand_back(cx, conv, me, "transferred");
    if (rc == 0) {
        rc = sb_thread_append(cx, conv, "system", cmd->actor, text,
                              "transferred", NULL);
    }
    if (rc == 0 && target) {
        rc = sb_assign(cx, conv, target, klass);
        if (rc == 0 && comment) {
            /* the receiving agent's poll carries the comment too */
            sb_agent_owner(to_agent, owner, sizeof(owner));
            rc = sb_log_append(cx, owner,
                     json_pack("{s:s,s:s,s:s,s:s}", "type",
                               "conversation.transferred", "conversation",
                               cmd->target, "from", cmd->actor, "comment",
                               comment));
        }
    } else if (rc == 0) {
        json_object_set_new(conv, "group", json_string(to_group));
        rc = sb_route_ex(cx, conv, cmd->actor, NULL);
    }
    if (rc == 0 && klass >= 0) {
        rc = sb_drain_avoiding(cx, cmd->actor, klass, cmd->target);
    }
    if (rc == 0) {
        rc = sb_query_conversation(cx->st, cx->txn, cx->tenant, cmd->target,
                                   NULL, cx->now, res);
    }

done:
    json_decref(group);
    json_decref(target);
    json_decref(me);
    json_decref(conv);
    return rc;
}
