/* An agent per slot class (R2, R5, R5a): its capacity, its presence, and
 * the colour it shows; the rules the router and the views share. */

#include "domain/sb_domain.h"


int
sb_agent_capacity(const sb_config_t *cfg, const sb_agent_t *a, int k)
{
    return a->cls[k].capacity >= 0 ? a->cls[k].capacity
                                   : cfg->classes[k].capacity;
}


/* R5a: present while polling; becoming available counts as a poll. */
int
sb_agent_present(const sb_config_t *cfg, const sb_agent_t *a, int64_t now)
{
    return now - a->seen_at <= cfg->presence_timeout_ms;
}


/* R2: available, present, and a free slot in the class. */
int
sb_agent_qualifies(const sb_ctx_t *cx, const sb_agent_t *a, int k)
{
    return a->cls[k].available && a->present
           && sb_agent_present(cx->cfg, a, cx->now)
           && a->cls[k].used < sb_agent_capacity(cx->cfg, a, k);
}


/* R5: green, orange or red for one class; away counts as red. */
sb_status_t
sb_agent_status(const sb_config_t *cfg, const sb_agent_t *a, int k,
    int present)
{
    if (!a->cls[k].available || !present) {
        return SB_STATUS_RED;
    }
    return a->cls[k].used >= sb_agent_capacity(cfg, a, k) ? SB_STATUS_ORANGE
                                                          : SB_STATUS_GREEN;
}
