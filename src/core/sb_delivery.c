/* Outbound delivery (R22): an agent's reply on a third-party channel is a
 * "deliver:<seq>" deadline in the same transaction; firing it hands the
 * glue a job, whose outcome (or a provider's status) comes back here. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_internal.h"

#define SB_DELIVER_PREFIX   "deliver:"
#define SB_BACKOFF_CAP_MS   3600000


int
sb_channel_third_party(int channel)
{
    return channel != SB_CH_MOBILE && channel != SB_CH_CHAT
           && channel >= 0 && channel < SB_CH_COUNT;
}


/* What each send API takes in one message, in characters (0: no limit
 * beyond switchboard_max_text). */
static size_t
sb_channel_text_limit(int channel)
{
    static const size_t  limits[SB_CH_COUNT] = {
        [SB_CH_WHATSAPP] = 4096, [SB_CH_MESSENGER] = 2000,
        [SB_CH_INSTAGRAM] = 1000, [SB_CH_FACEBOOK] = 8000,
        [SB_CH_TWITTER] = 10000, [SB_CH_SMS] = 1600
    };

    return (channel >= 0 && channel < SB_CH_COUNT) ? limits[channel] : 0;
}


/* 0 when the reply fits the channel's send API, else a 422 in res. */
int
sb_reply_fits(int channel, const char *text, sb_result_t *res)
{
    size_t  limit = sb_channel_text_limit(channel), chars = 0;

    if (limit == 0 || text == NULL) {
        return 0;
    }
    for ( /* void */ ; *text; text++) {
        chars += ((unsigned char) *text & 0xc0) != 0x80;
    }
    if (chars > limit) {
        sb_result_error(res, 422, "text_too_long_for_channel",
                        "%s takes at most %zu characters in a message "
                        "(this one has %zu)", sb_channel_name(channel),
                        limit, chars);
        return -1;
    }
    return 0;
}


static void
sb_deliver_kind(uint64_t seq, char *buf, size_t len)
{
    snprintf(buf, len, SB_DELIVER_PREFIX "%llu", (unsigned long long) seq);
}


/* The message (stored with its delivery pending) is due at once. */
int
sb_delivery_schedule(sb_ctx_t *cx, json_t *conv, json_t *msg)
{
    char  kind[40];

    sb_deliver_kind((uint64_t) sb_get_int(msg, "seq"), kind, sizeof(kind));
    return sb_deadline_set(cx, conv, kind, cx->now);
}


/* An owner's event about one outbound message: its delivery moved. */
static int
sb_delivery_event(sb_ctx_t *cx, const char *conv, json_t *msg,
    const char *type)
{
    char  owner[SB_ID_MAX + 8];

    sb_agent_owner(sb_get_str(msg, "author"), owner, sizeof(owner));
    return sb_log_append(cx, owner,
                         json_pack("{s:s,s:s,s:o}", "type", type,
                                   "conversation", conv, "message",
                                   sb_message_view(msg)));
}


/*
 * A due "deliver:<seq>" deadline: the attempt is handed to the glue as a
 * job, and the deadline moves a lease ahead, so a worker that dies with
 * the attempt in flight is followed by another attempt, not by silence.
 */
int
sb_delivery_claim(sb_ctx_t *cx, json_t *conv, const char *kind)
{
    sb_key_t     k;
    json_t      *msg, *delivery, *job, *body;
    uint64_t     seq = strtoull(kind + sizeof(SB_DELIVER_PREFIX) - 1, NULL,
                                10);
    const char  *text, *url;
    int64_t      attempt;
    int          rc;

    sb_msg_key(&k, cx->tenant, sb_get_str(conv, "id"), seq);
    rc = sb_rec_get(cx->txn, cx->st->db[SB_DB_MSG], &k, &msg);
    if (rc) {
        return rc == MDB_NOTFOUND ? sb_conv_save(cx, conv) : rc;
    }
    delivery = json_object_get(msg, "delivery");
    if (!sb_str_is(delivery, "state", "pending") || cx->jobs == NULL)
    {
        json_decref(msg);
        return sb_conv_save(cx, conv);
    }

    attempt = sb_get_int(delivery, "attempts") + 1;
    json_object_set_new(delivery, "attempts", json_integer(attempt));
    rc = sb_rec_put(cx->txn, cx->st->db[SB_DB_MSG], &k, msg);

    /* an attachment travels as its link after the text */
    text = sb_get_str(msg, "text") ? sb_get_str(msg, "text") : "";
    url = sb_get_str(json_object_get(msg, "attachment"), "url");
    body = url ? json_sprintf("%s%s%s", text, text[0] ? "\n" : "", url)
               : json_string(text);
    job = json_pack("{s:s,s:s,s:I,s:s,s:s?,s:s?,s:s?,s:o,s:I}",
                    "tenant", cx->tenant,
                    "conversation", sb_get_str(conv, "id"),
                    "seq", (json_int_t) seq,
                    "channel", sb_get_str(conv, "channel"),
                    "account", sb_get_str(conv, "account"),
                    "recipient", sb_get_str(conv, "contact"),
                    "reply_to", sb_get_str(conv, "reply_to"),
                    "text", body, "attempt", (json_int_t) attempt);
    json_decref(msg);
    if (job == NULL) {
        return ENOMEM;
    }
    json_array_append_new(cx->jobs, job);

    if (rc == 0) {
        rc = sb_deadline_set(cx, conv, kind,
                             cx->now + cx->st->cfg->deliver_lease_ms);
    }
    return rc ? rc : sb_conv_save(cx, conv);
}


