/* The rules inside the write transaction: the per-batch record cache, the
 * thread and the logs, deadlines, the routing index and the queues, the
 * router itself, the end of a conversation, and delivery states. */

#ifndef SB_DOMAIN_H
#define SB_DOMAIN_H

#include "records/sb_records.h"

typedef struct sb_batch_s  sb_batch_t;

/* Everything a command needs while it runs inside the write transaction. */
typedef struct {
    sb_store_t         *st;
    const sb_config_t  *cfg;
    MDB_txn            *txn;
    sb_batch_t         *b;
    const char         *tenant;
    int64_t             now;
    sb_result_t        *res;
    sb_span_t           last_record;   /* of the last message stored */
} sb_ctx_t;

#define SB_DB(cx, name)  ((cx)->st->db[name])

/* the batch: one per write transaction (sb_cache.c) */
sb_batch_t *sb_batch_create(sb_store_t *st);
void sb_batch_destroy(sb_batch_t *b);
void sb_batch_begin(sb_batch_t *b, MDB_txn *txn, sb_moved_t *moved);
int sb_batch_flush(sb_batch_t *b);
void sb_batch_timing(sb_batch_t *b, int64_t apply_ns, int64_t commit_ns,
    size_t commands);
void sb_batch_timings(sb_batch_t *b, int64_t *apply_ns, int64_t *commit_ns,
    uint64_t *commands);

/* records through the cache: read once, written once at the flush */
int sb_conv_get(sb_ctx_t *cx, uint64_t id, sb_conv_t **out);
sb_conv_t *sb_conv_add(sb_ctx_t *cx, uint64_t id);
void sb_conv_drop(sb_ctx_t *cx, sb_conv_t *c);
void sb_conv_key(sb_key_t *k, const char *tenant, uint64_t id);
int sb_agent_get(sb_ctx_t *cx, const char *id, sb_agent_t **out);
sb_agent_t *sb_agent_add(sb_ctx_t *cx, const char *id);
void sb_agent_drop(sb_ctx_t *cx, sb_agent_t *a);
/* what the routing index holds of an agent, as last written */
typedef struct {
    int64_t      seen_at, last_assigned_at;
    uint8_t      present;
    uint8_t      in[SB_MAX_CLASSES];       /* has rows in the class */
    uint8_t      status[SB_MAX_CLASSES];   /* R5's colour + 1; 0: a new
                                              agent, red until it is not */
    uint32_t     used[SB_MAX_CLASSES];
    uint8_t      ngroups;
    const char  *groups;                   /* NUL after each */
    size_t       groups_len;
} sb_ready_snap_t;

sb_ready_snap_t *sb_agent_synced(sb_agent_t *a);
int sb_agent_loaded_status(sb_agent_t *a, int k);
int sb_ready_snap(sb_ctx_t *cx, const sb_agent_t *a, sb_ready_snap_t *snap);
int sb_seq_next(sb_ctx_t *cx, int db, sb_key_t *k, int persist,
    uint64_t *out);
int sb_count(sb_ctx_t *cx, sb_key_t *k, int64_t delta);
int sb_count_value(sb_ctx_t *cx, sb_key_t *k, int64_t *out);
void sb_moved(sb_ctx_t *cx, const char *owner, size_t len);
void *sb_alloc(sb_ctx_t *cx, size_t n);

/* an agent per class (R2, R5, R5a) */
int sb_agent_capacity(const sb_config_t *cfg, const sb_agent_t *a, int k);
int sb_agent_present(const sb_config_t *cfg, const sb_agent_t *a,
    int64_t now);
int sb_agent_qualifies(const sb_ctx_t *cx, const sb_agent_t *a, int k);
sb_status_t sb_agent_status(const sb_config_t *cfg, const sb_agent_t *a,
    int k, int present);

/* rows: the thread, logs, handlers, tags, idempotency (sb_rows.c) */
int sb_thread_append(sb_ctx_t *cx, sb_conv_t *c, sb_msg_t *m,
    sb_span_t *record);
