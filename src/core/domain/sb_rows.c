/* Rows a command appends: thread entries (R17), owners' event logs (R24),
 * handlers (R18), tags (R11) and idempotency references (R21). Each is
 * a small put; nothing here rewrites a list. */

#include <stdio.h>
#include <openssl/sha.h>

#include "domain/sb_domain.h"

#define SB_IDEM_KEY_RAW  200     /* longer ids are keyed by a digest */


void
sb_msg_key(sb_key_t *k, const char *tenant, uint64_t conv, uint64_t seq)
{
    sb_key_init(k, tenant);
    sb_key_u64(k, conv);
    sb_key_u64(k, seq);
}


/* A record encoded into the batch's memory. */
int
sb_msg_record(sb_ctx_t *cx, const sb_msg_t *m, sb_span_t *out)
{
    sb_wr_t  w = { NULL, 0 };

    sb_msg_encode(&w, m);
    w.p = sb_alloc(cx, w.n);
    if (w.p == NULL) {
        return ENOMEM;
    }
    out->n = w.n;
    w.n = 0;
    sb_msg_encode(&w, m);
    out->p = (const char *) w.p;
    return 0;
}


/*
 * Appends m to the conversation's thread, numbering it. The encoded
 * record stays in the batch's memory (record), for an event to embed and
 * an answer to show without reading it back.
 */
int
sb_thread_append(sb_ctx_t *cx, sb_conv_t *c, sb_msg_t *m, sb_span_t *record)
{
    sb_key_t   k;
    sb_span_t  rec;

    m->seq = ++c->seq;
    m->at = cx->now;
    SB_TRY(sb_msg_record(cx, m, &rec));
    sb_msg_key(&k, cx->tenant, c->id, m->seq);
    SB_TRY(sb_put(cx->txn, SB_DB(cx, SB_DB_MSG), &k, rec.p, rec.n));
    if (record) {
        *record = rec;
    }
    if (m->kind == SB_KIND_SYSTEM) {
        return 0;
    }
    return sb_hook_message(cx, c, SB_HOOK_MSG_CREATED, m, rec);
}


/* R17: "Ann snoozed this conversation until ..." and the like. */
int
sb_thread_system(sb_ctx_t *cx, sb_conv_t *c, sb_sys_t event,
    const char *author, const char *text)
{
    sb_msg_t  m;

    memset(&m, 0, sizeof(m));
    m.kind = SB_KIND_SYSTEM;
    m.event = event;
    m.author.p = author;
    m.author.n = strlen(author);
    m.text.p = text;
    m.text.n = strlen(text);
    return sb_thread_append(cx, c, &m, NULL);
}


/* Reads a thread entry into the batch's memory, so that it can change. */
int
sb_msg_load(sb_ctx_t *cx, uint64_t conv, uint64_t seq, sb_msg_t *m)
{
    sb_key_t  k;
    MDB_val   val;
    void     *copy;

    sb_msg_key(&k, cx->tenant, conv, seq);
    SB_TRY(sb_get(cx->txn, SB_DB(cx, SB_DB_MSG), &k, &val));
    copy = sb_alloc(cx, val.mv_size);
    if (copy == NULL) {
        return ENOMEM;
    }
    memcpy(copy, val.mv_data, val.mv_size);
    return sb_msg_decode(copy, val.mv_size, m);
}


int
sb_msg_store(sb_ctx_t *cx, uint64_t conv, const sb_msg_t *m,
    sb_span_t *record)
{
    sb_key_t   k;
    sb_span_t  rec;

    SB_TRY(sb_msg_record(cx, m, &rec));
    sb_msg_key(&k, cx->tenant, conv, m->seq);
    SB_TRY(sb_put(cx->txn, SB_DB(cx, SB_DB_MSG), &k, rec.p, rec.n));
    if (record) {
        *record = rec;
    }
    return 0;
}


/* R24: appends to an owner's durable log, numbered after its last. */
int
sb_log_append(sb_ctx_t *cx, const char *owner, size_t owner_len,
    sb_event_t *e)
{
    sb_key_t  k;
    uint64_t  seq;

    sb_key_init(&k, cx->tenant);
    sb_key_raw(&k, owner, owner_len);
    sb_key_u8(&k, 0);
    SB_TRY(sb_seq_next(cx, SB_DB_EVENT, &k, 0, &seq));
    e->seq = seq;
    e->at = cx->now;
    sb_key_u64(&k, seq);
    SB_TRY(SB_REC_PUT(cx->txn, SB_DB(cx, SB_DB_EVENT), &k, sb_event_encode,
                      e));
    sb_moved(cx, owner, owner_len);
    return 0;
}


int
sb_log_agent(sb_ctx_t *cx, const char *agent, sb_event_t *e)
{
    char    owner[SB_ID_MAX + 8];
    size_t  n = sb_owner_agent(agent, owner, sizeof(owner));

    return sb_log_append(cx, owner, n, e);
}


int
sb_log_visitor(sb_ctx_t *cx, const sb_conv_t *c, sb_event_t *e)
{
    char    owner[SB_VISITOR_MAX + 24];
    size_t  n = sb_owner_visitor(c->channel, c->visitor, owner,
                                 sizeof(owner));

    return sb_log_append(cx, owner, n, e);
}