/* The n-th retry waits base * 2^(n-1), capped at an hour. */
static int64_t
sb_backoff(const sb_config_t *cfg, int64_t attempts)
{
    int64_t  d = cfg->deliver_backoff_ms;

    while (--attempts > 0 && d < SB_BACKOFF_CAP_MS) {
        d *= 2;
    }
    return d < SB_BACKOFF_CAP_MS ? d : SB_BACKOFF_CAP_MS;
}


/* Our sends' provider ids live with the idempotency keys (R21 window):
 * scope "sent", the channel, and the id, pointing at the message. */
static int
sb_sent_key(sb_ctx_t *cx, sb_key_t *k, const char *channel, const char *id)
{
    return sb_idem_key(cx, k, "sent", channel, "", id);
}


/*
 * The glue's word on one attempt: sent (with the provider's message id,
 * kept to match later statuses), retry (connect error, 5xx, 429) or
 * failed. An outcome for an attempt that is no longer the current one
 * (its lease ran out and another took over) changes nothing.
 */
int
sb_apply_delivered(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res)
{
    json_t      *conv, *msg = NULL, *delivery;
    sb_key_t     k, sk;
    const char  *outcome = sb_get_str(cmd->body, "outcome");
    const char  *pid = sb_get_str(cmd->body, "provider_id");
    const char  *error = sb_get_str(cmd->body, "error");
    uint64_t     seq = (uint64_t) sb_get_int(cmd->body, "seq");
    int64_t      attempts;
    char         kind[40];
    int          rc;

    res->status = 204;
    rc = sb_conv_load(cx, cmd->target, &conv);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    sb_msg_key(&k, cx->tenant, cmd->target, seq);
    rc = sb_rec_get(cx->txn, cx->st->db[SB_DB_MSG], &k, &msg);
    delivery = json_object_get(msg, "delivery");
    attempts = sb_get_int(delivery, "attempts");
    if (rc || !sb_str_is(delivery, "state", "pending")
        || attempts != sb_get_int(cmd->body, "attempt") || outcome == NULL)
    {
        json_decref(msg);
        json_decref(conv);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }

    sb_deliver_kind(seq, kind, sizeof(kind));
    json_object_set_new(delivery, "http_status",
                        json_integer(sb_get_int(cmd->body, "http_status")));
    if (error) {
        json_object_set_new(delivery, "error", json_string(error));
    }

    if (strcmp(outcome, "retry") == 0
        && attempts < cx->st->cfg->deliver_attempts)
    {
        sb_set_time(delivery, "retry_at",
                    cx->now + sb_backoff(cx->st->cfg, attempts));
        rc = sb_deadline_set(cx, conv, kind, sb_get_int(delivery,
                                                        "retry_at"));

    } else if (strcmp(outcome, "sent") == 0) {
        json_object_set_new(delivery, "state", json_string("sent"));
        json_object_del(delivery, "error");
        json_object_del(delivery, "retry_at");
        sb_set_time(delivery, "sent_at", cx->now);
        if (pid) {
            json_object_set_new(delivery, "provider_id", json_string(pid));
        }
        rc = sb_deadline_clear(cx, conv, kind);
        if (rc == 0 && pid && sb_sent_key(cx, &sk, sb_get_str(conv,
                                          "channel"), pid) == 0)
        {
            rc = sb_idem_store(cx, &sk, conv, msg);
        }
        if (rc == 0) {
            rc = sb_delivery_event(cx, cmd->target, msg, "message.status");
        }

    } else {
        /* refused for good, or out of attempts: the author is told */
        json_object_set_new(delivery, "state", json_string("failed"));
        json_object_del(delivery, "retry_at");
        rc = sb_deadline_clear(cx, conv, kind);
        if (rc == 0) {
            rc = sb_delivery_event(cx, cmd->target, msg, "message.failed");
        }
    }

    if (rc == 0) {
        rc = sb_rec_put(cx->txn, cx->st->db[SB_DB_MSG], &k, msg);
    }
    if (rc == 0) {
        rc = sb_conv_save(cx, conv);
    }
    json_decref(msg);
    json_decref(conv);
    return rc;
}


/* sent < delivered < read; a provider never takes a message back. */
static int
sb_status_rank(const char *s)
{
    return strcmp(s, "sent") == 0 ? 1 : strcmp(s, "delivered") == 0 ? 2
           : strcmp(s, "read") == 0 ? 3 : strcmp(s, "failed") == 0 ? 4 : 0;
}


