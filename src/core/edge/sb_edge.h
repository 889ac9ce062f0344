/* The HTTP edge of the core: JSON request bodies into typed commands,
 * results and records into JSON answers (after the commit, on the event
 * loop), the read-side queries, and bearer tokens (R25). */

#ifndef SB_EDGE_H
#define SB_EDGE_H

#include "commands/sb_commands.h"
#include "util/sb_json.h"

/* a body into the command of its type; -1 with the 4xx in err */
int sb_body_parse(sb_cmd_t *cmd, const sb_config_t *cfg, const char *body,
    size_t len, sb_answer_t *err);

/* the answer to a committed (or refused) command; views are read in txn */
void sb_result_answer(sb_store_t *st, MDB_txn *txn, const sb_cmd_t *cmd,
    const sb_result_t *res, sb_answer_t *ans);

/* views (sb_render.c); sb_each hands each row under prefix to row(),
 * stopping at its first non-zero */
typedef int (*sb_row_pt)(MDB_val *key, MDB_val *val, void *data);
int sb_each(MDB_txn *txn, MDB_dbi dbi, sb_key_t *prefix, sb_row_pt row,
    void *data);
void sb_render_message(sb_jw_t *w, sb_span_t record);
void sb_render_event(sb_jw_t *w, const sb_event_t *e);
const char *sb_event_name(int type);
void sb_jw_conv(sb_jw_t *w, const char *key, uint64_t id);

/* the event webhooks (sb_hooks.c): an outbox row as the body a CRM is
 * sent (malloc'd), and the admin's view of the outbox */
char *sb_hook_body(const unsigned char *record, size_t len,
    const char *tenant, size_t *body_len);
void sb_query_hooks(sb_store_t *st, MDB_txn *txn, const char *tenant,
    uint64_t cursor, sb_answer_t *ans);
/* A page of a thread (issue 19): the last `limit` entries before seq
 * `before` (0: the newest), in order. A thread is never rendered whole:
 * a conversation of 20,000 messages would be megabytes on every read. */
typedef struct {
    uint32_t  limit;
    uint64_t  before;
} sb_page_t;

#define SB_THREAD_PAGE      50     /* a read's default */
#define SB_THREAD_PAGE_MAX  500
#define SB_THREAD_TAIL      5      /* an action's answer: its own entries */

/* thread NULL: without it */
int sb_render_conversation(sb_jw_t *w, sb_store_t *st, MDB_txn *txn,
    const char *tenant, const sb_conv_t *c, int64_t now,
    const sb_page_t *thread);
void sb_render_block(sb_jw_t *w, const sb_block_t *b);
void sb_render_erased(sb_jw_t *w, const sb_erased_t *e);
void sb_query_erasures(sb_store_t *st, MDB_txn *txn, const char *tenant,
    uint64_t cursor, sb_answer_t *ans);
int sb_render_agent(sb_jw_t *w, sb_store_t *st, MDB_txn *txn,
    const char *tenant, const sb_agent_t *a, int64_t now, int held);

/* reads, each in the caller's read transaction; store errors are 500s */
int sb_load_conv(sb_store_t *st, MDB_txn *txn, const char *tenant,
    uint64_t id, sb_conv_t *c);
int sb_load_agent(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *id, sb_agent_t *a);
int sb_query_events(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *owner, uint64_t cursor, sb_answer_t *ans);
int sb_query_event_frames(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *owner, uint64_t cursor, uint64_t *last, sb_answer_t *ans);
uint64_t sb_query_log_last(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *owner);
int sb_query_cursor_ahead(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *owner, uint64_t cursor, sb_answer_t *ans);
typedef int (*sb_agent_view_pt)(sb_jw_t *w, sb_store_t *st, MDB_txn *txn,
    const char *tenant, const sb_agent_t *a, int64_t now);
void sb_query_agent_view(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *agent, int64_t now, sb_agent_view_pt view, sb_answer_t *ans);
void sb_query_agent_me(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *agent, int64_t now, sb_answer_t *ans);
int sb_query_agent_seen(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *agent, int64_t *seen_at);
void sb_query_account(sb_store_t *st, MDB_txn *txn, const char *tenant,
    int channel, const char *account, sb_answer_t *ans);
