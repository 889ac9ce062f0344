/* The conversation record: its state, channel and class, the times that
 * drive routing and deadlines, who holds it, and the provider's names
 * for answering it. The class is stored by name (nginx.conf may change);
 * a name no class has any more reads as its channel's class of now. */

#include <stdio.h>

#include "records/sb_records.h"


void
sb_conv_encode(sb_wr_t *w, const sb_conv_t *c, const sb_config_t *cfg)
{
    int  i;

    sb_wr_head(w, 'C', SB_REC_VERSION);
    sb_wr_u8(w, c->state);
    sb_wr_u8(w, c->channel);
    sb_wr_u8(w, c->end_reason);
    sb_wr_u8(w, c->first_reply);
    sb_wr_u32(w, c->nhandlers);
    sb_wr_u64(w, c->seq);
    sb_wr_i64(w, c->created_at);
    sb_wr_i64(w, c->last_visitor_at);
    sb_wr_i64(w, c->last_agent_at);
    sb_wr_i64(w, c->waiting_since);
    sb_wr_i64(w, c->queued_at);
    sb_wr_i64(w, c->assigned_at);
    sb_wr_i64(w, c->snoozed_until);
    sb_wr_i64(w, c->ended_at);
    for (i = 0; i < SB_DL_CONV_KINDS; i++) {
        sb_wr_i64(w, c->due[i]);
    }
    sb_wr_str(w, c->klass >= 0 ? cfg->classes[c->klass].name : "");
    sb_wr_str(w, c->group);
    sb_wr_str(w, c->visitor);
    sb_wr_str(w, c->agent);
    sb_wr_str(w, c->last_agent);
    sb_wr_str(w, c->credited);
    sb_wr_str(w, c->account);
    sb_wr_str(w, c->contact);
    sb_wr_str(w, c->reply_to);
}


int
sb_conv_decode(const void *p, size_t n, sb_conv_t *c, const sb_config_t *cfg)
{
    sb_rd_t    r;
    sb_span_t  klass;
    int        i;

    sb_rd_init(&r, p, n);
    if (sb_rd_head(&r, 'C', SB_REC_VERSION) != 0) {
        return MDB_CORRUPTED;
    }
    c->state = sb_rd_u8(&r);
    c->channel = sb_rd_u8(&r);
    c->end_reason = sb_rd_u8(&r);
    c->first_reply = sb_rd_u8(&r);
    c->nhandlers = sb_rd_u32(&r);
    c->seq = sb_rd_u64(&r);
    c->created_at = sb_rd_i64(&r);
    c->last_visitor_at = sb_rd_i64(&r);
    c->last_agent_at = sb_rd_i64(&r);
    c->waiting_since = sb_rd_i64(&r);
    c->queued_at = sb_rd_i64(&r);
    c->assigned_at = sb_rd_i64(&r);
    c->snoozed_until = sb_rd_i64(&r);
    c->ended_at = sb_rd_i64(&r);
    for (i = 0; i < SB_DL_CONV_KINDS; i++) {
        c->due[i] = sb_rd_i64(&r);
    }
    klass = sb_rd_span(&r);
    c->klass = (int8_t) sb_class_find(cfg, klass.p ? klass.p : "", klass.n);
    sb_rd_str(&r, c->group, sizeof(c->group));
    sb_rd_str(&r, c->visitor, sizeof(c->visitor));
    sb_rd_str(&r, c->agent, sizeof(c->agent));
    sb_rd_str(&r, c->last_agent, sizeof(c->last_agent));
    sb_rd_str(&r, c->credited, sizeof(c->credited));
    sb_rd_str(&r, c->account, sizeof(c->account));
    sb_rd_str(&r, c->contact, sizeof(c->contact));
    sb_rd_str(&r, c->reply_to, sizeof(c->reply_to));
    if (sb_rd_done(&r) != 0 || c->state >= SB_STATE_COUNT
        || c->channel >= SB_CH_COUNT || c->end_reason >= SB_WHY_COUNT)
    {
        return MDB_CORRUPTED;
    }
    if (c->klass < 0) {
        /* its class was renamed or removed by a reload: it takes the one
         * its channel belongs to now (-1 when none does, issue 19) */
        c->klass = (int8_t) sb_class_of_channel(cfg, c->channel);
    }
    return 0;
}


size_t
sb_conv_name(uint64_t id, char *buf)
{
    return (size_t) sprintf(buf, "c%llu", (unsigned long long) id);
}


/* "c" then a decimal without a leading zero; anything else names no
 * conversation */
int
sb_conv_parse(const char *s, size_t len, uint64_t *id)
{
    uint64_t  v = 0;
    size_t    i;

    if (len < 2 || len > 20 || s[0] != 'c' || s[1] == '0') {
        return -1;
    }
    for (i = 1; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10) {
            return -1;
        }
        v = v * 10 + (uint64_t) (s[i] - '0');
    }
    *id = v;
    return 0;
}
