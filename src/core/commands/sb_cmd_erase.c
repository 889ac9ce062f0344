/* A visitor's erasure (issue 20, GDPR art. 17): an open conversation is
 * ended first (its slot freed, its agent told), then everything of the
 * visitor on the channel goes; an audit line without content stays. */

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands/sb_commands.h"

/* how far from its handling an agent's event about a conversation may
 * sit in its log (times come from the workers' clocks) */
#define SB_ERASE_SLACK_MS  (3600 * 1000)


typedef struct {
    uint64_t  *ids;
    size_t     n, cap;
} sb_convs_t;


static int
sb_convs_add(sb_ctx_t *cx, sb_convs_t *v, uint64_t id)
{
    uint64_t  *ids;

    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        ids = sb_alloc(cx, v->cap * sizeof(uint64_t));
        if (ids == NULL) {
            return ENOMEM;
        }
        if (v->n) {
            memcpy(ids, v->ids, v->n * sizeof(uint64_t));
        }
        v->ids = ids;
    }
    v->ids[v->n++] = id;
    return 0;
}


/* The row of db at k, deleted if it is there, and counted then. */
static int
sb_erase_row(sb_ctx_t *cx, int db, sb_key_t *k, uint32_t *n)
{
    MDB_val  val;
    int      rc;

    rc = sb_get(cx->txn, SB_DB(cx, db), k, &val);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    (*n)++;
    return sb_del(cx->txn, SB_DB(cx, db), k);
}


/* The visitor's conversations, from their index. */
static int
sb_erase_find(sb_ctx_t *cx, const sb_cmd_t *cmd, sb_convs_t *v)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix;
    int          rc;

    sb_open_key(&prefix, cx->tenant, cmd->channel, cmd->target);
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_VISIT), &cur));
    key = sb_key_val(&prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (key.mv_size == prefix.n + 8) {
            rc = sb_convs_add(cx, v, sb_be64((unsigned char *) key.mv_data
                                             + prefix.n));
            if (rc) {
                break;
            }
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* The first seq of the log under prefix whose event is at or after at
 * (events are appended in time order, give or take the workers'
 * clocks): a binary search over the numbers it holds. */
static uint64_t
sb_log_seek(MDB_cursor *cur, const sb_key_t *prefix, int64_t at)
{
    MDB_val     key, val;
    sb_key_t    k;
    sb_event_t  e;
    uint64_t    lo = 0, hi = UINT64_MAX, mid, seq;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        k = *prefix;
        sb_key_u64(&k, mid);
        key = sb_key_val(&k);
        if (mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE) != 0
            || !sb_key_has_prefix(&key, prefix)
            || key.mv_size != prefix->n + 8)
        {
            hi = mid;                     /* nothing at or after mid */
            continue;
        }
        seq = sb_be64((unsigned char *) key.mv_data + prefix->n);
        if (sb_event_decode(val.mv_data, val.mv_size, &e) == 0
            && e.at < at)
        {
            lo = seq + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}


/* An agent's events about conversation conv between from and to (with
 * slack), out of its log, all but its last word: "ended, erased", which
 * names no one. The tenant's floor rises past what was taken. */
static int
sb_erase_agent_events(sb_ctx_t *cx, const char *agent, uint64_t conv,
    int64_t from, int64_t to, uint32_t *n)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix, k;
    sb_event_t   e;
    char         owner[SB_ID_MAX + 8];
    size_t       len = sb_owner_agent(agent, owner, sizeof(owner));
    uint64_t     top = 0;
    int          rc;

    sb_key_init(&prefix, cx->tenant);
    sb_key_raw(&prefix, owner, len);
    sb_key_u8(&prefix, 0);
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_EVENT), &cur));
    k = prefix;
    sb_key_u64(&k, sb_log_seek(cur, &prefix, from - SB_ERASE_SLACK_MS));
    key = sb_key_val(&k);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (sb_event_decode(val.mv_data, val.mv_size, &e) != 0) {
            continue;
        }
        if (e.at > to + SB_ERASE_SLACK_MS) {
            break;
        }
        if (e.conv != conv
            || (e.type == SB_EV_ENDED && e.why == SB_WHY_ERASED))
        {
            continue;
        }
        rc = mdb_cursor_del(cur, 0);
        if (rc) {
            break;
        }
        top = e.seq > top ? e.seq : top;
        (*n)++;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    return top ? sb_event_floor_raise(cx, cx->tenant, top) : 0;
}


