/* Messages (R1, R6, R12, R21, R22): a visitor's, appended to the open
 * conversation or a new one routed; an agent's reply on a conversation
 * it holds, checked against the channel first. Idempotency keys store a
 * message once and answer a replay with what was stored. */

#include <stdio.h>
#include <stdlib.h>

#include "commands/sb_commands.h"
#include "channels/sb_channels.h"


/* The answer shows the stored message: its record goes with the result. */
int
sb_keep_record(sb_ctx_t *cx, uint64_t conv, uint64_t seq, sb_span_t record)
{
    sb_result_t  *res = cx->res;

    free(res->record);
    res->record = NULL;
    if (record.n) {
        res->record = malloc(record.n);
        if (res->record == NULL) {
            return ENOMEM;
        }
        memcpy(res->record, record.p, record.n);
    }
    res->record_len = record.n;
    res->conv = conv;
    res->seq = seq;
    return 0;
}


/* R21: a key seen before answers with the message it stored. 0 with
 * *found set, or MDB_NOTFOUND. */
static int
sb_replay(sb_ctx_t *cx, sb_key_t *k, int *found)
{
    sb_idem_t  ref;
    sb_key_t   mk;
    MDB_val    val;
    sb_span_t  rec;
    int        rc;

    *found = 0;
    rc = sb_get(cx->txn, SB_DB(cx, SB_DB_IDEM), k, &val);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    SB_TRY(sb_idem_decode(val.mv_data, val.mv_size, &ref));
    sb_msg_key(&mk, cx->tenant, ref.conv, ref.seq);
    rc = sb_get(cx->txn, SB_DB(cx, SB_DB_MSG), &mk, &val);
    if (rc == MDB_NOTFOUND) {
        /* retention deleted its conversation (issue 20): the key stays
         * used, so that a provider's late retry is not stored again */
        *found = 1;
        rec.p = NULL;
        rec.n = 0;
        return sb_keep_record(cx, ref.conv, ref.seq, rec);
    }
    if (rc) {
        return rc;
    }
    rec.p = val.mv_data;
    rec.n = val.mv_size;
    *found = 1;
    return sb_keep_record(cx, ref.conv, ref.seq, rec);
}


/* R11: a blocked visitor is acknowledged, counted and not routed. */
static int
sb_blocked(sb_ctx_t *cx, int channel, const char *visitor, int *blocked)
{
    sb_block_t  b;
    sb_key_t    k;
    MDB_val     val;
    int         rc;

    *blocked = 0;
    sb_open_key(&k, cx->tenant, channel, visitor);
    rc = sb_get(cx->txn, SB_DB(cx, SB_DB_BLOCK), &k, &val);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    SB_TRY(sb_block_decode(val.mv_data, val.mv_size, &b));
    b.dropped++;
    b.last_dropped_at = cx->now;
    *blocked = 1;
    return SB_REC_PUT(cx->txn, SB_DB(cx, SB_DB_BLOCK), &k, sb_block_encode,
                      &b);
}


static void
sb_copy_span(char *dst, size_t cap, sb_span_t s)
{
    size_t  n = s.n < cap - 1 ? s.n : cap - 1;

    memcpy(dst, s.p, n);
    dst[n] = '\0';
}


static int
sb_conv_create(sb_ctx_t *cx, const char *group, const sb_visit_t *v,
    int klass, sb_conv_t **out)
{
    sb_conv_t  *c;
    sb_key_t    k;
    uint64_t    id;
    unsigned char  be[8];
    int         i;

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, "#conv");
    SB_TRY(sb_seq_next(cx, SB_DB_META, &k, 1, &id));
    c = sb_conv_add(cx, id);
    if (c == NULL) {
        return ENOMEM;
    }
    c->state = SB_STATE_NEW;
    c->channel = (uint8_t) v->channel;
    c->klass = (int8_t) klass;
    c->created_at = cx->now;
    snprintf(c->group, sizeof(c->group), "%s", group);
    snprintf(c->visitor, sizeof(c->visitor), "%s", v->visitor);

    for (i = 0; i < 8; i++) {
        be[i] = (unsigned char) (id >> ((7 - i) * 8));
    }
    sb_open_key(&k, cx->tenant, v->channel, v->visitor);
    *out = c;
    SB_TRY(sb_put(cx->txn, SB_DB(cx, SB_DB_OPEN), &k, be, 8));
    SB_TRY(sb_visit_put(cx, c));
    return sb_hook_conv(cx, c, SB_HOOK_CONV_CREATED, SB_WHY_NONE, NULL);
}


/*
 * R1: one visitor message, from the visitor API or a provider. The
 * outcome is SB_CREATED (stored), SB_REPLAYED (its key was seen),
 * SB_ACCEPTED (blocked: acknowledged, not stored) or SB_REFUSED.
 */
