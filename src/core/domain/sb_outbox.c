/* The event webhooks' outbox (issue 11): each event is a row written by
 * the transaction that makes it; only the first row of a conversation is
 * due, so a CRM sees a conversation's events in order, each retried. */

#include <stdio.h>
#include <stdlib.h>

#include "domain/sb_domain.h"


static int sb_hook_cap(sb_ctx_t *cx);


/* a conversation's line: its waiting events, in order */
static void
sb_hook_line_key(sb_key_t *k, const char *tenant, uint64_t conv)
{
    sb_key_init(k, tenant);
    sb_key_u8(k, 'p');
    sb_key_u64(k, conv);
}


static int
sb_hook_line_busy(sb_ctx_t *cx, uint64_t conv)
{
    sb_key_t  k;

    sb_hook_line_key(&k, cx->tenant, conv);
    return sb_prefix_any(cx->txn, SB_DB(cx, SB_DB_HOOK), &k);
}


void
sb_hook_pending_key(sb_key_t *k, const char *tenant, uint64_t conv,
    uint64_t id)
{
    sb_hook_line_key(k, tenant, conv);
    sb_key_u64(k, id);
}


void
sb_hook_failed_key(sb_key_t *k, const char *tenant, uint64_t id)
{
    sb_key_init(k, tenant);
    sb_key_u8(k, 'f');
    sb_key_u64(k, id);
}


void
sb_hook_counter_key(sb_key_t *k, const char *tenant, int which)
{
    sb_key_init(k, tenant);
    sb_key_u8(k, 'h');
    sb_key_u8(k, (unsigned) which);
}


static int
sb_hook_count(sb_ctx_t *cx, int which, int64_t delta)
{
    sb_key_t  k;

    sb_hook_counter_key(&k, cx->tenant, which);
    return sb_count(cx, &k, delta);
}


static int
sb_hook_put(sb_ctx_t *cx, sb_key_t *k, const sb_outevent_t *h)
{
    return SB_REC_PUT(cx->txn, SB_DB(cx, SB_DB_HOOK), k, sb_outevent_encode,
                      h);
}


/* A row read into the batch's memory, so that it can change. */
static int
sb_hook_load(sb_ctx_t *cx, sb_key_t *k, sb_outevent_t *h)
{
    MDB_val  val;
    void    *copy;

    SB_TRY(sb_get(cx->txn, SB_DB(cx, SB_DB_HOOK), k, &val));
    copy = sb_alloc(cx, val.mv_size);
    if (copy == NULL) {
        return ENOMEM;
    }
    memcpy(copy, val.mv_data, val.mv_size);
    return sb_outevent_decode(copy, val.mv_size, h);
}


/* The row's deadline moves to due (0: none). */
static int
sb_hook_due(sb_ctx_t *cx, sb_outevent_t *h, int64_t due)
{
    sb_key_t  k;

    if (h->due) {
        sb_deadline_key(&k, h->due, cx->tenant, SB_DL_HOOK, h->conv, h->id);
        SB_TRY(sb_del(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &k));
    }
    h->due = due;
    if (due == 0) {
        return 0;
    }
    sb_deadline_key(&k, due, cx->tenant, SB_DL_HOOK, h->conv, h->id);
    return sb_put(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &k, "", 0);
}


void
sb_hook_init(sb_ctx_t *cx, sb_outevent_t *h, int type, const sb_conv_t *c)
{
    memset(h, 0, sizeof(sb_outevent_t));
    h->type = (uint8_t) type;
    if (c) {
        h->conv = c->id;
        h->channel = c->channel;
        h->group = sb_cspan(c->group);
        h->visitor = sb_cspan(c->visitor);
        if (c->klass >= 0) {
            h->klass = sb_cspan(cx->cfg->classes[c->klass].name);
        }
    }
}


/*
 * The event joins its conversation's line in the outbox (agents' events
 * share line 0). A line that was empty is due at once; otherwise the row
 * waits for the ones before it.
 */
