/* Reads for the API, each in the caller's read transaction: event logs
 * after a cursor (R24), an agent's status, a conversation with its
 * thread, the directory, blocks, the capability table and the ledger. */

#include <stdio.h>
#include <stdlib.h>

#include "edge/sb_edge.h"

#define SB_LIST_MAX  500


void
sb_store_error(sb_answer_t *ans, int rc)
{
    sb_answer_error(ans, 500, "store_error", "%s", mdb_strerror(rc));
}


/* The document in w is the 200, unless the reads failed (rc). */
void
sb_jw_finish(sb_jw_t *w, int rc, sb_answer_t *ans)
{
    if (rc && rc != MDB_NOTFOUND) {
        sb_jw_free(w);
        sb_store_error(ans, rc);
        return;
    }
    (void) sb_jw_answer(w, 200, ans);
}


int
sb_load_conv(sb_store_t *st, MDB_txn *txn, const char *tenant, uint64_t id,
    sb_conv_t *c)
{
    sb_key_t  k;
    MDB_val   val;

    sb_key_init(&k, tenant);
    sb_key_u64(&k, id);
    SB_TRY(sb_get(txn, st->db[SB_DB_CONV], &k, &val));
    memset(c, 0, sizeof(sb_conv_t));
    SB_TRY(sb_conv_decode(val.mv_data, val.mv_size, c, st->cfg));
    c->id = id;
    return 0;
}


int
sb_load_agent(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *id, sb_agent_t *a)
{
    sb_key_t  k;
    MDB_val   val;

    sb_key_init(&k, tenant);
    sb_key_str(&k, id);
    if (k.overflow) {
        return MDB_NOTFOUND;
    }
    SB_TRY(sb_get(txn, st->db[SB_DB_AGENT], &k, &val));
    memset(a, 0, sizeof(sb_agent_t));
    SB_TRY(sb_agent_decode(val.mv_data, val.mv_size, a, st->cfg));
    snprintf(a->id, sizeof(a->id), "%s", id);
    return 0;
}


/* The last event of an owner's log, or the tenant's event floor when
 * that is after it (0 until retention deleted events): a snapshot's cursor
 * (/agent/me), the bound of a client's. */
uint64_t
sb_query_log_last(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *owner)
{
    sb_key_t  prefix;
    MDB_val   key, val;
    uint64_t  last = 0, floor = sb_event_floor(st, txn, tenant);

    sb_key_init(&prefix, tenant);
    sb_key_str(&prefix, owner);
    if (sb_prefix_last(txn, st->db[SB_DB_EVENT], &prefix, &key, &val) == 0
        && key.mv_size == prefix.n + 8)
    {
        last = sb_be64((unsigned char *) key.mv_data + prefix.n);
    }
    /* a log goes on after the tenant's floor (retention, erasure) */
    return last > floor ? last : floor;
}


/* 0, or a 400 in ans when cursor is ahead of the owner's log: checked
 * before a poll writes anything (an agent's poll refreshes presence). */
int
sb_query_cursor_ahead(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *owner, uint64_t cursor, sb_answer_t *ans)
{
    uint64_t  last = sb_query_log_last(st, txn, tenant, owner);

    if (cursor <= last) {
        return 0;
    }
    sb_answer_error(ans, 400, "cursor_ahead", "cursor %llu is ahead of the "
                    "log, whose last event is %llu",
                    (unsigned long long) cursor, (unsigned long long) last);
    return -1;
}


/* One event as a Server-Sent Events frame: "id", "event", "data" lines
 * (the event's JSON has no raw newline) and the blank line that ends it. */
static void
sb_event_frame(sb_jw_t *w, const sb_event_t *e)
{
    char  head[96];
    int   n;

    n = snprintf(head, sizeof(head), "id: %llu\nevent: %s\ndata: ",
                 (unsigned long long) e->seq, sb_event_name(e->type));
    sb_jw_bytes(w, head, (size_t) n);
    w->comma = 0;
    sb_render_event(w, e);
    sb_jw_bytes(w, "\n\n", 2);
    w->comma = 0;
}


