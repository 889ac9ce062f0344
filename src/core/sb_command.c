/* Commands: validated outside any transaction (sb_cmd_parse), then applied
 * in one group-committed write transaction; each refuses before it writes. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_internal.h"


int
sb_parse_text(json_t *body, sb_cmd_t *cmd, const sb_config_t *cfg,
    sb_result_t *err)
{
    json_t  *text = json_object_get(body, "text");
    size_t   len;

    if (text == NULL) {
        sb_result_error(err, 400, "missing_field", "\"text\" is required");
        return -1;
    }
    if (!json_is_string(text)) {
        sb_result_error(err, 400, "bad_type", "\"text\" must be a string");
        return -1;
    }
    len = json_string_length(text);
    if (len == 0) {
        sb_result_error(err, 400, "empty_text", "\"text\" is empty");
        return -1;
    }
    if (len > cfg->text_max) {
        sb_result_error(err, 413, "text_too_long",
                        "\"text\" is over %zu bytes", cfg->text_max);
        return -1;
    }
    cmd->text = strdup(json_string_value(text));
    return cmd->text ? 0 : -1;
}


static int
sb_parse_availability(json_t *body, sb_cmd_t *cmd, const sb_config_t *cfg,
    sb_result_t *err)
{
    json_t  *klass = json_object_get(body, "class");
    json_t  *avail = json_object_get(body, "available");

    if (klass == NULL || avail == NULL) {
        sb_result_error(err, 400, "missing_field",
                        "\"class\" and \"available\" are required");
        return -1;
    }
    if (!json_is_string(klass) || !json_is_boolean(avail)) {
        sb_result_error(err, 400, "bad_type",
                        "\"class\" must be a string, \"available\" a boolean");
        return -1;
    }
    if (strcmp(json_string_value(klass), "all") == 0) {
        cmd->klass = -1;
    } else {
        cmd->klass = sb_class_find(cfg, json_string_value(klass),
                                   json_string_length(klass));
        if (cmd->klass < 0) {
            sb_result_error(err, 422, "unknown_class",
                            "no slot class named \"%s\"",
                            json_string_value(klass));
            return -1;
        }
    }
    cmd->available = json_is_true(avail);
    return 0;
}


/* R7: {"for": a configured preset} or {"until": RFC 3339, in range}. */
static int
sb_parse_snooze(json_t *body, sb_cmd_t *cmd, const sb_config_t *cfg,
    sb_result_t *err)
{
    json_t  *f = json_object_get(body, "for"), *u = json_object_get(body,
                                                                    "until");
    int      i;

    if ((f == NULL) == (u == NULL)) {
        sb_result_error(err, 400, "missing_field",
                        "give exactly one of \"for\" and \"until\"");
        return -1;
    }
    if (!json_is_string(f ? f : u)) {
        sb_result_error(err, 400, "bad_type", "\"%s\" must be a string",
                        f ? "for" : "until");
        return -1;
    }
    if (f) {
        for (i = 0; i < cfg->npresets; i++) {
            if (strcmp(cfg->presets[i].label, json_string_value(f)) == 0) {
                cmd->until = cmd->now + cfg->presets[i].ms;
                return 0;
            }
        }
        sb_result_error(err, 422, "unknown_preset",
                        "\"%s\" is not a snooze preset",
                        json_string_value(f));
        return -1;
    }
    if (sb_parse_time(json_string_value(u), &cmd->until) != 0) {
        sb_result_error(err, 400, "bad_date",
                        "\"until\" must be an RFC 3339 date-time");
        return -1;
    }
    if (cmd->until <= cmd->now) {
        sb_result_error(err, 422, "snooze_in_past",
                        "\"until\" is not in the future");
        return -1;
    }
    if (cmd->until - cmd->now > cfg->snooze_max_ms) {
        sb_result_error(err, 422, "snooze_too_long",
                        "\"until\" is beyond the snooze maximum");
        return -1;
    }
    return 0;
}


