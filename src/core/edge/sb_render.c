/* Views: binary records as the API shows them (R17, R18, R24): thread
 * entries, log events, conversations with their handlers, tags and
 * thread, and agents with their classes and held conversations. */

#include <stdio.h>

#include "edge/sb_edge.h"
#include "util/sb_jread.h"

static const char *const  sb_sys_names[SB_SYS_COUNT] = {
    NULL, "assigned", "reassigned", "snoozed", "woke", "released",
    "transferred", "ended", "blocked"
};

static const char *const  sb_kind_names[] = { "visitor", "agent", "system" };

static const char *const  sb_event_names[SB_EV_COUNT] = {
    "conversation.assigned", "conversation.message",
    "conversation.unassigned", "conversation.ended",
    "conversation.transferred", "message.status", "message.failed",
    "message"
};


const char *
sb_event_name(int type)
{
    return type >= 0 && type < SB_EV_COUNT ? sb_event_names[type] : "?";
}


static void
sb_render_delivery(sb_jw_t *w, const sb_delivery_t *d)
{
    sb_jw_key(w, "delivery");
    sb_jw_obj(w);
    sb_jw_kstr(w, "state", sb_delivery_name(d->state));
    sb_jw_kint(w, "attempts", d->attempts);
    if (d->http_status) {
        sb_jw_kint(w, "http_status", d->http_status);
    }
    if (d->error.n) {
        sb_jw_kspan(w, "error", d->error);
    }
    if (d->provider_id.n) {
        sb_jw_kspan(w, "provider_id", d->provider_id);
    }
    if (d->retry_at) {
        sb_jw_ktime(w, "retry_at", d->retry_at);
    }
    if (d->sent_at) {
        sb_jw_ktime(w, "sent_at", d->sent_at);
    }
    if (d->delivered_at) {
        sb_jw_ktime(w, "delivered_at", d->delivered_at);
    }
    if (d->read_at) {
        sb_jw_ktime(w, "read_at", d->read_at);
    }
    if (d->failed_at) {
        sb_jw_ktime(w, "failed_at", d->failed_at);
    }
    sb_jw_obj_end(w);
}


/* JSON the record keeps as it came (a provider's media reference), once
 * read back: a damaged record must not make the answer something other
 * than JSON. */
static void
sb_render_raw(sb_jw_t *w, sb_span_t json)
{
    sb_json_doc_t   d;
    sb_json_tok_t   toks[16];
    sb_arena_t     *mem = NULL;

    if (sb_json_read_in(&d, json.p, json.n, 0, &mem, toks, 16) == 0) {
        sb_jw_raw(w, json.p, json.n);
    } else {
        sb_jw_null(w);
    }
    sb_arena_free(mem);
}


/* A thread entry from its record; a record that does not decode shows
 * as null rather than stopping the answer. */
void
sb_render_message(sb_jw_t *w, sb_span_t record)
{
    sb_msg_t  m;

    if (sb_msg_decode(record.p, record.n, &m) != 0) {
        sb_jw_null(w);
        return;
    }
    sb_jw_obj(w);
    sb_jw_kint(w, "seq", (int64_t) m.seq);
    sb_jw_kstr(w, "kind", sb_kind_names[m.kind]);
    sb_jw_key(w, "author");
    sb_jw_strn(w, m.author.p, m.author.n);
    sb_jw_key(w, "text");
    sb_jw_strn(w, m.text.p, m.text.n);
    sb_jw_ktime(w, "at", m.at);
    sb_jw_kstr(w, "event", sb_sys_names[m.event]);
    if (m.media.n) {
        sb_jw_key(w, "media");
        sb_render_raw(w, m.media);
    }
    if (m.canned.n) {
        sb_jw_kspan(w, "canned", m.canned);
    }
    if (m.attachment_url.n) {
        sb_jw_key(w, "attachment");
        sb_jw_obj(w);
        sb_jw_kspan(w, "url", m.attachment_url);
        if (m.attachment_name.n) {
            sb_jw_kspan(w, "name", m.attachment_name);
        }
        sb_jw_obj_end(w);
    }
    if (m.offer_url.n) {
        sb_jw_key(w, "offer");
        sb_jw_obj(w);
        sb_jw_kspan(w, "title", m.offer_title);
        sb_jw_kspan(w, "url", m.offer_url);
        sb_jw_obj_end(w);
    }
    if (m.delivery.state != SB_DLV_NONE) {
        sb_render_delivery(w, &m.delivery);
    }
    sb_jw_obj_end(w);
}