/* {"from":…,"to":…}: the events no longer kept */
static void
sb_gap_json(sb_jw_t *w, uint64_t from, uint64_t to)
{
    sb_jw_obj(w);
    sb_jw_kint(w, "from", (int64_t) from);
    sb_jw_kint(w, "to", (int64_t) to);
    sb_jw_obj_end(w);
}


/* The stream's word for it: a "gap" frame whose id is the last event
 * missed, so that a reconnect's Last-Event-ID goes on past it. */
static void
sb_gap_frame(sb_jw_t *w, uint64_t from, uint64_t to)
{
    char  head[64];
    int   n;

    n = snprintf(head, sizeof(head), "id: %llu\nevent: gap\ndata: ",
                 (unsigned long long) to);
    sb_jw_bytes(w, head, (size_t) n);
    w->comma = 0;
    sb_gap_json(w, from, to);
    sb_jw_bytes(w, "\n\n", 2);
    w->comma = 0;
}


/* R24: every entry after the cursor (up to a batch), as the poll's JSON
 * or (sse) as stream frames, the last one's seq in *last; MDB_NOTFOUND
 * when there is none, so that the caller waits; a 400 when the cursor is
 * ahead of the log (no event would ever answer it: a client's mistake, or
 * a store restored from before its cursor). */
static int
sb_events(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *owner, uint64_t cursor, int sse, uint64_t *last,
    sb_answer_t *ans)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix, from;
    sb_event_t   e;
    sb_jw_t      w;
    int          rc, n = 0;
    uint64_t     gap_to = 0;

    *last = cursor;
    sb_key_init(&prefix, tenant);
    sb_key_str(&prefix, owner);
    from = prefix;
    sb_key_u64(&from, cursor + 1);

    SB_TRY(mdb_cursor_open(txn, st->db[SB_DB_EVENT], &cur));
    sb_jw_init(&w, 512);
    if (!sse) {
        sb_jw_obj(&w);
        sb_jw_key(&w, "events");
        sb_jw_arr(&w);
    }
    key = sb_key_val(&from);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && n < SB_POLL_BATCH && sb_key_has_prefix(&key, &prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        rc = sb_event_decode(val.mv_data, val.mv_size, &e);
        if (rc) {
            break;
        }
        if (n == 0 && cursor > 0 && e.seq > cursor + 1) {
            /* retention took the events after a client's cursor: it
             * goes on from the oldest kept, and is told (issue 20) */
            gap_to = e.seq - 1;
            if (sse) {
                sb_gap_frame(&w, cursor + 1, gap_to);
            }
        }
        if (sse) {
            sb_event_frame(&w, &e);
        } else {
            sb_render_event(&w, &e);
        }
        *last = e.seq;
        n++;
    }
    mdb_cursor_close(cur);
    if ((rc && rc != MDB_NOTFOUND) || n == 0) {
        sb_jw_free(&w);
        if (rc && rc != MDB_NOTFOUND) {
            return rc;
        }
        return sb_query_cursor_ahead(st, txn, tenant, owner, cursor, ans)
               ? 0 : MDB_NOTFOUND;
    }
    if (!sse) {
        sb_jw_arr_end(&w);
        sb_jw_kint(&w, "cursor", (int64_t) *last);
        if (gap_to) {
            sb_jw_key(&w, "gap");
            sb_gap_json(&w, cursor + 1, gap_to);
        }
        sb_jw_obj_end(&w);
    }
    (void) sb_jw_answer(&w, 200, ans);
    if (sse) {
        ans->content_type = "text/event-stream";
    }
    return 0;
}


int
sb_query_events(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *owner, uint64_t cursor, sb_answer_t *ans)
{
    uint64_t  last;

    return sb_events(st, txn, tenant, owner, cursor, 0, &last, ans);
}


int
sb_query_event_frames(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *owner, uint64_t cursor, uint64_t *last, sb_answer_t *ans)
{
    return sb_events(st, txn, tenant, owner, cursor, 1, last, ans);
}


/* A view for an agent, who must be in the directory (else 403: the
 * token names no one). */
