/* Retention (issue 20): an ended conversation older than its channel's
 * switchboard_retention goes whole, its owners' events and the ledger's
 * lines follow by age; each is one row of the upkeep's sliced walks. */

#include "domain/sb_domain.h"


/* The tenant a key starts with, copied into buf (the caller's cx->tenant
 * while the row is acted on); NULL when the key holds none. */
static const char *
sb_row_tenant(const MDB_val *key, char *buf, size_t *len)
{
    const char  *p = key->mv_data;
    size_t       n = strnlen(p, key->mv_size);

    if (n >= key->mv_size || n > SB_ID_MAX) {
        return NULL;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    *len = n + 1;
    return buf;
}


/* Every row of db under prefix, deleted (*n counts them, if given). */
int
sb_prefix_del(sb_ctx_t *cx, int db, sb_key_t *prefix, uint32_t *n)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    int          rc;

    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, db), &cur));
    for ( ;; ) {
        key = sb_key_val(prefix);
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        if (rc || !sb_key_has_prefix(&key, prefix)) {
            break;
        }
        rc = mdb_cursor_del(cur, 0);
        if (rc) {
            break;
        }
        if (n) {
            (*n)++;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* 1 when a reply of the thread still waits to go out (R22): its row must
 * be there when the delivery fires. */
static int
sb_thread_sending(sb_ctx_t *cx, sb_key_t *prefix, int *sending)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_msg_t     m;
    int          rc;

    *sending = 0;
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_MSG), &cur));
    key = sb_key_val(prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (sb_msg_decode(val.mv_data, val.mv_size, &m) == 0
            && m.delivery.due != 0)
        {
            *sending = 1;
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/*
 * The conversation whole: its thread, handlers, tags and their index, its
 * open row if it still has one, its deadlines, its record and its state
 * row (at the flush). One with a reply or an event webhook still waiting
 * to go out is left for a later walk (*erased 0): its send needs its rows.
 */
int
sb_conv_erase(sb_ctx_t *cx, sb_conv_t *c, int *erased)
{
    sb_key_t  prefix;
    int       sending;

    *erased = 0;
    sb_hook_pending_key(&prefix, cx->tenant, c->id, 0);
    prefix.n -= 8;                       /* the conversation's line */
    if (sb_prefix_any(cx->txn, SB_DB(cx, SB_DB_HOOK), &prefix)) {
        return 0;
    }
    sb_key_init(&prefix, cx->tenant);
    sb_key_u64(&prefix, c->id);
    SB_TRY(sb_thread_sending(cx, &prefix, &sending));
    if (sending) {
        return 0;
    }
    *erased = 1;
    return sb_conv_remove(cx, c, NULL);
}


/* The conversation's own rows, whatever waits: its thread (*messages
 * counts it, if given), handlers, tags and their index, its open row if
 * it still has one, its deadlines, its visitor's index row, its record
 * and its state row (at the flush). */
int
sb_conv_remove(sb_ctx_t *cx, sb_conv_t *c, uint32_t *messages)
{
    sb_key_t  prefix, k;
    MDB_val   val;

    sb_key_init(&prefix, cx->tenant);
    sb_key_u64(&prefix, c->id);
    SB_TRY(sb_prefix_del(cx, SB_DB_MSG, &prefix, messages));
    SB_TRY(sb_prefix_del(cx, SB_DB_HANDLER, &prefix, NULL));
    SB_TRY(sb_tags_replace(cx, c, NULL, 0));
    if (sb_open_key(&k, cx->tenant, c->channel, c->visitor) == 0
        && sb_get(cx->txn, SB_DB(cx, SB_DB_OPEN), &k, &val) == 0
        && val.mv_size == 8 && sb_be64(val.mv_data) == c->id)
    {
        SB_TRY(sb_del(cx->txn, SB_DB(cx, SB_DB_OPEN), &k));
    }
    SB_TRY(sb_deadline_clear_all(cx, c));
    SB_TRY(sb_visit_del(cx, c));
    sb_conv_drop(cx, c);
    return 0;
}


/* A row of the state index (t state conv): an ended conversation older
 * than its channel's retention goes whole. */
int
sb_retain_conv(sb_ctx_t *cx, MDB_cursor *cur, MDB_val *key, MDB_val *val,
    int *dropped)
{
    const char  *saved = cx->tenant;
    const char  *p = key->mv_data;
    char         tenant[SB_ID_MAX + 1];
    sb_conv_t   *c, peek;
    sb_key_t     k;
    MDB_val      row;
    uint64_t     id;
    size_t       tlen;
    int64_t      keep;
    int          rc;

    *dropped = 0;
    if (sb_row_tenant(key, tenant, &tlen) == NULL
        || key->mv_size != tlen + 9 || p[tlen] != SB_STATE_ENDED)
    {
        return 0;
    }
    /* a plain read decides; only a conversation that is due goes
     * through the batch's cache (which would re-encode every one it
     * holds at the flush) */
    id = sb_be64((const unsigned char *) p + tlen + 1);
    sb_conv_key(&k, tenant, id);
    if (sb_get(cx->txn, SB_DB(cx, SB_DB_CONV), &k, &row) != 0
        || sb_conv_decode(row.mv_data, row.mv_size, &peek, cx->cfg) != 0)
    {
        return 0;
    }
    keep = peek.channel < SB_CH_COUNT ? cx->cfg->retention_ms[peek.channel]
                                      : 0;
    if (keep <= 0 || peek.state != SB_STATE_ENDED
        || peek.ended_at >= cx->now - keep
        || sb_tenant_state(cx->st, cx->txn, tenant) != SB_TENANT_LIVE)
    {
        return 0;              /* a tenant being moved is left as it is */
    }
    cx->tenant = tenant;
    rc = sb_conv_get(cx, id, &c);
    if (rc == 0 && c->state == SB_STATE_ENDED) {
        rc = sb_conv_erase(cx, c, dropped);
    }
    cx->tenant = saved;
    return rc == MDB_NOTFOUND || rc == MDB_CORRUPTED ? 0 : rc;
}


/* The shortest retention of every channel: how long an event about no
 * conversation (an agent's status) is kept; 0 while a channel keeps all. */
static int64_t
sb_retention_all(const sb_config_t *cfg)
{
    int64_t  keep = 0;
    int      ch;

    for (ch = 0; ch < SB_CH_COUNT; ch++) {
        if (cfg->retention_ms[ch] <= 0) {
            return 0;
        }
        keep = keep == 0 || cfg->retention_ms[ch] > keep
               ? cfg->retention_ms[ch] : keep;
    }
    return keep;
}


/* 1 when the conversation of tenant is still there and not ended: its
 * events are kept, however old. */
static int
sb_conv_live(sb_ctx_t *cx, const char *tenant, uint64_t conv)
{
    sb_key_t  k;
    MDB_val   val;

    sb_conv_key(&k, tenant, conv);
    if (sb_get(cx->txn, SB_DB(cx, SB_DB_CONV), &k, &val) != 0) {
        return 0;
    }
    sb_key_init(&k, tenant);
    sb_key_u8(&k, SB_STATE_ENDED);
    sb_key_u64(&k, conv);
    return sb_get(cx->txn, SB_DB(cx, SB_DB_STATE), &k, &val) != 0;
}


static void
sb_floor_key(sb_key_t *k, const char *tenant)
{
    sb_key_init(k, tenant);
    sb_key_str(k, "#event_floor");
}


/* The greatest event number retention deleted in the tenant's logs: a
 * log it emptied goes on after it, so that no number comes twice. */
uint64_t
sb_event_floor(sb_store_t *st, MDB_txn *txn, const char *tenant)
{
    sb_key_t  k;
    MDB_val   val;

    sb_floor_key(&k, tenant);
    return sb_get(txn, st->db[SB_DB_META], &k, &val) == 0 && val.mv_size == 8
           ? sb_be64(val.mv_data) : 0;
}


int
sb_event_floor_raise(sb_ctx_t *cx, const char *tenant, uint64_t seq)
{
    sb_key_t       k;
    unsigned char  be[8];
    int            i;

    if (seq <= sb_event_floor(cx->st, cx->txn, tenant)) {
        return 0;
    }
    for (i = 0; i < 8; i++) {
        be[i] = (unsigned char) (seq >> ((7 - i) * 8));
    }
    sb_floor_key(&k, tenant);
    return sb_put(cx->txn, SB_DB(cx, SB_DB_META), &k, be, 8);
}


/*
 * A row of an owner's log (t owner seq): older than its channel's
 * retention, about a conversation that is ended or gone (or about none),
 * it goes, and the tenant's floor rises past it: a log emptied numbers
 * its next event after the floor, so that a client's cursor never meets
 * a number twice (sb_seq_next).
 */
int
sb_retain_event(sb_ctx_t *cx, MDB_cursor *cur, MDB_val *key, MDB_val *val,
    int *dropped)
{
    sb_event_t  e;
    char        tenant[SB_ID_MAX + 1];
    size_t      tlen;
    int64_t     keep;

    *dropped = 0;
    if (key->mv_size < 9 || sb_row_tenant(key, tenant, &tlen) == NULL
        || sb_event_decode(val->mv_data, val->mv_size, &e) != 0)
    {
        return 0;
    }
    keep = e.conv == 0 ? sb_retention_all(cx->cfg)
           : e.channel < SB_CH_COUNT ? cx->cfg->retention_ms[e.channel] : 0;
    if (keep <= 0 || e.at >= cx->now - keep
        || (e.conv && sb_conv_live(cx, tenant, e.conv)))
    {
        return 0;
    }
    SB_TRY(sb_event_floor_raise(cx, tenant, e.seq));
    *dropped = 1;
    return mdb_cursor_del(cur, 0);
}


/* A line of the ledger (R19): kept unless switchboard_ledger_retention
 * says how long. */
int
sb_retain_ledger(sb_ctx_t *cx, MDB_cursor *cur, MDB_val *key, MDB_val *val,
    int *dropped)
{
    sb_ledger_t  l;

    *dropped = cx->cfg->ledger_retention_ms > 0
               && sb_ledger_decode(val->mv_data, val->mv_size, &l) == 0
               && l.ended_at < cx->now - cx->cfg->ledger_retention_ms;
    return *dropped ? mdb_cursor_del(cur, 0) : 0;
}
