/* Request bodies (R26): the JSON of each command checked field by field
 * and turned into the typed command, its strings copied into the
 * command's arena. Nothing here touches the store. */

#include <stdio.h>

#include "edge/sb_edge.h"
#include "util/sb_jread.h"


typedef struct {
    sb_json_doc_t       d;
    sb_cmd_t           *cmd;
    const sb_config_t  *cfg;
    sb_answer_t        *err;
} sb_body_t;


static uint32_t
sb_at(sb_body_t *b, const char *name)
{
    return sb_json_get(&b->d, 0, name);
}


static int
sb_is_string(sb_body_t *b, uint32_t t)
{
    return sb_json_is(&b->d, t, SB_JSON_STRING);
}


static int
sb_is_bool(sb_body_t *b, uint32_t t)
{
    return sb_json_is(&b->d, t, SB_JSON_TRUE)
           || sb_json_is(&b->d, t, SB_JSON_FALSE);
}


/* A string's value, copied into the command's arena. */
static sb_span_t
sb_keep(sb_body_t *b, uint32_t t)
{
    sb_span_t  s = sb_json_str(&b->d, t);

    return t == SB_JSON_NONE ? s : sb_arena_copy(&b->cmd->mem, s.p, s.n);
}


/* A string field of object o: optional or required, non-empty, at most
 * max bytes. */
static int
sb_field(sb_body_t *b, uint32_t o, const char *name, size_t max,
    int required)
{
    uint32_t   t = sb_json_get(&b->d, o, name);
    sb_span_t  s;

    if (t == SB_JSON_NONE) {
        if (required) {
            sb_answer_error(b->err, 400, "missing_field",
                            "\"%s\" is required", name);
            return -1;
        }
        return 0;
    }
    if (!sb_is_string(b, t)) {
        sb_answer_error(b->err, 400, "bad_type", "\"%s\" must be a string",
                        name);
        return -1;
    }
    s = sb_json_str(&b->d, t);
    if (s.n == 0) {
        sb_answer_error(b->err, 400, "empty_field", "\"%s\" is empty", name);
        return -1;
    }
    if (s.n > max) {
        sb_answer_error(b->err, 413, "field_too_long",
                        "\"%s\" is over %zu bytes", name, max);
        return -1;
    }
    return 0;
}


static int
sb_text(sb_body_t *b)
{
    uint32_t   t = sb_at(b, "text");
    sb_span_t  s;

    if (t == SB_JSON_NONE) {
        sb_answer_error(b->err, 400, "missing_field", "\"text\" is required");
        return -1;
    }
    if (!sb_is_string(b, t)) {
        sb_answer_error(b->err, 400, "bad_type", "\"text\" must be a string");
        return -1;
    }
    s = sb_json_str(&b->d, t);
    if (s.n == 0) {
        sb_answer_error(b->err, 400, "empty_text", "\"text\" is empty");
        return -1;
    }
    if (s.n > b->cfg->text_max) {
        sb_answer_error(b->err, 413, "text_too_long",
                        "\"text\" is over %zu bytes", b->cfg->text_max);
        return -1;
    }
    b->cmd->u.msg.text = sb_keep(b, t);
    return b->cmd->u.msg.text.p ? 0 : -1;
}


static int
sb_availability(sb_body_t *b)
{
    uint32_t   klass = sb_at(b, "class"), avail = sb_at(b, "available");
    sb_span_t  name;

    if (klass == SB_JSON_NONE || avail == SB_JSON_NONE) {
        sb_answer_error(b->err, 400, "missing_field",
                        "\"class\" and \"available\" are required");
        return -1;
    }
    if (!sb_is_string(b, klass) || !sb_is_bool(b, avail)) {
        sb_answer_error(b->err, 400, "bad_type",
                        "\"class\" must be a string, \"available\" a "
                        "boolean");
        return -1;
    }
    name = sb_json_str(&b->d, klass);
    if (sb_span_is(name, "all")) {
        b->cmd->u.availability.klass = -1;
    } else {
        b->cmd->u.availability.klass = sb_class_find(b->cfg, name.p, name.n);
        if (b->cmd->u.availability.klass < 0) {
            sb_answer_error(b->err, 422, "unknown_class",
                            "no slot class named \"%.*s\"",
                            (int) (name.n > 64 ? 64 : name.n), name.p);
            return -1;
        }
    }
    b->cmd->u.availability.available = sb_json_is(&b->d, avail,
                                                  SB_JSON_TRUE);
    return 0;
}


