/* The one write path: commands queue in the worker, and a pool thread
 * applies each batch in one LMDB transaction (group commit), taking the
 * batch once it holds the write lock. Answers are rendered and sent after
 * the commit, then the hooks the other parts registered (wake-ups,
 * timers, deliveries) hear about the batch. */

#include "ngx_http_switchboard.h"

#define NGX_HTTP_SWITCHBOARD_BATCH  1024
#define NGX_HTTP_SWITCHBOARD_HOOKS  8

/* under load a small batch waits a millisecond for company (see flush) */
#define NGX_HTTP_SWITCHBOARD_BUSY   2       /* last batch this big: load */
#define NGX_HTTP_SWITCHBOARD_FILL   128     /* this many: no need to wait */


typedef struct {
    ngx_thread_mutex_t               mutex;     /* pending, npending */
    ngx_thread_mutex_t               map;       /* held by the thread's
                                                   transaction: the map
                                                   stays while it runs */
    ngx_uint_t                       resized;   /* batches re-run in a row
                                                   for MDB_MAP_RESIZED */
    ngx_queue_t                      pending;
    ngx_uint_t                       npending;
    ngx_http_switchboard_op_t       *batch[NGX_HTTP_SWITCHBOARD_BATCH];
    sb_cmd_t                        *cmds[NGX_HTTP_SWITCHBOARD_BATCH];
    sb_result_t                      results[NGX_HTTP_SWITCHBOARD_BATCH];
    ngx_uint_t                       nbatch;
    ngx_msec_t                       commit_us;    /* the last batch's */
    sb_batch_t                      *cache;
    sb_moved_t                       moved;
    ngx_thread_task_t               *task;
    ngx_thread_pool_t               *pool;
    ngx_event_t                      flush;
    ngx_event_t                      flush_timer;
    ngx_event_t                      keepalive;
    ngx_log_t                       *log;
    ngx_http_switchboard_commit_pt   hooks[NGX_HTTP_SWITCHBOARD_HOOKS];
    ngx_uint_t                       nhooks;
    ngx_uint_t                       last;      /* the last batch's size */
    unsigned                         in_flight:1;
} ngx_http_switchboard_committer_t;


static ngx_http_switchboard_committer_t  *ngx_http_switchboard_committer;


static void ngx_http_switchboard_flush(ngx_event_t *ev);
static void ngx_http_switchboard_commit_thread(void *data, ngx_log_t *log);
static void ngx_http_switchboard_committed(ngx_event_t *ev);
static void ngx_http_switchboard_keepalive(ngx_event_t *ev);
static void ngx_http_switchboard_committer_free(void *data);


ngx_int_t
ngx_http_switchboard_commit_init(ngx_cycle_t *cycle)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_http_switchboard_committer_t  *cm;
    ngx_pool_cleanup_t                *cln;

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_switchboard_module);

    cm = ngx_pcalloc(cycle->pool, sizeof(ngx_http_switchboard_committer_t));
    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cm == NULL || cln == NULL) {
        return NGX_ERROR;
    }
    ngx_queue_init(&cm->pending);
    if (ngx_thread_mutex_create(&cm->mutex, cycle->log) != NGX_OK
        || ngx_thread_mutex_create(&cm->map, cycle->log) != NGX_OK)
    {
        return NGX_ERROR;
    }
    cm->log = cycle->log;
    cm->pool = mcf->thread_pool;
    cm->cache = sb_batch_create(&ngx_http_switchboard_store);
    if (cm->cache == NULL) {
        return NGX_ERROR;
    }
    cln->handler = ngx_http_switchboard_committer_free;
    cln->data = cm;

    cm->task = ngx_thread_task_alloc(cycle->pool, 0);
    if (cm->task == NULL) {
        return NGX_ERROR;
    }
    cm->task->ctx = cm;
    cm->task->handler = ngx_http_switchboard_commit_thread;
    ngx_http_switchboard_event_init(&cm->task->event,
                                    ngx_http_switchboard_committed, cm,
                                    cycle->log, 0);
    ngx_http_switchboard_event_init(&cm->flush, ngx_http_switchboard_flush,
                                    cm, cycle->log, 0);
    cm->flush_timer = cm->flush;

    /* a non-cancelable timer keeps an exiting worker until its batch is
     * answered */
    ngx_http_switchboard_event_init(&cm->keepalive,
                                    ngx_http_switchboard_keepalive, cm,
                                    cycle->log, 0);

    ngx_http_switchboard_committer = cm;
    return NGX_OK;
}