int sb_thread_system(sb_ctx_t *cx, sb_conv_t *c, sb_sys_t event,
    const char *author, const char *text);
int sb_log_append(sb_ctx_t *cx, const char *owner, size_t owner_len,
    sb_event_t *e);
int sb_log_agent(sb_ctx_t *cx, const char *agent, sb_event_t *e);
int sb_log_visitor(sb_ctx_t *cx, const sb_conv_t *c, sb_event_t *e);
int sb_handler_open(sb_ctx_t *cx, sb_conv_t *c, const char *agent);
int sb_handler_close(sb_ctx_t *cx, sb_conv_t *c);
int sb_tags_replace(sb_ctx_t *cx, sb_conv_t *c, const sb_span_t *tags,
    int n);
void sb_idem_key(sb_key_t *k, const char *tenant, char scope, int channel,
    const char *who, uint64_t conv, sb_span_t id);
int sb_idem_put(sb_ctx_t *cx, sb_key_t *k, uint64_t conv, uint64_t seq);
int sb_open_key(sb_key_t *k, const char *tenant, int channel,
    const char *visitor);

/* deadlines (R13-R16): rows keyed by due time (sb_deadline.c) */
void sb_deadline_key(sb_key_t *k, int64_t due, const char *tenant, int kind,
    uint64_t conv, uint64_t seq);
int sb_deadline_set(sb_ctx_t *cx, sb_conv_t *c, int kind, int64_t due);
int sb_deadline_clear(sb_ctx_t *cx, sb_conv_t *c, int kind);
int sb_deadline_clear_all(sb_ctx_t *cx, sb_conv_t *c);
int sb_deadline_earliest(sb_store_t *st, MDB_txn *txn, int64_t *due);
/* A row a FIRE failed to act on (a record that does not decode, a rule
 * that refused it) is remembered across its transaction's abort, then
 * parked: kept in the meta db, out of the way of the rows behind it,
 * until the next start puts it back (a reload may have fixed it). */
#define SB_PARK_MAX  8                /* rows remembered at a time */
int sb_deadline_failed(sb_ctx_t *cx, const MDB_val *key, int rc);
size_t sb_deadline_failures(sb_batch_t *b);
void sb_deadline_failures_clear(sb_batch_t *b);
int sb_deadline_park_failed(sb_ctx_t *cx);
int sb_deadline_unpark(sb_ctx_t *cx, size_t *n);
int sb_deadline_restore(sb_ctx_t *cx, const char *tenant, const char *mark,
    int skip_paused, size_t *n);
/* a store failure (full, I/O, memory), as opposed to one row's trouble */
int sb_store_failure_rc(int rc);
int sb_deadline_paused(sb_store_t *st, MDB_txn *txn, const MDB_val *key);

/* a tenant being moved to another node (sb_pause.c): a mark in the store,
 * read by every command's transaction and every deadline's firing */
void sb_pause_key(sb_key_t *k, const char *tenant);
int sb_tenant_is_paused(sb_store_t *st, MDB_txn *txn, const char *tenant);
#define SB_TENANT_LIVE    0
#define SB_TENANT_PAUSED  1
#define SB_TENANT_MOVED   2
void sb_moved_key(sb_key_t *k, const char *tenant);
int sb_tenant_state(sb_store_t *st, MDB_txn *txn, const char *tenant);
int sb_deadlines_aside(sb_ctx_t *cx, const char *tenant);
int sb_deadlines_back(sb_ctx_t *cx, const char *tenant, size_t *n);
int sb_deadlines_back_all(sb_ctx_t *cx, size_t *n);

/* the routing index and presence (sb_ready.c) */
int sb_ready_sync(sb_ctx_t *cx, sb_agent_t *a);
int sb_presence_seen(sb_ctx_t *cx, sb_agent_t *a);
int sb_presence_expire(sb_ctx_t *cx);
int sb_pick(sb_ctx_t *cx, const sb_conv_t *c, const char *exclude,
    sb_agent_t **best);