/* The refusal names the presets there are, as the agent's menu shows. */
static void
sb_unknown_preset(sb_body_t *b, sb_span_t s)
{
    const sb_config_t  *cfg = b->cfg;
    char                list[SB_MAX_PRESETS * 20] = "", *p = list;
    int                 i;

    for (i = 0; i < cfg->npresets; i++) {
        p += snprintf(p, sizeof(list) - (size_t) (p - list), "%s\"%s\"",
                      i ? ", " : "", cfg->presets[i].label);
    }
    sb_answer_error(b->err, 422, "unknown_preset",
                    "\"%.*s\" is not a snooze preset; the presets are %s",
                    (int) (s.n > 64 ? 64 : s.n), s.p,
                    cfg->npresets ? list : "none (give \"until\")");
}


/* R7: {"for": a configured preset} or {"until": RFC 3339, in range}. */
static int
sb_snooze(sb_body_t *b)
{
    const sb_config_t  *cfg = b->cfg;
    uint32_t            f = sb_at(b, "for"), u = sb_at(b, "until");
    sb_span_t           s;
    int64_t             until, now = b->cmd->now;
    int                 i;

    if ((f == SB_JSON_NONE) == (u == SB_JSON_NONE)) {
        sb_answer_error(b->err, 400, "missing_field",
                        "give exactly one of \"for\" and \"until\"");
        return -1;
    }
    if (!sb_is_string(b, f != SB_JSON_NONE ? f : u)) {
        sb_answer_error(b->err, 400, "bad_type", "\"%s\" must be a string",
                        f != SB_JSON_NONE ? "for" : "until");
        return -1;
    }
    if (f != SB_JSON_NONE) {
        s = sb_json_str(&b->d, f);
        for (i = 0; i < cfg->npresets; i++) {
            if (sb_span_is(s, cfg->presets[i].label)) {
                b->cmd->u.snooze.until = now + cfg->presets[i].ms;
                return 0;
            }
        }
        sb_unknown_preset(b, s);
        return -1;
    }
    s = sb_keep(b, u);               /* a C string for the date parser */
    if (s.p == NULL || sb_parse_time(s.p, &until) != 0) {
        sb_answer_error(b->err, 400, "bad_date",
                        "\"until\" must be an RFC 3339 date-time");
        return -1;
    }
    if (until <= now) {
        sb_answer_error(b->err, 422, "snooze_in_past",
                        "\"until\" is not in the future");
        return -1;
    }
    if (until - now > cfg->snooze_max_ms) {
        sb_answer_error(b->err, 422, "snooze_too_long",
                        "\"until\" is beyond the snooze maximum");
        return -1;
    }
    b->cmd->u.snooze.until = until;
    return 0;
}