void
sb_query_agent_view(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *agent, int64_t now, sb_agent_view_pt view, sb_answer_t *ans)
{
    sb_agent_t  a;
    sb_jw_t     w;
    int         rc = sb_load_agent(st, txn, tenant, agent, &a);

    if (rc == MDB_NOTFOUND) {
        sb_answer_error(ans, 403, "unknown_agent",
                        "agent %s is not in the directory", agent);
        return;
    }
    sb_jw_init(&w, 512);
    if (rc == 0) {
        rc = view(&w, st, txn, tenant, &a, now);
    }
    sb_jw_finish(&w, rc, ans);
}


static int
sb_me_view(sb_jw_t *w, sb_store_t *st, MDB_txn *txn, const char *tenant,
    const sb_agent_t *a, int64_t now)
{
    return sb_render_agent(w, st, txn, tenant, a, now, 1);
}


void
sb_query_agent_me(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *agent, int64_t now, sb_answer_t *ans)
{
    sb_query_agent_view(st, txn, tenant, agent, now, sb_me_view, ans);
}


int
sb_query_agent_seen(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *agent, int64_t *seen_at)
{
    sb_agent_t  a;

    SB_TRY(sb_load_agent(st, txn, tenant, agent, &a));
    *seen_at = a.present ? a.seen_at : 0;
    return 0;
}


static int
sb_handled_by(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const sb_conv_t *c, const char *agent)
{
    sb_handler_t  h;
    sb_key_t      k;
    MDB_val       val;
    uint32_t      i;

    for (i = 0; i < c->nhandlers; i++) {
        sb_key_init(&k, tenant);
        sb_key_u64(&k, c->id);
        sb_key_u32(&k, i);
        if (sb_get(txn, st->db[SB_DB_HANDLER], &k, &val) == 0
            && sb_handler_decode(val.mv_data, val.mv_size, &h) == 0
            && strcmp(h.agent, agent) == 0)
        {
            return 1;
        }
    }
    return 0;
}


/* agent NULL: the admin's view; otherwise only for one who handled it. */
void
sb_query_conversation(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *id, const char *agent, const sb_page_t *page, int64_t now,
    sb_answer_t *ans)
{
    sb_conv_t   c;
    sb_jw_t     w;
    uint64_t    n;
    int         rc;

    rc = sb_conv_parse(id, strlen(id), &n) == 0
         ? sb_load_conv(st, txn, tenant, n, &c) : MDB_NOTFOUND;
    if (rc == MDB_NOTFOUND) {
        sb_answer_error(ans, 404, "unknown_conversation",
                        "no conversation %s", id);
        return;
    }
    if (rc == 0 && agent && !sb_handled_by(st, txn, tenant, &c, agent)) {
        sb_answer_error(ans, 403, "not_handler",
                        "conversation %s was never held by %s", id, agent);
        return;
    }
    sb_jw_init(&w, 2048);
    if (rc == 0) {
        rc = sb_render_conversation(&w, st, txn, tenant, &c, now, page);
    }
    sb_jw_finish(&w, rc, ans);
}


/* {"id","name"}; the default group exists without a row */
void
sb_query_group(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *id, sb_answer_t *ans)
{
    sb_key_t   k;
    MDB_val    val;
    sb_span_t  name = { id, strlen(id) }, unused;
    sb_jw_t    w;
    int        rc;

    sb_key_init(&k, tenant);
    sb_key_str(&k, id);
    rc = sb_get(txn, st->db[SB_DB_GROUP], &k, &val);
    if (rc == 0) {
        rc = sb_pair_decode(val.mv_data, val.mv_size, 'G', &name, &unused);
    } else if (rc == MDB_NOTFOUND && strcmp(id, "default") == 0) {
        rc = 0;
    }
    if (rc == MDB_NOTFOUND) {
        sb_answer_error(ans, 404, "unknown_group", "no group %s", id);
        return;
    }
    if (rc) {
        sb_store_error(ans, rc);
        return;
    }
    sb_jw_init(&w, 128);
    sb_jw_obj(&w);
    sb_jw_kstr(&w, "id", id);
    sb_jw_kspan(&w, "name", name);
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, 200, ans);
}


