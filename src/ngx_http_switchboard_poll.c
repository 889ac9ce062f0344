/* Long-polls (R24): a poll with nothing after its cursor is held until a
 * commit in any worker moves its log, its timeout, or the worker's exit. */

#include "ngx_http_switchboard.h"


typedef struct {
    ngx_str_node_t  sn;           /* "tenant/owner" */
    ngx_queue_t     waiters;
} ngx_http_switchboard_log_t;


static ngx_rbtree_t       ngx_http_switchboard_logs;
static ngx_rbtree_node_t  ngx_http_switchboard_sentinel;
static ngx_queue_t        ngx_http_switchboard_everyone;
static ngx_event_t        ngx_http_switchboard_exit_watch;


static void ngx_http_switchboard_poll_cleanup(void *data);
static void ngx_http_switchboard_poll_timeout(ngx_event_t *ev);
static void ngx_http_switchboard_exit_check(ngx_event_t *ev);


ngx_int_t
ngx_http_switchboard_poll_init(ngx_cycle_t *cycle)
{
    ngx_rbtree_init(&ngx_http_switchboard_logs,
                    &ngx_http_switchboard_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&ngx_http_switchboard_everyone);

    /* cancelable: it never keeps an exiting worker alive by itself */
    ngx_http_switchboard_exit_watch.handler = ngx_http_switchboard_exit_check;
    ngx_http_switchboard_exit_watch.log = cycle->log;
    ngx_http_switchboard_exit_watch.cancelable = 1;
    ngx_add_timer(&ngx_http_switchboard_exit_watch, 250);

    return NGX_OK;
}


static ngx_http_switchboard_log_t *
ngx_http_switchboard_log_find(u_char *key, size_t len)
{
    ngx_str_t  s = { len, key };

    return (ngx_http_switchboard_log_t *)
        ngx_str_rbtree_lookup(&ngx_http_switchboard_logs, &s,
                              ngx_crc32_short(key, len));
}


static void
ngx_http_switchboard_log_prune(ngx_http_switchboard_log_t *log)
{
    if (ngx_queue_empty(&log->waiters)) {
        ngx_rbtree_delete(&ngx_http_switchboard_logs, &log->sn.node);
        ngx_free(log);
    }
}


static void
ngx_http_switchboard_unlink(ngx_http_switchboard_ctx_t *ctx)
{
    ngx_queue_remove(&ctx->waiting);
    ngx_queue_remove(&ctx->everyone);
    ctx->held = 0;
    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }
}