/* Each handler's events about the conversation, and the handler's own
 * idempotency keys on it ('a' scope: agent, conversation, key). */
static int
sb_erase_handlers(sb_ctx_t *cx, const sb_conv_t *c, int64_t last,
    sb_erased_t *out)
{
    MDB_cursor    *cur;
    MDB_val        key, val;
    sb_key_t       prefix, k;
    sb_handler_t   h;
    int            rc;

    sb_key_init(&prefix, cx->tenant);
    sb_key_u64(&prefix, c->id);
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_HANDLER), &cur));
    key = sb_key_val(&prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (sb_handler_decode(val.mv_data, val.mv_size, &h) != 0) {
            continue;
        }
        rc = sb_erase_agent_events(cx, h.agent, c->id, h.from,
                                   h.to > last ? h.to : last,
                                   &out->events);
        if (rc == 0) {
            sb_key_init(&k, cx->tenant);
            sb_key_u8(&k, 'a');
            sb_key_str(&k, h.agent);
            sb_key_u64(&k, c->id);
            rc = sb_prefix_del(cx, SB_DB_IDEM, &k, &out->idempotency);
        }
        if (rc) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* The thread's pending deliveries (their deadlines) and our sends'
 * provider ids ('s' rows); *last is the latest failure, after which an
 * agent's log may still hold an event about it. */
static int
sb_erase_sends(sb_ctx_t *cx, const sb_conv_t *c, int64_t *last,
    sb_erased_t *out)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix, k;
    sb_msg_t     m;
    int          rc;

    sb_key_init(&prefix, cx->tenant);
    sb_key_u64(&prefix, c->id);
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_MSG), &cur));
    key = sb_key_val(&prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (sb_msg_decode(val.mv_data, val.mv_size, &m) != 0) {
            continue;
        }
        *last = m.delivery.failed_at > *last ? m.delivery.failed_at : *last;
        if (m.delivery.due) {
            sb_deadline_key(&k, m.delivery.due, cx->tenant, SB_DL_DELIVER,
                            c->id, m.seq);
            rc = sb_del(cx->txn, SB_DB(cx, SB_DB_DEADLINE), &k);
            if (rc) {
                break;
            }
            out->deliveries++;
        }
        if (m.delivery.provider_id.n) {
            sb_sent_key(&k, cx->tenant, c->channel, m.delivery.provider_id);
            rc = sb_erase_row(cx, SB_DB_IDEM, &k, &out->idempotency);
            if (rc) {
                break;
            }
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* The providers' message ids that name one of the conversations ('p'
 * rows of the channel, as many as its dedupe window holds). */
static int
sb_erase_dedupe(sb_ctx_t *cx, int channel, const sb_convs_t *v,
    uint32_t *n)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix;
    sb_idem_t    ref;
    int          rc;

    sb_key_init(&prefix, cx->tenant);
    sb_key_u8(&prefix, 'p');
    sb_key_u8(&prefix, (unsigned) channel);
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_IDEM), &cur));
    key = sb_key_val(&prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (sb_idem_decode(val.mv_data, val.mv_size, &ref) != 0
            || !sb_ids_have(v->ids, v->n, ref.conv))
        {
            continue;
        }
        rc = mdb_cursor_del(cur, 0);
        if (rc) {
            break;
        }
        (*n)++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* One conversation of the visitor's, whole. */
static int
sb_erase_conv(sb_ctx_t *cx, uint64_t id, sb_erased_t *out)
{
    sb_conv_t  *c;
    int64_t     last;
    int         rc;

    rc = sb_conv_get(cx, id, &c);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;    /* an index row ahead */
    }
    last = c->ended_at ? c->ended_at : cx->now;
    SB_TRY(sb_erase_sends(cx, c, &last, out));
    SB_TRY(sb_erase_handlers(cx, c, last, out));
    SB_TRY(sb_hook_erase_line(cx, c->id, &out->outbox));
    SB_TRY(sb_conv_remove(cx, c, &out->messages));
    out->conversations++;
    return 0;
}


/* The visitor's own rows: their log (the floor rises past it), their
 * idempotency keys ('v' scope) and their block. */
