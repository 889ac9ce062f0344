/* The core's vocabulary: channels, states and reasons as enums, the
 * configuration, typed commands and their outcomes. Types only. */

#ifndef SB_TYPES_H
#define SB_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define SB_ID_MAX           64     /* agents, groups, canned, tenants */
#define SB_VISITOR_MAX      255    /* "account:sender" of a provider */
#define SB_PROVIDER_ID_MAX  255    /* a provider's message id, kept whole */
#define SB_IDEM_MAX         128
#define SB_NAME_MAX         128
#define SB_GROUPS_MAX       32
#define SB_TAGS_MAX         20
#define SB_TAG_MAX          32
#define SB_COMMENT_MAX      500
#define SB_URL_MAX          2048
#define SB_TITLE_MAX        200
#define SB_MAX_CLASSES      8
#define SB_MAX_PRESETS      8
#define SB_POLL_BATCH       100    /* events handed out per poll answer */

typedef enum {
    SB_CH_WHATSAPP, SB_CH_MESSENGER, SB_CH_INSTAGRAM, SB_CH_FACEBOOK,
    SB_CH_TWITTER, SB_CH_SMS, SB_CH_MOBILE, SB_CH_CHAT, SB_CH_COUNT
} sb_channel_t;

typedef enum {
    SB_STATE_NEW, SB_STATE_QUEUED, SB_STATE_ASSIGNED, SB_STATE_SNOOZED,
    SB_STATE_RELEASED, SB_STATE_ENDED, SB_STATE_COUNT
} sb_state_t;

/* R5: an agent's colour in one slot class */
typedef enum {
    SB_STATUS_GREEN, SB_STATUS_ORANGE, SB_STATUS_RED, SB_STATUS_COUNT
} sb_status_t;

/* why a conversation ended, or left its agent */
typedef enum {
    SB_WHY_NONE, SB_WHY_AGENT, SB_WHY_AUTO_CLOSE, SB_WHY_BLOCKED,
    SB_WHY_SNOOZED, SB_WHY_RELEASED, SB_WHY_FIRST_REPLY_TIMEOUT,
    SB_WHY_REPLY_TIMEOUT, SB_WHY_TRANSFERRED, SB_WHY_AGENT_REMOVED,
    SB_WHY_ERASED, SB_WHY_COUNT
} sb_why_t;

/* Event webhooks: what a CRM or a bot may be sent, in the outbox written
 * by the transaction that makes the event */
typedef enum {
    SB_HOOK_CONV_CREATED, SB_HOOK_CONV_ASSIGNED, SB_HOOK_CONV_UNASSIGNED,
    SB_HOOK_CONV_TRANSFERRED, SB_HOOK_CONV_SNOOZED, SB_HOOK_CONV_WOKE,
    SB_HOOK_CONV_RELEASED, SB_HOOK_CONV_ENDED, SB_HOOK_MSG_CREATED,
    SB_HOOK_MSG_FAILED, SB_HOOK_AGENT_STATUS, SB_HOOK_VISITOR_ERASED,
    SB_HOOK_COUNT
} sb_hook_type_t;

/* R12: what an agent may do on a channel */
enum {
    SB_CAP_CANNED = 1, SB_CAP_BLOCK = 2, SB_CAP_EMOJI = 4, SB_CAP_TAGS = 8,
    SB_CAP_ATTACHMENTS = 16, SB_CAP_OFFERS = 32, SB_CAP_TRANSFER = 64,
    SB_CAP_ALL = 127
};
#define SB_CAP_COUNT  7

/* R22: sent < delivered < read; failed is final */
typedef enum {
    SB_DLV_NONE, SB_DLV_PENDING, SB_DLV_SENT, SB_DLV_DELIVERED, SB_DLV_READ,
    SB_DLV_FAILED
} sb_delivery_state_t;

/* A byte range: into a request's body, a command's arena or the map. */
typedef struct {
    const char  *p;
    size_t       n;
} sb_span_t;

typedef struct {
    char      name[SB_ID_MAX + 1];
    int       capacity;
    unsigned  channels;          /* bit (1 << sb_channel_t) */
} sb_class_t;

