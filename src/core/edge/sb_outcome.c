/* A command's answer, rendered after its commit: the refusal's status,
 * code and message, or what the command made, in the API's shape. */

#include <stdio.h>

#include "edge/sb_edge.h"
#include "channels/sb_channels.h"


typedef struct {
    int          status;
    const char  *code;
} sb_refusal_name_t;

static const sb_refusal_name_t  sb_refusals[SB_REFUSE_COUNT] = {
    [SB_REFUSE_NO_SLOT_CLASS] = { 422, "no_slot_class" },
    [SB_REFUSE_UNKNOWN_CONVERSATION] = { 404, "unknown_conversation" },
    [SB_REFUSE_CONVERSATION_ENDED] = { 409, "conversation_ended" },
    [SB_REFUSE_NOT_HOLDER] = { 403, "not_holder" },
    [SB_REFUSE_UNKNOWN_ACTOR] = { 403, "unknown_agent" },
    [SB_REFUSE_UNKNOWN_AGENT] = { 404, "unknown_agent" },
    [SB_REFUSE_CHANNEL_LACKS] = { 422, NULL },
    [SB_REFUSE_TOO_LONG_FOR_CHANNEL] = { 422, "text_too_long_for_channel" },
    [SB_REFUSE_UNKNOWN_CANNED] = { 404, "unknown_canned" },
    [SB_REFUSE_CANNED_TOO_LONG] = { 413, "text_too_long" },
    [SB_REFUSE_SELF_TRANSFER] = { 400, "self_transfer" },
    [SB_REFUSE_NOT_IN_YOUR_GROUPS] = { 403, "not_in_your_groups" },
    [SB_REFUSE_TARGET_UNAVAILABLE] = { 409, "target_unavailable" },
    [SB_REFUSE_TARGET_AWAY] = { 409, "target_away" },
    [SB_REFUSE_TARGET_FULL] = { 409, "target_full" },
    [SB_REFUSE_SAME_GROUP] = { 409, "same_group" },
    [SB_REFUSE_UNKNOWN_GROUP] = { 404, "unknown_group" },
    [SB_REFUSE_BUILTIN_GROUP] = { 409, "builtin_group" },
    [SB_REFUSE_GROUP_IN_USE] = { 409, "group_in_use" },
    [SB_REFUSE_NOT_BLOCKED] = { 404, "not_blocked" },
    [SB_REFUSE_UNKNOWN_VISITOR] = { 404, "unknown_visitor" },
    [SB_REFUSE_TENANT_PAUSED] = { 503, "tenant_paused" },
    [SB_REFUSE_TENANT_MOVED] = { 421, "tenant_moved" },
    [SB_REFUSE_FOREIGN_ACCOUNT] = { 403, "foreign_account" },
    [SB_REFUSE_ACCOUNT_TAKEN] = { 409, "account_taken" },
    [SB_REFUSE_UNKNOWN_ACCOUNT] = { 404, "unknown_account" }
};


/* 503 tenant_paused: the glue adds Retry-After to it */
void
sb_tenant_paused_answer(sb_answer_t *ans)
{
    sb_answer_error(ans, 503, "tenant_paused", "this tenant is being moved "
                    "to another node; try again shortly");
}


/* 421 tenant_moved: the tenant was moved to another node and dropped
 * here (sb-tenant drop's tombstone); a front routing on the pins sends
 * the retry there */
void
sb_tenant_moved_answer(sb_answer_t *ans)
{
    sb_answer_error(ans, 421, "tenant_moved", "this tenant was moved to "
                    "another node; send this to its new node (through the "
                    "front)");
}


/* the refusal's code, as the answer and the metrics name it */
const char *
sb_refusal_name(int refusal)
{
    if (refusal <= SB_REFUSE_NONE || refusal >= SB_REFUSE_COUNT) {
        return "none";
    }
    return sb_refusals[refusal].code ? sb_refusals[refusal].code
                                     : "channel_lacks";
}


