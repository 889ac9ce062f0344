/* The router (R1-R5a, R7, R8, R13, R14b): assigns a conversation to the
 * agent R2 picks or queues it, drains queues the moment a slot frees up,
 * and takes a conversation back from its agent. */

#include <stdio.h>

#include "domain/sb_domain.h"


static void
sb_held_key(sb_key_t *k, const char *tenant, const char *agent,
    uint64_t conv)
{
    sb_key_init(k, tenant);
    sb_key_str(k, agent);
    sb_key_u64(k, conv);
}


/* The conversations an agent holds: a row each, with the class's name. */
int
sb_held_add(sb_ctx_t *cx, const sb_conv_t *c, const char *agent)
{
    sb_key_t     k;
    const char  *klass = c->klass >= 0 ? cx->cfg->classes[c->klass].name : "";

    sb_held_key(&k, cx->tenant, agent, c->id);
    return sb_put(cx->txn, SB_DB(cx, SB_DB_HELD), &k, klass, strlen(klass));
}


int
sb_held_del(sb_ctx_t *cx, const sb_conv_t *c, const char *agent)
{
    sb_key_t  k;

    sb_held_key(&k, cx->tenant, agent, c->id);
    return sb_del(cx->txn, SB_DB(cx, SB_DB_HELD), &k);
}


/* R13: an agent given a waiting visitor has first_reply_timeout to answer */
int
sb_assign(sb_ctx_t *cx, sb_conv_t *c, sb_agent_t *a)
{
    sb_event_t  e;
    char        text[SB_NAME_MAX + 32];
    const char *klass;

    if (c->klass < 0) {
        return MDB_INCOMPATIBLE;           /* refused before any write */
    }
    klass = cx->cfg->classes[c->klass].name;
    SB_TRY(sb_dequeue(cx, c));
    c->state = SB_STATE_ASSIGNED;
    snprintf(c->agent, sizeof(c->agent), "%s", a->id);
    c->assigned_at = cx->now;
    SB_TRY(sb_handler_open(cx, c, a->id));
    SB_TRY(sb_held_add(cx, c, a->id));
    a->cls[c->klass].used++;
    a->last_assigned_at = cx->now;
    SB_TRY(sb_ready_sync(cx, a));

    snprintf(text, sizeof(text), "Assigned to %s", a->name);
    SB_TRY(sb_thread_system(cx, c, SB_SYS_ASSIGNED, "switchboard", text));
    SB_TRY(sb_hook_conv(cx, c, SB_HOOK_CONV_ASSIGNED, SB_WHY_NONE, a->id));

    memset(&e, 0, sizeof(e));
    e.type = SB_EV_ASSIGNED;
    e.conv = c->id;
    e.channel = c->channel;
    e.klass.p = klass;
    e.klass.n = strlen(klass);
    e.group.p = c->group;
    e.group.n = strlen(c->group);
    e.visitor.p = c->visitor;
    e.visitor.n = strlen(c->visitor);
    SB_TRY(sb_log_agent(cx, a->id, &e));

    if (c->waiting_since) {
        c->first_reply = 1;
        SB_TRY(sb_deadline_set(cx, c, SB_DL_REPLY,
                               cx->now + cx->cfg->first_reply_ms));
    }
    return 0;
}


/* Assigns or queues; prefer (R14b) wins when that agent is green. */
int
sb_route(sb_ctx_t *cx, sb_conv_t *c, const char *exclude, const char *prefer)
{
    sb_agent_t  *best = NULL;

    if (c->klass < 0) {
        return MDB_INCOMPATIBLE;
    }
    if (prefer && prefer[0] && sb_agent_get(cx, prefer, &best) == 0
        && !sb_agent_qualifies(cx, best, c->klass))
    {
        best = NULL;
    }
    if (best == NULL) {
        SB_TRY(sb_pick(cx, c, exclude, &best));
    }
    return best ? sb_assign(cx, c, best) : sb_enqueue(cx, c);
}