typedef struct {
    char     label[16];          /* as written in nginx.conf: "3h" */
    int64_t  ms;
} sb_preset_t;

typedef struct {
    sb_class_t   classes[SB_MAX_CLASSES];
    int          nclasses;
    int64_t      presence_timeout_ms;
    int64_t      first_reply_ms;               /* R13 */
    int64_t      reply_ms;                     /* R14 */
    int64_t      snooze_max_ms;                /* R7 */
    sb_preset_t  presets[SB_MAX_PRESETS];
    int          npresets;
    int64_t      auto_close_ms[SB_CH_COUNT];   /* R15; 0 = off */
    int          sticky;                       /* R14b */
    unsigned     caps[SB_CH_COUNT];            /* R12 */
    size_t       text_max;                     /* bytes of one message */
    int64_t      deliver_attempts;             /* R22: tries in all */
    int64_t      deliver_backoff_ms;           /* first retry's delay */
    int64_t      deliver_lease_ms;             /* an attempt in flight */
    int64_t      dedupe_ms;                    /* R21: retention */
    size_t       reserve_bytes;                /* room kept for deletes,
                                                  presence (issue 20) */
    unsigned     hook_types;                   /* bit (1 << sb_hook_type_t) */
    int64_t      hook_attempts;                /* event webhooks: tries */
    int64_t      hook_backoff_ms;
    int64_t      hook_lease_ms;
    int64_t      hook_keep_ms;                 /* failed events: kept this */
    int64_t      hook_keep_max;                /* long, this many a tenant */
    int64_t      retention_ms[SB_CH_COUNT];    /* ended conversations; 0:
                                                  kept (issue 20) */
    int64_t      ledger_retention_ms;          /* 0: kept */
} sb_config_t;


/* One visitor message a provider sent (R20), as its parser found it. */
typedef struct {
    sb_channel_t  channel;
    sb_span_t     account;       /* phone number id, Page, X user, number */
    sb_span_t     contact;       /* the sender, as the provider names it */
    sb_span_t     id;            /* the provider's message id (R21) */
    sb_span_t     text;
    sb_span_t     media;         /* the media reference, as JSON, or empty */
} sb_inbound_t;

/* A provider's word on one of our sends (R22): by its id, or a read
 * watermark over a visitor's conversation (Messenger, Instagram). */
typedef struct {
    sb_span_t            id;
    sb_delivery_state_t  state;
    sb_span_t            error;
    int                  watermark;      /* 1: account, contact, at */
    sb_channel_t         channel;
    sb_span_t            account;
    sb_span_t            contact;
    int64_t              at;
} sb_receipt_t;


typedef enum {
    SB_CMD_VISITOR_MESSAGE,
    SB_CMD_WEBHOOK,
    SB_CMD_AGENT_MESSAGE,
    SB_CMD_END,
    SB_CMD_SNOOZE,
    SB_CMD_RELEASE,
    SB_CMD_TRANSFER,
    SB_CMD_TAGS,
    SB_CMD_BLOCK,
    SB_CMD_AVAILABILITY,
    SB_CMD_SEEN,
    SB_CMD_PUT_AGENT,
    SB_CMD_DELETE_AGENT,
    SB_CMD_PUT_GROUP,
    SB_CMD_DELETE_GROUP,
    SB_CMD_PUT_CANNED,
    SB_CMD_DELETE_CANNED,
    SB_CMD_UNBLOCK,
    SB_CMD_FIRE,
    SB_CMD_DELIVERED,
    SB_CMD_PURGE,
    SB_CMD_HOOK_SENT,
    SB_CMD_HOOK_REPLAY,
    SB_CMD_PAUSE,
    SB_CMD_RESUME,
    SB_CMD_RECONCILE,
    SB_CMD_PUT_ACCOUNT,
    SB_CMD_DELETE_ACCOUNT,
    SB_CMD_ERASE_VISITOR,              /* issue 20: GDPR art. 17 */
    SB_CMD_COUNT
} sb_cmd_type_t;

typedef enum {
    SB_SENT_OK, SB_SENT_RETRY, SB_SENT_FAILED
} sb_send_outcome_t;

typedef struct sb_arena_s  sb_arena_t;