int
sb_hook_emit(sb_ctx_t *cx, sb_outevent_t *h)
{
    sb_key_t  k;

    if (!(cx->cfg->hook_types & (1u << h->type))) {
        return 0;
    }
    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, "#hook");
    SB_TRY(sb_seq_next(cx, SB_DB_META, &k, 1, &h->id));
    h->at = cx->now;

    if (!sb_hook_line_busy(cx, h->conv)) {
        SB_TRY(sb_hook_due(cx, h, cx->now));
    }
    sb_hook_pending_key(&k, cx->tenant, h->conv, h->id);
    SB_TRY(sb_hook_put(cx, &k, h));
    return sb_hook_count(cx, SB_HOOKS_PENDING, 1);
}


/* The common case: a conversation's event, with who it concerns. */
int
sb_hook_conv(sb_ctx_t *cx, const sb_conv_t *c, int type, sb_why_t why,
    const char *agent)
{
    sb_outevent_t  h;

    if (!(cx->cfg->hook_types & (1u << type))) {
        return 0;
    }
    sb_hook_init(cx, &h, type, c);
    h.why = (uint8_t) why;
    h.agent = sb_cspan(agent);
    if (type == SB_HOOK_CONV_SNOOZED) {
        h.until = c->snoozed_until;
    }
    return sb_hook_emit(cx, &h);
}


/* message.created and message.failed carry the message as stored */
int
sb_hook_message(sb_ctx_t *cx, const sb_conv_t *c, int type,
    const sb_msg_t *m, sb_span_t record)
{
    sb_outevent_t  h;

    if (!(cx->cfg->hook_types & (1u << type))) {
        return 0;
    }
    sb_hook_init(cx, &h, type, c);
    if (m->kind == SB_KIND_AGENT) {
        h.agent = m->author;
    }
    h.message = record;
    return sb_hook_emit(cx, &h);
}


/* The first row of a conversation's line becomes due, if there is one. */
static int
sb_hook_next(sb_ctx_t *cx, uint64_t conv)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix, k;
    sb_outevent_t    h;
    int          rc;

    sb_hook_line_key(&prefix, cx->tenant, conv);
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_HOOK), &cur));
    key = sb_key_val(&prefix);
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    if (rc == 0 && (!sb_key_has_prefix(&key, &prefix)
                    || key.mv_size != prefix.n + 8))
    {
        rc = MDB_NOTFOUND;
    }
    if (rc == 0) {
        sb_key_raw(&prefix, (unsigned char *) key.mv_data + prefix.n, 8);
    }
    mdb_cursor_close(cur);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    k = prefix;
    SB_TRY(sb_hook_load(cx, &k, &h));
    SB_TRY(sb_hook_due(cx, &h, cx->now));
    return sb_hook_put(cx, &k, &h);
}


static int
sb_hook_job(sb_ctx_t *cx, const sb_outevent_t *h)
{
    sb_result_t    *res = cx->res;
    sb_hook_job_t  *jobs, *j;
    sb_wr_t         w = { NULL, 0 };

    jobs = realloc(res->hooks, (res->nhooks + 1) * sizeof(sb_hook_job_t));
    if (jobs == NULL) {
        return ENOMEM;
    }
    res->hooks = jobs;
    j = &jobs[res->nhooks];
    memset(j, 0, sizeof(sb_hook_job_t));
    sb_outevent_encode(&w, h);
    j->record = malloc(w.n);
    if (j->record == NULL) {
        return ENOMEM;
    }
    j->record_len = w.n;
    w.p = j->record;
    w.n = 0;
    sb_outevent_encode(&w, h);
    snprintf(j->tenant, sizeof(j->tenant), "%s", cx->tenant);
    j->conv = h->conv;
    j->id = h->id;
    j->type = h->type;
    j->attempt = h->attempts;
    res->nhooks++;
    return 0;
}


/* A due row: handed to the glue, its deadline a lease ahead, so that a
 * worker dying with the POST in flight is followed by another attempt. */