int
sb_cmd_parse(sb_cmd_t *cmd, const sb_config_t *cfg, const char *body,
    size_t len, sb_result_t *err)
{
    json_t        *json = NULL;
    json_error_t   jerr;
    int            rc = 0;

    if (len > 0 || cmd->type == SB_CMD_VISITOR_MESSAGE
        || cmd->type == SB_CMD_AGENT_MESSAGE
        || cmd->type == SB_CMD_AVAILABILITY || cmd->type == SB_CMD_PUT_AGENT
        || cmd->type == SB_CMD_PUT_GROUP || cmd->type == SB_CMD_SNOOZE
        || cmd->type == SB_CMD_TRANSFER || cmd->type == SB_CMD_TAGS
        || cmd->type == SB_CMD_PUT_CANNED)
    {
        json = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                          &jerr);
        if (json == NULL) {
            sb_result_error(err, 400, "malformed_json", "%s (at byte %d)",
                            jerr.text, jerr.position);
            return -1;
        }
        if (!json_is_object(json)) {
            json_decref(json);
            sb_result_error(err, 400, "not_an_object",
                            "the body must be a JSON object");
            return -1;
        }
    }

    switch (cmd->type) {

    case SB_CMD_VISITOR_MESSAGE:
        rc = sb_parse_text(json, cmd, cfg, err);
        break;

    case SB_CMD_AGENT_MESSAGE:
    case SB_CMD_TRANSFER:
    case SB_CMD_TAGS:
    case SB_CMD_PUT_CANNED:
        rc = sb_collab_parse(json, cmd, cfg, err);
        cmd->body = json;
        json = NULL;
        break;

    case SB_CMD_AVAILABILITY:
        rc = sb_parse_availability(json, cmd, cfg, err);
        break;

    case SB_CMD_SNOOZE:
        rc = sb_parse_snooze(json, cmd, cfg, err);
        break;

    case SB_CMD_PUT_AGENT:
    case SB_CMD_PUT_GROUP:
        cmd->body = json;
        json = NULL;
        rc = sb_admin_validate(cmd, cfg, err);
        break;

    default:
        break;
    }

    json_decref(json);
    return rc;
}


void
sb_cmd_free(sb_cmd_t *cmd)
{
    free(cmd->text);
    cmd->text = NULL;
    json_decref(cmd->body);
    cmd->body = NULL;
}


int
sb_idem_key(sb_ctx_t *cx, sb_key_t *k, const char *scope, const char *a,
    const char *b, const char *idem)
{
    sb_key_init(k, cx->tenant);
    sb_key_str(k, scope);
    sb_key_str(k, a);
    sb_key_str(k, b);
    sb_key_str(k, idem);
    return k->overflow;
}


/* R21: a replayed key answers with the message stored the first time. */
static int
sb_idem_replay(sb_ctx_t *cx, sb_key_t *k, const char *wrap,
    sb_result_t *res)
{
    json_t      *ref, *msg;
    sb_key_t     mk;
    const char  *conv;
    int          rc;

    rc = sb_rec_get(cx->txn, cx->st->db[SB_DB_IDEM], k, &ref);
    if (rc) {
        return rc;
    }
    conv = sb_get_str(ref, "conversation");
    sb_msg_key(&mk, cx->tenant, conv, (uint64_t) sb_get_int(ref, "seq"));
    rc = sb_rec_get(cx->txn, cx->st->db[SB_DB_MSG], &mk, &msg);
    if (rc == 0) {
        sb_result_set(res, 200,
                      json_pack("{s:s,s:o,s:b}", "conversation", conv, wrap,
                                sb_message_view(msg), "replayed", 1));
        json_decref(msg);
    }
    json_decref(ref);
    return rc;
}


int
sb_idem_store(sb_ctx_t *cx, sb_key_t *k, json_t *conv, json_t *msg)
{
    json_t  *ref;
    int      rc;

    ref = json_pack("{s:s,s:O,s:I}", "conversation", sb_get_str(conv, "id"),
                    "seq", json_object_get(msg, "seq"), "at",
                    (json_int_t) cx->now);
    rc = sb_rec_put(cx->txn, cx->st->db[SB_DB_IDEM], k, ref);
    json_decref(ref);
    return rc;
}


