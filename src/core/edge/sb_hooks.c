/* The event webhooks at the edge: an outbox row rendered as the JSON a
 * CRM receives, and GET /admin/webhooks, the outbox as the admin sees it
 * (counts, the rows waiting, the ones that gave up, the last error). */

#include <stdio.h>

#include "edge/sb_edge.h"
#include "records/sb_records.h"

#define SB_HOOKS_LIST  100


/* The event's own facts: what its type carries. */
static void
sb_hook_facts(sb_jw_t *w, const sb_outevent_t *h)
{
    switch (h->type) {
    case SB_HOOK_AGENT_STATUS:
        sb_jw_kspan(w, "agent", h->agent);
        sb_jw_kspan(w, "class", h->klass);
        sb_jw_kstr(w, "status", sb_status_name(h->status));
        sb_jw_kstr(w, "previous_status", sb_status_name(h->was));
        return;
    case SB_HOOK_CONV_TRANSFERRED:
        sb_jw_kspan(w, "agent", h->agent);
        sb_jw_key(w, "to");
        sb_jw_obj(w);
        if (h->to_agent.n) {
            sb_jw_kspan(w, "agent", h->to_agent);
        } else {
            sb_jw_kspan(w, "group", h->to_group);
        }
        sb_jw_obj_end(w);
        if (h->comment.n) {
            sb_jw_kspan(w, "comment", h->comment);
        }
        return;
    case SB_HOOK_VISITOR_ERASED:
        sb_jw_key(w, "visitor");
        sb_jw_obj(w);
        sb_jw_kstr(w, "channel", sb_channel_name(h->channel));
        sb_jw_kspan(w, "id", h->visitor);
        sb_jw_obj_end(w);
        sb_jw_kspan(w, "by", h->agent);
        return;
    case SB_HOOK_CONV_ENDED:
        sb_jw_kspan(w, "by", h->agent);
        sb_jw_kstr(w, "reason", sb_why_name(h->why));
        return;
    case SB_HOOK_CONV_UNASSIGNED:
        sb_jw_kstr(w, "reason", sb_why_name(h->why));
        /* fall through */
    case SB_HOOK_CONV_ASSIGNED:
    case SB_HOOK_CONV_SNOOZED:
    case SB_HOOK_CONV_RELEASED:
        sb_jw_kspan(w, "agent", h->agent);
        if (h->until) {
            sb_jw_ktime(w, "snoozed_until", h->until);
        }
        return;
    default:
        if (h->agent.n) {
            sb_jw_kspan(w, "agent", h->agent);    /* an agent's message */
        }
        if (h->message.n) {
            sb_jw_key(w, "message");
            sb_render_message(w, h->message);
        }
        return;
    }
}


/*
 * {"id", "type", "tenant", "at", "conversation": {…}, facts…}: the same
 * bytes on every attempt (the signature's timestamp is in a header), so
 * a receiver dedupes by id.
 */
char *
sb_hook_body(const unsigned char *record, size_t len, const char *tenant,
    size_t *body_len)
{
    sb_outevent_t  h;
    sb_jw_t    w;
    char       id[SB_ID_MAX + 24];

    if (sb_outevent_decode(record, len, &h) != 0) {
        return NULL;
    }
    snprintf(id, sizeof(id), "%s/%llu", tenant, (unsigned long long) h.id);
    sb_jw_init(&w, 512 + h.message.n);
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "id", id);
    sb_jw_kstr(&w, "type", sb_hook_name(h.type));
    sb_jw_kstr(&w, "tenant", tenant);
    sb_jw_ktime(&w, "at", h.at);
    if (h.conv) {
        sb_jw_key(&w, "conversation");
        sb_jw_obj(&w);
        sb_jw_conv(&w, "id", h.conv);
        sb_jw_kstr(&w, "channel", sb_channel_name(h.channel));
        sb_jw_kspan(&w, "visitor", h.visitor);
        sb_jw_kspan(&w, "group", h.group);
        if (h.klass.n) {
            sb_jw_kspan(&w, "class", h.klass);
        }
        sb_jw_obj_end(&w);
    }
    sb_hook_facts(&w, &h);
    sb_jw_obj_end(&w);
    if (w.failed) {
        sb_jw_free(&w);
        return NULL;
    }
    *body_len = w.len;
    return w.buf;
}