/* The agent of a conversation's last handler row, or "". */
int
sb_last_handler(sb_ctx_t *cx, const sb_conv_t *c, char *agent)
{
    sb_handler_t  h;
    sb_key_t      k;
    MDB_val       val;
    int           rc;

    agent[0] = '\0';
    if (c->nhandlers == 0) {
        return 0;
    }
    sb_key_init(&k, cx->tenant);
    sb_key_u64(&k, c->id);
    sb_key_u32(&k, c->nhandlers - 1);
    rc = sb_get(cx->txn, SB_DB(cx, SB_DB_HANDLER), &k, &val);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    SB_TRY(sb_handler_decode(val.mv_data, val.mv_size, &h));
    memcpy(agent, h.agent, sizeof(h.agent));
    return 0;
}


/* R7, R8: a snoozed or released conversation comes back to routing. */
int
sb_wake(sb_ctx_t *cx, sb_conv_t *c, const char *why)
{
    char  text[128], last[SB_ID_MAX + 1] = "";

    SB_TRY(sb_deadline_clear(cx, c, SB_DL_SNOOZE));
    c->snoozed_until = 0;
    snprintf(text, sizeof(text), "Woke up: %s", why);
    SB_TRY(sb_thread_system(cx, c, SB_SYS_WOKE, "switchboard", text));
    SB_TRY(sb_hook_conv(cx, c, SB_HOOK_CONV_WOKE, SB_WHY_NONE, NULL));
    if (cx->cfg->sticky) {
        SB_TRY(sb_last_handler(cx, c, last));
    }
    return sb_route(cx, c, NULL, last);
}


/* R3: the moment an agent can take work, it takes the longest waiting;
 * avoid: a conversation this agent just let go of (R8) is not taken back */
int
sb_drain(sb_ctx_t *cx, const char *agent, int k, uint64_t avoid)
{
    sb_agent_t  *a;
    sb_conv_t   *c;
    uint64_t     id;
    int          rc;

    if (k < 0) {
        return 0;
    }
    for ( ;; ) {
        rc = sb_agent_get(cx, agent, &a);
        if (rc) {
            return rc == MDB_NOTFOUND ? 0 : rc;
        }
        if (!sb_agent_qualifies(cx, a, k)) {
            return 0;
        }
        SB_TRY(sb_queue_oldest(cx, a, k, avoid, &id));
        if (id == 0) {
            return 0;
        }
        SB_TRY(sb_conv_get(cx, id, &c));
        SB_TRY(sb_assign(cx, c, a));
    }
}


int
sb_drain_all(sb_ctx_t *cx, const char *agent)
{
    int  k;

    for (k = 0; k < cx->cfg->nclasses; k++) {
        SB_TRY(sb_drain(cx, agent, k, 0));
    }
    return 0;
}


/* Frees the agent's slot and the reply clock; the handler row closes. */
int
sb_unassign(sb_ctx_t *cx, sb_conv_t *c, sb_agent_t *a, sb_why_t why)
{
    SB_TRY(sb_hook_conv(cx, c, SB_HOOK_CONV_UNASSIGNED, why, a->id));
    SB_TRY(sb_held_del(cx, c, a->id));
    if (c->klass >= 0 && a->cls[c->klass].used > 0) {
        a->cls[c->klass].used--;
    }
    SB_TRY(sb_ready_sync(cx, a));
    SB_TRY(sb_handler_close(cx, c));
    c->agent[0] = '\0';
    return sb_deadline_clear(cx, c, SB_DL_REPLY);
}


/* The holder lets go: slot and reply clock freed, its poll told why. */
int
sb_hand_back(sb_ctx_t *cx, sb_conv_t *c, sb_agent_t *a, sb_why_t why)
{
    sb_event_t  e;

    SB_TRY(sb_unassign(cx, c, a, why));
    memset(&e, 0, sizeof(e));
    e.type = SB_EV_UNASSIGNED;
    e.conv = c->id;
    e.why = (uint8_t) why;
    return sb_log_agent(cx, a->id, &e);
}


/* Takes a conversation from an agent being removed and routes it again. */
int
sb_requeue(sb_ctx_t *cx, sb_conv_t *c)
{
    sb_agent_t  *a;
    int          rc;

    rc = sb_agent_get(cx, c->agent, &a);
    if (rc == 0) {
        rc = sb_unassign(cx, c, a, SB_WHY_AGENT_REMOVED);
    }
    if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    c->agent[0] = '\0';
    SB_TRY(sb_thread_system(cx, c, SB_SYS_REASSIGNED, "switchboard",
                            "Returned to the queue: its agent was removed"));
    return sb_route(cx, c, NULL, NULL);
}