/* A stored message: its event in owner's log, its idempotency key, 201. */
static int
sb_message_stored(sb_ctx_t *cx, sb_cmd_t *cmd, sb_key_t *ik, json_t *conv,
    json_t *msg, const char *owner, const char *type, sb_result_t *res)
{
    int  rc = 0;

    if (owner) {
        rc = sb_log_append(cx, owner,
                 json_pack("{s:s,s:s,s:o}", "type", type,
                           "conversation", sb_get_str(conv, "id"),
                           "message", sb_message_view(msg)));
    }
    if (rc == 0 && cmd->idem[0]) {
        rc = sb_idem_store(cx, ik, conv, msg);
    }
    if (rc == 0) {
        sb_result_set(res, 201,
                      json_pack("{s:s,s:o}", "conversation",
                                sb_get_str(conv, "id"), "message",
                                sb_message_view(msg)));
    }
    return rc;
}


static int
sb_conv_create(sb_ctx_t *cx, sb_cmd_t *cmd, int klass, json_t **out)
{
    sb_key_t   k;
    uint64_t   n;
    char       id[32];
    json_t    *conv;

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, "conversation_counter");
    SB_TRY(sb_counter_next(cx->txn, cx->st->db[SB_DB_META], &k, &n));
    snprintf(id, sizeof(id), "c%llu", (unsigned long long) n);

    conv = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:n,s:[],s:I,s:[],s:I,s:n}",
                     "id", id, "channel", sb_channel_name(cmd->channel),
                     "class", cx->st->cfg->classes[klass].name,
                     "group", cmd->group, "visitor", cmd->actor,
                     "state", "new", "agent", "tags", "created_at",
                     (json_int_t) cx->now, "handlers", "seq", (json_int_t) 0,
                     "last_agent");
    if (conv == NULL) {
        return ENOMEM;
    }

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, sb_channel_name(cmd->channel));
    sb_key_str(&k, cmd->actor);
    *out = conv;
    return sb_raw_put(cx->txn, cx->st->db[SB_DB_OPEN], &k, id, strlen(id) + 1);
}


/* R1: appended to the visitor's open conversation, or a new one routed. */
int
sb_apply_visitor_message(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    const char  *channel = sb_channel_name(cmd->channel);
    sb_key_t     ik, ok;
    MDB_val      key, val;
    json_t      *conv = NULL, *msg = NULL, *extra;
    const char  *state;
    char         owner[2 * SB_ID_MAX + 8];
    int          rc, klass, created = 0, was_waiting;

    klass = sb_class_of_channel(cx->st->cfg, cmd->channel);
    if (klass < 0) {
        sb_result_error(res, 422, "no_slot_class",
                        "no slot class takes channel %s", channel);
        return 0;
    }

    /* R11: a blocked visitor is acknowledged, counted and not routed */
    rc = sb_blocked_visitor(cx, cmd, res);
    if (rc != 0) {
        return rc > 0 ? 0 : -rc;
    }

    if (cmd->idem[0]) {
        if (sb_idem_key(cx, &ik, "visitor", channel, cmd->actor, cmd->idem)) {
            sb_result_error(res, 400, "bad_idempotency_key", "key too long");
            return 0;
        }
        rc = sb_idem_replay(cx, &ik, "message", res);
        if (rc != MDB_NOTFOUND) {
            return rc;
        }
    }

    sb_key_init(&ok, cx->tenant);
    sb_key_str(&ok, channel);
    sb_key_str(&ok, cmd->actor);
    key.mv_size = ok.n;
    key.mv_data = ok.b;
    rc = mdb_get(cx->txn, cx->st->db[SB_DB_OPEN], &key, &val);
    if (rc == 0) {
        rc = sb_conv_load(cx, val.mv_data, &conv);
    } else if (rc == MDB_NOTFOUND) {
        rc = sb_conv_create(cx, cmd, klass, &conv);
        created = 1;
    }
    if (rc) {
        json_decref(conv);
        return rc;
    }

    /* third parties: who to answer, from which account, to what (R22) */
    if (cmd->body && sb_get_str(cmd->body, "contact")) {
        json_object_set(conv, "account", json_object_get(cmd->body,
                                                         "account"));
        json_object_set(conv, "contact", json_object_get(cmd->body,
                                                         "contact"));
        json_object_set(conv, "reply_to", json_object_get(cmd->body, "id"));
    }

    /* a provider's media reference travels with the message (R20) */
    extra = cmd->body ? json_object_get(cmd->body, "media") : NULL;
    if (extra) {
        extra = json_pack("{s:O}", "media", extra);
    }
    rc = sb_thread_append_ex(cx, conv, "visitor", cmd->actor, cmd->text, NULL,
                             extra, &msg);
    json_decref(extra);
    if (rc) {
        goto done;
    }
    was_waiting = sb_get_int(conv, "waiting_since") != 0;
    sb_set_time(conv, "last_visitor_message_at", cx->now);
    if (!was_waiting) {
        sb_set_time(conv, "waiting_since", cx->now);
    }
    state = sb_get_str(conv, "state");
    owner[0] = '\0';

    /* R15: the visitor spoke, the auto-close clock stops */
    rc = sb_deadline_clear(cx, conv, SB_DL_CLOSE);

    if (rc == 0 && created) {
        rc = sb_route(cx, conv);

    } else if (rc == 0 && (strcmp(state, "snoozed") == 0
                           || strcmp(state, "released") == 0))
    {
        /* R7, R8: back to routing for the first available agent */
        rc = sb_wake(cx, conv, "the visitor wrote");

    } else if (rc == 0) {
        if (sb_get_str(conv, "agent")) {
            sb_agent_owner(sb_get_str(conv, "agent"), owner, sizeof(owner));
            if (!was_waiting) {
                /* R14: a later reply is due within reply_timeout */
                json_object_set_new(conv, "reply_kind", json_string("reply"));
                rc = sb_deadline_set(cx, conv, SB_DL_REPLY,
                                     cx->now + cx->st->cfg->reply_ms);
            }
        }
        if (rc == 0) {
            rc = sb_conv_save(cx, conv);
        }
    }

    if (rc == 0) {
        rc = sb_message_stored(cx, cmd, &ik, conv, msg,
                               owner[0] ? owner : NULL,
                               "conversation.message", res);
    }

done:
    json_decref(msg);
    json_decref(conv);
    return rc;
}