static void
ngx_http_switchboard_committer_free(void *data)
{
    ngx_http_switchboard_committer_t  *cm = data;

    sb_batch_destroy(cm->cache);
    sb_moved_free(&cm->moved);
    (void) ngx_thread_mutex_destroy(&cm->mutex, cm->log);
    (void) ngx_thread_mutex_destroy(&cm->map, cm->log);
}


/*
 * Another generation of workers (a reload or a binary upgrade with a
 * larger size=) wrote past this process's map: LMDB answers every
 * transaction MDB_MAP_RESIZED until the map is set again, which needs
 * every transaction of the process closed. The event loop's reader is
 * closed here, and the thread's write transaction is waited for.
 */
ngx_int_t
ngx_http_switchboard_map_adopt(ngx_log_t *log)
{
    ngx_http_switchboard_committer_t  *cm = ngx_http_switchboard_committer;
    int                                rc;

    ngx_http_switchboard_read_close();
    if (cm) {
        (void) ngx_thread_mutex_lock(&cm->map, log);
    }
    rc = sb_store_adopt_size(&ngx_http_switchboard_store);
    if (cm) {
        (void) ngx_thread_mutex_unlock(&cm->map, log);
    }
    if (rc) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "switchboard: the store's new size cannot be taken: "
                      "%s", mdb_strerror(rc));
        return NGX_ERROR;
    }
    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "switchboard: the store's map was resized by another "
                  "generation of workers; this one follows");
    return NGX_OK;
}


/* Another part hears about every batch, once its answers are out. */
ngx_int_t
ngx_http_switchboard_on_commit(ngx_http_switchboard_commit_pt handler)
{
    ngx_http_switchboard_committer_t  *cm = ngx_http_switchboard_committer;

    if (cm == NULL || cm->nhooks == NGX_HTTP_SWITCHBOARD_HOOKS) {
        return NGX_ERROR;
    }
    cm->hooks[cm->nhooks++] = handler;
    return NGX_OK;
}


/* Takes the command (it is copied); r may be NULL for internal commands. */
ngx_int_t
ngx_http_switchboard_submit(ngx_http_request_t *r, sb_cmd_t *cmd)
{
    ngx_http_switchboard_committer_t  *cm = ngx_http_switchboard_committer;
    ngx_http_switchboard_op_t         *op;
    ngx_uint_t                         npending;

    op = ngx_calloc(sizeof(ngx_http_switchboard_op_t), cm->log);
    if (op == NULL) {
        sb_cmd_free(cmd);
        return NGX_ERROR;
    }
    op->cmd = *cmd;
    op->request = r;
    if (r) {
        ngx_http_switchboard_ctx_t  *ctx;

        ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);
        if (ctx) {
            ctx->submitted = ngx_current_msec;
        }
    }

    (void) ngx_thread_mutex_lock(&cm->mutex, cm->log);
    ngx_queue_insert_tail(&cm->pending, &op->queue);
    npending = ++cm->npending;
    (void) ngx_thread_mutex_unlock(&cm->mutex, cm->log);

    /* posted, not run: every command of this loop turn joins the batch */
    if (!cm->in_flight && !cm->flush.posted
        && (!cm->flush_timer.timer_set
            || npending >= NGX_HTTP_SWITCHBOARD_FILL))
    {
        ngx_post_event(&cm->flush, &ngx_posted_events);
    }
    if (!cm->keepalive.timer_set) {
        ngx_add_timer(&cm->keepalive, 1000);
    }
    return NGX_OK;
}