static int
sb_erase_visitor_rows(sb_ctx_t *cx, const sb_cmd_t *cmd, sb_erased_t *out)
{
    sb_key_t  k, last;
    MDB_val   key, val;
    char      owner[SB_VISITOR_MAX + 24];
    size_t    len = sb_owner_visitor(cmd->channel, cmd->target, owner,
                                     sizeof(owner));
    int       rc;

    sb_key_init(&k, cx->tenant);
    sb_key_raw(&k, owner, len);
    sb_key_u8(&k, 0);
    last = k;
    rc = sb_prefix_last(cx->txn, SB_DB(cx, SB_DB_EVENT), &last, &key, &val);
    if (rc == 0 && key.mv_size == k.n + 8) {
        SB_TRY(sb_event_floor_raise(cx, cx->tenant,
                                    sb_be64((unsigned char *) key.mv_data
                                            + k.n)));
    } else if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    SB_TRY(sb_prefix_del(cx, SB_DB_EVENT, &k, &out->events));

    sb_key_init(&k, cx->tenant);
    sb_key_u8(&k, 'v');
    sb_key_u8(&k, (unsigned) cmd->channel);
    sb_key_str(&k, cmd->target);
    SB_TRY(sb_prefix_del(cx, SB_DB_IDEM, &k, &out->idempotency));

    sb_open_key(&k, cx->tenant, cmd->channel, cmd->target);
    return sb_erase_row(cx, SB_DB_BLOCK, &k, &out->blocks);
}


/* The audit line: who, when, what went; the visitor only as a digest,
 * so that an erasure can be shown to have happened without naming. */
static int
sb_erase_audit(sb_ctx_t *cx, const sb_cmd_t *cmd, sb_erased_t *out)
{
    sb_audit_t  a;
    sb_key_t    k;
    char        who[SB_ID_MAX + SB_VISITOR_MAX + 24];
    int         n;
    uint64_t    seq;
    unsigned char  ch = (unsigned char) cmd->channel;

    sb_key_init(&k, cx->tenant);
    sb_key_str(&k, "#audit");
    SB_TRY(sb_seq_next(cx, SB_DB_META, &k, 1, &seq));
    out->audit = seq;

    memset(&a, 0, sizeof(a));
    a.at = cx->now;
    snprintf(a.by, sizeof(a.by), "%.*s", SB_ID_MAX, cmd->actor);
    a.channel = ch;
    /* of "tenant/channel:visitor": whoever has the id can recompute it */
    n = snprintf(who, sizeof(who), "%s/%s:%s", cx->tenant,
                 sb_channel_name(ch), cmd->target);
    SHA256((const unsigned char *) who, (size_t) n, a.digest);
    a.counts = *out;

    sb_key_init(&k, cx->tenant);
    sb_key_u64(&k, seq);
    return SB_REC_PUT(cx->txn, SB_DB(cx, SB_DB_AUDIT), &k, sb_audit_encode,
                      &a);
}


int
sb_apply_erase_visitor(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    sb_erased_t  *out = &cx->res->visitor_erased;
    sb_convs_t    v = { NULL, 0, 0 };
    sb_conv_t    *c;
    sb_key_t      k;
    MDB_val       val;
    size_t        i;
    int           rc;

    memset(out, 0, sizeof(sb_erased_t));
    SB_TRY(sb_erase_find(cx, cmd, &v));

    /* an open conversation ends first: its slot is freed (the agent's
     * next in line routed), and its agent told ("ended", "erased") */
    sb_open_key(&k, cx->tenant, cmd->channel, cmd->target);
    rc = sb_get(cx->txn, SB_DB(cx, SB_DB_OPEN), &k, &val);
    if (rc == 0 && val.mv_size == 8) {
        rc = sb_conv_get(cx, sb_be64(val.mv_data), &c);
        if (rc == 0 && c->state != SB_STATE_ENDED) {
            rc = sb_end(cx, c, cmd->actor, "Erased", SB_WHY_ERASED);
        }
    }
    if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }

    for (i = 0; i < v.n; i++) {
        SB_TRY(sb_erase_conv(cx, v.ids[i], out));
    }
    if (v.n) {
        SB_TRY(sb_erase_dedupe(cx, cmd->channel, &v, &out->idempotency));
        SB_TRY(sb_hook_erase_failed(cx, v.ids, v.n, &out->outbox));
    }
    SB_TRY(sb_erase_visitor_rows(cx, cmd, out));
    if (out->conversations + out->events + out->idempotency + out->blocks
        == 0)
    {
        return sb_refuse(cx, SB_REFUSE_UNKNOWN_VISITOR);
    }
    SB_TRY(sb_erase_audit(cx, cmd, out));
    return sb_hook_visitor_erased(cx, cmd->channel, cmd->target, cmd->actor);
}