/* Loads a conversation the acting agent holds, or answers why not. */
int
sb_held_conversation(sb_ctx_t *cx, sb_cmd_t *cmd, json_t **out,
    sb_result_t *res)
{
    json_t      *conv;
    const char  *agent;
    int          rc;

    *out = NULL;
    rc = sb_conv_load(cx, cmd->target, &conv);
    if (rc == MDB_NOTFOUND) {
        sb_result_error(res, 404, "unknown_conversation",
                        "no conversation %s", cmd->target);
        return 0;
    }
    if (rc) {
        return rc;
    }
    if (strcmp(sb_get_str(conv, "state"), "ended") == 0) {
        sb_result_error(res, 409, "conversation_ended",
                        "conversation %s has ended", cmd->target);
        json_decref(conv);
        return 0;
    }
    agent = sb_get_str(conv, "agent");
    if (agent == NULL || strcmp(agent, cmd->actor) != 0) {
        sb_result_error(res, 403, "not_holder",
                        "conversation %s is not held by %s", cmd->target,
                        cmd->actor);
        json_decref(conv);
        return 0;
    }
    *out = conv;
    return 0;
}


/* R6, R12: canned id resolved, emoji, attachment and offer allowed. */
static int
sb_reply_allowed(sb_ctx_t *cx, sb_cmd_t *cmd, json_t *conv, sb_result_t *res)
{
    json_t  *agent = NULL;
    int      rc;

    res->status = 0;
    if (json_object_get(cmd->body, "canned")) {
        if (!sb_channel_can(cx, conv, SB_CAP_CANNED, res)) {
            return 0;
        }
        rc = sb_load_actor(cx, cmd, &agent, res);
        if (rc || agent == NULL) {
            return rc;
        }
        rc = sb_resolve_canned(cx, cmd, conv, agent, res);
        json_decref(agent);
        if (rc || res->status >= 400) {
            return rc;
        }
    }
    if (cmd->text
        && sb_has_emoji((const unsigned char *) cmd->text, strlen(cmd->text))
        && !sb_channel_can(cx, conv, SB_CAP_EMOJI, res))
    {
        return 0;
    }
    if (json_object_get(cmd->body, "attachment")
        && !sb_channel_can(cx, conv, SB_CAP_ATTACHMENTS, res))
    {
        return 0;
    }
    if (json_object_get(cmd->body, "offer")
        && !sb_channel_can(cx, conv, SB_CAP_OFFERS, res))
    {
        return 0;
    }
    return 0;
}


