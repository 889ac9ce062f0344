/* An agent's own state (R5, R5a): availability per class or for all at
 * once, and presence from its polls. Either may let it take waiting work
 * at once (R3). */

#include "commands/sb_commands.h"


/* R5: per class or all at once; R5a: becoming available counts as seen. */
int
sb_apply_availability(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_agent_t  *a;
    int          k, seen = 0;

    SB_TRY(sb_load_actor(cx, cmd, &a));
    if (a == NULL) {
        return 0;
    }
    for (k = 0; k < cx->cfg->nclasses; k++) {
        if (cmd->u.availability.klass >= 0
            && cmd->u.availability.klass != k)
        {
            continue;
        }
        if (cmd->u.availability.available && !a->cls[k].available) {
            seen = 1;
        }
        a->cls[k].available = (uint8_t) cmd->u.availability.available;
    }
    SB_TRY(seen ? sb_presence_seen(cx, a) : sb_ready_sync(cx, a));
    return sb_drain_all(cx, cmd->actor);
}


/* R5a: a poll marks the agent present; one coming back takes work. */
int
sb_apply_seen(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_agent_t  *a;
    int          rc, was;

    rc = sb_agent_get(cx, cmd->actor, &a);
    if (rc == MDB_NOTFOUND) {
        return sb_refuse(cx, SB_REFUSE_UNKNOWN_ACTOR);
    }
    SB_TRY(rc);
    was = a->present && sb_agent_present(cx->cfg, a, cx->now);
    SB_TRY(sb_presence_seen(cx, a));
    return was ? 0 : sb_drain_all(cx, cmd->actor);
}