int
sb_visit(sb_ctx_t *cx, const char *group, const sb_visit_t *v,
    sb_outcome_t *outcome)
{
    sb_conv_t   *c = NULL;
    sb_msg_t     m;
    sb_event_t   e;
    sb_key_t     k;
    sb_span_t    rec;
    MDB_val      val;
    int          rc, klass, blocked, found, created = 0, was_waiting;

    klass = sb_class_of_channel(cx->cfg, v->channel);
    if (klass < 0) {
        *outcome = SB_REFUSED;
        return sb_refuse_about(cx, SB_REFUSE_NO_SLOT_CLASS, NULL, v->channel,
                               0, 0);
    }
    SB_TRY(sb_blocked(cx, v->channel, v->visitor, &blocked));
    if (blocked) {
        *outcome = SB_ACCEPTED;
        return 0;
    }
    if (v->idem) {
        SB_TRY(sb_replay(cx, v->idem, &found));
        if (found) {
            *outcome = SB_REPLAYED;
            return 0;
        }
    }

    if (sb_open_key(&k, cx->tenant, v->channel, v->visitor)) {
        return MDB_BAD_VALSIZE;
    }
    rc = sb_get(cx->txn, SB_DB(cx, SB_DB_OPEN), &k, &val);
    if (rc == 0 && val.mv_size == 8) {
        rc = sb_conv_get(cx, sb_be64(val.mv_data), &c);
    } else if (rc == MDB_NOTFOUND) {
        rc = sb_conv_create(cx, group, v, klass, &c);
        created = 1;
    } else if (rc == 0) {
        rc = MDB_CORRUPTED;
    }
    if (rc) {
        return rc;
    }

    /* third parties: who to answer, from which account, to what (R22) */
    if (v->contact.n) {
        sb_copy_span(c->account, sizeof(c->account), v->account);
        sb_copy_span(c->contact, sizeof(c->contact), v->contact);
        sb_copy_span(c->reply_to, sizeof(c->reply_to), v->reply_to);
    }

    memset(&m, 0, sizeof(m));
    m.kind = SB_KIND_VISITOR;
    m.author.p = v->visitor;
    m.author.n = strlen(v->visitor);
    m.text = v->text;
    m.media = v->media;
    SB_TRY(sb_thread_append(cx, c, &m, &rec));

    was_waiting = c->waiting_since != 0;
    c->last_visitor_at = cx->now;
    if (!was_waiting) {
        c->waiting_since = cx->now;
    }

    /* R15: the visitor spoke, the auto-close clock stops */
    SB_TRY(sb_deadline_clear(cx, c, SB_DL_CLOSE));

    if (created) {
        SB_TRY(sb_route(cx, c, NULL, NULL));

    } else if (c->state == SB_STATE_SNOOZED || c->state == SB_STATE_RELEASED) {
        /* R7, R8: back to routing for the first available agent */
        SB_TRY(sb_wake(cx, c, "the visitor wrote"));

    } else if (c->agent[0]) {
        if (!was_waiting) {
            /* R14: a later reply is due within reply_timeout */
            c->first_reply = 0;
            SB_TRY(sb_deadline_set(cx, c, SB_DL_REPLY,
                                   cx->now + cx->cfg->reply_ms));
        }
        memset(&e, 0, sizeof(e));
        e.type = SB_EV_MESSAGE;
        e.conv = c->id;
        e.message = rec;
        SB_TRY(sb_log_agent(cx, c->agent, &e));
    }

    if (v->idem) {
        SB_TRY(sb_idem_put(cx, v->idem, c->id, m.seq));
    }
    *outcome = SB_CREATED;
    cx->res->conv = c->id;
    cx->res->seq = m.seq;
    cx->last_record = rec;
    return 0;
}


int
sb_apply_visitor_message(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_visit_t    v;
    sb_key_t      k;
    sb_span_t     idem = { cmd->idem, strlen(cmd->idem) };
    sb_outcome_t  outcome;

    memset(&v, 0, sizeof(v));
    v.channel = (sb_channel_t) cmd->channel;
    v.visitor = cmd->actor;
    v.text = cmd->u.msg.text;
    if (idem.n) {
        sb_idem_key(&k, cx->tenant, 'v', cmd->channel, cmd->actor, 0, idem);
        v.idem = &k;
    }
    SB_TRY(sb_visit(cx, cmd->group, &v, &outcome));
    cx->res->outcome = outcome;
    if (outcome == SB_CREATED) {
        return sb_keep_record(cx, cx->res->conv, cx->res->seq,
                              cx->last_record);
    }
    return 0;
}