/*
 * A validated request, ready for the write transaction. Byte ranges
 * point into mem, which the command owns (sb_cmd_free releases it).
 */
typedef struct {
    sb_cmd_type_t  type;
    int64_t        now;
    char           tenant[SB_ID_MAX + 1];
    char           actor[SB_VISITOR_MAX + 1];   /* agent or visitor */
    char           group[SB_ID_MAX + 1];        /* ingress routing group */
    char           target[SB_VISITOR_MAX + 1];  /* agent, group, canned,
                                                   blocked visitor */
    uint64_t       conv;                        /* target conversation */
    int            channel;
    char           idem[SB_IDEM_MAX + 1];       /* Idempotency-Key or "" */

    union {
        struct {                                /* visitor or agent */
            sb_span_t  text;
            sb_span_t  canned;
            sb_span_t  attachment_url, attachment_name;
            sb_span_t  offer_title, offer_url;
        } msg;
        struct {
            sb_inbound_t  *messages;
            size_t         nmessages;
            sb_receipt_t  *receipts;
            size_t         nreceipts;
            int            ignored;
            const char    *bad_what;            /* an id refused (R26) */
            sb_span_t      bad_id;
        } webhook;
        struct {
            int64_t    until;
        } snooze;
        struct {
            sb_span_t  agent, group, comment;
            int        anyway;
        } transfer;
        struct {
            sb_span_t  tags[SB_TAGS_MAX];
            int        n;
        } tags;
        struct {
            int        klass;                   /* -1: every class */
            int        available;
        } availability;
        struct {
            sb_span_t  name;
            sb_span_t  groups[SB_GROUPS_MAX];
            int        ngroups;
            int        capacity[SB_MAX_CLASSES]; /* -1: the class's */
        } agent;
        struct {
            sb_span_t  name;                    /* groups */
            sb_span_t  title, text;             /* canned responses */
        } entry;
        struct {
            int        start;                   /* a worker's first one */
        } reconcile;
        struct {                                /* what the worker can send
                                                   now (budgeted; else any
                                                   number) */
            int        budgeted;
            int        deliveries, hooks;
        } fire;
        struct {                                /* deliveries and hooks */
            uint64_t           seq;             /* a hook: its event id */
            int64_t            attempt;
            sb_send_outcome_t  outcome;
            int                http_status;
            sb_span_t          provider_id, error;
        } delivered;
    } u;

    sb_arena_t    *mem;
} sb_cmd_t;


/* Why a command was refused inside the transaction; the edge names it. */
typedef enum {
    SB_REFUSE_NONE,
    SB_REFUSE_NO_SLOT_CLASS,
    SB_REFUSE_UNKNOWN_CONVERSATION,
    SB_REFUSE_CONVERSATION_ENDED,
    SB_REFUSE_NOT_HOLDER,
    SB_REFUSE_UNKNOWN_ACTOR,           /* the token's agent: 403 */
    SB_REFUSE_UNKNOWN_AGENT,           /* a named agent: 404 */
    SB_REFUSE_CHANNEL_LACKS,
    SB_REFUSE_TOO_LONG_FOR_CHANNEL,
    SB_REFUSE_UNKNOWN_CANNED,
    SB_REFUSE_CANNED_TOO_LONG,
    SB_REFUSE_SELF_TRANSFER,
    SB_REFUSE_NOT_IN_YOUR_GROUPS,
    SB_REFUSE_TARGET_UNAVAILABLE,
    SB_REFUSE_TARGET_AWAY,
    SB_REFUSE_TARGET_FULL,
    SB_REFUSE_SAME_GROUP,
    SB_REFUSE_UNKNOWN_GROUP,
    SB_REFUSE_BUILTIN_GROUP,
    SB_REFUSE_GROUP_IN_USE,
    SB_REFUSE_NOT_BLOCKED,
    SB_REFUSE_TENANT_PAUSED,           /* being moved: 503 */
    SB_REFUSE_TENANT_MOVED,            /* moved to another node: 421 */
    SB_REFUSE_FOREIGN_ACCOUNT,         /* a delivery for another tenant's
                                          provider account: 403 */
    SB_REFUSE_ACCOUNT_TAKEN,           /* bound to another tenant: 409 */
    SB_REFUSE_UNKNOWN_ACCOUNT,         /* not this tenant's: 404 */
    SB_REFUSE_UNKNOWN_VISITOR,         /* nothing of theirs: 404 */
    SB_REFUSE_COUNT
} sb_refusal_t;