void
sb_jw_conv(sb_jw_t *w, const char *key, uint64_t id)
{
    char  name[24];

    if (key) {
        sb_jw_key(w, key);
    }
    sb_jw_strn(w, name, sb_conv_name(id, name));
}


/* R24: {seq, type, conversation, at, …} */
void
sb_render_event(sb_jw_t *w, const sb_event_t *e)
{
    sb_jw_obj(w);
    sb_jw_kint(w, "seq", (int64_t) e->seq);
    sb_jw_kstr(w, "type", sb_event_name(e->type));
    sb_jw_conv(w, "conversation", e->conv);
    sb_jw_ktime(w, "at", e->at);
    switch (e->type) {
    case SB_EV_ASSIGNED:
        sb_jw_kstr(w, "channel", sb_channel_name(e->channel));
        sb_jw_kspan(w, "class", e->klass);
        sb_jw_kspan(w, "group", e->group);
        sb_jw_kspan(w, "visitor", e->visitor);
        break;
    case SB_EV_UNASSIGNED:
    case SB_EV_ENDED:
        sb_jw_kstr(w, "reason", sb_why_name(e->why));
        break;
    case SB_EV_TRANSFERRED:
        sb_jw_kspan(w, "from", e->from);
        sb_jw_kspan(w, "comment", e->comment);
        break;
    default:
        break;
    }
    if (e->message.n) {
        sb_jw_key(w, "message");
        sb_render_message(w, e->message);
    }
    sb_jw_obj_end(w);
}


/* Rows under prefix, each handed to row(); stops on a non-zero. */
int
sb_each(MDB_txn *txn, MDB_dbi dbi, sb_key_t *prefix, sb_row_pt row,
    void *data)
{
    MDB_cursor  *cur;
    MDB_val      key = sb_key_val(prefix), val;
    int          rc;

    SB_TRY(mdb_cursor_open(txn, dbi, &cur));
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        rc = row(&key, &val, data);
        if (rc) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


typedef struct {
    sb_jw_t  *w;
    size_t    prefix;
} sb_rows_t;


static int
sb_handler_row(MDB_val *key, MDB_val *val, void *data)
{
    sb_rows_t     *r = data;
    sb_handler_t   h;

    SB_TRY(sb_handler_decode(val->mv_data, val->mv_size, &h));
    sb_jw_obj(r->w);
    sb_jw_kstr(r->w, "agent", h.agent);
    sb_jw_ktime(r->w, "from", h.from);
    sb_jw_ktime(r->w, "to", h.to);
    sb_jw_obj_end(r->w);
    return 0;
}


static int
sb_tag_row(MDB_val *key, MDB_val *val, void *data)
{
    sb_rows_t  *r = data;

    sb_jw_strn(r->w, val->mv_data, val->mv_size);
    return 0;
}


static int
sb_list(sb_jw_t *w, const char *name, MDB_txn *txn, MDB_dbi dbi,
    const char *tenant, uint64_t conv, sb_row_pt row)
{
    sb_key_t   prefix;
    sb_rows_t  r;
    int        rc;

    sb_key_init(&prefix, tenant);
    sb_key_u64(&prefix, conv);
    r.w = w;
    r.prefix = prefix.n;
    sb_jw_key(w, name);
    sb_jw_arr(w);
    rc = sb_each(txn, dbi, &prefix, row, &r);
    sb_jw_arr_end(w);
    return rc;
}


/*
 * "thread": the page's entries in order, then "thread_before": the seq to
 * pass as ?before= for the entries before them, or null at the start. The
 * cursor steps back over the page once to find its first entry, then
 * renders forward: 2 x limit steps, whatever the thread's length.
 */
static int
sb_thread_page(sb_jw_t *w, MDB_txn *txn, MDB_dbi dbi, const char *tenant,
    uint64_t conv, const sb_page_t *page)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix, from;
    uint64_t     first = 0, seq, before = page->before ? page->before
                                                       : UINT64_MAX;
    uint32_t     n = 0;
    int          rc, older = 0;

    sb_key_init(&prefix, tenant);
    sb_key_u64(&prefix, conv);
    from = prefix;
    sb_key_u64(&from, before);
    SB_TRY(mdb_cursor_open(txn, dbi, &cur));

    key = sb_key_val(&from);
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    rc = mdb_cursor_get(cur, &key, &val, rc == 0 ? MDB_PREV : MDB_LAST);
    while (rc == 0 && sb_key_has_prefix(&key, &prefix)
           && key.mv_size == prefix.n + 8)
    {
        if (n == page->limit) {
            older = 1;
            break;
        }
        first = sb_be64((unsigned char *) key.mv_data + prefix.n);
        n++;
        rc = mdb_cursor_get(cur, &key, &val, MDB_PREV);
    }
    if (rc && rc != MDB_NOTFOUND) {
        mdb_cursor_close(cur);
        return rc;
    }

    sb_jw_key(w, "thread");
    sb_jw_arr(w);
    rc = 0;
    if (n) {
        from = prefix;
        sb_key_u64(&from, first);
        key = sb_key_val(&from);
        for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
             rc == 0 && n > 0 && sb_key_has_prefix(&key, &prefix);
             rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT), n--)
        {
            seq = sb_be64((unsigned char *) key.mv_data + prefix.n);
            if (seq >= before) {
                break;
            }
            sb_render_message(w, (sb_span_t) { val.mv_data, val.mv_size });
        }
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    sb_jw_arr_end(w);
    mdb_cursor_close(cur);
    sb_jw_key(w, "thread_before");
    if (older) {
        sb_jw_int(w, (int64_t) first);
    } else {
        sb_jw_null(w);
    }
    return rc;
}


