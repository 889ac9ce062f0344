/*
 * Outbound delivery (R22). An agent's reply on a third-party channel is
 * stored with its delivery pending and a deliver deadline due at once
 * (the outbox is the deadline table). Firing it hands the glue a job and
 * moves the deadline a lease ahead; the glue's outcome, and later the
 * provider's receipts, move the delivery state.
 */

#include <stdio.h>
#include <stdlib.h>

#include "domain/sb_domain.h"
#include "channels/sb_channels.h"

#define SB_BACKOFF_CAP_MS  3600000


int
sb_channel_third_party(int channel)
{
    const sb_channel_ops_t  *ops = sb_channel_ops(channel);

    return ops != NULL && ops->third_party;
}


static int
sb_deliver_row(sb_ctx_t *cx, uint64_t conv, sb_msg_t *m, int64_t due)
{
    sb_key_t  k;

    if (m->delivery.due) {
        sb_deadline_key(&k, m->delivery.due, cx->tenant, SB_DL_DELIVER, conv,
                        m->seq);
        SB_TRY(sb_del(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &k));
    }
    m->delivery.due = due;
    if (due == 0) {
        return 0;
    }
    sb_deadline_key(&k, due, cx->tenant, SB_DL_DELIVER, conv, m->seq);
    return sb_put(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &k, "", 0);
}


/* An event about one outbound message, to its author: its delivery moved
 * (and a failure to the event webhooks) */
static int
sb_delivery_event(sb_ctx_t *cx, uint64_t conv, const sb_msg_t *m,
    sb_span_t record, sb_event_type_t type)
{
    sb_event_t  e;
    sb_conv_t  *c;
    char        author[SB_ID_MAX + 1];

    if (type == SB_EV_FAILED && sb_conv_get(cx, conv, &c) == 0) {
        SB_TRY(sb_hook_message(cx, c, SB_HOOK_MSG_FAILED, m, record));
    }
    if (m->author.n > SB_ID_MAX) {
        return 0;
    }
    memcpy(author, m->author.p, m->author.n);
    author[m->author.n] = '\0';
    memset(&e, 0, sizeof(e));
    e.type = (uint8_t) type;
    e.conv = conv;
    e.message = record;
    return sb_log_agent(cx, author, &e);
}


static int
sb_job_add(sb_ctx_t *cx, const sb_conv_t *c, const sb_msg_t *m)
{
    sb_result_t  *res = cx->res;
    sb_job_t     *jobs, *j;
    size_t        n;
    char         *p;

    jobs = realloc(res->jobs, (res->njobs + 1) * sizeof(sb_job_t));
    if (jobs == NULL) {
        return ENOMEM;
    }
    res->jobs = jobs;
    j = &jobs[res->njobs];
    memset(j, 0, sizeof(sb_job_t));

    /* an attachment travels as its link after the text */
    n = m->text.n + m->attachment_url.n + 2;
    j->text = malloc(n);
    if (j->text == NULL) {
        return ENOMEM;
    }
    p = j->text;
    memcpy(p, m->text.p ? m->text.p : "", m->text.n);
    p += m->text.n;
    if (m->attachment_url.n) {
        if (m->text.n) {
            *p++ = '\n';
        }
        memcpy(p, m->attachment_url.p, m->attachment_url.n);
        p += m->attachment_url.n;
    }
    *p = '\0';

    snprintf(j->tenant, sizeof(j->tenant), "%s", cx->tenant);
    j->conv = c->id;
    j->seq = m->seq;
    j->attempt = m->delivery.attempts;
    j->channel = (sb_channel_t) c->channel;
    memcpy(j->account, c->account, sizeof(j->account));
    memcpy(j->recipient, c->contact, sizeof(j->recipient));
    memcpy(j->reply_to, c->reply_to, sizeof(j->reply_to));
    res->njobs++;
    return 0;
}


/*
 * A due deliver deadline: the attempt is handed to the glue as a job, and
 * the deadline moves a lease ahead, so a worker that dies with the
 * attempt in flight is followed by another attempt, not by silence.
 */
