/* An agent's reply (R6, R12, R21, R22) on a conversation it holds: a
 * canned response resolved, every part checked against the channel's
 * capabilities and text limit, then stored; on a third-party channel it
 * also enters the outbox, due at once. */

#include <stdio.h>

#include "commands/sb_commands.h"
#include "channels/sb_channels.h"


/* Loads a conversation the acting agent holds, or refuses (res says). */
int
sb_held_conversation(sb_ctx_t *cx, const sb_cmd_t *cmd, sb_conv_t **out)
{
    sb_conv_t  *c;
    int         rc;

    *out = NULL;
    rc = sb_conv_get(cx, cmd->conv, &c);
    if (rc == MDB_NOTFOUND) {
        return sb_refuse(cx, SB_REFUSE_UNKNOWN_CONVERSATION);
    }
    if (rc) {
        return rc;
    }
    if (c->state == SB_STATE_ENDED) {
        return sb_refuse(cx, SB_REFUSE_CONVERSATION_ENDED);
    }
    if (strcmp(c->agent, cmd->actor) != 0) {
        return sb_refuse(cx, SB_REFUSE_NOT_HOLDER);
    }
    *out = c;
    return 0;
}


int
sb_load_actor(sb_ctx_t *cx, const sb_cmd_t *cmd, sb_agent_t **out)
{
    int  rc;

    *out = NULL;
    rc = sb_agent_get(cx, cmd->actor, out);
    if (rc == MDB_NOTFOUND) {
        *out = NULL;
        return sb_refuse(cx, SB_REFUSE_UNKNOWN_ACTOR);
    }
    return rc;
}


/* R12: 1 when the channel has the capability; else refused (res says). */
int
sb_channel_can(sb_ctx_t *cx, const sb_conv_t *c, unsigned cap)
{
    if (cx->cfg->caps[c->channel] & cap) {
        return 1;
    }
    sb_refuse_about(cx, SB_REFUSE_CHANNEL_LACKS, NULL, (int) cap, c->channel,
                    0);
    return 0;
}


