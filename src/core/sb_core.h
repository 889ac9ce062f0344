/* Switchboard core: the types and entry points shared by the pure routing
 * core and the nginx glue. Nothing here includes an nginx header. */

#ifndef SB_CORE_H
#define SB_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <lmdb.h>
#include <jansson.h>

#define SB_ID_MAX        64
#define SB_IDEM_MAX      128
#define SB_MAX_CLASSES   8
#define SB_RECORD_V1     1
#define SB_POLL_BATCH    100    /* events handed out per poll answer */

typedef enum {
    SB_CH_WHATSAPP, SB_CH_MESSENGER, SB_CH_INSTAGRAM, SB_CH_FACEBOOK,
    SB_CH_TWITTER, SB_CH_SMS, SB_CH_MOBILE, SB_CH_CHAT, SB_CH_COUNT
} sb_channel_t;

typedef struct {
    char      name[SB_ID_MAX + 1];
    int       capacity;
    unsigned  channels;          /* bit (1 << sb_channel_t) */
} sb_class_t;

typedef struct {
    char     label[16];          /* as written in nginx.conf: "3h" */
    int64_t  ms;
} sb_preset_t;

#define SB_MAX_PRESETS  8

/* R12: what an agent may do on a channel */
enum {
    SB_CAP_CANNED = 1, SB_CAP_BLOCK = 2, SB_CAP_EMOJI = 4, SB_CAP_TAGS = 8,
    SB_CAP_ATTACHMENTS = 16, SB_CAP_OFFERS = 32, SB_CAP_TRANSFER = 64,
    SB_CAP_ALL = 127
};
#define SB_CAP_COUNT  7

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
} sb_config_t;

enum {
    SB_DB_META, SB_DB_CONV, SB_DB_MSG, SB_DB_OPEN, SB_DB_AGENT, SB_DB_GROUP,
    SB_DB_MEMBER, SB_DB_QUEUE, SB_DB_EVENT, SB_DB_IDEM, SB_DB_LEDGER,
    SB_DB_DEADLINE, SB_DB_CANNED, SB_DB_BLOCK, SB_DB_COUNT
};

typedef struct {
    MDB_env            *env;
    MDB_dbi             db[SB_DB_COUNT];
    const sb_config_t  *cfg;
} sb_store_t;

/* An HTTP-shaped answer: the glue sends it as is. body is malloc'd JSON;
 * data is what an internal command (FIRE, PURGE) hands the glue. */
typedef struct {
    int      status;
    char    *body;
    json_t  *data;
} sb_result_t;

/* Event logs that moved in a transaction, as "tenant/owner" strings. */
typedef struct {
    char   **keys;
    size_t   n;
    size_t   cap;
} sb_moved_t;

typedef enum {
    SB_CMD_VISITOR_MESSAGE,
    SB_CMD_AGENT_MESSAGE,
    SB_CMD_END,
    SB_CMD_SNOOZE,
    SB_CMD_RELEASE,
    SB_CMD_FIRE,
    SB_CMD_TRANSFER,
    SB_CMD_TAGS,
    SB_CMD_BLOCK,
    SB_CMD_WEBHOOK,
    SB_CMD_AVAILABILITY,
    SB_CMD_SEEN,
    SB_CMD_PUT_AGENT,
    SB_CMD_DELETE_AGENT,
    SB_CMD_PUT_GROUP,
    SB_CMD_DELETE_GROUP,
    SB_CMD_PUT_CANNED,
    SB_CMD_DELETE_CANNED,
    SB_CMD_UNBLOCK,
    SB_CMD_DELIVERED,
    SB_CMD_PURGE
} sb_cmd_type_t;

/* A validated request, ready for the write transaction. */
typedef struct {
    sb_cmd_type_t  type;
    int64_t        now;
    char           tenant[SB_ID_MAX + 1];
    char           actor[SB_ID_MAX + 1];     /* agent or visitor id */
    char           target[SB_ID_MAX + 1];    /* conversation, agent, group */
    char           group[SB_ID_MAX + 1];     /* ingress routing group */
    char           idem[SB_IDEM_MAX + 1];    /* Idempotency-Key, or "" */
    int            channel;
    int            klass;                    /* class index, -1 = all */
    int            available;
    int64_t        until;                    /* snooze: due time, ms */
    char          *text;                     /* malloc'd */
    json_t        *body;                     /* the parsed body, owned */
} sb_cmd_t;