int
sb_delivery_claim(sb_ctx_t *cx, sb_conv_t *c, uint64_t seq, int64_t due)
{
    sb_msg_t  m;
    int       rc;

    rc = sb_msg_load(cx, c->id, seq, &m);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    /* the row fired was this one's (the deadline row is gone already) */
    if (m.delivery.state != SB_DLV_PENDING || m.delivery.due != due) {
        return 0;
    }
    m.delivery.due = 0;
    m.delivery.attempts++;
    SB_TRY(sb_deliver_row(cx, c->id, &m, cx->now + cx->cfg->deliver_lease_ms));
    SB_TRY(sb_msg_store(cx, c->id, &m, NULL));
    return sb_job_add(cx, c, &m);
}


/* The n-th retry waits base * 2^(n-1), capped at an hour. */
int64_t
sb_backoff(int64_t base, int64_t attempts)
{
    int64_t  d = base;

    while (--attempts > 0 && d < SB_BACKOFF_CAP_MS) {
        d *= 2;
    }
    return d < SB_BACKOFF_CAP_MS ? d : SB_BACKOFF_CAP_MS;
}


void
sb_sent_key(sb_key_t *k, const char *tenant, int channel, sb_span_t id)
{
    sb_idem_key(k, tenant, 's', channel, NULL, 0, id);
}


/*
 * The glue's word on one attempt: sent (with the provider's message id,
 * kept to match later receipts), retry (connect error, 5xx, 429) or
 * failed. An outcome for an attempt that is no longer the current one
 * (its lease ran out and another took over) changes nothing.
 */
int
sb_delivery_outcome(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_conv_t       *c;
    sb_msg_t         m;
    sb_key_t         k;
    sb_span_t        rec;
    sb_delivery_t   *d = &m.delivery;
    sb_send_outcome_t  outcome = cmd->u.delivered.outcome;
    int              rc;

    rc = sb_conv_get(cx, cmd->conv, &c);
    if (rc == 0) {
        rc = sb_msg_load(cx, cmd->conv, cmd->u.delivered.seq, &m);
    }
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    if (d->state != SB_DLV_PENDING
        || d->attempts != (uint32_t) cmd->u.delivered.attempt)
    {
        return 0;
    }
    d->http_status = (uint32_t) cmd->u.delivered.http_status;
    if (cmd->u.delivered.error.n) {
        d->error = cmd->u.delivered.error;
    }

    if (outcome == SB_SENT_RETRY
        && d->attempts < (uint32_t) cx->cfg->deliver_attempts)
    {
        d->retry_at = cx->now + sb_backoff(cx->cfg->deliver_backoff_ms,
                                           d->attempts);
        SB_TRY(sb_deliver_row(cx, c->id, &m, d->retry_at));
        return sb_msg_store(cx, c->id, &m, NULL);
    }

    SB_TRY(sb_deliver_row(cx, c->id, &m, 0));
    d->retry_at = 0;
    if (outcome == SB_SENT_OK) {
        d->state = SB_DLV_SENT;
        d->error.n = 0;
        d->sent_at = cx->now;
        d->provider_id = cmd->u.delivered.provider_id;
        if (d->provider_id.n) {
            sb_sent_key(&k, cx->tenant, c->channel, d->provider_id);
            SB_TRY(sb_idem_put(cx, &k, c->id, m.seq));
        }
    } else {
        /* refused for good, or out of attempts: the author is told */
        d->state = SB_DLV_FAILED;
        d->failed_at = cx->now;
    }
    SB_TRY(sb_msg_store(cx, c->id, &m, &rec));
    return sb_delivery_event(cx, c->id, &m, rec,
                             outcome == SB_SENT_OK ? SB_EV_STATUS
                                                   : SB_EV_FAILED);
}


/* sent < delivered < read; a provider never takes a message back. */
static int
sb_rank(int state)
{
    switch (state) {
    case SB_DLV_SENT: return 1;
    case SB_DLV_DELIVERED: return 2;
    case SB_DLV_READ: return 3;
    case SB_DLV_FAILED: return 4;
    default: return 0;
    }
}