/* R6: {"canned": id} becomes the text, {{visitor}} and {{agent}} filled. */
static int
sb_canned_text(sb_ctx_t *cx, const sb_cmd_t *cmd, const sb_conv_t *c,
    const sb_agent_t *a, sb_span_t *text)
{
    sb_key_t     k;
    MDB_val      val;
    sb_span_t    title, body;
    const char  *p, *end, *with;
    size_t       n = 0, len, wlen;
    char        *out;
    int          rc;

    sb_key_init(&k, cx->tenant);
    sb_key_span(&k, cmd->u.msg.canned);
    rc = sb_get(cx->txn, SB_DB(cx, SB_DB_CANNED), &k, &val);
    if (rc == MDB_NOTFOUND) {
        return sb_refuse(cx, SB_REFUSE_UNKNOWN_CANNED);
    }
    SB_TRY(rc);
    SB_TRY(sb_pair_decode(val.mv_data, val.mv_size, 'K', &title, &body));

    /* the filled text is at most this long */
    len = body.n + (body.n / 9 + 1) * (strlen(c->visitor) + strlen(a->name));
    out = sb_alloc(cx, len + 1);
    if (out == NULL) {
        return ENOMEM;
    }
    for (p = body.p, end = body.p + body.n; p < end; ) {
        with = NULL;
        if (end - p >= 11 && memcmp(p, "{{visitor}}", 11) == 0) {
            with = c->visitor;
            p += 11;
        } else if (end - p >= 9 && memcmp(p, "{{agent}}", 9) == 0) {
            with = a->name;
            p += 9;
        }
        if (with) {
            wlen = strlen(with);
            memcpy(out + n, with, wlen);
            n += wlen;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    if (n > cx->cfg->text_max) {
        return sb_refuse(cx, SB_REFUSE_CANNED_TOO_LONG);
    }
    text->p = out;
    text->n = n;
    return 0;
}


/* R12, R26: every part of the reply is something the channel takes. */
static int
sb_reply_allowed(sb_ctx_t *cx, const sb_cmd_t *cmd, const sb_conv_t *c,
    sb_span_t *text)
{
    const sb_channel_ops_t  *ops = sb_channel_ops(c->channel);
    sb_agent_t              *a;
    size_t                   chars;

    *text = cmd->u.msg.text;
    if (cmd->u.msg.canned.n) {
        if (!sb_channel_can(cx, c, SB_CAP_CANNED)) {
            return 0;
        }
        SB_TRY(sb_load_actor(cx, cmd, &a));
        if (a == NULL) {
            return 0;
        }
        SB_TRY(sb_canned_text(cx, cmd, c, a, text));
        if (cx->res->outcome == SB_REFUSED) {
            return 0;
        }
    }
    if (text->n && sb_has_emoji((const unsigned char *) text->p, text->n)
        && !sb_channel_can(cx, c, SB_CAP_EMOJI))
    {
        return 0;
    }
    if (cmd->u.msg.attachment_url.n
        && !sb_channel_can(cx, c, SB_CAP_ATTACHMENTS))
    {
        return 0;
    }
    if (cmd->u.msg.offer_url.n && !sb_channel_can(cx, c, SB_CAP_OFFERS)) {
        return 0;
    }
    if (ops->text_limit && text->n) {
        chars = sb_utf8_chars(text->p, text->n);
        if (chars > ops->text_limit) {
            return sb_refuse_about(cx, SB_REFUSE_TOO_LONG_FOR_CHANNEL, NULL,
                                   c->channel, (int) ops->text_limit,
                                   (int) chars);
        }
    }
    return 0;
}


/* R6: an agent's reply; R21: an Idempotency-Key stores it once. */
int
sb_apply_agent_message(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_conv_t   *c;
    sb_msg_t     m;
    sb_event_t   e;
    sb_key_t     ik, k;
    sb_span_t    text, rec, idem = { cmd->idem, strlen(cmd->idem) };
    int64_t      close_ms;
    int          found = 0, third, rc;
    MDB_val      val;
    sb_idem_t    ref;

    if (idem.n) {
        sb_idem_key(&ik, cx->tenant, 'a', 0, cmd->actor, cmd->conv, idem);
        if (sb_get(cx->txn, SB_DB(cx, SB_DB_IDEM), &ik, &val) == 0) {
            SB_TRY(sb_idem_decode(val.mv_data, val.mv_size, &ref));
            sb_msg_key(&k, cx->tenant, ref.conv, ref.seq);
            rc = sb_get(cx->txn, SB_DB(cx, SB_DB_MSG), &k, &val);
            if (rc && rc != MDB_NOTFOUND) {
                return rc;
            }
            /* gone with its conversation (retention): no replay; the
             * conversation's absence answers */
            found = rc == 0;
            rec.p = val.mv_data;
            rec.n = val.mv_size;
        }
        if (found) {
            cx->res->outcome = SB_REPLAYED;
            return sb_keep_record(cx, ref.conv, ref.seq, rec);
        }
    }

    SB_TRY(sb_held_conversation(cx, cmd, &c));
    if (c == NULL) {
        return 0;
    }
    SB_TRY(sb_reply_allowed(cx, cmd, c, &text));
    if (cx->res->outcome == SB_REFUSED) {
        return 0;
    }
    third = sb_channel_third_party(c->channel);
    close_ms = cx->cfg->auto_close_ms[c->channel];

    memset(&m, 0, sizeof(m));
    m.kind = SB_KIND_AGENT;
    m.author.p = cmd->actor;
    m.author.n = strlen(cmd->actor);
    m.text = text;
    m.canned = cmd->u.msg.canned;
    m.attachment_url = cmd->u.msg.attachment_url;
    m.attachment_name = cmd->u.msg.attachment_name;
    m.offer_title = cmd->u.msg.offer_title;
    m.offer_url = cmd->u.msg.offer_url;
    if (third) {
        /* R22: in the outbox with the message, due at once */
        m.delivery.state = SB_DLV_PENDING;
        m.delivery.due = cx->now;
    }
    SB_TRY(sb_thread_append(cx, c, &m, &rec));
    if (third) {
        sb_deadline_key(&k, cx->now, cx->tenant, SB_DL_DELIVER, c->id, m.seq);
        SB_TRY(sb_put(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &k, "", 0));
    }

    c->last_agent_at = cx->now;
    c->waiting_since = 0;
    snprintf(c->last_agent, sizeof(c->last_agent), "%.*s", SB_ID_MAX,
             cmd->actor);
    SB_TRY(sb_deadline_clear(cx, c, SB_DL_REPLY));
    if (close_ms) {
        SB_TRY(sb_deadline_set(cx, c, SB_DL_CLOSE, cx->now + close_ms));
    }

    memset(&e, 0, sizeof(e));
    e.type = SB_EV_VISITOR_MESSAGE;
    e.conv = c->id;
    e.message = rec;
    SB_TRY(sb_log_visitor(cx, c, &e));
    if (idem.n) {
        SB_TRY(sb_idem_put(cx, &ik, c->id, m.seq));
    }
    /* 202 on a third-party channel: stored, the provider has not seen it */
    cx->res->outcome = third ? SB_ACCEPTED : SB_CREATED;
    return sb_keep_record(cx, c->id, m.seq, rec);
}