/* Answers a held poll; the caller prunes the log node afterwards. */
static void
ngx_http_switchboard_answer(ngx_http_switchboard_ctx_t *ctx,
    sb_result_t *res)
{
    ngx_http_request_t  *r = ctx->request;
    ngx_connection_t    *c = r->connection;
    char                 empty[64];
    ngx_int_t            rc;

    ngx_http_switchboard_unlink(ctx);

    if (res) {
        rc = ngx_http_switchboard_result(r, res);
    } else {
        /* R24: a poll that times out keeps its cursor */
        ngx_snprintf((u_char *) empty, sizeof(empty),
                     "{\"cursor\":%uL,\"events\":[]}%Z", ctx->cursor);
        rc = ngx_http_switchboard_respond(r, 200, empty);
    }
    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* Reads the log after the cursor; holds the request when it is empty. */
ngx_int_t
ngx_http_switchboard_poll(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_http_switchboard_log_t        *log;
    ngx_http_cleanup_t                *cln;
    sb_result_t                        res = { 0, NULL, NULL };
    MDB_txn                           *txn;
    u_char                             key[3 * SB_ID_MAX + 32];
    size_t                             len;
    int                                found;

    txn = ngx_http_switchboard_read_begin(r->connection->log);
    if (txn == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    found = sb_query_events(&ngx_http_switchboard_store, txn, ctx->tenant,
                            ctx->owner, ctx->cursor, &res);
    ngx_http_switchboard_read_end();

    if (found == 0) {
        return ngx_http_switchboard_result(r, &res);
    }
    if (found != MDB_NOTFOUND) {
        return ngx_http_switchboard_error(r, 500, "store_error",
                                          mdb_strerror(found));
    }

    len = ngx_snprintf(key, sizeof(key), "%s/%s", ctx->tenant, ctx->owner)
          - key;
    log = ngx_http_switchboard_log_find(key, len);
    if (log == NULL) {
        log = ngx_alloc(sizeof(ngx_http_switchboard_log_t) + len,
                        r->connection->log);
        if (log == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        log->sn.str.data = (u_char *) (log + 1);
        log->sn.str.len = len;
        ngx_memcpy(log->sn.str.data, key, len);
        log->sn.node.key = ngx_crc32_short(key, len);
        ngx_queue_init(&log->waiters);
        ngx_rbtree_insert(&ngx_http_switchboard_logs, &log->sn.node);
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        ngx_http_switchboard_log_prune(log);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    cln->handler = ngx_http_switchboard_poll_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->node = log;
    ctx->held = 1;
    ngx_queue_insert_tail(&log->waiters, &ctx->waiting);
    ngx_queue_insert_tail(&ngx_http_switchboard_everyone, &ctx->everyone);

    mcf = ngx_http_get_module_main_conf(r, ngx_http_switchboard_module);
    ctx->timer.handler = ngx_http_switchboard_poll_timeout;
    ctx->timer.data = ctx;
    ctx->timer.log = r->connection->log;
    ngx_add_timer(&ctx->timer, mcf->poll_timeout);

    /* held: a closed connection is noticed, and the cleanup unlinks us */
    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_DONE;
}


static void
ngx_http_switchboard_poll_cleanup(void *data)
{
    ngx_http_switchboard_ctx_t  *ctx = data;

    if (ctx->held) {
        ngx_http_switchboard_unlink(ctx);
        ngx_http_switchboard_log_prune(ctx->node);
    }
}


static void
ngx_http_switchboard_poll_timeout(ngx_event_t *ev)
{
    ngx_http_switchboard_ctx_t  *ctx = ev->data;
    ngx_http_switchboard_log_t  *log = ctx->node;

    ngx_http_switchboard_answer(ctx, NULL);
    ngx_http_switchboard_log_prune(log);
}


/* A log moved: each of its waiters reads what lies after its cursor. */
void
ngx_http_switchboard_poll_wake(u_char *key, size_t len)
{
    ngx_http_switchboard_log_t  *log;
    ngx_http_switchboard_ctx_t  *ctx;
    ngx_queue_t                 *q, *next;
    sb_result_t                  res = { 0, NULL, NULL };
    MDB_txn                     *txn;
    int                          rc;

    log = ngx_http_switchboard_log_find(key, len);
    if (log == NULL) {
        return;
    }
    txn = ngx_http_switchboard_read_begin(ngx_cycle->log);
    if (txn == NULL) {
        return;
    }

    for (q = ngx_queue_head(&log->waiters);
         q != ngx_queue_sentinel(&log->waiters);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_queue_data(q, ngx_http_switchboard_ctx_t, waiting);
        rc = sb_query_events(&ngx_http_switchboard_store, txn, ctx->tenant,
                             ctx->owner, ctx->cursor, &res);
        if (rc == 0) {
            ngx_http_switchboard_answer(ctx, &res);
        }
        sb_result_free(&res);
    }

    ngx_http_switchboard_read_end();
    ngx_http_switchboard_log_prune(log);
}


void
ngx_http_switchboard_poll_wake_all(void)
{
    ngx_rbtree_node_t           *node, *next;
    ngx_http_switchboard_log_t  *log;

    if (ngx_http_switchboard_logs.root == &ngx_http_switchboard_sentinel) {
        return;
    }
    for (node = ngx_rbtree_min(ngx_http_switchboard_logs.root,
                               &ngx_http_switchboard_sentinel);
         node;
         node = next)
    {
        next = ngx_rbtree_next(&ngx_http_switchboard_logs, node);
        log = (ngx_http_switchboard_log_t *) node;
        ngx_http_switchboard_poll_wake(log->sn.str.data, log->sn.str.len);
    }
}


/* On reload or quit, held polls are answered so the worker can go. */
static void
ngx_http_switchboard_exit_check(ngx_event_t *ev)
{
    ngx_queue_t                 *q;
    ngx_http_switchboard_ctx_t  *ctx;
    ngx_http_switchboard_log_t  *log;

    if (!ngx_exiting && !ngx_quit && !ngx_terminate) {
        ngx_add_timer(ev, 250);
        return;
    }
    while (!ngx_queue_empty(&ngx_http_switchboard_everyone)) {
        q = ngx_queue_head(&ngx_http_switchboard_everyone);
        ctx = ngx_queue_data(q, ngx_http_switchboard_ctx_t, everyone);
        log = ctx->node;
        ngx_http_switchboard_answer(ctx, NULL);
        ngx_http_switchboard_log_prune(log);
    }
}