static void
sb_handler_key(sb_key_t *k, const char *tenant, uint64_t conv, uint32_t n)
{
    sb_key_init(k, tenant);
    sb_key_u64(k, conv);
    sb_key_u32(k, n);
}


/* R18: who held the conversation, in order; one row each. */
int
sb_handler_open(sb_ctx_t *cx, sb_conv_t *c, const char *agent)
{
    sb_handler_t  h;
    sb_key_t      k;

    memset(&h, 0, sizeof(h));
    snprintf(h.agent, sizeof(h.agent), "%s", agent);
    h.from = cx->now;
    sb_handler_key(&k, cx->tenant, c->id, c->nhandlers++);
    return SB_REC_PUT(cx->txn, SB_DB(cx, SB_DB_HANDLER), &k,
                      sb_handler_encode, &h);
}


int
sb_handler_close(sb_ctx_t *cx, sb_conv_t *c)
{
    sb_handler_t  h;
    sb_key_t      k;
    MDB_val       val;
    int           rc;

    if (c->nhandlers == 0) {
        return 0;
    }
    sb_handler_key(&k, cx->tenant, c->id, c->nhandlers - 1);
    rc = sb_get(cx->txn, SB_DB(cx, SB_DB_HANDLER), &k, &val);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    SB_TRY(sb_handler_decode(val.mv_data, val.mv_size, &h));
    if (h.to) {
        return 0;
    }
    h.to = cx->now;
    return SB_REC_PUT(cx->txn, SB_DB(cx, SB_DB_HANDLER), &k,
                      sb_handler_encode, &h);
}


/* R11: the set is replaced: a row per tag in the order given, and the
 * index the admin's ?tag= filter walks. */
int
sb_tags_replace(sb_ctx_t *cx, sb_conv_t *c, const sb_span_t *tags, int n)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix, k;
    sb_span_t    tag;
    int          rc, i;

    sb_key_init(&prefix, cx->tenant);
    sb_key_u64(&prefix, c->id);
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_TAG), &cur));
    for ( ;; ) {
        key = sb_key_val(&prefix);
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        if (rc || !sb_key_has_prefix(&key, &prefix)) {
            break;
        }
        tag.p = val.mv_data;
        tag.n = val.mv_size;
        sb_key_init(&k, cx->tenant);
        sb_key_span(&k, tag);
        sb_key_u64(&k, c->id);
        rc = sb_del(cx->txn, SB_DB(cx, SB_DB_TAGGED), &k);
        if (rc == 0) {
            rc = mdb_cursor_del(cur, 0);
        }
        if (rc) {
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }

    for (i = 0; i < n; i++) {
        k = prefix;
        sb_key_u8(&k, (unsigned) i);
        SB_TRY(sb_put(cx->txn, SB_DB(cx, SB_DB_TAG), &k, tags[i].p,
                      tags[i].n));
        sb_key_init(&k, cx->tenant);
        sb_key_span(&k, tags[i]);
        sb_key_u64(&k, c->id);
        SB_TRY(sb_put(cx->txn, SB_DB(cx, SB_DB_TAGGED), &k, "", 0));
    }
    return 0;
}


/*
 * R21: an idempotency or dedupe key. scope 'v' visitor (channel, who,
 * key), 'a' agent (who, conversation, key), 'p' a provider's message id
 * and 's' our send's provider id (channel, id). An id too long for a key
 * is keyed by its SHA-256 instead, never by a prefix.
 */
void
sb_idem_key(sb_key_t *k, const char *tenant, char scope, int channel,
    const char *who, uint64_t conv, sb_span_t id)
{
    sb_key_init(k, tenant);
    sb_key_u8(k, (unsigned char) scope);
    if (scope != 'a') {
        sb_key_u8(k, (unsigned) channel);
    }
    if (who) {
        sb_key_str(k, who);
    }
    if (scope == 'a') {
        sb_key_u64(k, conv);
    }
    /* "p:wamid.…": the id readable in a dump of the store */
    sb_key_u8(k, (unsigned char) scope);
    sb_key_u8(k, ':');
    if (id.n > SB_IDEM_KEY_RAW) {
        unsigned char  md[SHA256_DIGEST_LENGTH];

        SHA256((const unsigned char *) id.p, id.n, md);
        sb_key_u8(k, 0xff);                 /* never a raw id's first byte */
        sb_key_raw(k, md, sizeof(md));
        return;
    }
    sb_key_span(k, id);
}


int
sb_idem_put(sb_ctx_t *cx, sb_key_t *k, uint64_t conv, uint64_t seq)
{
    sb_idem_t  i = { conv, seq, cx->now };

    return SB_REC_PUT(cx->txn, SB_DB(cx, SB_DB_IDEM), k, sb_idem_encode, &i);
}


/* R1: the visitor's open conversation on a channel. */
int
sb_open_key(sb_key_t *k, const char *tenant, int channel,
    const char *visitor)
{
    sb_key_init(k, tenant);
    sb_key_u8(k, (unsigned) channel);
    sb_key_str(k, visitor);
    return k->overflow;
}