/* One row as the admin sees it: the event and its sending. */
static void
sb_hook_row(sb_jw_t *w, const sb_outevent_t *h)
{
    sb_jw_obj(w);
    sb_jw_kint(w, "id", (int64_t) h->id);
    sb_jw_kstr(w, "type", sb_hook_name(h->type));
    if (h->conv) {
        sb_jw_conv(w, "conversation", h->conv);
    } else {
        sb_jw_kspan(w, "agent", h->agent);
    }
    sb_jw_ktime(w, "at", h->at);
    sb_jw_kint(w, "attempts", h->attempts);
    if (h->due) {
        sb_jw_ktime(w, "next_attempt_at", h->due);
    }
    if (h->failed_at) {
        sb_jw_ktime(w, "failed_at", h->failed_at);
    }
    if (h->http_status) {
        sb_jw_kint(w, "http_status", h->http_status);
    }
    if (h->error.n) {
        sb_jw_kspan(w, "error", h->error);
    }
    sb_jw_obj_end(w);
}


/* Rows under prefix from its key from on, up to SB_HOOKS_LIST; *last is
 * the id of the last one listed. */
static int
sb_hook_rows(sb_jw_t *w, MDB_txn *txn, MDB_dbi dbi, sb_key_t *prefix,
    sb_key_t *from, uint64_t *last)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_outevent_t    h;
    int          rc, n = 0;

    SB_TRY(mdb_cursor_open(txn, dbi, &cur));
    sb_jw_arr(w);
    key = sb_key_val(from);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && n < SB_HOOKS_LIST && sb_key_has_prefix(&key, prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        rc = sb_outevent_decode(val.mv_data, val.mv_size, &h);
        if (rc) {
            break;
        }
        sb_hook_row(w, &h);
        *last = h.id;
        n++;
    }
    sb_jw_arr_end(w);
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


static int64_t
sb_hook_counter(sb_store_t *st, MDB_txn *txn, const char *tenant, int which)
{
    sb_key_t  k;
    MDB_val   val;

    sb_hook_counter_key(&k, tenant, which);
    if (sb_get(txn, st->db[SB_DB_COUNTER], &k, &val) != 0
        || val.mv_size != 8)
    {
        return 0;
    }
    return (int64_t) sb_be64(val.mv_data);
}


/*
 * {pending, failed, failed_attempts, dropped, last_error, pending_events (the
 * first of each line first), failed_events (from ?cursor=, oldest
 * first), cursor}
 */
void
sb_query_hooks(sb_store_t *st, MDB_txn *txn, const char *tenant,
    uint64_t cursor, sb_answer_t *ans)
{
    sb_key_t   prefix, from, k;
    sb_outevent_t  h;
    MDB_val    val;
    sb_jw_t    w;
    uint64_t   last = cursor, unused;
    int        rc;

    sb_jw_init(&w, 2048);
    sb_jw_obj(&w);
    sb_jw_kint(&w, "pending", sb_hook_counter(st, txn, tenant,
                                              SB_HOOKS_PENDING));
    sb_jw_kint(&w, "failed", sb_hook_counter(st, txn, tenant,
                                             SB_HOOKS_FAILED));
    sb_jw_kint(&w, "failed_attempts", sb_hook_counter(st, txn, tenant,
                                          SB_HOOKS_ATTEMPTS_FAILED));
    sb_jw_kint(&w, "dropped", sb_hook_counter(st, txn, tenant,
                                          SB_HOOKS_DROPPED));
    sb_jw_key(&w, "last_error");
    sb_key_init(&k, tenant);
    sb_key_str(&k, "#hook_error");
    rc = sb_get(txn, st->db[SB_DB_META], &k, &val);
    if (rc == 0) {
        rc = sb_outevent_decode(val.mv_data, val.mv_size, &h);
    }
    if (rc == 0) {
        sb_hook_row(&w, &h);
    } else {
        sb_jw_null(&w);
    }
    if (rc == 0 || rc == MDB_NOTFOUND) {
        sb_key_init(&prefix, tenant);
        sb_key_u8(&prefix, 'p');
        sb_jw_key(&w, "pending_events");
        rc = sb_hook_rows(&w, txn, st->db[SB_DB_HOOK], &prefix, &prefix,
                          &unused);
    }
    if (rc == 0) {
        sb_key_init(&prefix, tenant);
        sb_key_u8(&prefix, 'f');
        sb_hook_failed_key(&from, tenant, cursor + 1);
        sb_jw_key(&w, "failed_events");
        rc = sb_hook_rows(&w, txn, st->db[SB_DB_HOOK], &prefix, &from,
                          &last);
    }
    sb_jw_kint(&w, "cursor", (int64_t) last);
    sb_jw_obj_end(&w);
    sb_jw_finish(&w, rc, ans);
}