static void
sb_refusal_answer(const sb_cmd_t *cmd, const sb_result_t *res,
    sb_answer_t *ans)
{
    const sb_refusal_name_t  *r = &sb_refusals[res->refusal];
    const char               *s = res->subject;
    char                      conv[24], code[48];

    sb_conv_name(cmd->conv, conv);
    switch (res->refusal) {
    case SB_REFUSE_NO_SLOT_CLASS:
        sb_answer_error(ans, r->status, r->code, "no slot class takes "
                        "channel %s", sb_channel_name(res->detail[0]));
        break;
    case SB_REFUSE_UNKNOWN_CONVERSATION:
        sb_answer_error(ans, r->status, r->code, "no conversation %s", conv);
        break;
    case SB_REFUSE_CONVERSATION_ENDED:
        sb_answer_error(ans, r->status, r->code, "conversation %s has ended",
                        conv);
        break;
    case SB_REFUSE_NOT_HOLDER:
        sb_answer_error(ans, r->status, r->code, "conversation %s is not held "
                        "by %s", conv, cmd->actor);
        break;
    case SB_REFUSE_UNKNOWN_ACTOR:
        sb_answer_error(ans, r->status, r->code, "agent %s is not in the "
                        "directory", cmd->actor);
        break;
    case SB_REFUSE_CHANNEL_LACKS:
        snprintf(code, sizeof(code), "channel_lacks_%s",
                 sb_cap_name((unsigned) res->detail[0]));
        sb_answer_error(ans, r->status, code, "the %s channel has no %s",
                        sb_channel_name(res->detail[1]),
                        sb_cap_name((unsigned) res->detail[0]));
        break;
    case SB_REFUSE_TOO_LONG_FOR_CHANNEL:
        sb_answer_error(ans, r->status, r->code, "%s takes at most %d "
                        "characters in a message (this one has %d)",
                        sb_channel_name(res->detail[0]), res->detail[1],
                        res->detail[2]);
        break;
    case SB_REFUSE_UNKNOWN_CANNED:
        sb_answer_error(ans, r->status, r->code, "no canned response %.*s",
                        (int) (cmd->u.msg.canned.n ? cmd->u.msg.canned.n
                                                   : strlen(cmd->target)),
                        cmd->u.msg.canned.n ? cmd->u.msg.canned.p
                                            : cmd->target);
        break;
    case SB_REFUSE_CANNED_TOO_LONG:
        sb_answer_error(ans, r->status, r->code, "the filled canned response "
                        "is too long");
        break;
    case SB_REFUSE_SELF_TRANSFER:
        sb_answer_error(ans, r->status, r->code, "this conversation is "
                        "already yours");
        break;
    case SB_REFUSE_NOT_IN_YOUR_GROUPS:
        sb_answer_error(ans, r->status, r->code, "%s is in none of your "
                        "groups", s);
        break;
    case SB_REFUSE_TARGET_UNAVAILABLE:
    case SB_REFUSE_TARGET_AWAY:
    case SB_REFUSE_TARGET_FULL:
        sb_answer_error(ans, r->status, r->code, "%s %s; say \"anyway\" to "
                        "insist", s,
                        res->refusal == SB_REFUSE_TARGET_UNAVAILABLE
                        ? "is unavailable"
                        : res->refusal == SB_REFUSE_TARGET_AWAY
                        ? "is away" : "has no free slot");
        break;
    case SB_REFUSE_SAME_GROUP:
        sb_answer_error(ans, r->status, r->code, "the conversation is already "
                        "in %s", s);
        break;
    case SB_REFUSE_UNKNOWN_AGENT:
        sb_answer_error(ans, r->status, r->code, "no agent %s", s);
        break;
    case SB_REFUSE_UNKNOWN_GROUP:
        sb_answer_error(ans, r->status, r->code, "no group %s", s);
        break;
    case SB_REFUSE_BUILTIN_GROUP:
        sb_answer_error(ans, r->status, r->code, "the default group always "
                        "exists");
        break;
    case SB_REFUSE_GROUP_IN_USE:
        sb_answer_error(ans, r->status, r->code, "group %s still has agents "
                        "or queued conversations", cmd->target);
        break;
    case SB_REFUSE_NOT_BLOCKED:
        sb_answer_error(ans, r->status, r->code, "%s on %s is not blocked",
                        cmd->target, sb_channel_name(cmd->channel));
        break;
    case SB_REFUSE_UNKNOWN_VISITOR:
        sb_answer_error(ans, r->status, r->code, "nothing of %s on %s",
                        cmd->target, sb_channel_name(cmd->channel));
        break;
    case SB_REFUSE_TENANT_PAUSED:
        sb_tenant_paused_answer(ans);
        break;
    case SB_REFUSE_TENANT_MOVED:
        sb_tenant_moved_answer(ans);
        break;
    case SB_REFUSE_FOREIGN_ACCOUNT:
        sb_answer_error(ans, r->status, r->code, "%s account %s belongs to "
                        "another tenant: nothing stored",
                        sb_channel_name(res->detail[0]), s);
        break;
    case SB_REFUSE_ACCOUNT_TAKEN:
        sb_answer_error(ans, r->status, r->code, "%s account %s belongs to "
                        "another tenant", sb_channel_name(cmd->channel),
                        cmd->target);
        break;
    case SB_REFUSE_UNKNOWN_ACCOUNT:
        sb_answer_error(ans, r->status, r->code, "%s account %s is not this "
                        "tenant's", sb_channel_name(cmd->channel),
                        cmd->target);
        break;
    default:
        sb_answer_error(ans, 500, "bad_refusal", "refused");
        break;
    }
}