/* R19: ended conversations in order, with their credited agent. */
void
sb_query_ledger(sb_store_t *st, MDB_txn *txn, const char *tenant,
    uint64_t cursor, sb_answer_t *ans)
{
    MDB_cursor   *cur;
    MDB_val       key, val;
    sb_key_t      prefix, from;
    sb_ledger_t   l;
    sb_jw_t       w;
    char          name[24];
    uint64_t      last = cursor, seq;
    int           rc, n = 0;

    sb_key_init(&prefix, tenant);
    from = prefix;
    sb_key_u64(&from, cursor + 1);
    rc = mdb_cursor_open(txn, st->db[SB_DB_LEDGER], &cur);
    if (rc) {
        sb_store_error(ans, rc);
        return;
    }
    sb_jw_init(&w, 1024);
    sb_jw_obj(&w);
    sb_jw_key(&w, "entries");
    sb_jw_arr(&w);
    key = sb_key_val(&from);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && n < SB_LIST_MAX && sb_key_has_prefix(&key, &prefix)
         && key.mv_size == prefix.n + 8;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        rc = sb_ledger_decode(val.mv_data, val.mv_size, &l);
        if (rc) {
            break;
        }
        seq = sb_be64((unsigned char *) key.mv_data + prefix.n);
        sb_jw_obj(&w);
        sb_jw_kint(&w, "seq", (int64_t) seq);
        sb_jw_key(&w, "conversation");
        sb_jw_strn(&w, name, sb_conv_name(l.conv, name));
        sb_jw_kstr(&w, "channel", sb_channel_name(l.channel));
        sb_jw_ktime(&w, "ended_at", l.ended_at);
        sb_jw_kstr(&w, "end_reason", sb_why_name(l.end_reason));
        sb_jw_kstr(&w, "credited_agent", l.credited[0] ? l.credited : NULL);
        sb_jw_obj_end(&w);
        last = seq;
        n++;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) {
        sb_jw_free(&w);
        sb_store_error(ans, rc);
        return;
    }
    sb_jw_arr_end(&w);
    sb_jw_kint(&w, "cursor", (int64_t) last);
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, 200, ans);
}


static void
sb_render_canned(sb_jw_t *w, const char *id, size_t idlen, MDB_val *val)
{
    sb_span_t  title, text;

    if (sb_pair_decode(val->mv_data, val->mv_size, 'K', &title, &text) != 0) {
        sb_jw_null(w);
        return;
    }
    sb_jw_obj(w);
    sb_jw_key(w, "id");
    sb_jw_strn(w, id, idlen);
    sb_jw_kspan(w, "title", title);
    sb_jw_kspan(w, "text", text);
    sb_jw_obj_end(w);
}


/* One canned response, or (id NULL) all of them in id order. */
void
sb_query_canned(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *id, sb_answer_t *ans)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     k;
    sb_jw_t      w;
    int          rc;

    sb_key_init(&k, tenant);
    sb_jw_init(&w, 1024);
    if (id) {
        sb_key_str(&k, id);
        rc = sb_get(txn, st->db[SB_DB_CANNED], &k, &val);
        if (rc == MDB_NOTFOUND) {
            sb_jw_free(&w);
            sb_answer_error(ans, 404, "unknown_canned",
                            "no canned response %s", id);
            return;
        }
        if (rc == 0) {
            sb_render_canned(&w, id, strlen(id), &val);
        }
    } else {
        rc = mdb_cursor_open(txn, st->db[SB_DB_CANNED], &cur);
        if (rc == 0) {
            sb_jw_obj(&w);
            sb_jw_key(&w, "canned");
            sb_jw_arr(&w);
            key = sb_key_val(&k);
            for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
                 rc == 0 && sb_key_has_prefix(&key, &k)
                 && key.mv_size > k.n;
                 rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
            {
                sb_render_canned(&w, (char *) key.mv_data + k.n,
                                 key.mv_size - k.n - 1, &val);
            }
            mdb_cursor_close(cur);
            rc = rc == MDB_NOTFOUND ? 0 : rc;
            sb_jw_arr_end(&w);
            sb_jw_obj_end(&w);
        }
    }
    sb_jw_finish(&w, rc, ans);
}