/* No batch is in flight here, so the thread does not touch npending. */
static void
ngx_http_switchboard_flush(ngx_event_t *ev)
{
    ngx_http_switchboard_committer_t  *cm = ev->data;

    if (cm->in_flight || cm->npending == 0) {
        return;
    }

    /*
     * When the last batch was small (light load: latency first), the
     * batch goes at once. Under load, a batch smaller than FILL waits up
     * to a millisecond (nginx's timer resolution) for more: one commit,
     * and its fsyncs, then serves dozens of requests, which is what makes
     * durable ingestion fast; a batch that fills up goes at once.
     */
    if (ev != &cm->flush_timer && cm->last >= NGX_HTTP_SWITCHBOARD_BUSY
        && cm->npending < NGX_HTTP_SWITCHBOARD_FILL)
    {
        if (!cm->flush_timer.timer_set) {
            ngx_add_timer(&cm->flush_timer, 1);
        }
        return;
    }
    if (cm->flush_timer.timer_set) {
        ngx_del_timer(&cm->flush_timer);
    }

    cm->nbatch = 0;
    cm->in_flight = 1;
    if (cm->pool == NULL
        || ngx_thread_task_post(cm->pool, cm->task) != NGX_OK)
    {
        /* no thread to take it: commit on the event loop rather than lose */
        ngx_http_switchboard_commit_thread(cm, cm->log);
        ngx_http_switchboard_committed(&cm->task->event);
    }
}


/* In the thread, with the write lock held: what is pending now goes. */
static size_t
ngx_http_switchboard_collect(void *data, sb_cmd_t **cmds, size_t cap)
{
    ngx_http_switchboard_committer_t  *cm = data;
    ngx_queue_t                       *q;
    ngx_http_switchboard_op_t         *op;
    size_t                             n = 0;

    (void) ngx_thread_mutex_lock(&cm->mutex, cm->log);
    while (!ngx_queue_empty(&cm->pending) && n < cap) {
        q = ngx_queue_head(&cm->pending);
        ngx_queue_remove(q);
        cm->npending--;
        op = ngx_queue_data(q, ngx_http_switchboard_op_t, queue);
        cm->batch[n] = op;
        cmds[n] = &op->cmd;
        ngx_memzero(&cm->results[n], sizeof(sb_result_t));
        n++;
    }
    (void) ngx_thread_mutex_unlock(&cm->mutex, cm->log);
    return n;
}


static void
ngx_http_switchboard_commit_thread(void *data, ngx_log_t *log)
{
    ngx_http_switchboard_committer_t  *cm = data;
    size_t                             n;

    int64_t                            apply0, commit0, apply1, commit1;
    uint64_t                           commands;

    /* the batch times its transaction (apply and commit) itself */
    sb_batch_timings(cm->cache, &apply0, &commit0, &commands);
    (void) ngx_thread_mutex_lock(&cm->map, log);
    sb_apply_collected(&ngx_http_switchboard_store, cm->cache,
                       ngx_http_switchboard_collect, cm, cm->cmds,
                       cm->results, NGX_HTTP_SWITCHBOARD_BATCH, &n,
                       &cm->moved);
    (void) ngx_thread_mutex_unlock(&cm->map, log);
    sb_batch_timings(cm->cache, &apply1, &commit1, &commands);
    cm->nbatch = n;
    cm->commit_us = (ngx_msec_t) ((apply1 - apply0 + commit1 - commit0)
                                  / 1000);
}


/* $switchboard_commit_ms and $switchboard_conversation of a command's
 * request: the wait from submit to answer, and what it was about. */
static void
ngx_http_switchboard_note_commit(ngx_http_request_t *r,
    ngx_http_switchboard_op_t *op)
{
    ngx_http_switchboard_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);
    if (ctx == NULL) {
        return;
    }
    ctx->commit_ms = ngx_current_msec - ctx->submitted;
    ctx->committed = 1;
    if (op->result.conv) {
        ctx->conversation = op->result.conv;
    } else if (op->cmd.conv) {
        ctx->conversation = op->cmd.conv;
    }
}


/* The answers, rendered from the results (and from the store, read after
 * the commit), then finalized. */
