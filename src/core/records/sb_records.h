/* The binary records the store holds: conversations, agents, thread
 * entries, events, and the small rows (handlers, groups, canned, blocks,
 * idempotency, ledger). Each has an encoder and a checked decoder. */

#ifndef SB_RECORDS_H
#define SB_RECORDS_H

#include "store/sb_store.h"
#include "store/sb_codec.h"

#define SB_REC_VERSION  1

/* deadlines a conversation keeps (R7, R13-R15), by kind */
typedef enum {
    SB_DL_REPLY, SB_DL_SNOOZE, SB_DL_CLOSE, SB_DL_CONV_KINDS,
    SB_DL_DELIVER = SB_DL_CONV_KINDS, SB_DL_HOOK, SB_DL_KINDS
} sb_deadline_kind_t;

typedef struct {
    uint64_t  id;
    uint8_t   state;             /* sb_state_t */
    uint8_t   channel;           /* sb_channel_t */
    int8_t    klass;             /* index in the configuration, -1: gone */
    uint8_t   end_reason;        /* sb_why_t */
    uint8_t   first_reply;       /* the reply clock is R13's, not R14's */
    uint32_t  nhandlers;
    uint64_t  seq;               /* thread entries so far */
    int64_t   created_at, last_visitor_at, last_agent_at, waiting_since,
              queued_at, assigned_at, snoozed_until, ended_at;
    int64_t   due[SB_DL_CONV_KINDS];
    char      group[SB_ID_MAX + 1];
    char      visitor[SB_VISITOR_MAX + 1];
    char      agent[SB_ID_MAX + 1];        /* the holder, or "" */
    char      last_agent[SB_ID_MAX + 1];   /* author of the last reply */
    char      credited[SB_ID_MAX + 1];     /* R19, once ended */
    char      account[SB_PROVIDER_ID_MAX + 1];
    char      contact[SB_PROVIDER_ID_MAX + 1];
    char      reply_to[SB_PROVIDER_ID_MAX + 1];
} sb_conv_t;

typedef struct {
    uint8_t   available;
    int16_t   capacity;          /* -1: the class's own */
    uint16_t  used;
} sb_agent_class_t;

typedef struct {
    char              id[SB_ID_MAX + 1];
    char              name[SB_NAME_MAX + 1];
    int64_t           created_at, seen_at, last_assigned_at;
    int64_t           presence_due;      /* R5a: away at this time */
    uint8_t           present;
    uint8_t           ngroups;
    char              groups[SB_GROUPS_MAX][SB_ID_MAX + 1];
    sb_agent_class_t  cls[SB_MAX_CLASSES];
} sb_agent_t;

typedef enum {
    SB_KIND_VISITOR, SB_KIND_AGENT, SB_KIND_SYSTEM
} sb_msg_kind_t;

/* R17: the system entries of a thread */
typedef enum {
    SB_SYS_NONE, SB_SYS_ASSIGNED, SB_SYS_REASSIGNED, SB_SYS_SNOOZED,
    SB_SYS_WOKE, SB_SYS_RELEASED, SB_SYS_TRANSFERRED, SB_SYS_ENDED,
    SB_SYS_BLOCKED, SB_SYS_COUNT
} sb_sys_t;

typedef struct {
    uint8_t    state;            /* sb_delivery_state_t */
    uint32_t   attempts;
    uint32_t   http_status;
    int64_t    due;              /* the deliver deadline's row */
    int64_t    retry_at, sent_at, delivered_at, read_at, failed_at;
    sb_span_t  provider_id;
    sb_span_t  error;
} sb_delivery_t;

/* A thread entry; its byte strings point into the record (in place). */
typedef struct {
    uint64_t       seq;
    uint8_t        kind;         /* sb_msg_kind_t */
    uint8_t        event;        /* sb_sys_t */
    int64_t        at;
    sb_span_t      author;
    sb_span_t      text;
    sb_span_t      media;        /* a provider's media reference, JSON */
    sb_span_t      canned;
    sb_span_t      attachment_url, attachment_name;
    sb_span_t      offer_title, offer_url;
    sb_delivery_t  delivery;
} sb_msg_t;

typedef enum {
    SB_EV_ASSIGNED, SB_EV_MESSAGE, SB_EV_UNASSIGNED, SB_EV_ENDED,
    SB_EV_TRANSFERRED, SB_EV_STATUS, SB_EV_FAILED, SB_EV_VISITOR_MESSAGE,
    SB_EV_COUNT
} sb_event_type_t;

/* An entry of an owner's log (R24); message embeds a thread entry. */
typedef struct {
    uint64_t   seq;
    uint8_t    type;             /* sb_event_type_t */
    uint8_t    why;              /* sb_why_t */
    uint8_t    channel;
    int64_t    at;
    uint64_t   conv;
    sb_span_t  klass, group, visitor, from, comment;
    sb_span_t  message;          /* an encoded sb_msg_t, or empty */
} sb_event_t;

typedef struct {
    char     agent[SB_ID_MAX + 1];
    int64_t  from, to;
} sb_handler_t;

typedef struct {
    char     channel[16];
    char     visitor[SB_VISITOR_MAX + 1];
    char     by[SB_ID_MAX + 1];
    int64_t  at, last_dropped_at;
    uint64_t conv;
    uint64_t dropped;
} sb_block_t;

