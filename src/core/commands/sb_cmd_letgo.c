/* End (R9), snooze (R7) and release (R8) share their start: the holder
 * lets go, its slot frees, its poll hears why; then each goes its way,
 * and the freed slot takes waiting work (not the one just let go). */

#include <stdio.h>

#include "commands/sb_commands.h"


int
sb_apply_let_go(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_conv_t   *c;
    sb_agent_t  *a;
    char         text[SB_NAME_MAX + 96], when[40];
    int          k;

    SB_TRY(sb_held_conversation(cx, cmd, &c));
    if (c == NULL) {
        return 0;
    }
    SB_TRY(sb_load_actor(cx, cmd, &a));
    if (a == NULL) {
        return 0;
    }
    k = c->klass;
    cx->res->conv = c->id;
    if (k < 0 && cmd->type == SB_CMD_RELEASE && c->waiting_since) {
        /* it would be routed again, and no class takes its channel */
        return sb_refuse_about(cx, SB_REFUSE_NO_SLOT_CLASS, NULL, c->channel,
                               0, 0);
    }

    if (cmd->type == SB_CMD_END) {
        snprintf(text, sizeof(text), "%s ended this conversation", a->name);
        return sb_end(cx, c, cmd->actor, text, SB_WHY_AGENT);
    }

    SB_TRY(sb_hand_back(cx, c, a, cmd->type == SB_CMD_SNOOZE
                                  ? SB_WHY_SNOOZED : SB_WHY_RELEASED));

    if (cmd->type == SB_CMD_SNOOZE) {
        sb_format_time(cmd->u.snooze.until, when, sizeof(when));
        snprintf(text, sizeof(text), "%s snoozed this conversation until %s",
                 a->name, when);
        c->state = SB_STATE_SNOOZED;
        c->snoozed_until = cmd->u.snooze.until;
        SB_TRY(sb_thread_system(cx, c, SB_SYS_SNOOZED, cmd->actor, text));
        SB_TRY(sb_deadline_set(cx, c, SB_DL_SNOOZE, cmd->u.snooze.until));
        SB_TRY(sb_hook_conv(cx, c, SB_HOOK_CONV_SNOOZED, SB_WHY_NONE,
                            cmd->actor));

    } else {
        snprintf(text, sizeof(text), "%s released this conversation",
                 a->name);
        SB_TRY(sb_thread_system(cx, c, SB_SYS_RELEASED, cmd->actor, text));
        SB_TRY(sb_hook_conv(cx, c, SB_HOOK_CONV_RELEASED, SB_WHY_NONE,
                            cmd->actor));
        if (c->waiting_since) {
            /* the visitor spoke last: straight back, to someone else */
            SB_TRY(sb_route(cx, c, cmd->actor, NULL));
        } else {
            c->state = SB_STATE_RELEASED;
        }
    }
    return sb_drain(cx, cmd->actor, k, c->id);
}
