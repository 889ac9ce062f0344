/* Request bodies (R26): the JSON of each command checked field by field
 * and turned into the typed command, its strings copied into the
 * command's arena. Nothing here touches the store. */

#include <stdio.h>
#include <jansson.h>

#include "edge/sb_edge.h"


static sb_span_t
sb_keep(sb_cmd_t *cmd, json_t *v)
{
    sb_span_t  none = { NULL, 0 };

    return json_is_string(v) ? sb_arena_copy(&cmd->mem, json_string_value(v),
                                             json_string_length(v))
                             : none;
}


/* A string field: optional or required, non-empty, at most max bytes. */
static int
sb_field(json_t *o, const char *name, size_t max, int required,
    sb_answer_t *err)
{
    json_t  *v = json_object_get(o, name);

    if (v == NULL) {
        if (required) {
            sb_answer_error(err, 400, "missing_field", "\"%s\" is required",
                            name);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        sb_answer_error(err, 400, "bad_type", "\"%s\" must be a string",
                        name);
        return -1;
    }
    if (json_string_length(v) == 0) {
        sb_answer_error(err, 400, "empty_field", "\"%s\" is empty", name);
        return -1;
    }
    if (json_string_length(v) > max) {
        sb_answer_error(err, 413, "field_too_long",
                        "\"%s\" is over %zu bytes", name, max);
        return -1;
    }
    return 0;
}


static int
sb_text(json_t *body, sb_cmd_t *cmd, const sb_config_t *cfg,
    sb_answer_t *err)
{
    json_t  *text = json_object_get(body, "text");

    if (text == NULL) {
        sb_answer_error(err, 400, "missing_field", "\"text\" is required");
        return -1;
    }
    if (!json_is_string(text)) {
        sb_answer_error(err, 400, "bad_type", "\"text\" must be a string");
        return -1;
    }
    if (json_string_length(text) == 0) {
        sb_answer_error(err, 400, "empty_text", "\"text\" is empty");
        return -1;
    }
    if (json_string_length(text) > cfg->text_max) {
        sb_answer_error(err, 413, "text_too_long",
                        "\"text\" is over %zu bytes", cfg->text_max);
        return -1;
    }
    cmd->u.msg.text = sb_keep(cmd, text);
    return cmd->u.msg.text.p ? 0 : -1;
}


static int
sb_availability(json_t *body, sb_cmd_t *cmd, const sb_config_t *cfg,
    sb_answer_t *err)
{
    json_t  *klass = json_object_get(body, "class");
    json_t  *avail = json_object_get(body, "available");

    if (klass == NULL || avail == NULL) {
        sb_answer_error(err, 400, "missing_field",
                        "\"class\" and \"available\" are required");
        return -1;
    }
    if (!json_is_string(klass) || !json_is_boolean(avail)) {
        sb_answer_error(err, 400, "bad_type",
                        "\"class\" must be a string, \"available\" a "
                        "boolean");
        return -1;
    }
    if (strcmp(json_string_value(klass), "all") == 0) {
        cmd->u.availability.klass = -1;
    } else {
        cmd->u.availability.klass = sb_class_find(cfg,
                                                  json_string_value(klass),
                                                  json_string_length(klass));
        if (cmd->u.availability.klass < 0) {
            sb_answer_error(err, 422, "unknown_class",
                            "no slot class named \"%s\"",
                            json_string_value(klass));
            return -1;
        }
    }
    cmd->u.availability.available = json_is_true(avail);
    return 0;
}


/* R7: {"for": a configured preset} or {"until": RFC 3339, in range}. */
static int
sb_snooze(json_t *body, sb_cmd_t *cmd, const sb_config_t *cfg,
    sb_answer_t *err)
{
    json_t   *f = json_object_get(body, "for");
    json_t   *u = json_object_get(body, "until");
    int64_t   until;
    int       i;

    if ((f == NULL) == (u == NULL)) {
        sb_answer_error(err, 400, "missing_field",
                        "give exactly one of \"for\" and \"until\"");
        return -1;
    }
    if (!json_is_string(f ? f : u)) {
        sb_answer_error(err, 400, "bad_type", "\"%s\" must be a string",
                        f ? "for" : "until");
        return -1;
    }
    if (f) {
        for (i = 0; i < cfg->npresets; i++) {
            if (strcmp(cfg->presets[i].label, json_string_value(f)) == 0) {
                cmd->u.snooze.until = cmd->now + cfg->presets[i].ms;
                return 0;
            }
        }
        sb_answer_error(err, 422, "unknown_preset",
                        "\"%s\" is not a snooze preset", json_string_value(f));
        return -1;
    }
    if (sb_parse_time(json_string_value(u), &until) != 0) {
        sb_answer_error(err, 400, "bad_date",
                        "\"until\" must be an RFC 3339 date-time");
        return -1;
    }
    if (until <= cmd->now) {
        sb_answer_error(err, 422, "snooze_in_past",
                        "\"until\" is not in the future");
        return -1;
    }
    if (until - cmd->now > cfg->snooze_max_ms) {
        sb_answer_error(err, 422, "snooze_too_long",
                        "\"until\" is beyond the snooze maximum");
        return -1;
    }
    cmd->u.snooze.until = until;
    return 0;
}


/* {"url": http(s), "name"|"title": …}: an attachment or an offer (R12) */
static int
sb_link(json_t *body, const char *name, const char *label, int label_needed,
    sb_cmd_t *cmd, sb_span_t *url, sb_span_t *text, sb_answer_t *err)
{
    json_t      *o = json_object_get(body, name);
    const char  *s;

    if (o == NULL) {
        return 0;
    }
    if (!json_is_object(o)) {
        sb_answer_error(err, 400, "bad_type", "\"%s\" must be an object",
                        name);
        return -1;
    }
    if (sb_field(o, "url", SB_URL_MAX, 1, err)
        || sb_field(o, label, SB_TITLE_MAX, label_needed, err))
    {
        return -1;
    }
    s = json_string_value(json_object_get(o, "url"));
    if ((strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
        || strlen(s) <= 8 || strpbrk(s, " \t\r\n") != NULL)
    {
        sb_answer_error(err, 400, "bad_url",
                        "\"%s.url\" must be an http(s) URL", name);
        return -1;
    }
    *url = sb_keep(cmd, json_object_get(o, "url"));
    *text = sb_keep(cmd, json_object_get(o, label));
    return 0;
}


/* R6: {"text"} or {"canned"}, and an attachment or an offer. */
static int
sb_reply(json_t *body, sb_cmd_t *cmd, const sb_config_t *cfg,
    sb_answer_t *err)
{
    json_t  *canned = json_object_get(body, "canned");
    json_t  *text = json_object_get(body, "text");

    if (canned && text) {
        sb_answer_error(err, 400, "bad_body",
                        "give \"text\" or \"canned\", not both");
        return -1;
    }
    if (canned) {
        if (!json_is_string(canned)
            || !sb_valid_id(json_string_value(canned),
                            json_string_length(canned), 0))
        {
            sb_answer_error(err, 400, "bad_id",
                            "\"canned\" must be a canned response id");
            return -1;
        }
        cmd->u.msg.canned = sb_keep(cmd, canned);
    } else if (text || (!json_object_get(body, "attachment")
                        && !json_object_get(body, "offer")))
    {
        if (sb_text(body, cmd, cfg, err)) {
            return -1;
        }
    }
    return sb_link(body, "attachment", "name", 0, cmd,
                   &cmd->u.msg.attachment_url, &cmd->u.msg.attachment_name,
                   err)
           || sb_link(body, "offer", "title", 1, cmd, &cmd->u.msg.offer_url,
                      &cmd->u.msg.offer_title, err) ? -1 : 0;
}


static int
sb_transfer(json_t *body, sb_cmd_t *cmd, sb_answer_t *err)
{
    json_t  *agent = json_object_get(body, "agent");
    json_t  *group = json_object_get(body, "group");
    json_t  *to, *anyway = json_object_get(body, "anyway");

    if ((agent == NULL) == (group == NULL)) {
        sb_answer_error(err, 400, "missing_field",
                        "give exactly one of \"agent\" and \"group\"");
        return -1;
    }
    to = agent ? agent : group;
    if (!json_is_string(to)
        || !sb_valid_id(json_string_value(to), json_string_length(to), 0))
    {
        sb_answer_error(err, 400, "bad_id", "\"%s\" must be a valid id",
                        agent ? "agent" : "group");
        return -1;
    }
    if (anyway && !json_is_boolean(anyway)) {
        sb_answer_error(err, 400, "bad_type", "\"anyway\" must be a boolean");
        return -1;
    }
    if (sb_field(body, "comment", SB_COMMENT_MAX, 0, err)) {
        return -1;
    }
    *(agent ? &cmd->u.transfer.agent : &cmd->u.transfer.group) =
        sb_keep(cmd, to);
    cmd->u.transfer.comment = sb_keep(cmd, json_object_get(body, "comment"));
    cmd->u.transfer.anyway = json_is_true(anyway);
    return 0;
}


/* R11: normalised, duplicates collapsed, at most SB_TAGS_MAX. */
static int
sb_tags(json_t *body, sb_cmd_t *cmd, sb_answer_t *err)
{
    json_t  *tags = json_object_get(body, "tags"), *t;
    char     norm[SB_TAG_MAX + 1];
    size_t   i;
    int      j, n = 0;

    if (tags == NULL) {
        sb_answer_error(err, 400, "missing_field", "\"tags\" is required");
        return -1;
    }
    if (!json_is_array(tags)) {
        sb_answer_error(err, 400, "bad_type", "\"tags\" must be an array");
        return -1;
    }
    json_array_foreach(tags, i, t) {
        if (!json_is_string(t)
            || sb_normalize_tag(json_string_value(t), json_string_length(t),
                                norm) != 0)
        {
            sb_answer_error(err, 400, "bad_tag",
                            "tags are strings of 1-%d bytes, no control "
                            "characters or commas", SB_TAG_MAX);
            return -1;
        }
        for (j = 0; j < n; j++) {
            if (sb_span_is(cmd->u.tags.tags[j], norm)) {
                break;
            }
        }
        if (j < n) {
            continue;
        }
        if (n == SB_TAGS_MAX) {
            sb_answer_error(err, 422, "too_many_tags",
                            "at most %d tags per conversation", SB_TAGS_MAX);
            return -1;
        }
        cmd->u.tags.tags[n++] = sb_arena_copy(&cmd->mem, norm, strlen(norm));
    }
    cmd->u.tags.n = n;
    return 0;
}


static int
sb_name(json_t *body, sb_cmd_t *cmd, sb_answer_t *err)
{
    json_t  *name = json_object_get(body, "name");

    if (name == NULL) {
        sb_answer_error(err, 400, "missing_field", "\"name\" is required");
        return -1;
    }
    if (!json_is_string(name) || json_string_length(name) == 0
        || json_string_length(name) > SB_NAME_MAX)
    {
        sb_answer_error(err, 400, "bad_type",
                        "\"name\" must be a string of 1 to %d bytes",
                        SB_NAME_MAX);
        return -1;
    }
    *(cmd->type == SB_CMD_PUT_AGENT ? &cmd->u.agent.name
                                    : &cmd->u.entry.name) = sb_keep(cmd, name);
    return 0;
}


static int
sb_groups(json_t *body, sb_cmd_t *cmd, sb_answer_t *err)
{
    json_t  *groups = json_object_get(body, "groups"), *g;
    size_t   i, j;

    if (groups == NULL) {
        cmd->u.agent.groups[0] = sb_arena_copy(&cmd->mem, "default", 7);
        cmd->u.agent.ngroups = 1;
        return 0;
    }
    if (!json_is_array(groups) || json_array_size(groups) == 0
        || json_array_size(groups) > SB_GROUPS_MAX)
    {
        sb_answer_error(err, 400, "bad_type",
                        "\"groups\" must be an array of 1 to %d group ids",
                        SB_GROUPS_MAX);
        return -1;
    }
    json_array_foreach(groups, i, g) {
        if (!json_is_string(g)
            || !sb_valid_id(json_string_value(g), json_string_length(g), 0))
        {
            sb_answer_error(err, 400, "bad_id",
                            "group ids are 1-64 characters of A-Za-z0-9._-");
            return -1;
        }
        for (j = 0; j < i; j++) {
            if (json_equal(json_array_get(groups, j), g)) {
                sb_answer_error(err, 400, "duplicate_group",
                                "group %s is listed twice",
                                json_string_value(g));
                return -1;
            }
        }
        cmd->u.agent.groups[i] = sb_keep(cmd, g);
    }
    cmd->u.agent.ngroups = (int) json_array_size(groups);
    return 0;
}


static int
sb_capacity(json_t *body, sb_cmd_t *cmd, const sb_config_t *cfg,
    sb_answer_t *err)
{
    json_t      *cap = json_object_get(body, "capacity"), *v;
    const char  *name;
    int          k;

    for (k = 0; k < SB_MAX_CLASSES; k++) {
        cmd->u.agent.capacity[k] = -1;
    }
    if (cap == NULL) {
        return 0;
    }
    if (!json_is_object(cap)) {
        sb_answer_error(err, 400, "bad_type", "\"capacity\" must be an "
                        "object");
        return -1;
    }
    json_object_foreach(cap, name, v) {
        k = sb_class_find(cfg, name, strlen(name));
        if (k < 0) {
            sb_answer_error(err, 422, "unknown_class",
                            "no slot class named \"%s\"", name);
            return -1;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0
            || json_integer_value(v) > 1000)
        {
            sb_answer_error(err, 400, "bad_type",
                            "capacity of %s must be an integer 0-1000", name);
            return -1;
        }
        cmd->u.agent.capacity[k] = (int) json_integer_value(v);
    }
    return 0;
}


static int
sb_canned(json_t *body, sb_cmd_t *cmd, const sb_config_t *cfg,
    sb_answer_t *err)
{
    if (sb_field(body, "title", SB_TITLE_MAX, 1, err)
        || sb_field(body, "text", cfg->text_max, 1, err))
    {
        return -1;
    }
    cmd->u.entry.title = sb_keep(cmd, json_object_get(body, "title"));
    cmd->u.entry.text = sb_keep(cmd, json_object_get(body, "text"));
    return 0;
}


int
sb_body_parse(sb_cmd_t *cmd, const sb_config_t *cfg, const char *body,
    size_t len, sb_answer_t *err)
{
    json_t        *json = NULL;
    json_error_t   jerr;
    int            rc = 0, needed;

    needed = cmd->type == SB_CMD_VISITOR_MESSAGE
             || cmd->type == SB_CMD_AGENT_MESSAGE
             || cmd->type == SB_CMD_AVAILABILITY
             || cmd->type == SB_CMD_PUT_AGENT || cmd->type == SB_CMD_PUT_GROUP
             || cmd->type == SB_CMD_SNOOZE || cmd->type == SB_CMD_TRANSFER
             || cmd->type == SB_CMD_TAGS || cmd->type == SB_CMD_PUT_CANNED;
    if (len == 0 && !needed) {
        return 0;
    }
    json = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                      &jerr);
    if (json == NULL) {
        sb_answer_error(err, 400, "malformed_json", "%s (at byte %d)",
                        jerr.text, jerr.position);
        return -1;
    }
    if (!json_is_object(json)) {
        json_decref(json);
        sb_answer_error(err, 400, "not_an_object",
                        "the body must be a JSON object");
        return -1;
    }

    switch (cmd->type) {
    case SB_CMD_VISITOR_MESSAGE:
        rc = sb_text(json, cmd, cfg, err);
        break;
    case SB_CMD_AGENT_MESSAGE:
        rc = sb_reply(json, cmd, cfg, err);
        break;
    case SB_CMD_AVAILABILITY:
        rc = sb_availability(json, cmd, cfg, err);
        break;
    case SB_CMD_SNOOZE:
        rc = sb_snooze(json, cmd, cfg, err);
        break;
    case SB_CMD_TRANSFER:
        rc = sb_transfer(json, cmd, err);
        break;
    case SB_CMD_TAGS:
        rc = sb_tags(json, cmd, err);
        break;
    case SB_CMD_PUT_AGENT:
        rc = sb_name(json, cmd, err) || sb_groups(json, cmd, err)
             || sb_capacity(json, cmd, cfg, err) ? -1 : 0;
        break;
    case SB_CMD_PUT_GROUP:
        rc = sb_name(json, cmd, err);
        break;
    case SB_CMD_PUT_CANNED:
        rc = sb_canned(json, cmd, cfg, err);
        break;
    default:
        break;
    }
    json_decref(json);
    if (rc && err->status == 0) {
        sb_answer_error(err, 500, "no_memory", "out of memory");
    }
    return rc;
}
