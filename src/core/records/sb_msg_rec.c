/* Thread entries (R6, R17) and log events (R24). Both are read in place:
 * their byte strings point into the record they were decoded from. */

#include "records/sb_records.h"


void
sb_msg_encode(sb_wr_t *w, const sb_msg_t *m)
{
    const sb_delivery_t  *d = &m->delivery;

    sb_wr_head(w, 'M', SB_REC_VERSION);
    sb_wr_u64(w, m->seq);
    sb_wr_u8(w, m->kind);
    sb_wr_u8(w, m->event);
    sb_wr_i64(w, m->at);
    sb_wr_span(w, m->author);
    sb_wr_span(w, m->text);
    sb_wr_span(w, m->media);
    sb_wr_span(w, m->canned);
    sb_wr_span(w, m->attachment_url);
    sb_wr_span(w, m->attachment_name);
    sb_wr_span(w, m->offer_title);
    sb_wr_span(w, m->offer_url);
    sb_wr_u8(w, d->state);
    if (d->state == SB_DLV_NONE) {
        return;
    }
    sb_wr_u32(w, d->attempts);
    sb_wr_u32(w, d->http_status);
    sb_wr_i64(w, d->due);
    sb_wr_i64(w, d->retry_at);
    sb_wr_i64(w, d->sent_at);
    sb_wr_i64(w, d->delivered_at);
    sb_wr_i64(w, d->read_at);
    sb_wr_i64(w, d->failed_at);
    sb_wr_span(w, d->provider_id);
    sb_wr_span(w, d->error);
}


int
sb_msg_decode(const void *p, size_t n, sb_msg_t *m)
{
    sb_rd_t         r;
    sb_delivery_t  *d = &m->delivery;

    memset(m, 0, sizeof(sb_msg_t));
    sb_rd_init(&r, p, n);
    if (sb_rd_head(&r, 'M', SB_REC_VERSION) != 0) {
        return MDB_CORRUPTED;
    }
    m->seq = sb_rd_u64(&r);
    m->kind = sb_rd_u8(&r);
    m->event = sb_rd_u8(&r);
    m->at = sb_rd_i64(&r);
    m->author = sb_rd_span(&r);
    m->text = sb_rd_span(&r);
    m->media = sb_rd_span(&r);
    m->canned = sb_rd_span(&r);
    m->attachment_url = sb_rd_span(&r);
    m->attachment_name = sb_rd_span(&r);
    m->offer_title = sb_rd_span(&r);
    m->offer_url = sb_rd_span(&r);
    d->state = sb_rd_u8(&r);
    if (d->state != SB_DLV_NONE) {
        d->attempts = sb_rd_u32(&r);
        d->http_status = sb_rd_u32(&r);
        d->due = sb_rd_i64(&r);
        d->retry_at = sb_rd_i64(&r);
        d->sent_at = sb_rd_i64(&r);
        d->delivered_at = sb_rd_i64(&r);
        d->read_at = sb_rd_i64(&r);
        d->failed_at = sb_rd_i64(&r);
        d->provider_id = sb_rd_span(&r);
        d->error = sb_rd_span(&r);
    }
    if (sb_rd_done(&r) != 0 || m->kind > SB_KIND_SYSTEM
        || m->event >= SB_SYS_COUNT || d->state > SB_DLV_FAILED)
    {
        return MDB_CORRUPTED;
    }
    return 0;
}


void
sb_event_encode(sb_wr_t *w, const sb_event_t *e)
{
    sb_wr_head(w, 'E', SB_REC_VERSION);
    sb_wr_u64(w, e->seq);
    sb_wr_u8(w, e->type);
    sb_wr_u8(w, e->why);
    sb_wr_u8(w, e->channel);
    sb_wr_i64(w, e->at);
    sb_wr_u64(w, e->conv);
    sb_wr_span(w, e->klass);
    sb_wr_span(w, e->group);
    sb_wr_span(w, e->visitor);
    sb_wr_span(w, e->from);
    sb_wr_span(w, e->comment);
    sb_wr_span(w, e->message);
}


int
sb_event_decode(const void *p, size_t n, sb_event_t *e)
{
    sb_rd_t  r;

    sb_rd_init(&r, p, n);
    if (sb_rd_head(&r, 'E', SB_REC_VERSION) != 0) {
        return MDB_CORRUPTED;
    }
    e->seq = sb_rd_u64(&r);
    e->type = sb_rd_u8(&r);
    e->why = sb_rd_u8(&r);
    e->channel = sb_rd_u8(&r);
    e->at = sb_rd_i64(&r);
    e->conv = sb_rd_u64(&r);
    e->klass = sb_rd_span(&r);
    e->group = sb_rd_span(&r);
    e->visitor = sb_rd_span(&r);
    e->from = sb_rd_span(&r);
    e->comment = sb_rd_span(&r);
    e->message = sb_rd_span(&r);
    if (sb_rd_done(&r) != 0 || e->type >= SB_EV_COUNT
        || e->why >= SB_WHY_COUNT)
    {
        return MDB_CORRUPTED;
    }
    return 0;
}