/* queues (R3) (sb_queue.c) */
int sb_enqueue(sb_ctx_t *cx, sb_conv_t *c);
int sb_enqueue_at(sb_ctx_t *cx, sb_conv_t *c, int64_t since);
int sb_dequeue(sb_ctx_t *cx, sb_conv_t *c);
int sb_queue_row_del(sb_ctx_t *cx, const char *group, const char *klass,
    int64_t at, uint64_t id);
int sb_queue_oldest(sb_ctx_t *cx, const sb_agent_t *a, int k,
    uint64_t avoid, uint64_t *conv);

/* the router (sb_router.c) */
int sb_assign(sb_ctx_t *cx, sb_conv_t *c, sb_agent_t *a);
int sb_route(sb_ctx_t *cx, sb_conv_t *c, const char *exclude,
    const char *prefer);
int sb_drain(sb_ctx_t *cx, const char *agent, int k, uint64_t avoid);
int sb_drain_all(sb_ctx_t *cx, const char *agent);
int sb_unassign(sb_ctx_t *cx, sb_conv_t *c, sb_agent_t *a, sb_why_t why);
int sb_hand_back(sb_ctx_t *cx, sb_conv_t *c, sb_agent_t *a, sb_why_t why);
int sb_requeue(sb_ctx_t *cx, sb_conv_t *c);
int sb_wake(sb_ctx_t *cx, sb_conv_t *c, const char *why);
int sb_last_handler(sb_ctx_t *cx, const sb_conv_t *c, char *agent);
int sb_held_add(sb_ctx_t *cx, const sb_conv_t *c, const char *agent);
int sb_held_del(sb_ctx_t *cx, const sb_conv_t *c, const char *agent);

/* slot classes a reload renamed or removed (sb_reclass.c): the rows under
 * their names moved to the class of now, and the counts made true */
int sb_reclass_rows(sb_ctx_t *cx, size_t *moved, size_t *stranded);
int sb_reclass_recount(sb_ctx_t *cx, const char *tenant);

/* provider accounts bound to tenants (sb_accounts.c): global rows, so
 * that a delivery for another tenant's account is refused */
typedef struct {
    int64_t  bound_at;
    char     tenant[SB_ID_MAX + 1];
} sb_account_t;

void sb_account_key(sb_key_t *k, int channel, sb_span_t account);
int sb_account_decode(const MDB_val *val, sb_account_t *a);
int sb_account_owner(sb_store_t *st, MDB_txn *txn, int channel,
    sb_span_t account, sb_account_t *a);
int sb_account_bind(sb_ctx_t *cx, int channel, sb_span_t account);
int sb_account_unbind(sb_ctx_t *cx, int channel, sb_span_t account);
int sb_account_foreign(sb_ctx_t *cx, int channel, sb_span_t account,
    sb_account_t *a);
int sb_account_claim(sb_ctx_t *cx, int channel, sb_span_t account);

/* the end (R9, R15, R19) (sb_end.c) */
int sb_end(sb_ctx_t *cx, sb_conv_t *c, const char *by, const char *text,
    sb_why_t why);

/* delivery (R22) (sb_delivery.c) */
int sb_channel_third_party(int channel);
int sb_delivery_claim(sb_ctx_t *cx, sb_conv_t *c, uint64_t seq,
    int64_t due);