typedef struct {
    uint64_t  conv, seq;
    int64_t   at;
} sb_idem_t;

typedef struct {
    uint64_t  conv;
    uint8_t   channel, end_reason;
    int64_t   ended_at;
    char      credited[SB_ID_MAX + 1];
} sb_ledger_t;

/* An erasure's audit line (issue 20): who, when, what it removed, and
 * whom only as a digest (SHA-256 of tenant, channel, visitor). */
typedef struct {
    int64_t        at;
    char           by[SB_ID_MAX + 1];
    uint8_t        channel;
    unsigned char  digest[32];
    sb_erased_t    counts;
} sb_audit_t;

/* An outbox row: one event for the event webhooks, the facts it carries
 * typed, and its sending's state. Byte strings point into the record. */
typedef struct {
    uint64_t   id;               /* the tenant's event number */
    uint8_t    type;             /* sb_hook_type_t */
    uint8_t    why;              /* sb_why_t */
    uint8_t    channel;
    uint8_t    status, was;      /* agent.status_changed: sb_status_t */
    int64_t    at;
    uint64_t   conv;             /* 0: an agent's event */
    int64_t    until;            /* conversation.snoozed */
    sb_span_t  agent;            /* who holds, acts or changed */
    sb_span_t  klass, group, visitor;
    sb_span_t  to_agent, to_group, comment;     /* conversation.transferred */
    sb_span_t  message;          /* an encoded sb_msg_t, or empty */
    /* sending */
    uint32_t   attempts;
    uint32_t   http_status;      /* of the last attempt */
    int64_t    due;              /* its deadline row, or 0 */
    int64_t    failed_at;        /* set once it gave up */
    sb_span_t  error;            /* of the last attempt */
} sb_outevent_t;

/* encoders write to w (count only when w->p is NULL); decoders return
 * 0, or MDB_CORRUPTED for a record that is not what it should be */
void sb_conv_encode(sb_wr_t *w, const sb_conv_t *c,
    const sb_config_t *cfg);
int sb_conv_decode(const void *p, size_t n, sb_conv_t *c,
    const sb_config_t *cfg);
void sb_agent_encode(sb_wr_t *w, const sb_agent_t *a,
    const sb_config_t *cfg);
int sb_agent_decode(const void *p, size_t n, sb_agent_t *a,
    const sb_config_t *cfg);
int sb_agent_shares_group(const sb_agent_t *x, const sb_agent_t *y);
void sb_msg_encode(sb_wr_t *w, const sb_msg_t *m);
int sb_msg_decode(const void *p, size_t n, sb_msg_t *m);
void sb_event_encode(sb_wr_t *w, const sb_event_t *e);
int sb_event_decode(const void *p, size_t n, sb_event_t *e);
void sb_handler_encode(sb_wr_t *w, const sb_handler_t *h);
int sb_handler_decode(const void *p, size_t n, sb_handler_t *h);
void sb_block_encode(sb_wr_t *w, const sb_block_t *b);
int sb_block_decode(const void *p, size_t n, sb_block_t *b);
void sb_idem_encode(sb_wr_t *w, const sb_idem_t *i);
int sb_idem_decode(const void *p, size_t n, sb_idem_t *i);
void sb_audit_encode(sb_wr_t *w, const sb_audit_t *a);
int sb_audit_decode(const void *p, size_t n, sb_audit_t *a);
void sb_ledger_encode(sb_wr_t *w, const sb_ledger_t *l);
int sb_ledger_decode(const void *p, size_t n, sb_ledger_t *l);
void sb_outevent_encode(sb_wr_t *w, const sb_outevent_t *h);
int sb_outevent_decode(const void *p, size_t n, sb_outevent_t *h);
void sb_pair_encode(sb_wr_t *w, char type, sb_span_t a, sb_span_t b);
int sb_pair_decode(const void *p, size_t n, char type, sb_span_t *a,
    sb_span_t *b);

/* A record put in place: size counted, MDB_RESERVE'd, then written. */
#define SB_REC_PUT(txn, dbi, key, encode, ...)                              \
    ({                                                                      \
        sb_wr_t         w_ = { NULL, 0 };                                   \
        unsigned char  *p_;                                                 \
        int             rc_;                                                \
        encode(&w_, __VA_ARGS__);                                           \
        rc_ = sb_reserve(txn, dbi, key, w_.n, &p_);                         \
        if (rc_ == 0) {                                                     \
            w_.p = p_;                                                      \
            w_.n = 0;                                                       \
            encode(&w_, __VA_ARGS__);                                       \
        }                                                                   \
        rc_;                                                                \
    })

/* the owner of an agent's or a visitor's log, as "a:ann" or "v:chat:v1" */
size_t sb_owner_agent(const char *agent, char *buf, size_t len);
size_t sb_owner_visitor(int channel, const char *visitor, char *buf,
    size_t len);

/* conversation ids: "c" and the decimal number, as the API shows them */
size_t sb_conv_name(uint64_t id, char *buf);
int sb_conv_parse(const char *s, size_t len, uint64_t *id);

/* a row from outside the store, checked for db (sb_row_check.c): 0, or
 * -1 when no writer of ours could have made it */
int sb_row_check(const sb_config_t *cfg, int db, const void *key,
    size_t klen, const void *val, size_t vlen);

#endif