/* One provider status on one stored message; 1 when it moved. */
static int
sb_status_move(sb_ctx_t *cx, const char *conv, uint64_t seq,
    const char *status, const char *error, int *moved)
{
    sb_key_t     k;
    json_t      *msg, *delivery;
    const char  *now;
    char         at[32];
    int          to = sb_status_rank(status), from, rc;

    sb_msg_key(&k, cx->tenant, conv, seq);
    rc = sb_rec_get(cx->txn, cx->st->db[SB_DB_MSG], &k, &msg);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    delivery = json_object_get(msg, "delivery");
    now = sb_get_str(delivery, "state");
    from = now ? sb_status_rank(now) : 0;

    /* a late "delivered" never overwrites "read"; "failed" only follows
     * "sent" (a provider that failed after delivering is not believed) */
    if (from == 0 || from == 4 || to == 0 || (to == 4 ? from != 1
                                                       : to <= from))
    {
        json_decref(msg);
        return 0;
    }
    json_object_set_new(delivery, "state", json_string(status));
    snprintf(at, sizeof(at), "%s_at", status);
    sb_set_time(delivery, at, cx->now);
    if (error) {
        json_object_set_new(delivery, "error", json_string(error));
    }
    rc = sb_rec_put(cx->txn, cx->st->db[SB_DB_MSG], &k, msg);
    if (rc == 0) {
        rc = sb_delivery_event(cx, conv, msg, to == 4 ? "message.failed"
                                                       : "message.status");
    }
    json_decref(msg);
    *moved += rc == 0;
    return rc;
}


/* A read watermark (Messenger, Instagram): every one of our sends the
 * visitor's open conversation holds up to that time has been read. */
static int
sb_status_watermark(sb_ctx_t *cx, json_t *st, int *moved)
{
    sb_key_t     ok, k;
    MDB_val      key, val;
    json_t      *msg, *c;
    char         visitor[2 * SB_ID_MAX + 2], conv[SB_ID_MAX + 1];
    int64_t      mark = sb_get_int(st, "watermark"), seq;
    const char  *state;
    int          rc;

    snprintf(visitor, sizeof(visitor), "%s:%s", sb_get_str(st, "account"),
             sb_get_str(st, "contact"));
    sb_key_init(&ok, cx->tenant);
    sb_key_str(&ok, sb_get_str(st, "channel"));
    sb_key_str(&ok, visitor);
    key.mv_size = ok.n;
    key.mv_data = ok.b;
    rc = mdb_get(cx->txn, cx->st->db[SB_DB_OPEN], &key, &val);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    snprintf(conv, sizeof(conv), "%s", (char *) val.mv_data);
    rc = sb_conv_load(cx, conv, &c);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    seq = sb_get_int(c, "seq") + 1;
    json_decref(c);

    /* newest first; the first message already read ends the walk */
    for (seq--; seq > 0; seq--) {
        sb_msg_key(&k, cx->tenant, conv, (uint64_t) seq);
        rc = sb_rec_get(cx->txn, cx->st->db[SB_DB_MSG], &k, &msg);
        if (rc) {
            return rc;
        }
        state = sb_get_str(json_object_get(msg, "delivery"), "state");
        if (state && strcmp(state, "read") == 0) {
            json_decref(msg);
            break;
        }
        if (state && sb_get_int(json_object_get(msg, "delivery"), "sent_at")
                     <= mark)
        {
            rc = sb_status_move(cx, conv, (uint64_t) seq, "read", NULL,
                                moved);
        }
        json_decref(msg);
        if (rc) {
            return rc;
        }
    }
    return 0;
}


/* Statuses of our sends in one webhook; returns how many moved a
 * message. Unknown ids (not ours, or purged) change nothing. */
int
sb_apply_statuses(sb_ctx_t *cx, int channel, json_t *statuses, int *moved)
{
    json_t      *st, *ref;
    sb_key_t     sk;
    size_t       i;
    const char  *status;
    int          rc;

    json_array_foreach(statuses, i, st) {
        if (json_object_get(st, "watermark")) {
            SB_TRY(sb_status_watermark(cx, st, moved));
            continue;
        }
        if (sb_sent_key(cx, &sk, sb_channel_name(channel),
                        sb_get_str(st, "id")))
        {
            continue;
        }
        rc = sb_rec_get(cx->txn, cx->st->db[SB_DB_IDEM], &sk, &ref);
        if (rc == MDB_NOTFOUND) {
            continue;
        }
        if (rc) {
            return rc;
        }
        status = sb_get_str(st, "status");
        rc = sb_status_move(cx, sb_get_str(ref, "conversation"),
                            (uint64_t) sb_get_int(ref, "seq"),
                            strcmp(status, "undelivered") == 0 ? "failed"
                                                               : status,
                            sb_get_str(st, "error"), moved);
        json_decref(ref);
        if (rc) {
            return rc;
        }
    }
    return 0;
}