/* R6: an agent's reply; R21: Idempotency-Key stores it once. */
static int
sb_apply_agent_message(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    json_t    *conv, *msg = NULL, *extra;
    sb_key_t   ik;
    char       owner[2 * SB_ID_MAX + 8];
    int64_t    close_ms;
    int        rc, channel;

    if (cmd->idem[0]) {
        if (sb_idem_key(cx, &ik, "agent", cmd->actor, cmd->target,
                        cmd->idem))
        {
            sb_result_error(res, 400, "bad_idempotency_key", "key too long");
            return 0;
        }
        rc = sb_idem_replay(cx, &ik, "message", res);
        if (rc != MDB_NOTFOUND) {
            return rc;
        }
    }

    rc = sb_held_conversation(cx, cmd, &conv, res);
    if (rc || conv == NULL) {
        return rc;
    }
    channel = sb_channel_parse(sb_get_str(conv, "channel"),
                               strlen(sb_get_str(conv, "channel")));
    close_ms = cx->st->cfg->auto_close_ms[channel];

    /* R12: every part of the reply must be something the channel has */
    rc = sb_reply_allowed(cx, cmd, conv, res);
    if (rc == 0 && res->status < 400) {
        (void) sb_reply_fits(channel, cmd->text, res);
    }
    if (rc || res->status >= 400) {
        json_decref(conv);
        return rc;
    }
    extra = json_object();
    if (json_object_get(cmd->body, "canned")) {
        json_object_set(extra, "canned", json_object_get(cmd->body,
                                                         "canned"));
    }
    if (json_object_get(cmd->body, "attachment")) {
        json_object_set(extra, "attachment",
                        json_object_get(cmd->body, "attachment"));
    }
    if (json_object_get(cmd->body, "offer")) {
        json_object_set(extra, "offer", json_object_get(cmd->body, "offer"));
    }

    if (sb_channel_third_party(channel)) {
        json_object_set_new(extra, "delivery",
                            json_pack("{s:s,s:i}", "state", "pending",
                                      "attempts", 0));
    }
    rc = sb_thread_append_ex(cx, conv, "agent", cmd->actor,
                             cmd->text ? cmd->text : "", NULL, extra, &msg);
    json_decref(extra);
    if (rc == 0 && sb_channel_third_party(channel)) {
        /* R22: in the outbox with the message, due at once; 202 says so */
        rc = sb_delivery_schedule(cx, conv, msg);
    }
    if (rc == 0) {
        sb_set_time(conv, "last_agent_message_at", cx->now);
        sb_set_time(conv, "waiting_since", 0);
        json_object_set_new(conv, "last_agent", json_string(cmd->actor));
        rc = sb_deadline_clear(cx, conv, SB_DL_REPLY);
    }
    if (rc == 0 && close_ms) {
        rc = sb_deadline_set(cx, conv, SB_DL_CLOSE, cx->now + close_ms);
    }
    if (rc == 0) {
        rc = sb_conv_save(cx, conv);
    }
    if (rc == 0) {
        sb_visitor_owner(sb_get_str(conv, "channel"),
                         sb_get_str(conv, "visitor"), owner, sizeof(owner));
        rc = sb_message_stored(cx, cmd, &ik, conv, msg, owner, "message", res);
    }
    if (rc == 0 && sb_channel_third_party(channel)) {
        res->status = 202;          /* stored; the provider has not seen it */
    }
    json_decref(msg);
    json_decref(conv);
    return rc;
}


int
sb_load_actor(sb_ctx_t *cx, sb_cmd_t *cmd, json_t **agent, sb_result_t *res)
{
    int  rc = sb_agent_load(cx, cmd->actor, agent);

    if (rc == MDB_NOTFOUND) {
        sb_result_error(res, 403, "unknown_agent",
                        "agent %s is not in the directory", cmd->actor);
        return 0;
    }
    return rc;
}