/* {"url": http(s), "name"|"title": …}: an attachment or an offer (R12) */
static int
sb_link(sb_body_t *b, const char *name, const char *label, int label_needed,
    sb_span_t *url, sb_span_t *text)
{
    uint32_t   o = sb_at(b, name);
    sb_span_t  s;

    if (o == SB_JSON_NONE) {
        return 0;
    }
    if (!sb_json_is(&b->d, o, SB_JSON_OBJECT)) {
        sb_answer_error(b->err, 400, "bad_type", "\"%s\" must be an object",
                        name);
        return -1;
    }
    if (sb_field(b, o, "url", SB_URL_MAX, 1)
        || sb_field(b, o, label, SB_TITLE_MAX, label_needed))
    {
        return -1;
    }
    s = sb_keep(b, sb_json_get(&b->d, o, "url"));
    if (s.p == NULL
        || (strncmp(s.p, "https://", 8) != 0 && strncmp(s.p, "http://", 7) != 0)
        || s.n <= 8 || strpbrk(s.p, " \t\r\n") != NULL)
    {
        sb_answer_error(b->err, 400, "bad_url",
                        "\"%s.url\" must be an http(s) URL", name);
        return -1;
    }
    *url = s;
    *text = sb_keep(b, sb_json_get(&b->d, o, label));
    return 0;
}


/* R6: {"text"} or {"canned"}, and an attachment or an offer. */
static int
sb_reply(sb_body_t *b)
{
    uint32_t   canned = sb_at(b, "canned"), text = sb_at(b, "text");
    sb_span_t  id;

    if (canned != SB_JSON_NONE && text != SB_JSON_NONE) {
        sb_answer_error(b->err, 400, "bad_body",
                        "give \"text\" or \"canned\", not both");
        return -1;
    }
    if (canned != SB_JSON_NONE) {
        id = sb_json_str(&b->d, canned);
        if (!sb_is_string(b, canned) || !sb_valid_id(id.p, id.n, 0)) {
            sb_answer_error(b->err, 400, "bad_id",
                            "\"canned\" must be a canned response id");
            return -1;
        }
        b->cmd->u.msg.canned = sb_keep(b, canned);
    } else if (text != SB_JSON_NONE
               || (sb_at(b, "attachment") == SB_JSON_NONE
                   && sb_at(b, "offer") == SB_JSON_NONE))
    {
        if (sb_text(b)) {
            return -1;
        }
    }
    return sb_link(b, "attachment", "name", 0, &b->cmd->u.msg.attachment_url,
                   &b->cmd->u.msg.attachment_name)
           || sb_link(b, "offer", "title", 1, &b->cmd->u.msg.offer_url,
                      &b->cmd->u.msg.offer_title) ? -1 : 0;
}


static int
sb_transfer(sb_body_t *b)
{
    uint32_t   agent = sb_at(b, "agent"), group = sb_at(b, "group");
    uint32_t   to, anyway = sb_at(b, "anyway");
    sb_span_t  id;

    if ((agent == SB_JSON_NONE) == (group == SB_JSON_NONE)) {
        sb_answer_error(b->err, 400, "missing_field",
                        "give exactly one of \"agent\" and \"group\"");
        return -1;
    }
    to = agent != SB_JSON_NONE ? agent : group;
    id = sb_json_str(&b->d, to);
    if (!sb_is_string(b, to) || !sb_valid_id(id.p, id.n, 0)) {
        sb_answer_error(b->err, 400, "bad_id", "\"%s\" must be a valid id",
                        agent != SB_JSON_NONE ? "agent" : "group");
        return -1;
    }
    if (anyway != SB_JSON_NONE && !sb_is_bool(b, anyway)) {
        sb_answer_error(b->err, 400, "bad_type",
                        "\"anyway\" must be a boolean");
        return -1;
    }
    if (sb_field(b, 0, "comment", SB_COMMENT_MAX, 0)) {
        return -1;
    }
    *(agent != SB_JSON_NONE ? &b->cmd->u.transfer.agent
                            : &b->cmd->u.transfer.group) = sb_keep(b, to);
    if (sb_at(b, "comment") != SB_JSON_NONE) {
        b->cmd->u.transfer.comment = sb_keep(b, sb_at(b, "comment"));
    }
    b->cmd->u.transfer.anyway = sb_json_is(&b->d, anyway, SB_JSON_TRUE);
    return 0;
}