/* R18: handlers in order with times, the age and the agent's silence. */
int
sb_render_conversation(sb_jw_t *w, sb_store_t *st, MDB_txn *txn,
    const char *tenant, const sb_conv_t *c, int64_t now,
    const sb_page_t *thread)
{
    int64_t  end = c->ended_at ? c->ended_at : now;

    sb_jw_obj(w);
    sb_jw_conv(w, "id", c->id);
    sb_jw_kstr(w, "channel", sb_channel_name(c->channel));
    sb_jw_kstr(w, "class", c->klass >= 0 ? st->cfg->classes[c->klass].name
                                         : NULL);
    sb_jw_kstr(w, "group", c->group);
    sb_jw_kstr(w, "visitor", c->visitor);
    sb_jw_kstr(w, "state", sb_state_name(c->state));
    sb_jw_kstr(w, "agent", c->agent[0] ? c->agent : NULL);
    SB_TRY(sb_list(w, "tags", txn, st->db[SB_DB_TAG], tenant, c->id,
                   sb_tag_row));
    sb_jw_ktime(w, "created_at", c->created_at);
    sb_jw_ktime(w, "last_visitor_message_at", c->last_visitor_at);
    sb_jw_ktime(w, "last_agent_message_at", c->last_agent_at);
    sb_jw_ktime(w, "waiting_since", c->waiting_since);
    sb_jw_ktime(w, "assigned_at", c->assigned_at);
    sb_jw_ktime(w, "snoozed_until", c->snoozed_until);
    sb_jw_ktime(w, "ended_at", c->ended_at);
    sb_jw_kstr(w, "end_reason", sb_why_name(c->end_reason));
    sb_jw_kstr(w, "credited_agent", c->state == SB_STATE_ENDED
                                    && c->credited[0] ? c->credited : NULL);
    if (c->contact[0]) {
        sb_jw_kstr(w, "account", c->account);
        sb_jw_kstr(w, "contact", c->contact);
        sb_jw_kstr(w, "reply_to", c->reply_to);
    }
    sb_jw_kint(w, "age_seconds", (end - c->created_at) / 1000);
    sb_jw_key(w, "since_last_agent_message_seconds");
    if (c->last_agent_at) {
        sb_jw_int(w, (end - c->last_agent_at) / 1000);
    } else {
        sb_jw_null(w);
    }
    SB_TRY(sb_list(w, "handlers", txn, st->db[SB_DB_HANDLER], tenant, c->id,
                   sb_handler_row));
    if (thread) {
        sb_jw_kint(w, "thread_length", (int64_t) c->seq);
        SB_TRY(sb_thread_page(w, txn, st->db[SB_DB_MSG], tenant, c->id,
                              thread));
    }
    sb_jw_obj_end(w);
    return 0;
}


