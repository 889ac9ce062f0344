/* Core-private helpers: LMDB key building, versioned JSON records, the
 * write context and the router's entry points. Not for the glue. */

#ifndef SB_INTERNAL_H
#define SB_INTERNAL_H

#include "sb_core.h"

#define SB_KEY_MAX  480     /* below LMDB's default 511-byte key limit */

typedef struct {
    unsigned char  b[SB_KEY_MAX];
    size_t         n;
    int            overflow;
} sb_key_t;

/* Everything a command needs while it runs inside the write transaction. */
typedef struct {
    sb_store_t   *st;
    MDB_txn      *txn;
    const char   *tenant;
    int64_t       now;
    sb_moved_t   *moved;
    json_t       *jobs;         /* FIRE: deliveries for the glue, or NULL */
} sb_ctx_t;

void sb_key_init(sb_key_t *k, const char *tenant);
void sb_key_str(sb_key_t *k, const char *s);
void sb_key_u64(sb_key_t *k, uint64_t v);
uint64_t sb_key_read_u64(const unsigned char *p);

/* versioned JSON records */
int sb_rec_get(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, json_t **out);
int sb_rec_get_val(MDB_val *val, json_t **out);
int sb_rec_put(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, json_t *rec);
int sb_raw_put(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, const void *v,
    size_t len);
int sb_raw_del(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k);
int sb_prefix_last(MDB_txn *txn, MDB_dbi dbi, sb_key_t *prefix,
    MDB_val *key, MDB_val *val);
int sb_counter_next(MDB_txn *txn, MDB_dbi dbi, sb_key_t *k, uint64_t *out);

/* record fields */
int64_t sb_get_int(json_t *o, const char *name);
const char *sb_get_str(json_t *o, const char *name);
int sb_str_is(json_t *o, const char *name, const char *value);
void sb_set_time(json_t *o, const char *name, int64_t ms);
json_t *sb_time_json(json_t *v);
json_t *sb_agent_class_view(const sb_config_t *cfg, json_t *agent, int k,
    int64_t now);

/* agents, conversations, thread and logs inside a write transaction */
int sb_agent_load(sb_ctx_t *cx, const char *id, json_t **out);
int sb_agent_save(sb_ctx_t *cx, json_t *agent);
int sb_conv_load(sb_ctx_t *cx, const char *id, json_t **out);
int sb_conv_save(sb_ctx_t *cx, json_t *conv);
int sb_agent_capacity(const sb_config_t *cfg, json_t *agent, int k);
int sb_agent_used(const sb_config_t *cfg, json_t *agent, int k);
int sb_agent_present(const sb_config_t *cfg, json_t *agent, int64_t now);
int sb_agent_available(const sb_config_t *cfg, json_t *agent, int k);
void sb_msg_key(sb_key_t *k, const char *tenant, const char *conv,
    uint64_t seq);
int sb_thread_append(sb_ctx_t *cx, json_t *conv, const char *kind,
    const char *author, const char *text, const char *event, json_t **out);
int sb_thread_append_ex(sb_ctx_t *cx, json_t *conv, const char *kind,
    const char *author, const char *text, const char *event, json_t *extra,
    json_t **out);
int sb_log_append(sb_ctx_t *cx, const char *owner, json_t *event);
void sb_agent_owner(const char *agent, char *buf, size_t len);
void sb_visitor_owner(const char *channel, const char *visitor, char *buf,
    size_t len);

/* deadlines (R13-R16): rows keyed by due time, remembered by the conv */
#define SB_DL_REPLY   "reply"
#define SB_DL_SNOOZE  "snooze"
#define SB_DL_CLOSE   "auto_close"

int sb_deadline_set(sb_ctx_t *cx, json_t *conv, const char *kind,
    int64_t due);
int sb_deadline_clear(sb_ctx_t *cx, json_t *conv, const char *kind);
int sb_fire_due(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res);

/* outbound delivery (R22) */
int sb_channel_third_party(int channel);
int sb_reply_fits(int channel, const char *text, sb_result_t *res);
int sb_delivery_schedule(sb_ctx_t *cx, json_t *conv, json_t *msg);
int sb_delivery_claim(sb_ctx_t *cx, json_t *conv, const char *kind);
int sb_apply_delivered(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res);
int sb_apply_statuses(sb_ctx_t *cx, int channel, json_t *statuses,
    int *moved);
int sb_apply_purge(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res);

/* router */
int sb_route(sb_ctx_t *cx, json_t *conv);
int sb_route_ex(sb_ctx_t *cx, json_t *conv, const char *exclude,
    const char *prefer);
int sb_pick_agent(sb_ctx_t *cx, json_t *conv, const char *exclude,
    json_t **best);
int sb_conv_class(sb_ctx_t *cx, json_t *conv);
int sb_wake(sb_ctx_t *cx, json_t *conv, const char *why);
int sb_drain(sb_ctx_t *cx, const char *agent_id, int k);
int sb_drain_avoiding(sb_ctx_t *cx, const char *agent_id, int k,
    const char *avoid);
int sb_drain_all(sb_ctx_t *cx, const char *agent_id);
int sb_unassign(sb_ctx_t *cx, json_t *conv, json_t *agent);
int sb_hand_back(sb_ctx_t *cx, json_t *conv, json_t *agent,
    const char *reason);
int sb_requeue(sb_ctx_t *cx, json_t *conv);
int sb_end(sb_ctx_t *cx, json_t *conv, const char *by, const char *text,
    const char *reason);
int sb_assign(sb_ctx_t *cx, json_t *conv, json_t *agent, int k);
json_t *sb_message_view(json_t *msg);

/* working together (R6, R10-R12) */
int sb_parse_text(json_t *body, sb_cmd_t *cmd, const sb_config_t *cfg,
    sb_result_t *err);
int sb_collab_parse(json_t *body, sb_cmd_t *cmd, const sb_config_t *cfg,
    sb_result_t *err);
int sb_channel_can(sb_ctx_t *cx, json_t *conv, unsigned cap,
    sb_result_t *res);
int sb_apply_transfer(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res);
int sb_apply_tags(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res);
int sb_apply_block(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res);
int sb_blocked_visitor(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res);
int sb_resolve_canned(sb_ctx_t *cx, sb_cmd_t *cmd, json_t *conv,
    json_t *agent, sb_result_t *res);
int sb_held_conversation(sb_ctx_t *cx, sb_cmd_t *cmd, json_t **out,
    sb_result_t *res);
int sb_load_actor(sb_ctx_t *cx, sb_cmd_t *cmd, json_t **agent,
    sb_result_t *res);

/* idempotency rows (R21): a key names a stored message */
int sb_idem_key(sb_ctx_t *cx, sb_key_t *k, const char *scope, const char *a,
    const char *b, const char *idem);
int sb_idem_store(sb_ctx_t *cx, sb_key_t *k, json_t *conv, json_t *msg);

/* webhooks (R20, R21): providers' payloads in one shape */
void sb_inbound_add(json_t *list, int channel, const char *account,
    const char *sender, const char *id, const char *text, json_t *media);
void sb_status_add(json_t *statuses, const char *id, const char *status,
    const char *error);
int sb_apply_visitor_message(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res);
int sb_apply_webhook(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res);

/* admin commands */
int sb_admin_apply(sb_ctx_t *cx, sb_cmd_t *cmd, sb_result_t *res);
int sb_admin_validate(sb_cmd_t *cmd, const sb_config_t *cfg, sb_result_t *err);

#define SB_TRY(expr)  do { int rc_ = (expr); if (rc_) return rc_; } while (0)

#endif