/* R11: normalised, duplicates collapsed, at most SB_TAGS_MAX. */
static int
sb_tags(sb_body_t *b)
{
    uint32_t   tags = sb_at(b, "tags"), t;
    sb_span_t  s;
    char       norm[SB_TAG_MAX + 1];
    int        j, n = 0;

    if (tags == SB_JSON_NONE) {
        sb_answer_error(b->err, 400, "missing_field", "\"tags\" is required");
        return -1;
    }
    if (!sb_json_is(&b->d, tags, SB_JSON_ARRAY)) {
        sb_answer_error(b->err, 400, "bad_type", "\"tags\" must be an array");
        return -1;
    }
    SB_JSON_ITEMS(&b->d, t, tags) {
        s = sb_json_str(&b->d, t);
        if (!sb_is_string(b, t) || sb_normalize_tag(s.p, s.n, norm) != 0) {
            sb_answer_error(b->err, 400, "bad_tag",
                            "tags are strings of 1-%d bytes, no control "
                            "characters or commas", SB_TAG_MAX);
            return -1;
        }
        for (j = 0; j < n && !sb_span_is(b->cmd->u.tags.tags[j], norm); j++) {
            /* void */
        }
        if (j < n) {
            continue;
        }
        if (n == SB_TAGS_MAX) {
            sb_answer_error(b->err, 422, "too_many_tags",
                            "at most %d tags per conversation", SB_TAGS_MAX);
            return -1;
        }
        b->cmd->u.tags.tags[n++] = sb_arena_copy(&b->cmd->mem, norm,
                                                 strlen(norm));
    }
    b->cmd->u.tags.n = n;
    return 0;
}


static int
sb_name(sb_body_t *b)
{
    uint32_t   t = sb_at(b, "name");
    sb_span_t  s = sb_json_str(&b->d, t);

    if (t == SB_JSON_NONE) {
        sb_answer_error(b->err, 400, "missing_field", "\"name\" is required");
        return -1;
    }
    if (!sb_is_string(b, t) || s.n == 0 || s.n > SB_NAME_MAX) {
        sb_answer_error(b->err, 400, "bad_type",
                        "\"name\" must be a string of 1 to %d bytes",
                        SB_NAME_MAX);
        return -1;
    }
    *(b->cmd->type == SB_CMD_PUT_AGENT ? &b->cmd->u.agent.name
                                       : &b->cmd->u.entry.name) = sb_keep(b, t);
    return 0;
}


static int
sb_groups(sb_body_t *b)
{
    uint32_t   groups = sb_at(b, "groups"), g;
    sb_span_t  s;
    int        i, j;

    if (groups == SB_JSON_NONE) {
        b->cmd->u.agent.groups[0] = sb_arena_copy(&b->cmd->mem, "default", 7);
        b->cmd->u.agent.ngroups = 1;
        return 0;
    }
    if (!sb_json_is(&b->d, groups, SB_JSON_ARRAY)
        || b->d.tok[groups].size == 0
        || b->d.tok[groups].size > SB_GROUPS_MAX)
    {
        sb_answer_error(b->err, 400, "bad_type",
                        "\"groups\" must be an array of 1 to %d group ids",
                        SB_GROUPS_MAX);
        return -1;
    }
    i = 0;
    SB_JSON_ITEMS(&b->d, g, groups) {
        s = sb_json_str(&b->d, g);
        if (!sb_is_string(b, g) || !sb_valid_id(s.p, s.n, 0)) {
            sb_answer_error(b->err, 400, "bad_id",
                            "group ids are 1-64 characters of A-Za-z0-9._-");
            return -1;
        }
        for (j = 0; j < i; j++) {
            if (sb_span_eq(b->cmd->u.agent.groups[j], s)) {
                sb_answer_error(b->err, 400, "duplicate_group",
                                "group %.*s is listed twice", (int) s.n, s.p);
                return -1;
            }
        }
        b->cmd->u.agent.groups[i++] = sb_keep(b, g);
    }
    b->cmd->u.agent.ngroups = i;
    return 0;
}