/*
 * End (R9), snooze (R7) and release (R8) share their start: the holder
 * lets go, its slot frees, its poll hears why; then each goes its way.
 */
static int
sb_apply_let_go(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    json_t      *conv, *agent = NULL;
    const char  *name;
    char         text[256], when[40];
    int          rc, k;

    rc = sb_held_conversation(cx, cmd, &conv, res);
    if (rc || conv == NULL) {
        return rc;
    }
    rc = sb_load_actor(cx, cmd, &agent, res);
    if (rc || agent == NULL) {
        json_decref(conv);
        return rc;
    }
    name = sb_get_str(agent, "name");
    k = sb_conv_class(cx, conv);

    if (cmd->type == SB_CMD_END) {
        snprintf(text, sizeof(text), "%s ended this conversation", name);
        rc = sb_end(cx, conv, cmd->actor, text, "agent");
        goto done;
    }

    rc = sb_hand_back(cx, conv, agent, cmd->type == SB_CMD_SNOOZE
                                       ? "snoozed" : "released");

    if (rc == 0 && cmd->type == SB_CMD_SNOOZE) {
        sb_format_time(cmd->until, when, sizeof(when));
        snprintf(text, sizeof(text), "%s snoozed this conversation until %s",
                 name, when);
        json_object_set_new(conv, "state", json_string("snoozed"));
        sb_set_time(conv, "snoozed_until", cmd->until);
        rc = sb_thread_append(cx, conv, "system", cmd->actor, text,
                              "snoozed", NULL);
        if (rc == 0) {
            rc = sb_deadline_set(cx, conv, SB_DL_SNOOZE, cmd->until);
        }
        if (rc == 0) {
            rc = sb_conv_save(cx, conv);
        }

    } else if (rc == 0) {
        snprintf(text, sizeof(text), "%s released this conversation", name);
        rc = sb_thread_append(cx, conv, "system", cmd->actor, text,
                              "released", NULL);
        if (rc == 0 && sb_get_int(conv, "waiting_since")) {
            /* the visitor spoke last: straight back, to someone else */
            rc = sb_route_ex(cx, conv, cmd->actor, NULL);
        } else if (rc == 0) {
            json_object_set_new(conv, "state", json_string("released"));
            rc = sb_conv_save(cx, conv);
        }
    }

    if (rc == 0 && k >= 0) {
        rc = sb_drain_avoiding(cx, cmd->actor, k, cmd->target);
    }

done:
    if (rc == 0) {
        rc = sb_query_conversation(cx->st, cx->txn, cx->tenant, cmd->target,
                                   NULL, cx->now, res);
    }
    json_decref(agent);
    json_decref(conv);
    return rc;
}


/* R5: per class or all at once; R5a: becoming available counts as seen. */
static int
sb_apply_availability(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    const sb_config_t  *cfg = cx->st->cfg;
    json_t             *agent = NULL, *avail;
    int                 rc, k;

    rc = sb_load_actor(cx, cmd, &agent, res);
    if (rc || agent == NULL) {
        return rc;
    }
    avail = json_object_get(agent, "available");
    for (k = 0; k < cfg->nclasses; k++) {
        if (cmd->klass >= 0 && cmd->klass != k) {
            continue;
        }
        if (cmd->available && !sb_agent_available(cfg, agent, k)) {
            sb_set_time(agent, "seen_at", cx->now);
        }
        json_object_set_new(avail, cfg->classes[k].name,
                            json_boolean(cmd->available));
    }
    rc = sb_agent_save(cx, agent);
    json_decref(agent);
    if (rc == 0) {
        rc = sb_drain_all(cx, cmd->actor);
    }
    if (rc == 0) {
        rc = sb_query_agent_me(cx->st, cx->txn, cx->tenant, cmd->actor,
                               cx->now, res);
    }
    return rc;
}


