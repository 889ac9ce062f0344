/* The outbox row of the event webhooks: the event's typed facts and the
 * state of its sending, in the record codec (sb_codec.h). */

#include "records/sb_records.h"


void
sb_outevent_encode(sb_wr_t *w, const sb_outevent_t *h)
{
    sb_wr_head(w, 'H', SB_REC_VERSION);
    sb_wr_u64(w, h->id);
    sb_wr_u8(w, h->type);
    sb_wr_u8(w, h->why);
    sb_wr_u8(w, h->channel);
    sb_wr_u8(w, h->status);
    sb_wr_u8(w, h->was);
    sb_wr_i64(w, h->at);
    sb_wr_u64(w, h->conv);
    sb_wr_i64(w, h->until);
    sb_wr_span(w, h->agent);
    sb_wr_span(w, h->klass);
    sb_wr_span(w, h->group);
    sb_wr_span(w, h->visitor);
    sb_wr_span(w, h->to_agent);
    sb_wr_span(w, h->to_group);
    sb_wr_span(w, h->comment);
    sb_wr_span(w, h->message);
    sb_wr_u32(w, h->attempts);
    sb_wr_u32(w, h->http_status);
    sb_wr_i64(w, h->due);
    sb_wr_i64(w, h->failed_at);
    sb_wr_span(w, h->error);
}


int
sb_outevent_decode(const void *p, size_t n, sb_outevent_t *h)
{
    sb_rd_t  r;

    sb_rd_init(&r, p, n);
    if (sb_rd_head(&r, 'H', SB_REC_VERSION) != 0) {
        return MDB_CORRUPTED;
    }
    h->id = sb_rd_u64(&r);
    h->type = sb_rd_u8(&r);
    h->why = sb_rd_u8(&r);
    h->channel = sb_rd_u8(&r);
    h->status = sb_rd_u8(&r);
    h->was = sb_rd_u8(&r);
    h->at = sb_rd_i64(&r);
    h->conv = sb_rd_u64(&r);
    h->until = sb_rd_i64(&r);
    h->agent = sb_rd_span(&r);
    h->klass = sb_rd_span(&r);
    h->group = sb_rd_span(&r);
    h->visitor = sb_rd_span(&r);
    h->to_agent = sb_rd_span(&r);
    h->to_group = sb_rd_span(&r);
    h->comment = sb_rd_span(&r);
    h->message = sb_rd_span(&r);
    h->attempts = sb_rd_u32(&r);
    h->http_status = sb_rd_u32(&r);
    h->due = sb_rd_i64(&r);
    h->failed_at = sb_rd_i64(&r);
    h->error = sb_rd_span(&r);
    if (sb_rd_done(&r) != 0 || h->type >= SB_HOOK_COUNT
        || h->why >= SB_WHY_COUNT || h->channel >= SB_CH_COUNT
        || h->status >= SB_STATUS_COUNT || h->was >= SB_STATUS_COUNT)
    {
        return MDB_CORRUPTED;
    }
    return 0;
}