int
sb_hook_claim(sb_ctx_t *cx, uint64_t conv, uint64_t id, int64_t due)
{
    sb_key_t   k;
    sb_outevent_t  h;
    int        rc;

    sb_hook_pending_key(&k, cx->tenant, conv, id);
    rc = sb_hook_load(cx, &k, &h);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    if (h.due != due) {
        return 0;                  /* its row was already deleted */
    }
    h.due = 0;
    h.attempts++;
    SB_TRY(sb_hook_due(cx, &h, cx->now + cx->cfg->hook_lease_ms));
    SB_TRY(sb_hook_put(cx, &k, &h));
    return sb_hook_job(cx, &h);
}


/* The last attempt that failed, for the admin (a row in meta). */
static int
sb_hook_last_error(sb_ctx_t *cx, const sb_outevent_t *h)
{
    sb_key_t  k;

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, "#hook_error");
    return SB_REC_PUT(cx->txn, SB_DB(cx, SB_DB_META), &k, sb_outevent_encode,
                      h);
}


/*
 * The glue's word on one attempt. A 2xx takes the row out and makes the
 * next of its line due; a failure retries with back-off, and after the
 * last attempt the row moves to the failed ones (for the admin to
 * replay) and the line goes on. An outcome of an attempt that is no
 * longer the current one changes nothing.
 */
int
sb_hook_outcome(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_key_t   k;
    sb_outevent_t  h;
    int        rc;

    sb_hook_pending_key(&k, cx->tenant, cmd->conv, cmd->u.delivered.seq);
    rc = sb_hook_load(cx, &k, &h);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    if (h.attempts != (uint32_t) cmd->u.delivered.attempt || h.due == 0) {
        return 0;
    }
    h.http_status = (uint32_t) cmd->u.delivered.http_status;

    if (cmd->u.delivered.outcome == SB_SENT_OK) {
        SB_TRY(sb_hook_due(cx, &h, 0));
        SB_TRY(sb_del(cx->txn, SB_DB(cx, SB_DB_HOOK), &k));
        SB_TRY(sb_hook_count(cx, SB_HOOKS_PENDING, -1));
        return sb_hook_next(cx, h.conv);
    }

    h.error = cmd->u.delivered.error;
    SB_TRY(sb_hook_count(cx, SB_HOOKS_ATTEMPTS_FAILED, 1));
    SB_TRY(sb_hook_last_error(cx, &h));
    if (h.attempts < (uint32_t) cx->cfg->hook_attempts) {
        SB_TRY(sb_hook_due(cx, &h,
                           cx->now + sb_backoff(cx->cfg->hook_backoff_ms,
                                                h.attempts)));
        return sb_hook_put(cx, &k, &h);
    }

    SB_TRY(sb_hook_due(cx, &h, 0));
    SB_TRY(sb_del(cx->txn, SB_DB(cx, SB_DB_HOOK), &k));
    h.failed_at = cx->now;
    sb_hook_failed_key(&k, cx->tenant, h.id);
    SB_TRY(sb_hook_put(cx, &k, &h));
    SB_TRY(sb_hook_count(cx, SB_HOOKS_PENDING, -1));
    SB_TRY(sb_hook_count(cx, SB_HOOKS_FAILED, 1));
    SB_TRY(sb_hook_cap(cx));
    return sb_hook_next(cx, h.conv);
}


/* A failed row leaves for good: the admin can no longer replay it. */
static int
sb_hook_drop(sb_ctx_t *cx, MDB_cursor *cur)
{
    SB_TRY(mdb_cursor_del(cur, 0));
    SB_TRY(sb_hook_count(cx, SB_HOOKS_FAILED, -1));
    SB_TRY(sb_hook_count(cx, SB_HOOKS_DROPPED, 1));
    cx->res->dropped++;
    return 0;
}


/*
 * Issue 20: a CRM down for a week cannot fill the store. A tenant keeps
 * at most hook_keep_max failed rows: past it, the oldest go.
 */
