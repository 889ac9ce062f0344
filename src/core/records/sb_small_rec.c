/* The small rows: handlers (R18), blocks (R11), idempotency references
 * (R21), ledger entries (R19), two-string entries (groups, canned), and
 * the names of event-log owners. */

#include <stdio.h>

#include "records/sb_records.h"


void
sb_handler_encode(sb_wr_t *w, const sb_handler_t *h)
{
    sb_wr_head(w, 'H', SB_REC_VERSION);
    sb_wr_i64(w, h->from);
    sb_wr_i64(w, h->to);
    sb_wr_str(w, h->agent);
}


int
sb_handler_decode(const void *p, size_t n, sb_handler_t *h)
{
    sb_rd_t  r;

    sb_rd_init(&r, p, n);
    if (sb_rd_head(&r, 'H', SB_REC_VERSION) != 0) {
        return MDB_CORRUPTED;
    }
    h->from = sb_rd_i64(&r);
    h->to = sb_rd_i64(&r);
    sb_rd_str(&r, h->agent, sizeof(h->agent));
    return sb_rd_done(&r) == 0 ? 0 : MDB_CORRUPTED;
}


void
sb_block_encode(sb_wr_t *w, const sb_block_t *b)
{
    sb_wr_head(w, 'B', SB_REC_VERSION);
    sb_wr_i64(w, b->at);
    sb_wr_i64(w, b->last_dropped_at);
    sb_wr_u64(w, b->conv);
    sb_wr_u64(w, b->dropped);
    sb_wr_str(w, b->channel);
    sb_wr_str(w, b->visitor);
    sb_wr_str(w, b->by);
}


int
sb_block_decode(const void *p, size_t n, sb_block_t *b)
{
    sb_rd_t  r;

    sb_rd_init(&r, p, n);
    if (sb_rd_head(&r, 'B', SB_REC_VERSION) != 0) {
        return MDB_CORRUPTED;
    }
    b->at = sb_rd_i64(&r);
    b->last_dropped_at = sb_rd_i64(&r);
    b->conv = sb_rd_u64(&r);
    b->dropped = sb_rd_u64(&r);
    sb_rd_str(&r, b->channel, sizeof(b->channel));
    sb_rd_str(&r, b->visitor, sizeof(b->visitor));
    sb_rd_str(&r, b->by, sizeof(b->by));
    return sb_rd_done(&r) == 0 ? 0 : MDB_CORRUPTED;
}


void
sb_idem_encode(sb_wr_t *w, const sb_idem_t *i)
{
    sb_wr_head(w, 'I', SB_REC_VERSION);
    sb_wr_u64(w, i->conv);
    sb_wr_u64(w, i->seq);
    sb_wr_i64(w, i->at);
}


int
sb_idem_decode(const void *p, size_t n, sb_idem_t *i)
{
    sb_rd_t  r;

    sb_rd_init(&r, p, n);
    if (sb_rd_head(&r, 'I', SB_REC_VERSION) != 0) {
        return MDB_CORRUPTED;
    }
    i->conv = sb_rd_u64(&r);
    i->seq = sb_rd_u64(&r);
    i->at = sb_rd_i64(&r);
    return sb_rd_done(&r) == 0 ? 0 : MDB_CORRUPTED;
}


void
sb_ledger_encode(sb_wr_t *w, const sb_ledger_t *l)
{
    sb_wr_head(w, 'L', SB_REC_VERSION);
    sb_wr_u64(w, l->conv);
    sb_wr_u8(w, l->channel);
    sb_wr_u8(w, l->end_reason);
    sb_wr_i64(w, l->ended_at);
    sb_wr_str(w, l->credited);
}


int
sb_ledger_decode(const void *p, size_t n, sb_ledger_t *l)
{
    sb_rd_t  r;

    sb_rd_init(&r, p, n);
    if (sb_rd_head(&r, 'L', SB_REC_VERSION) != 0) {
        return MDB_CORRUPTED;
    }
    l->conv = sb_rd_u64(&r);
    l->channel = sb_rd_u8(&r);
    l->end_reason = sb_rd_u8(&r);
    l->ended_at = sb_rd_i64(&r);
    sb_rd_str(&r, l->credited, sizeof(l->credited));
    return sb_rd_done(&r) == 0 && l->channel < SB_CH_COUNT
           && l->end_reason < SB_WHY_COUNT ? 0 : MDB_CORRUPTED;
}


void
sb_audit_encode(sb_wr_t *w, const sb_audit_t *a)
{
    const sb_erased_t  *e = &a->counts;

    sb_wr_head(w, 'E', SB_REC_VERSION);
    sb_wr_i64(w, a->at);
    sb_wr_str(w, a->by);
    sb_wr_u8(w, a->channel);
    sb_wr_raw(w, a->digest, sizeof(a->digest));
    sb_wr_u32(w, e->conversations);
    sb_wr_u32(w, e->messages);
    sb_wr_u32(w, e->events);
    sb_wr_u32(w, e->outbox);
    sb_wr_u32(w, e->deliveries);
    sb_wr_u32(w, e->idempotency);
    sb_wr_u32(w, e->blocks);
}


int
sb_audit_decode(const void *p, size_t n, sb_audit_t *a)
{
    sb_erased_t          *e = &a->counts;
    const unsigned char  *d;
    sb_rd_t               r;

    sb_rd_init(&r, p, n);
    if (sb_rd_head(&r, 'E', SB_REC_VERSION) != 0) {
        return MDB_CORRUPTED;
    }
    a->at = sb_rd_i64(&r);
    sb_rd_str(&r, a->by, sizeof(a->by));
    a->channel = sb_rd_u8(&r);
    d = sb_rd_take(&r, sizeof(a->digest));
    if (d) {
        memcpy(a->digest, d, sizeof(a->digest));
    }
    e->conversations = sb_rd_u32(&r);
    e->messages = sb_rd_u32(&r);
    e->events = sb_rd_u32(&r);
    e->outbox = sb_rd_u32(&r);
    e->deliveries = sb_rd_u32(&r);
    e->idempotency = sb_rd_u32(&r);
    e->blocks = sb_rd_u32(&r);
    return sb_rd_done(&r) == 0 && d && a->channel < SB_CH_COUNT
           ? 0 : MDB_CORRUPTED;
}


/* Two strings under a type: a group ('G': name) or canned ('K': title,
 * text). */
void
sb_pair_encode(sb_wr_t *w, char type, sb_span_t a, sb_span_t b)
{
    sb_wr_head(w, type, SB_REC_VERSION);
    sb_wr_span(w, a);
    sb_wr_span(w, b);
}


int
sb_pair_decode(const void *p, size_t n, char type, sb_span_t *a,
    sb_span_t *b)
{
    sb_rd_t  r;

    sb_rd_init(&r, p, n);
    if (sb_rd_head(&r, type, SB_REC_VERSION) != 0) {
        return MDB_CORRUPTED;
    }
    *a = sb_rd_span(&r);
    *b = sb_rd_span(&r);
    return sb_rd_done(&r) == 0 ? 0 : MDB_CORRUPTED;
}


size_t
sb_owner_agent(const char *agent, char *buf, size_t len)
{
    int  n = snprintf(buf, len, "a:%s", agent);

    return n < 0 ? 0 : (size_t) n;
}


size_t
sb_owner_visitor(int channel, const char *visitor, char *buf, size_t len)
{
    int  n = snprintf(buf, len, "v:%s:%s", sb_channel_name(channel), visitor);

    return n < 0 ? 0 : (size_t) n;
}