void
sb_query_block(sb_store_t *st, MDB_txn *txn, const char *tenant,
    int channel, const char *visitor, sb_answer_t *ans)
{
    sb_block_t  b;
    sb_key_t    k;
    MDB_val     val;
    sb_jw_t     w;
    int         rc;

    sb_open_key(&k, tenant, channel, visitor);
    rc = sb_get(txn, st->db[SB_DB_BLOCK], &k, &val);
    if (rc == MDB_NOTFOUND) {
        sb_answer_error(ans, 404, "not_blocked", "%s on %s is not blocked",
                        visitor, sb_channel_name(channel));
        return;
    }
    if (rc == 0) {
        rc = sb_block_decode(val.mv_data, val.mv_size, &b);
    }
    if (rc) {
        sb_store_error(ans, rc);
        return;
    }
    sb_jw_init(&w, 256);
    sb_render_block(&w, &b);
    (void) sb_jw_answer(&w, 200, ans);
}


static void
sb_jw_account(sb_jw_t *w, int channel, sb_span_t account,
    const sb_account_t *a)
{
    sb_jw_obj(w);
    sb_jw_kstr(w, "channel", sb_channel_name(channel));
    sb_jw_kspan(w, "account", account);
    sb_jw_kstr(w, "tenant", a->tenant);
    sb_jw_ktime(w, "bound_at", a->bound_at);
    sb_jw_obj_end(w);
}


/* One provider account of the tenant (issue 19); another tenant's is
 * none of this one's business: 404 as if unbound. */
void
sb_query_account(sb_store_t *st, MDB_txn *txn, const char *tenant,
    int channel, const char *account, sb_answer_t *ans)
{
    sb_account_t  a;
    sb_jw_t       w;
    sb_span_t     id = sb_cspan(account);
    int           rc = sb_account_owner(st, txn, channel, id, &a);

    if (rc == MDB_NOTFOUND || (rc == 0 && strcmp(a.tenant, tenant) != 0)) {
        sb_answer_error(ans, 404, "unknown_account", "%s account %s is not "
                        "this tenant's", sb_channel_name(channel), account);
        return;
    }
    if (rc) {
        sb_store_error(ans, rc);
        return;
    }
    sb_jw_init(&w, 128);
    sb_jw_account(&w, channel, id, &a);
    (void) sb_jw_answer(&w, 200, ans);
}


/* {"accounts":[…]}: the tenant's provider accounts, by channel and id.
 * The rows are global (a delivery names its account, not its tenant):
 * every binding is read, and the tenant's kept. */
void
sb_query_accounts(sb_store_t *st, MDB_txn *txn, const char *tenant,
    sb_answer_t *ans)
{
    MDB_cursor    *cur;
    MDB_val        key, val;
    sb_key_t       prefix;
    sb_account_t   a;
    sb_span_t      id;
    sb_jw_t        w;
    int            rc;

    sb_account_key(&prefix, 0, (sb_span_t) { "", 0 });
    prefix.n -= 2;                            /* the mark only */
    rc = mdb_cursor_open(txn, st->db[SB_DB_META], &cur);
    if (rc) {
        sb_store_error(ans, rc);
        return;
    }
    sb_jw_init(&w, 256);
    sb_jw_obj(&w);
    sb_jw_key(&w, "accounts");
    sb_jw_arr(&w);
    key = sb_key_val(&prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (key.mv_size < prefix.n + 3 || sb_account_decode(&val, &a) != 0
            || strcmp(a.tenant, tenant) != 0)
        {
            continue;
        }
        id.p = (const char *) key.mv_data + prefix.n + 1;
        id.n = key.mv_size - prefix.n - 2;
        sb_jw_account(&w, ((unsigned char *) key.mv_data)[prefix.n], id, &a);
    }
    mdb_cursor_close(cur);
    sb_jw_arr_end(&w);
    sb_jw_obj_end(&w);
    sb_jw_finish(&w, rc == MDB_NOTFOUND ? 0 : rc, ans);
}