static int
sb_held_row(MDB_val *key, MDB_val *val, void *data)
{
    sb_rows_t  *r = data;

    sb_jw_conv(r->w, NULL, sb_be64((unsigned char *) key->mv_data
                                   + r->prefix));
    return 0;
}


/* R5: per class available, status, used, capacity; R5a: presence; and
 * (held) the conversations the agent holds. */
int
sb_render_agent(sb_jw_t *w, sb_store_t *st, MDB_txn *txn, const char *tenant,
    const sb_agent_t *a, int64_t now, int held)
{
    const sb_config_t  *cfg = st->cfg;
    sb_key_t            prefix;
    sb_rows_t           r;
    char                owner[SB_ID_MAX + 8];
    int                 k, g, present = sb_agent_present(cfg, a, now);

    sb_jw_obj(w);
    sb_jw_kstr(w, "id", a->id);
    sb_jw_kstr(w, "name", a->name);
    sb_jw_key(w, "groups");
    sb_jw_arr(w);
    for (g = 0; g < a->ngroups; g++) {
        sb_jw_str(w, a->groups[g]);
    }
    sb_jw_arr_end(w);
    sb_jw_kstr(w, "presence", present ? "online" : "away");
    sb_jw_ktime(w, "last_seen_at", a->seen_at);
    sb_jw_key(w, "classes");
    sb_jw_obj(w);
    for (k = 0; k < cfg->nclasses; k++) {
        sb_jw_key(w, cfg->classes[k].name);
        sb_jw_obj(w);
        sb_jw_kbool(w, "available", a->cls[k].available);
        sb_jw_kstr(w, "status",
                   sb_status_name(sb_agent_status(cfg, a, k, present)));
        sb_jw_kint(w, "used", a->cls[k].used);
        sb_jw_kint(w, "capacity", sb_agent_capacity(cfg, a, k));
        sb_jw_obj_end(w);
    }
    sb_jw_obj_end(w);
    if (!held) {
        sb_jw_obj_end(w);
        return 0;
    }

    sb_key_init(&prefix, tenant);
    sb_key_str(&prefix, a->id);
    r.w = w;
    r.prefix = prefix.n;
    sb_jw_key(w, "conversations");
    sb_jw_arr(w);
    SB_TRY(sb_each(txn, st->db[SB_DB_HELD], &prefix, sb_held_row, &r));
    sb_jw_arr_end(w);

    /* what the held list was read at: a desk that polls from here misses
     * nothing that changes it, and replays nothing it already shows */
    sb_owner_agent(a->id, owner, sizeof(owner));
    sb_jw_kint(w, "events_cursor",
               (int64_t) sb_query_log_last(st, txn, tenant, owner));
    sb_jw_obj_end(w);
    return 0;
}


/* R11: a block, as GET /admin/blocks and a visitor's export show it */
void
sb_render_block(sb_jw_t *w, const sb_block_t *b)
{
    char  name[24];

    sb_jw_obj(w);
    sb_jw_kstr(w, "channel", b->channel);
    sb_jw_kstr(w, "visitor", b->visitor);
    sb_jw_kstr(w, "by", b->by);
    sb_jw_ktime(w, "at", b->at);
    sb_jw_key(w, "conversation");
    sb_jw_strn(w, name, sb_conv_name(b->conv, name));
    sb_jw_kint(w, "dropped", (int64_t) b->dropped);
    if (b->last_dropped_at) {
        sb_jw_ktime(w, "last_dropped_at", b->last_dropped_at);
    }
    sb_jw_obj_end(w);
}


/* "erased": {counts}, "audit": n, inside the caller's object */
void
sb_render_erased(sb_jw_t *w, const sb_erased_t *e)
{
    sb_jw_key(w, "erased");
    sb_jw_obj(w);
    sb_jw_kint(w, "conversations", e->conversations);
    sb_jw_kint(w, "messages", e->messages);
    sb_jw_kint(w, "events", e->events);
    sb_jw_kint(w, "outbox", e->outbox);
    sb_jw_kint(w, "deliveries", e->deliveries);
    sb_jw_kint(w, "idempotency", e->idempotency);
    sb_jw_kint(w, "blocks", e->blocks);
    sb_jw_obj_end(w);
    sb_jw_kint(w, "audit", (int64_t) e->audit);
}
