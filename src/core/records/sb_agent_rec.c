/* The agent record: name, presence (R5a), groups, and per slot class the
 * availability, capacity and slots used (R2-R5). Classes are stored by
 * name, so a class added or renamed in nginx.conf starts fresh. */

#include "records/sb_records.h"


void
sb_agent_encode(sb_wr_t *w, const sb_agent_t *a, const sb_config_t *cfg)
{
    int  i;

    sb_wr_head(w, 'A', SB_REC_VERSION);
    sb_wr_i64(w, a->created_at);
    sb_wr_i64(w, a->seen_at);
    sb_wr_i64(w, a->last_assigned_at);
    sb_wr_i64(w, a->presence_due);
    sb_wr_u8(w, a->present);
    sb_wr_str(w, a->name);
    sb_wr_u8(w, a->ngroups);
    for (i = 0; i < a->ngroups; i++) {
        sb_wr_str(w, a->groups[i]);
    }
    sb_wr_u8(w, (uint8_t) cfg->nclasses);
    for (i = 0; i < cfg->nclasses; i++) {
        sb_wr_str(w, cfg->classes[i].name);
        sb_wr_u8(w, a->cls[i].available);
        sb_wr_u32(w, (uint32_t) (int32_t) a->cls[i].capacity);
        sb_wr_u32(w, a->cls[i].used);
    }
}


int
sb_agent_decode(const void *p, size_t n, sb_agent_t *a, const sb_config_t *cfg)
{
    sb_rd_t           r;
    sb_span_t         name;
    sb_agent_class_t  c;
    int               i, k, nclasses;

    sb_rd_init(&r, p, n);
    if (sb_rd_head(&r, 'A', SB_REC_VERSION) != 0) {
        return MDB_CORRUPTED;
    }
    a->created_at = sb_rd_i64(&r);
    a->seen_at = sb_rd_i64(&r);
    a->last_assigned_at = sb_rd_i64(&r);
    a->presence_due = sb_rd_i64(&r);
    a->present = sb_rd_u8(&r);
    sb_rd_str(&r, a->name, sizeof(a->name));
    a->ngroups = sb_rd_u8(&r);
    if (a->ngroups > SB_GROUPS_MAX) {
        return MDB_CORRUPTED;
    }
    for (i = 0; i < a->ngroups; i++) {
        sb_rd_str(&r, a->groups[i], sizeof(a->groups[i]));
    }
    for (k = 0; k < SB_MAX_CLASSES; k++) {
        a->cls[k].available = 0;
        a->cls[k].capacity = -1;
        a->cls[k].used = 0;
    }
    nclasses = sb_rd_u8(&r);
    for (i = 0; i < nclasses && !r.bad; i++) {
        name = sb_rd_span(&r);
        c.available = sb_rd_u8(&r);
        c.capacity = (int16_t) (int32_t) sb_rd_u32(&r);
        c.used = (uint16_t) sb_rd_u32(&r);
        k = sb_class_find(cfg, name.p ? name.p : "", name.n);
        if (k >= 0) {
            a->cls[k] = c;
        }
    }
    return sb_rd_done(&r) == 0 ? 0 : MDB_CORRUPTED;
}


/* R10: two agents who have a group in common */
int
sb_agent_shares_group(const sb_agent_t *x, const sb_agent_t *y)
{
    int  i, j;

    for (i = 0; i < x->ngroups; i++) {
        for (j = 0; j < y->ngroups; j++) {
            if (strcmp(x->groups[i], y->groups[j]) == 0) {
                return 1;
            }
        }
    }
    return 0;
}