static void
ngx_http_switchboard_answer_batch(ngx_http_switchboard_committer_t *cm)
{
    ngx_http_switchboard_op_t  *op;
    ngx_http_request_t         *r;
    ngx_connection_t           *c;
    sb_answer_t                 ans;
    MDB_txn                    *txn = NULL;
    ngx_uint_t                  i;

    for (i = 0; i < cm->nbatch; i++) {
        op = cm->batch[i];
        r = op->request;
        if (r == NULL) {
            continue;
        }
        if (txn == NULL) {
            txn = ngx_http_switchboard_read_begin(r->connection->log);
        }
        ngx_memzero(&ans, sizeof(sb_answer_t));
        if (txn) {
            sb_result_answer(&ngx_http_switchboard_store, txn, &op->cmd,
                             &op->result, &ans);
        }
        if (op->cmd.type == SB_CMD_WEBHOOK && ans.status >= 400) {
            /* the provider's dashboard shows the failure; so does this
             * (another tenant's account, a class a reload took) */
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "switchboard: webhook refused with %d: %*s",
                          ans.status, ans.len, ans.body);
        }
        ngx_http_switchboard_note_commit(r, op);
        c = r->connection;
        ngx_http_finalize_request(r, ngx_http_switchboard_answer(r, &ans));
        ngx_http_run_posted_requests(c);
    }
    if (txn) {
        ngx_http_switchboard_read_end();
    }
}


/* A batch refused whole for MDB_MAP_RESIZED goes again, first in line,
 * once the map is the new size: nothing of it was written. */
static ngx_int_t
ngx_http_switchboard_rerun_resized(ngx_http_switchboard_committer_t *cm)
{
    ngx_uint_t  i;

    if (cm->nbatch == 0 || cm->results[0].store_rc != MDB_MAP_RESIZED
        || cm->resized >= 3
        || ngx_http_switchboard_map_adopt(cm->log) != NGX_OK)
    {
        cm->resized = 0;
        return NGX_DECLINED;
    }
    cm->resized++;
    (void) ngx_thread_mutex_lock(&cm->mutex, cm->log);
    for (i = cm->nbatch; i-- > 0; ) {
        sb_result_free(&cm->results[i]);
        ngx_queue_insert_head(&cm->pending, &cm->batch[i]->queue);
    }
    cm->npending += cm->nbatch;
    (void) ngx_thread_mutex_unlock(&cm->mutex, cm->log);
    cm->nbatch = 0;
    cm->in_flight = 0;
    ngx_http_switchboard_flush(&cm->flush);
    return NGX_OK;
}


static void
ngx_http_switchboard_committed(ngx_event_t *ev)
{
    ngx_http_switchboard_committer_t  *cm = ev->data;
    ngx_http_switchboard_op_t         *op;
    ngx_uint_t                         i;

    if (ngx_http_switchboard_rerun_resized(cm) == NGX_OK) {
        return;
    }
    for (i = 0; i < cm->nbatch; i++) {
        cm->batch[i]->result = cm->results[i];
    }
    if (cm->nbatch) {
        ngx_http_switchboard_metric_batch(cm->nbatch, cm->commit_us);
    }
    ngx_http_switchboard_answer_batch(cm);

    for (i = 0; i < cm->nhooks; i++) {
        cm->hooks[i](cm->batch, cm->nbatch, &cm->moved);
    }

    for (i = 0; i < cm->nbatch; i++) {
        op = cm->batch[i];
        sb_result_free(&op->result);
        sb_cmd_free(&op->cmd);
        ngx_free(op);
    }
    cm->last = cm->nbatch;
    cm->nbatch = 0;
    sb_moved_truncate(&cm->moved, 0);

    cm->in_flight = 0;
    if (cm->npending) {
        ngx_http_switchboard_flush(&cm->flush);
    } else if (cm->keepalive.timer_set) {
        ngx_del_timer(&cm->keepalive);
    }
}


static void
ngx_http_switchboard_keepalive(ngx_event_t *ev)
{
    ngx_http_switchboard_committer_t  *cm = ev->data;

    if (cm->in_flight || cm->npending) {
        ngx_add_timer(&cm->keepalive, 1000);
    }
}
