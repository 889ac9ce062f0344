/* Working together (R10, R11): transfer to an agent of one's groups or to
 * another group, tags replaced as a set, and blocking a visitor, each
 * checked against the channel's capabilities before anything is written. */

#include <stdio.h>

#include "commands/sb_commands.h"


/* The refusals of a transfer to an agent; 1 when it may go ahead. */
static int
sb_transfer_to_agent_ok(sb_ctx_t *cx, const sb_cmd_t *cmd,
    const sb_conv_t *c, const sb_agent_t *me, const sb_agent_t *to)
{
    int  k = c->klass, anyway = cmd->u.transfer.anyway;

    if (!sb_agent_shares_group(me, to)) {
        sb_refuse_about(cx, SB_REFUSE_NOT_IN_YOUR_GROUPS, to->id, 0, 0, 0);
        return 0;
    }
    if (!anyway && !to->cls[k].available) {
        sb_refuse_about(cx, SB_REFUSE_TARGET_UNAVAILABLE, to->id, 0, 0, 0);
        return 0;
    }
    if (!anyway && !sb_agent_present(cx->cfg, to, cx->now)) {
        sb_refuse_about(cx, SB_REFUSE_TARGET_AWAY, to->id, 0, 0, 0);
        return 0;
    }
    if (!anyway && to->cls[k].used >= sb_agent_capacity(cx->cfg, to, k)) {
        sb_refuse_about(cx, SB_REFUSE_TARGET_FULL, to->id, 0, 0, 0);
        return 0;
    }
    return 1;
}


/* conversation.transferred: from its holder to an agent or a group */
static int
sb_hook_transferred(sb_ctx_t *cx, const sb_conv_t *c, const sb_cmd_t *cmd)
{
    sb_outevent_t  h;

    sb_hook_init(cx, &h, SB_HOOK_CONV_TRANSFERRED, c);
    h.agent = sb_cspan(cmd->actor);
    h.to_agent = cmd->u.transfer.agent;
    h.to_group = cmd->u.transfer.group;
    h.comment = cmd->u.transfer.comment;
    return sb_hook_emit(cx, &h);
}