/* util */
int64_t sb_now_ms(void);
void sb_format_time(int64_t ms, char *buf, size_t len);
void sb_format_duration(int64_t ms, char *buf, size_t len);
int sb_parse_time(const char *s, int64_t *ms);
int sb_valid_id(const char *s, size_t len, int provider);
int sb_valid_utf8(const unsigned char *s, size_t len);
const char *sb_channel_name(int ch);
const char *sb_cap_name(unsigned cap);
unsigned sb_cap_parse(const char *s, size_t len);
int sb_has_emoji(const unsigned char *s, size_t len);
int sb_channel_parse(const char *s, size_t len);
int sb_class_of_channel(const sb_config_t *cfg, int channel);
int sb_class_find(const sb_config_t *cfg, const char *name, size_t len);
void sb_result_set(sb_result_t *res, int status, json_t *body);
void sb_result_error(sb_result_t *res, int status, const char *code,
    const char *fmt, ...);
void sb_result_free(sb_result_t *res);
int sb_moved_add(sb_moved_t *mv, const char *tenant, const char *owner);
void sb_moved_truncate(sb_moved_t *mv, size_t n);
void sb_moved_free(sb_moved_t *mv);

/* jwt */
typedef struct {
    char     sub[SB_ID_MAX + 1];
    char     role[16];
    char     tenant[SB_ID_MAX + 1];
    char     channel[16];
    int64_t  exp;
} sb_claims_t;

int sb_jwt_verify(const char *token, size_t len, const unsigned char *key,
    size_t keylen, int64_t now_s, sb_claims_t *claims, const char **why);

/* third-party webhooks */
int sb_meta_signature_ok(const char *header, size_t hlen,
    const unsigned char *key, size_t keylen, const unsigned char *body,
    size_t len);
void sb_x_sign(const unsigned char *key, size_t keylen,
    const unsigned char *data, size_t len, char *out, size_t outlen);
int sb_x_signature_ok(const char *header, size_t hlen,
    const unsigned char *key, size_t keylen, const unsigned char *body,
    size_t len);
json_t *sb_webhook_parse(int channel, const char *body, size_t len,
    int *ignored, sb_result_t *err);
void sb_webhook_answer(sb_result_t *res, int stored, int duplicates,
    int blocked, int statuses, int status_changes, int ignored);
json_t *sb_form_parse(const char *body, size_t len, sb_result_t *err);
int sb_twilio_signature_ok(const char *header, size_t hlen,
    const unsigned char *key, size_t keylen, const char *url, json_t *pairs);
json_t *sb_twilio_parse(json_t *pairs, int *ignored, sb_result_t *err);

/* outbound delivery (R22): provider body shapes and answers */
char *sb_send_body(json_t *job, const char **content_type);
char *sb_send_provider_id(const char *channel, const char *body,
    size_t len);

/* store */
int sb_store_open(sb_store_t *st, const char *path, size_t mapsize,
    int nosync, char *err, size_t errlen);
void sb_store_close(sb_store_t *st);

/* commands: parse outside any transaction, apply in one batch */
int sb_cmd_parse(sb_cmd_t *cmd, const sb_config_t *cfg,
    const char *body, size_t len, sb_result_t *err);
void sb_cmd_free(sb_cmd_t *cmd);
int sb_apply_batch(sb_store_t *st, sb_cmd_t **cmds, sb_result_t *results,
    size_t n, sb_moved_t *moved);

/* reads, each in the caller's read transaction */
int sb_query_events(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *owner, uint64_t cursor, sb_result_t *res);
int sb_query_agent_me(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *agent, int64_t now, sb_result_t *res);
int sb_deadline_earliest(sb_store_t *st, MDB_txn *txn, int64_t *due);
int sb_query_agent_seen(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *agent, int64_t *seen_at);
int sb_query_conversation(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *id, const char *agent, int64_t now, sb_result_t *res);
int sb_query_admin_get(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *kind, const char *id, int64_t now, sb_result_t *res);
int sb_query_ledger(sb_store_t *st, MDB_txn *txn, const char *tenant,
    uint64_t cursor, sb_result_t *res);
typedef struct {
    const char  *state;
    const char  *group;
    const char  *tag;
    const char  *after;        /* paging: the last id of the page before */
    size_t       limit;
} sb_conv_filter_t;

int sb_query_conversations(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const sb_conv_filter_t *filter, int64_t now, sb_result_t *res);
int sb_query_stats(sb_store_t *st, MDB_txn *txn, const char *tenant,
    int64_t now, sb_result_t *res);
int sb_query_canned(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *id, sb_result_t *res);
int sb_query_block(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *channel, const char *visitor, sb_result_t *res);
void sb_query_capabilities(const sb_config_t *cfg, sb_result_t *res);

#endif
