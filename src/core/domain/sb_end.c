/* The end of a conversation (R9, R11, R15, R19): final; its slot and its
 * clocks go, the credit goes to the author of the last agent message,
 * and a ledger entry records it. */

#include <stdio.h>

#include "domain/sb_domain.h"


static int
sb_ledger_append(sb_ctx_t *cx, const sb_conv_t *c)
{
    sb_ledger_t  l;
    sb_key_t     k;
    uint64_t     seq;

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, "#ledger");
    SB_TRY(sb_seq_next(cx, SB_DB_META, &k, 1, &seq));

    memset(&l, 0, sizeof(l));
    l.conv = c->id;
    l.channel = c->channel;
    l.end_reason = c->end_reason;
    l.ended_at = c->ended_at;
    memcpy(l.credited, c->credited, sizeof(l.credited));
    sb_key_init(&k, cx->tenant);
    sb_key_u64(&k, seq);
    return SB_REC_PUT(cx->txn, SB_DB(cx, SB_DB_LEDGER), &k, sb_ledger_encode,
                      &l);
}


/* by: who ended it (an agent, or "switchboard"); text: the thread's entry */
int
sb_end(sb_ctx_t *cx, sb_conv_t *c, const char *by, const char *text,
    sb_why_t why)
{
    sb_agent_t  *a = NULL;
    sb_event_t   e;
    sb_key_t     k;
    char         agent[SB_ID_MAX + 1];
    int          rc;

    memcpy(agent, c->agent, sizeof(agent));
    if (agent[0]) {
        rc = sb_agent_get(cx, agent, &a);
        if (rc && rc != MDB_NOTFOUND) {
            return rc;
        }
        if (a) {
            SB_TRY(sb_unassign(cx, c, a, why));
        }
        c->agent[0] = '\0';
    }
    SB_TRY(sb_dequeue(cx, c));
    SB_TRY(sb_deadline_clear_all(cx, c));
    c->snoozed_until = 0;
    c->state = SB_STATE_ENDED;
    c->ended_at = cx->now;
    c->end_reason = (uint8_t) why;
    memcpy(c->credited, c->last_agent, sizeof(c->credited));

    sb_open_key(&k, cx->tenant, c->channel, c->visitor);
    SB_TRY(sb_del(cx->txn, SB_DB(cx, SB_DB_OPEN), &k));
    SB_TRY(sb_thread_system(cx, c, SB_SYS_ENDED, by, text));
    SB_TRY(sb_ledger_append(cx, c));
    SB_TRY(sb_hook_conv(cx, c, SB_HOOK_CONV_ENDED, why, by));

    memset(&e, 0, sizeof(e));
    e.type = SB_EV_ENDED;
    e.conv = c->id;
    e.why = (uint8_t) why;
    SB_TRY(sb_log_visitor(cx, c, &e));
    if (a) {
        SB_TRY(sb_log_agent(cx, agent, &e));
        SB_TRY(sb_drain(cx, agent, c->klass, 0));
    }
    return 0;
}