static int
sb_hook_cap(sb_ctx_t *cx)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     k, prefix;
    int64_t      failed;
    int          rc = 0;

    if (cx->cfg->hook_keep_max <= 0) {        /* no cap */
        return 0;
    }
    sb_hook_counter_key(&k, cx->tenant, SB_HOOKS_FAILED);
    SB_TRY(sb_count_value(cx, &k, &failed));
    if (failed <= cx->cfg->hook_keep_max) {
        return 0;
    }
    sb_key_init(&prefix, cx->tenant);
    sb_key_u8(&prefix, 'f');
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_HOOK), &cur));
    for (; failed > cx->cfg->hook_keep_max && rc == 0; failed--) {
        key = sb_key_val(&prefix);
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        if (rc == 0 && !sb_key_has_prefix(&key, &prefix)) {
            rc = MDB_NOTFOUND;
        }
        if (rc == 0) {
            rc = sb_hook_drop(cx, cur);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* 1 when the event's conversation was deleted by retention: its failed
 * event goes with it (issue 20), whatever the keep. */
static int
sb_hook_orphan(sb_ctx_t *cx, const char *tenant, const sb_outevent_t *h)
{
    sb_key_t  k;
    MDB_val   val;
    int       ch;

    for (ch = 0; ch < SB_CH_COUNT && cx->cfg->retention_ms[ch] <= 0; ch++) {
        /* look for a channel with retention */
    }
    if (ch == SB_CH_COUNT || h->conv == 0) {
        return 0;
    }
    sb_conv_key(&k, tenant, h->conv);
    return sb_get(cx->txn, SB_DB(cx, SB_DB_CONV), &k, &val) == MDB_NOTFOUND;
}


/* The upkeep walk's visit of a hook row (any tenant's): a failed row
 * older than hook_keep_ms, or whose conversation retention deleted, is
 * dropped. */
int
sb_hook_expire(sb_ctx_t *cx, MDB_cursor *cur, MDB_val *key, MDB_val *val,
    int *dropped)
{
    sb_outevent_t   h;
    const char     *saved = cx->tenant;
    const char     *p = key->mv_data;
    size_t          tlen = strnlen(p, key->mv_size);
    char            tenant[SB_ID_MAX + 1];
    int             rc;

    *dropped = 0;
    if (tlen + 1 >= key->mv_size || tlen > SB_ID_MAX || p[tlen + 1] != 'f'
        || sb_outevent_decode(val->mv_data, val->mv_size, &h) != 0)
    {
        return 0;
    }
    memcpy(tenant, p, tlen);
    tenant[tlen] = '\0';
    if ((cx->cfg->hook_keep_ms <= 0
         || h.failed_at >= cx->now - cx->cfg->hook_keep_ms)
        && !sb_hook_orphan(cx, tenant, &h))
    {
        return 0;
    }
    cx->tenant = tenant;
    rc = sb_hook_drop(cx, cur);
    cx->tenant = saved;
    *dropped = rc == 0;
    return rc;
}


/* The failed rows, oldest first (up to max), back to their lines with
 * their attempts anew; each is due at once unless its line has rows,
 * one of which is then the line's only due row: the replayed one goes
 * when that one is done (a replay is out of order by nature). */
int
sb_hook_replay(sb_ctx_t *cx, size_t max, size_t *replayed)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix, k;
    sb_outevent_t    h;
    void        *copy;
    int          rc = 0;

    *replayed = 0;
    sb_key_init(&prefix, cx->tenant);
    sb_key_u8(&prefix, 'f');
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_HOOK), &cur));
    while (*replayed < max) {
        key = sb_key_val(&prefix);
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        if (rc || !sb_key_has_prefix(&key, &prefix)) {
            break;
        }
        copy = sb_alloc(cx, val.mv_size);
        if (copy == NULL) {
            rc = ENOMEM;
            break;
        }
        memcpy(copy, val.mv_data, val.mv_size);
        rc = sb_outevent_decode(copy, val.mv_size, &h);
        if (rc == 0) {
            rc = mdb_cursor_del(cur, 0);
        }
        if (rc) {
            break;
        }
        h.attempts = 0;
        h.failed_at = 0;
        h.due = 0;
        rc = sb_hook_line_busy(cx, h.conv) ? 0
             : sb_hook_due(cx, &h, cx->now);
        if (rc == 0) {
            sb_hook_pending_key(&k, cx->tenant, h.conv, h.id);
            rc = sb_hook_put(cx, &k, &h);
        }
        if (rc) {
            break;
        }
        (*replayed)++;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    SB_TRY(sb_hook_count(cx, SB_HOOKS_FAILED, -(int64_t) *replayed));
    return sb_hook_count(cx, SB_HOOKS_PENDING, (int64_t) *replayed);
}