typedef enum {
    SB_DONE,            /* 200 (or 204 when nothing is shown) */
    SB_CREATED,         /* 201 */
    SB_ACCEPTED,        /* 202: stored, not routed or not yet delivered */
    SB_REPLAYED,        /* 200 with what the first request stored */
    SB_REFUSED,         /* 4xx: refusal says why */
    SB_STORE_FULL,      /* 507 */
    SB_STORE_FAILED     /* 500 */
} sb_outcome_t;

/* A delivery the glue must make (R22), claimed by a FIRE. */
typedef struct {
    char          tenant[SB_ID_MAX + 1];
    uint64_t      conv;
    uint64_t      seq;
    int64_t       attempt;
    sb_channel_t  channel;
    char          account[SB_PROVIDER_ID_MAX + 1];
    char          recipient[SB_PROVIDER_ID_MAX + 1];
    char          reply_to[SB_PROVIDER_ID_MAX + 1];
    char         *text;          /* malloc'd: the text, and a link */
} sb_job_t;

/* An event webhook the glue must send, claimed by a FIRE. */
typedef struct {
    char            tenant[SB_ID_MAX + 1];
    uint64_t        conv;
    uint64_t        id;
    int             type;        /* sb_hook_type_t */
    int64_t         attempt;
    unsigned char  *record;      /* malloc'd: the outbox row (sb_hook_t) */
    size_t          record_len;
} sb_hook_job_t;

/* What the webhook's answer counts (R20). */
typedef struct {
    int  stored, duplicates, blocked, statuses, status_changes, ignored;
} sb_tally_t;

/* What a visitor's erasure removed (issue 20): its answer and audit. */
typedef struct {
    uint64_t  audit;                  /* the audit line's number */
    uint32_t  conversations, messages, events, outbox, deliveries,
              idempotency, blocks;
} sb_erased_t;

typedef struct {
    sb_outcome_t   outcome;
    sb_refusal_t   refusal;
    int            store_rc;          /* with SB_STORE_*: LMDB's code */
    int            detail[3];         /* numbers for the refusal text */
    char           subject[SB_ID_MAX + 1];   /* a name for it, too */
    uint64_t       conv, seq;         /* the message stored or replayed */
    unsigned char *record;            /* its record, malloc'd, for the
                                         answer (read after the commit) */
    size_t         record_len;
    sb_tally_t     tally;             /* webhooks */
    sb_job_t      *jobs;              /* FIRE: malloc'd */
    size_t         njobs;
    sb_hook_job_t *hooks;             /* FIRE: malloc'd */
    size_t         nhooks;
    size_t         replayed;          /* HOOK_REPLAY */
    int            more;              /* PURGE, RECONCILE: more to do */
    size_t         purged;
    size_t         dropped;           /* PURGE, HOOK_SENT: failed events
                                         dropped (too old, too many) */
    size_t         erased;            /* PURGE: conversations, events and
                                         ledger lines past retention */
    size_t         erased_events, erased_ledger;
    size_t         parked;            /* FIRE: rows set aside (note says) */
    int            jobs_waiting;      /* FIRE: jobs left due, over budget */
    size_t         reclassed;         /* RECONCILE: rows moved */
    sb_erased_t    visitor_erased;    /* ERASE_VISITOR */
    char           note[256];         /* a line for the error log */
} sb_result_t;

/* An HTTP answer the glue sends as it is. */
typedef struct {
    int          status;
    const char  *content_type;       /* NULL: application/json */
    char        *body;               /* malloc'd */
    size_t       len;
    char         code[48];           /* a refusal's code ("" otherwise) */
} sb_answer_t;

/* Event logs that moved in a transaction, as "tenant/owner" strings. */
typedef struct {
    char   **keys;
    size_t   n;
    size_t   cap;
} sb_moved_t;

#endif