/* One receipt on one stored message; *moved counts those that moved. */
static int
sb_receipt_apply(sb_ctx_t *cx, uint64_t conv, uint64_t seq, int state,
    sb_span_t error, int *moved)
{
    sb_msg_t    m;
    sb_span_t   rec;
    int         rc, from, to = sb_rank(state);

    rc = sb_msg_load(cx, conv, seq, &m);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    from = sb_rank(m.delivery.state);

    /* a late "delivered" never overwrites "read"; "failed" only follows
     * "sent" (a provider that failed after delivering is not believed) */
    if (from == 0 || from == 4 || to == 0
        || (to == 4 ? from != 1 : to <= from))
    {
        return 0;
    }
    m.delivery.state = (uint8_t) state;
    switch (state) {
    case SB_DLV_DELIVERED: m.delivery.delivered_at = cx->now; break;
    case SB_DLV_READ: m.delivery.read_at = cx->now; break;
    default: m.delivery.failed_at = cx->now; break;
    }
    if (error.n) {
        m.delivery.error = error;
    }
    SB_TRY(sb_msg_store(cx, conv, &m, &rec));
    (*moved)++;
    return sb_delivery_event(cx, conv, &m, rec,
                             to == 4 ? SB_EV_FAILED : SB_EV_STATUS);
}


/* A read watermark (Messenger, Instagram): every one of our sends the
 * visitor's open conversation holds up to that time has been read. The
 * walk inside the write transaction is bounded: the newest entries only
 * (a visitor's thousands of messages since our last read send would
 * otherwise be read one by one, issue 19); a send further back was read
 * by an earlier watermark, the first read one ends the walk anyway. */
#define SB_WATERMARK_WALK  256

static int
sb_watermark_apply(sb_ctx_t *cx, const sb_receipt_t *r, int *moved)
{
    sb_key_t    k;
    MDB_val     val;
    sb_conv_t  *c;
    sb_msg_t    m;
    char        visitor[SB_VISITOR_MAX + 1];
    uint64_t    seq;
    int         rc, n;

    n = snprintf(visitor, sizeof(visitor), "%.*s:%.*s", (int) r->account.n,
                 r->account.p, (int) r->contact.n, r->contact.p);
    if (n < 0 || (size_t) n >= sizeof(visitor)) {
        return 0;
    }
    sb_open_key(&k, cx->tenant, r->channel, visitor);
    rc = sb_get(cx->txn, SB_DB(cx, SB_DB_OPEN), &k, &val);
    if (rc == 0 && val.mv_size == 8) {
        rc = sb_conv_get(cx, sb_be64(val.mv_data), &c);
    }
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }

    /* newest first; the first message already read ends the walk */
    for (seq = c->seq; seq > 0 && c->seq - seq < SB_WATERMARK_WALK; seq--) {
        SB_TRY(sb_msg_load(cx, c->id, seq, &m));
        if (m.delivery.state == SB_DLV_READ) {
            break;
        }
        if (m.delivery.state != SB_DLV_NONE && m.delivery.sent_at
            && m.delivery.sent_at <= r->at)
        {
            sb_span_t  none = { NULL, 0 };

            SB_TRY(sb_receipt_apply(cx, c->id, seq, SB_DLV_READ, none,
                                    moved));
        }
    }
    return 0;
}


/* Receipts of our sends in one webhook; *moved counts those that moved a
 * message. Unknown ids (not ours, or purged) change nothing. */
int
sb_delivery_receipts(sb_ctx_t *cx, int channel, const sb_receipt_t *r,
    size_t n, int *moved)
{
    sb_idem_t  ref;
    sb_key_t   k;
    MDB_val    val;
    size_t     i;
    int        rc;

    for (i = 0; i < n; i++) {
        if (r[i].watermark) {
            SB_TRY(sb_watermark_apply(cx, &r[i], moved));
            continue;
        }
        sb_sent_key(&k, cx->tenant, channel, r[i].id);
        rc = sb_get(cx->txn, SB_DB(cx, SB_DB_IDEM), &k, &val);
        if (rc == MDB_NOTFOUND) {
            continue;
        }
        if (rc == 0) {
            rc = sb_idem_decode(val.mv_data, val.mv_size, &ref);
        }
        if (rc == 0) {
            rc = sb_receipt_apply(cx, ref.conv, ref.seq, r[i].state,
                                  r[i].error, moved);
        }
        if (rc) {
            return rc;
        }
    }
    return 0;
}