/* Erasure (issue 20): a conversation's line goes whole, each row's
 * deadline with it, and *n counts them. A POST in flight for one of them
 * lands on no row and changes nothing (sb_hook_outcome). */
int
sb_hook_erase_line(sb_ctx_t *cx, uint64_t conv, uint32_t *n)
{
    MDB_cursor     *cur;
    MDB_val         key, val;
    sb_key_t        prefix, k;
    sb_outevent_t   h;
    int             rc;

    sb_hook_line_key(&prefix, cx->tenant, conv);
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_HOOK), &cur));
    for ( ;; ) {
        key = sb_key_val(&prefix);
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        if (rc || !sb_key_has_prefix(&key, &prefix)) {
            rc = rc ? rc : MDB_NOTFOUND;
            break;
        }
        if (sb_outevent_decode(val.mv_data, val.mv_size, &h) == 0
            && h.due)
        {
            sb_deadline_key(&k, h.due, cx->tenant, SB_DL_HOOK, h.conv, h.id);
            rc = sb_del(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &k);
            if (rc && rc != MDB_NOTFOUND) {
                break;
            }
        }
        rc = mdb_cursor_del(cur, 0);
        if (rc == 0) {
            rc = sb_hook_count(cx, SB_HOOKS_PENDING, -1);
        }
        if (rc) {
            break;
        }
        (*n)++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* Erasure: the failed rows of the tenant about one of the conversations
 * (at most hook_keep_max of them to read), out; *n counts them. */
int
sb_hook_erase_failed(sb_ctx_t *cx, const uint64_t *convs, size_t nconvs,
    uint32_t *n)
{
    MDB_cursor     *cur;
    MDB_val         key, val;
    sb_key_t        prefix;
    sb_outevent_t   h;
    int             rc;

    sb_key_init(&prefix, cx->tenant);
    sb_key_u8(&prefix, 'f');
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_HOOK), &cur));
    key = sb_key_val(&prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (sb_outevent_decode(val.mv_data, val.mv_size, &h) != 0
            || h.conv == 0 || !sb_ids_have(convs, nconvs, h.conv))
        {
            continue;
        }
        rc = mdb_cursor_del(cur, 0);
        if (rc == 0) {
            rc = sb_hook_count(cx, SB_HOOKS_FAILED, -1);
        }
        if (rc) {
            break;
        }
        (*n)++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* visitor.erased: for the CRM to erase its copy; it names the visitor
 * until it is sent (or dropped), then nothing of them is left. */
int
sb_hook_visitor_erased(sb_ctx_t *cx, int channel, const char *visitor,
    const char *by)
{
    sb_outevent_t  h;

    if (!(cx->cfg->hook_types & (1u << SB_HOOK_VISITOR_ERASED))) {
        return 0;
    }
    sb_hook_init(cx, &h, SB_HOOK_VISITOR_ERASED, NULL);
    h.channel = (uint8_t) channel;
    h.visitor = sb_cspan(visitor);
    h.agent = sb_cspan(by);
    return sb_hook_emit(cx, &h);
}