static int
sb_capacity(sb_body_t *b)
{
    uint32_t   cap = sb_at(b, "capacity"), k, v;
    sb_span_t  name;
    int64_t    n;
    int        c;

    for (c = 0; c < SB_MAX_CLASSES; c++) {
        b->cmd->u.agent.capacity[c] = -1;
    }
    if (cap == SB_JSON_NONE) {
        return 0;
    }
    if (!sb_json_is(&b->d, cap, SB_JSON_OBJECT)) {
        sb_answer_error(b->err, 400, "bad_type",
                        "\"capacity\" must be an object");
        return -1;
    }
    SB_JSON_KEYS(&b->d, k, cap) {
        v = k + 1;
        name = sb_json_str(&b->d, k);
        c = sb_class_find(b->cfg, name.p, name.n);
        if (c < 0) {
            sb_answer_error(b->err, 422, "unknown_class",
                            "no slot class named \"%.*s\"",
                            (int) (name.n > 64 ? 64 : name.n), name.p);
            return -1;
        }
        if (sb_json_int(&b->d, v, &n) != 0 || n < 0 || n > 1000) {
            sb_answer_error(b->err, 400, "bad_type",
                            "capacity of %.*s must be an integer 0-1000",
                            (int) name.n, name.p);
            return -1;
        }
        b->cmd->u.agent.capacity[c] = (int) n;
    }
    return 0;
}


static int
sb_canned(sb_body_t *b)
{
    if (sb_field(b, 0, "title", SB_TITLE_MAX, 1)
        || sb_field(b, 0, "text", b->cfg->text_max, 1))
    {
        return -1;
    }
    b->cmd->u.entry.title = sb_keep(b, sb_at(b, "title"));
    b->cmd->u.entry.text = sb_keep(b, sb_at(b, "text"));
    return 0;
}


int
sb_body_parse(sb_cmd_t *cmd, const sb_config_t *cfg, const char *body,
    size_t len, sb_answer_t *err)
{
    sb_body_t   b;
    int         rc = 0, needed;

    needed = cmd->type == SB_CMD_VISITOR_MESSAGE
             || cmd->type == SB_CMD_AGENT_MESSAGE
             || cmd->type == SB_CMD_AVAILABILITY
             || cmd->type == SB_CMD_PUT_AGENT || cmd->type == SB_CMD_PUT_GROUP
             || cmd->type == SB_CMD_SNOOZE || cmd->type == SB_CMD_TRANSFER
             || cmd->type == SB_CMD_TAGS || cmd->type == SB_CMD_PUT_CANNED;
    if (len == 0 && !needed) {
        return 0;
    }
    b.cmd = cmd;
    b.cfg = cfg;
    b.err = err;
    if (sb_json_read_body(&b.d, body, len, SB_JSON_NO_DUPLICATES, &cmd->mem,
                          err) != 0)
    {
        return -1;
    }

    switch (cmd->type) {
    case SB_CMD_VISITOR_MESSAGE:
        rc = sb_text(&b);
        break;
    case SB_CMD_AGENT_MESSAGE:
        rc = sb_reply(&b);
        break;
    case SB_CMD_AVAILABILITY:
        rc = sb_availability(&b);
        break;
    case SB_CMD_SNOOZE:
        rc = sb_snooze(&b);
        break;
    case SB_CMD_TRANSFER:
        rc = sb_transfer(&b);
        break;
    case SB_CMD_TAGS:
        rc = sb_tags(&b);
        break;
    case SB_CMD_PUT_AGENT:
        rc = sb_name(&b) || sb_groups(&b) || sb_capacity(&b) ? -1 : 0;
        break;
    case SB_CMD_PUT_GROUP:
        rc = sb_name(&b);
        break;
    case SB_CMD_PUT_CANNED:
        rc = sb_canned(&b);
        break;
    default:
        break;
    }
    if (rc && err->status == 0) {
        sb_answer_error(err, 500, "no_memory", "out of memory");
    }
    return rc;
}