int sb_delivery_outcome(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_delivery_receipts(sb_ctx_t *cx, int channel,
    const sb_receipt_t *r, size_t n, int *moved);
void sb_sent_key(sb_key_t *k, const char *tenant, int channel,
    sb_span_t id);
int64_t sb_backoff(int64_t base, int64_t attempts);

/* the event webhooks' outbox (sb_outbox.c): an event is a row written in
 * the transaction that makes it, sent in order per conversation */
void sb_hook_init(sb_ctx_t *cx, sb_outevent_t *h, int type,
    const sb_conv_t *c);
int sb_hook_emit(sb_ctx_t *cx, sb_outevent_t *h);
int sb_hook_conv(sb_ctx_t *cx, const sb_conv_t *c, int type, sb_why_t why,
    const char *agent);
int sb_hook_message(sb_ctx_t *cx, const sb_conv_t *c, int type,
    const sb_msg_t *m, sb_span_t record);
int sb_hook_claim(sb_ctx_t *cx, uint64_t conv, uint64_t id, int64_t due);
int sb_hook_outcome(sb_ctx_t *cx, const sb_cmd_t *cmd);
int sb_hook_replay(sb_ctx_t *cx, size_t max, size_t *replayed);
/* 1 when id is one of ids[0..n) (a visitor's conversations: a few) */
static inline int
sb_ids_have(const uint64_t *ids, size_t n, uint64_t id)
{
    while (n--) {
        if (ids[n] == id) {
            return 1;
        }
    }
    return 0;
}
int sb_hook_erase_line(sb_ctx_t *cx, uint64_t conv, uint32_t *n);
int sb_hook_erase_failed(sb_ctx_t *cx, const uint64_t *convs, size_t nconvs,
    uint32_t *n);
int sb_hook_visitor_erased(sb_ctx_t *cx, int channel, const char *visitor,
    const char *by);
/* a visitor's conversations (sb_visits.c, issue 20) */
int sb_visit_key(sb_key_t *k, const char *tenant, int channel,
    const char *visitor, uint64_t conv);
int sb_visit_put(sb_ctx_t *cx, const sb_conv_t *c);
int sb_visit_del(sb_ctx_t *cx, const sb_conv_t *c);
int sb_visits_index(sb_store_t *st, size_t *indexed);

/* retention (sb_retention.c): a conversation erased whole (*erased 0 when
 * a send of it still waits), and the rows of the upkeep's walks */
int sb_conv_erase(sb_ctx_t *cx, sb_conv_t *c, int *erased);
int sb_conv_remove(sb_ctx_t *cx, sb_conv_t *c, uint32_t *messages);
int sb_prefix_del(sb_ctx_t *cx, int db, sb_key_t *prefix, uint32_t *n);
int sb_event_floor_raise(sb_ctx_t *cx, const char *tenant, uint64_t seq);
int sb_retain_conv(sb_ctx_t *cx, MDB_cursor *cur, MDB_val *key,
    MDB_val *val, int *dropped);
int sb_retain_event(sb_ctx_t *cx, MDB_cursor *cur, MDB_val *key,
    MDB_val *val, int *dropped);
uint64_t sb_event_floor(sb_store_t *st, MDB_txn *txn, const char *tenant);
int sb_retain_ledger(sb_ctx_t *cx, MDB_cursor *cur, MDB_val *key,
    MDB_val *val, int *dropped);
/* a failed row the upkeep walk met: dropped when older than the keep */
int sb_hook_expire(sb_ctx_t *cx, MDB_cursor *cur, MDB_val *key,
    MDB_val *val, int *dropped);
void sb_hook_pending_key(sb_key_t *k, const char *tenant, uint64_t conv,
    uint64_t id);
void sb_hook_failed_key(sb_key_t *k, const char *tenant, uint64_t id);
void sb_hook_counter_key(sb_key_t *k, const char *tenant, int which);

#define SB_HOOKS_PENDING   0      /* counters: rows waiting to be sent */
#define SB_HOOKS_FAILED    1      /* rows that gave up, until replayed */
#define SB_HOOKS_ATTEMPTS_FAILED  2     /* attempts that failed, ever */
#define SB_HOOKS_DROPPED   3      /* failed rows dropped: too old, too many */
#define SB_HOOKS_COUNTERS  4

/* a record copied into the arena, decoded, changed and written back */
int sb_msg_load(sb_ctx_t *cx, uint64_t conv, uint64_t seq, sb_msg_t *m);
int sb_msg_store(sb_ctx_t *cx, uint64_t conv, const sb_msg_t *m,
    sb_span_t *record);
int sb_msg_record(sb_ctx_t *cx, const sb_msg_t *m, sb_span_t *out);
void sb_msg_key(sb_key_t *k, const char *tenant, uint64_t conv,
    uint64_t seq);

#endif