void sb_query_accounts(sb_store_t *st, MDB_txn *txn, const char *tenant,
    sb_answer_t *ans);
void sb_query_conversation(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *id, const char *agent, const sb_page_t *page, int64_t now,
    sb_answer_t *ans);
void sb_query_group(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *id, sb_answer_t *ans);
void sb_query_ledger(sb_store_t *st, MDB_txn *txn, const char *tenant,
    uint64_t cursor, sb_answer_t *ans);

typedef struct {
    int          state;          /* -1: any */
    const char  *group;
    const char  *tag;
    uint64_t     after;          /* paging: the last id of the page before */
    size_t       limit;
} sb_conv_filter_t;

void sb_query_conversations(sb_store_t *st, MDB_txn *txn,
    const char *tenant, const sb_conv_filter_t *filter, int64_t now,
    sb_answer_t *ans);
void sb_query_stats(sb_store_t *st, MDB_txn *txn, const char *tenant,
    int64_t now, sb_answer_t *ans);

/* the stats of a tenant, typed (sb_inspect.c): agents per class and
 * status (presence lapsed counted red), conversations per state, and
 * each queue to the callback (oldest_at: ms, 0 when empty) */
typedef struct {
    int64_t  agents[SB_MAX_CLASSES][SB_STATUS_COUNT];
    int64_t  states[SB_STATE_COUNT];
    int64_t  hooks[SB_HOOKS_COUNTERS];        /* the event webhooks' */
} sb_counts_t;

typedef void (*sb_queue_pt)(void *data, const char *group,
    const char *klass, int64_t length, int64_t oldest_at);

int sb_stats_gather(sb_store_t *st, MDB_txn *txn, const char *tenant,
    int64_t now, sb_counts_t *n, sb_queue_pt each, void *data);

const char *sb_refusal_name(int refusal);
void sb_tenant_paused_answer(sb_answer_t *ans);
void sb_tenant_moved_answer(sb_answer_t *ans);

/* Prometheus text of what the store knows, every tenant (sb_metrics.c),
 * and a family's HELP and TYPE lines */
void sb_metrics_family(sb_jw_t *w, const char *name, const char *type,
    const char *help);
int sb_metrics_store(sb_store_t *st, MDB_txn *txn, int64_t now,
    sb_jw_t *w);
void sb_query_canned(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *id, sb_answer_t *ans);
void sb_query_visitor_export(sb_store_t *st, MDB_txn *txn,
    const char *tenant, int channel, const char *visitor, int64_t now,
    sb_answer_t *ans);
void sb_query_block(sb_store_t *st, MDB_txn *txn, const char *tenant,
    int channel, const char *visitor, sb_answer_t *ans);

/* the desk's reference data (sb_desk.c) */
void sb_query_capabilities(const sb_config_t *cfg, sb_answer_t *ans);
void sb_query_settings(const sb_config_t *cfg, sb_answer_t *ans);
void sb_query_directory(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *agent, int64_t now, sb_answer_t *ans);
void sb_store_error(sb_answer_t *ans, int rc);
void sb_jw_finish(sb_jw_t *w, int rc, sb_answer_t *ans);

/* bearer tokens (R25) */
typedef struct {
    char     sub[SB_ID_MAX + 1];
    char     role[16];
    char     tenant[SB_ID_MAX + 1];
    char     channel[16];
    int64_t  exp;
} sb_claims_t;

enum { SB_ROLE_AGENT, SB_ROLE_VISITOR, SB_ROLE_ADMIN, SB_ROLE_COUNT };

/* A key that signs tokens: for those whose header names its kid (or,
 * kid NULL, those that name none), of one tenant or any (NULL), of some
 * roles or all (0; else bits 1 << SB_ROLE_*). */
typedef struct {
    const unsigned char  *secret;
    size_t                len;
    const char           *kid;
    const char           *tenant;
    unsigned              roles;
} sb_jwt_key_t;

typedef struct {
    const sb_jwt_key_t  *keys;
    size_t               n;
    int64_t              max_age[SB_ROLE_COUNT];  /* s; 0: no maximum */
} sb_jwt_keys_t;

int sb_jwt_verify(const char *token, size_t len, const sb_jwt_keys_t *keys,
    int64_t now_s, sb_claims_t *claims, const char **why);

#endif