/* R5a: a poll marks the agent present; one coming back takes work. */
static int
sb_apply_seen(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    json_t  *agent;
    int      rc, was_present;

    rc = sb_agent_load(cx, cmd->actor, &agent);
    if (rc) {
        sb_result_error(res, 403, "unknown_agent", "no agent %s", cmd->actor);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    was_present = sb_agent_present(cx->st->cfg, agent, cx->now);
    sb_set_time(agent, "seen_at", cx->now);
    rc = sb_agent_save(cx, agent);
    json_decref(agent);
    if (rc == 0 && !was_present) {
        rc = sb_drain_all(cx, cmd->actor);
    }
    res->status = 204;
    return rc;
}


static int
sb_apply_one(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    switch (cmd->type) {
    case SB_CMD_VISITOR_MESSAGE:
        return sb_apply_visitor_message(cx, cmd, res);
    case SB_CMD_AGENT_MESSAGE:
        return sb_apply_agent_message(cx, cmd, res);
    case SB_CMD_END:
    case SB_CMD_SNOOZE:
    case SB_CMD_RELEASE:
        return sb_apply_let_go(cx, cmd, res);
    case SB_CMD_FIRE:
        return sb_fire_due(cx, cmd, res);
    case SB_CMD_TRANSFER:
        return sb_apply_transfer(cx, cmd, res);
    case SB_CMD_TAGS:
        return sb_apply_tags(cx, cmd, res);
    case SB_CMD_BLOCK:
        return sb_apply_block(cx, cmd, res);
    case SB_CMD_WEBHOOK:
        return sb_apply_webhook(cx, cmd, res);
    case SB_CMD_AVAILABILITY:
        return sb_apply_availability(cx, cmd, res);
    case SB_CMD_SEEN:
        return sb_apply_seen(cx, cmd, res);
    case SB_CMD_DELIVERED:
        return sb_apply_delivered(cx, cmd, res);
    case SB_CMD_PURGE:
        return sb_apply_purge(cx, cmd, res);
    default:
        return sb_admin_apply(cx, cmd, res);
    }
}


static void
sb_store_failure(sb_result_t *res, int rc)
{
    if (rc == MDB_MAP_FULL) {
        sb_result_error(res, 507, "store_full",
                        "the store is full; raise switchboard_store size=");
    } else {
        sb_result_error(res, 500, "store_error", "%s", mdb_strerror(rc));
    }
}


/*
 * Group commit. Every command checks everything it can refuse (4xx)
 * before its first write, so a batch runs in one flat write transaction.
 * Only a store failure (map full, I/O) inside the batch aborts it; the
 * batch is then re-run one command per transaction, so the failure gets
 * its 507/500 and the others still commit. (LMDB's nested transactions
 * would isolate each command too, but cost a 2 MB dirty list each and a
 * sorted merge into the parent: quadratic in the batch.)
 */
static int
sb_apply_run(sb_store_t *st, sb_cmd_t **cmds, sb_result_t *results,
    size_t n, sb_moved_t *moved)
{
    MDB_txn   *txn;
    sb_ctx_t   cx;
    size_t     i;
    int        rc;

    rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc) {
        return rc;
    }
    for (i = 0; i < n; i++) {
        /* a re-run after an abort must not keep what the abort produced
         * (a FIRE's claimed deliveries were never committed) */
        sb_result_free(&results[i]);
        results[i].status = 500;
        cx.st = st;
        cx.txn = txn;
        cx.tenant = cmds[i]->tenant;
        cx.now = cmds[i]->now;
        cx.moved = moved;
        cx.jobs = NULL;
        rc = sb_apply_one(&cx, cmds[i], &results[i]);
        if (rc) {
            mdb_txn_abort(txn);
            return rc;
        }
    }
    return mdb_txn_commit(txn);
}


int
sb_apply_batch(sb_store_t *st, sb_cmd_t **cmds, sb_result_t *results,
    size_t n, sb_moved_t *moved)
{
    size_t  i, mark = moved->n;
    int     rc, failed = 0;

    rc = sb_apply_run(st, cmds, results, n, moved);
    if (rc == 0) {
        return 0;
    }
    sb_moved_truncate(moved, mark);
    if (n == 1) {
        sb_store_failure(&results[0], rc);
        return rc;
    }
    for (i = 0; i < n; i++) {
        mark = moved->n;
        rc = sb_apply_run(st, &cmds[i], &results[i], 1, moved);
        if (rc) {
            sb_moved_truncate(moved, mark);
            sb_store_failure(&results[i], rc);
            failed = rc;
        }
    }
    return failed;
}