/* {conversation, message} (and replayed), from the stored record */
static void
sb_message_answer(const sb_result_t *res, int status, sb_answer_t *ans)
{
    sb_jw_t    w;
    sb_span_t  rec = { (const char *) res->record, res->record_len };
    char       conv[24];

    sb_jw_init(&w, 256 + res->record_len);
    sb_jw_obj(&w);
    sb_jw_key(&w, "conversation");
    sb_jw_strn(&w, conv, sb_conv_name(res->conv, conv));
    sb_jw_key(&w, "message");
    if (rec.n) {
        sb_render_message(&w, rec);
    } else {
        sb_jw_null(&w);              /* a replay of one retention deleted */
    }
    if (res->outcome == SB_REPLAYED) {
        sb_jw_kbool(&w, "replayed", 1);
    }
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, status, ans);
}


static void
sb_conversation_answer(sb_store_t *st, MDB_txn *txn, const sb_cmd_t *cmd,
    uint64_t id, sb_answer_t *ans)
{
    static const sb_page_t  tail = { SB_THREAD_TAIL, 0 };
    char                    conv[24];

    /* its last entries (the action's own among them), not the thread */
    sb_conv_name(id, conv);
    sb_query_conversation(st, txn, cmd->tenant, conv, NULL, &tail, cmd->now,
                          ans);
}


/* An entry the admin wrote: {"id", fields…} as it was sent. */
static void
sb_entry_answer(const sb_cmd_t *cmd, int status, sb_answer_t *ans)
{
    sb_jw_t  w;

    sb_jw_init(&w, 256);
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "id", cmd->target);
    if (cmd->type == SB_CMD_PUT_GROUP) {
        sb_jw_kspan(&w, "name", cmd->u.entry.name);
    } else {
        sb_jw_kspan(&w, "title", cmd->u.entry.title);
        sb_jw_kspan(&w, "text", cmd->u.entry.text);
    }
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, status, ans);
}