/* R10: to an agent of one's groups, or to another group. */
int
sb_apply_transfer(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_conv_t   *c;
    sb_agent_t  *me, *to = NULL;
    sb_event_t   e;
    sb_key_t     k;
    sb_span_t    gname = { NULL, 0 }, unused;
    MDB_val      val;
    char         target[SB_ID_MAX + 1], text[2 * SB_NAME_MAX + SB_COMMENT_MAX
                                             + 64];
    const char  *comment = cmd->u.transfer.comment.p;
    int          rc, k0;

    SB_TRY(sb_held_conversation(cx, cmd, &c));
    if (c == NULL || !sb_channel_can(cx, c, SB_CAP_TRANSFER)) {
        return 0;
    }
    SB_TRY(sb_load_actor(cx, cmd, &me));
    if (me == NULL) {
        return 0;
    }
    k0 = c->klass;
    cx->res->conv = c->id;
    if (k0 < 0) {
        /* its class went with a reload and no class takes its channel */
        return sb_refuse_about(cx, SB_REFUSE_NO_SLOT_CLASS, NULL, c->channel,
                               0, 0);
    }

    if (cmd->u.transfer.agent.n) {
        snprintf(target, sizeof(target), "%.*s",
                 (int) cmd->u.transfer.agent.n, cmd->u.transfer.agent.p);
        if (strcmp(target, cmd->actor) == 0) {
            return sb_refuse(cx, SB_REFUSE_SELF_TRANSFER);
        }
        rc = sb_agent_get(cx, target, &to);
        if (rc == MDB_NOTFOUND) {
            return sb_refuse_about(cx, SB_REFUSE_UNKNOWN_AGENT, target, 0, 0,
                                   0);
        }
        SB_TRY(rc);
        if (!sb_transfer_to_agent_ok(cx, cmd, c, me, to)) {
            return 0;
        }
        snprintf(text, sizeof(text), "%s transferred this conversation to %s"
                 "%s%s", me->name, to->name, comment ? ": " : "",
                 comment ? comment : "");

    } else {
        snprintf(target, sizeof(target), "%.*s",
                 (int) cmd->u.transfer.group.n, cmd->u.transfer.group.p);
        if (strcmp(target, c->group) == 0) {
            return sb_refuse_about(cx, SB_REFUSE_SAME_GROUP, target, 0, 0, 0);
        }
        sb_key_init(&k, cx->tenant);
        sb_key_str(&k, target);
        rc = sb_get(cx->txn, SB_DB(cx, SB_DB_GROUP), &k, &val);
        if (rc == 0) {
            SB_TRY(sb_pair_decode(val.mv_data, val.mv_size, 'G', &gname,
                                  &unused));
        } else if (rc == MDB_NOTFOUND && strcmp(target, "default") != 0) {
            return sb_refuse_about(cx, SB_REFUSE_UNKNOWN_GROUP, target, 0, 0,
                                   0);
        } else if (rc != MDB_NOTFOUND) {
            return rc;
        }
        snprintf(text, sizeof(text), "%s transferred this conversation to "
                 "group %.*s%s%s", me->name,
                 (int) (gname.n ? gname.n : strlen(target)),
                 gname.n ? gname.p : target, comment ? ": " : "",
                 comment ? comment : "");
    }

    /* every check passed: now the writes */
    SB_TRY(sb_hand_back(cx, c, me, SB_WHY_TRANSFERRED));
    SB_TRY(sb_thread_system(cx, c, SB_SYS_TRANSFERRED, cmd->actor, text));
    SB_TRY(sb_hook_transferred(cx, c, cmd));
    if (to) {
        SB_TRY(sb_assign(cx, c, to));
        if (comment) {
            /* the receiving agent's poll carries the comment too */
            memset(&e, 0, sizeof(e));
            e.type = SB_EV_TRANSFERRED;
            e.conv = c->id;
            e.from.p = cmd->actor;
            e.from.n = strlen(cmd->actor);
            e.comment = cmd->u.transfer.comment;
            SB_TRY(sb_log_agent(cx, to->id, &e));
        }
    } else {
        snprintf(c->group, sizeof(c->group), "%s", target);
        SB_TRY(sb_route(cx, c, cmd->actor, NULL));
    }
    return sb_drain(cx, cmd->actor, k0, c->id);
}


/* R11: tags replace the set; the agent must hold the conversation. */
int
sb_apply_tags(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_conv_t  *c;

    SB_TRY(sb_held_conversation(cx, cmd, &c));
    if (c == NULL || !sb_channel_can(cx, c, SB_CAP_TAGS)) {
        return 0;
    }
    cx->res->conv = c->id;
    return sb_tags_replace(cx, c, cmd->u.tags.tags, cmd->u.tags.n);
}


/* R11: the conversation ends; the visitor's later messages are dropped. */
int
sb_apply_block(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_conv_t   *c;
    sb_agent_t  *a;
    sb_block_t   b;
    sb_key_t     k;
    char         text[SB_NAME_MAX + 48];

    SB_TRY(sb_held_conversation(cx, cmd, &c));
    if (c == NULL || !sb_channel_can(cx, c, SB_CAP_BLOCK)) {
        return 0;
    }
    SB_TRY(sb_load_actor(cx, cmd, &a));
    if (a == NULL) {
        return 0;
    }
    cx->res->conv = c->id;

    memset(&b, 0, sizeof(b));
    snprintf(b.channel, sizeof(b.channel), "%s", sb_channel_name(c->channel));
    memcpy(b.visitor, c->visitor, sizeof(b.visitor));
    snprintf(b.by, sizeof(b.by), "%.*s", SB_ID_MAX, cmd->actor);
    b.at = cx->now;
    b.conv = c->id;
    sb_open_key(&k, cx->tenant, c->channel, c->visitor);
    SB_TRY(SB_REC_PUT(cx->txn, SB_DB(cx, SB_DB_BLOCK), &k, sb_block_encode,
                      &b));

    snprintf(text, sizeof(text), "%s blocked this visitor", a->name);
    SB_TRY(sb_thread_system(cx, c, SB_SYS_BLOCKED, cmd->actor, text));
    snprintf(text, sizeof(text), "%s ended this conversation", a->name);
    return sb_end(cx, c, cmd->actor, text, SB_WHY_BLOCKED);
}