/* {"tenant", "paused"} */
static void
sb_pause_answer(const sb_cmd_t *cmd, sb_answer_t *ans)
{
    sb_jw_t  w;

    sb_jw_init(&w, 64);
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "tenant", cmd->tenant);
    sb_jw_kbool(&w, "paused", cmd->type == SB_CMD_PAUSE);
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, 200, ans);
}


/* {"erased": {counts}, "audit": n}: what a visitor's erasure removed */
static void
sb_erased_answer(const sb_cmd_t *cmd, const sb_erased_t *e,
    sb_answer_t *ans)
{
    sb_jw_t  w;

    sb_jw_init(&w, 256);
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "channel", sb_channel_name(cmd->channel));
    sb_jw_kstr(&w, "visitor", cmd->target);
    sb_render_erased(&w, e);
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, 200, ans);
}


/* {"replayed": n}: the failed events back in the outbox (a slice) */
static void
sb_replay_answer(const sb_result_t *res, sb_answer_t *ans)
{
    sb_jw_t  w;

    sb_jw_init(&w, 32);
    sb_jw_obj(&w);
    sb_jw_kint(&w, "replayed", (int64_t) res->replayed);
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, 200, ans);
}


void
sb_result_answer(sb_store_t *st, MDB_txn *txn, const sb_cmd_t *cmd,
    const sb_result_t *res, sb_answer_t *ans)
{
    int  created = res->outcome == SB_CREATED;

    switch (res->outcome) {
    case SB_REFUSED:
        sb_refusal_answer(cmd, res, ans);
        return;
    case SB_STORE_FULL:
        sb_answer_error(ans, 507, "store_full",
                        "the store is full; raise switchboard_store size=");
        return;
    case SB_STORE_FAILED:
        sb_store_error(ans, res->store_rc);
        return;
    default:
        break;
    }

    switch (cmd->type) {
    case SB_CMD_VISITOR_MESSAGE:
    case SB_CMD_AGENT_MESSAGE:
        if (res->outcome == SB_ACCEPTED && res->record == NULL) {
            /* R11: a blocked visitor is acknowledged, not told */
            (void) sb_answer_text(ans, 202, NULL, "{\"accepted\":true}", 17);
            return;
        }
        sb_message_answer(res, res->outcome == SB_REPLAYED ? 200
                               : res->outcome == SB_ACCEPTED ? 202 : 201,
                          ans);
        return;
    case SB_CMD_WEBHOOK:
        sb_channel_ops(cmd->channel)->answer(&res->tally, ans);
        return;
    case SB_CMD_END:
    case SB_CMD_SNOOZE:
    case SB_CMD_RELEASE:
    case SB_CMD_TRANSFER:
    case SB_CMD_TAGS:
    case SB_CMD_BLOCK:
        sb_conversation_answer(st, txn, cmd, res->conv, ans);
        return;
    case SB_CMD_AVAILABILITY:
        sb_query_agent_me(st, txn, cmd->tenant, cmd->actor, cmd->now, ans);
        return;
    case SB_CMD_PUT_AGENT:
        sb_query_agent_me(st, txn, cmd->tenant, cmd->target, cmd->now, ans);
        ans->status = ans->status == 200 && created ? 201 : ans->status;
        return;
    case SB_CMD_PUT_GROUP:
    case SB_CMD_PUT_CANNED:
        sb_entry_answer(cmd, created ? 201 : 200, ans);
        return;
    case SB_CMD_HOOK_REPLAY:
        sb_replay_answer(res, ans);
        return;
    case SB_CMD_PAUSE:
    case SB_CMD_RESUME:
        sb_pause_answer(cmd, ans);
        return;
    case SB_CMD_PUT_ACCOUNT:
        sb_query_account(st, txn, cmd->tenant, cmd->channel, cmd->target,
                         ans);
        ans->status = ans->status == 200 && created ? 201 : ans->status;
        return;
    case SB_CMD_ERASE_VISITOR:
        sb_erased_answer(cmd, &res->visitor_erased, ans);
        return;
    default:
        ans->status = 204;
        return;
    }
}
