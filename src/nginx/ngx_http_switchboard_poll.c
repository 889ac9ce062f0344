/*
 * Long-polls (R24): a poll with nothing after its cursor waits until a
 * commit in any worker moves its log, its timeout, or the worker's exit.
 * A waiting poll is parked as nginx parks an idle keep-alive connection:
 * its request and header buffers are freed, and only the connection and
 * a small waiter stay; the answer goes out on a request made anew.
 */

#include "ngx_http_switchboard_poll.h"


static ngx_rbtree_t       ngx_http_switchboard_logs;
static ngx_rbtree_node_t  ngx_http_switchboard_sentinel;
static ngx_queue_t        ngx_http_switchboard_everyone;
static ngx_event_t        ngx_http_switchboard_exit_watch;


static void ngx_http_switchboard_poll_committed(
    ngx_http_switchboard_op_t **ops, ngx_uint_t n, sb_moved_t *moved);
static void ngx_http_switchboard_poll_heard(u_char *line, size_t len);
static void ngx_http_switchboard_poll_wake(u_char *key, size_t len);
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
    ngx_http_switchboard_stream_init();

    /* cancelable: it never keeps an exiting worker alive by itself */
    ngx_http_switchboard_event_init(&ngx_http_switchboard_exit_watch,
                                    ngx_http_switchboard_exit_check, NULL,
                                    cycle->log, 1);
    ngx_add_timer(&ngx_http_switchboard_exit_watch, 250);

    if (ngx_http_switchboard_park_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_switchboard_on_commit(ngx_http_switchboard_poll_committed)
        != NGX_OK
        || ngx_http_switchboard_on_wake(ngx_http_switchboard_poll_heard)
           != NGX_OK)
    {
        return NGX_ERROR;
    }
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


/* The node of a log that polls or streams wait on, made on first use. */
ngx_http_switchboard_log_t *
ngx_http_switchboard_log_get(ngx_http_request_t *r, const char *tenant,
    const char *owner)
{
    ngx_http_switchboard_log_t  *log;
    u_char                       key[SB_ID_MAX + SB_VISITOR_MAX + 40];
    size_t                       len;

    len = ngx_snprintf(key, sizeof(key), "%s/%s", tenant, owner) - key;
    log = ngx_http_switchboard_log_find(key, len);
    if (log) {
        return log;
    }
    log = ngx_alloc(sizeof(ngx_http_switchboard_log_t) + len,
                    r->connection->log);
    if (log == NULL) {
        return NULL;
    }
    log->sn.str.data = (u_char *) (log + 1);
    log->sn.str.len = len;
    log->tenant_len = ngx_strlen(tenant);
    ngx_memcpy(log->sn.str.data, key, len);
    log->sn.node.key = ngx_crc32_short(key, len);
    ngx_queue_init(&log->waiters);
    ngx_queue_init(&log->streams);
    log->waking = 0;
    ngx_rbtree_insert(&ngx_http_switchboard_logs, &log->sn.node);
    return log;
}


/* The request's headers, packed (name NUL value NUL each) into p (NULL:
 * only counted): what a parked poll's answer carries again (park.c). */
static size_t
ngx_http_switchboard_headers_pack(ngx_http_request_t *r, u_char *p)
{
    ngx_list_part_t  *part = &r->headers_in.headers.part;
    ngx_table_elt_t  *h = part->elts;
    ngx_uint_t        i;
    size_t            n = 0;

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            h = part->elts;
            i = 0;
        }
        n += h[i].key.len + h[i].value.len + 2;
        if (p) {
            p = ngx_cpymem(p, h[i].key.data, h[i].key.len);
            *p++ = '\0';
            p = ngx_cpymem(p, h[i].value.data, h[i].value.len);
            *p++ = '\0';
        }
    }
    return n;
}


/*
 * switchboard_polls_per_token: a subject (an agent, a visitor) holds at
 * most that many polls and streams at once on a worker; one more is 429
 * too_many_polls (issue 19: each is a connection and a timer, and a token
 * could open thousands). The lists are walked up to the cap, not further.
 * NGX_DECLINED: go on; else the refusal was sent.
 */
ngx_int_t
ngx_http_switchboard_log_full(ngx_http_request_t *r,
    ngx_http_switchboard_log_t *log)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_queue_t                       *q;
    ngx_uint_t                         n = 0;
    ngx_table_elt_t                   *h;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_switchboard_module);
    for (q = ngx_queue_head(&log->waiters);
         q != ngx_queue_sentinel(&log->waiters) && n < mcf->polls_per_token;
         q = ngx_queue_next(q))
    {
        n++;
    }
    for (q = ngx_queue_head(&log->streams);
         q != ngx_queue_sentinel(&log->streams) && n < mcf->polls_per_token;
         q = ngx_queue_next(q))
    {
        n++;
    }
    if (n < mcf->polls_per_token) {
        return NGX_DECLINED;
    }
    ngx_http_switchboard_log_prune(log);
    h = ngx_list_push(&r->headers_out.headers);
    if (h) {
        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        ngx_str_set(&h->value, "5");
    }
    return ngx_http_switchboard_error(r, 429, "too_many_polls",
                                      "this token holds as many polls and "
                                      "streams as switchboard_polls_per_"
                                      "token allows; close one first");
}


void
ngx_http_switchboard_log_prune(ngx_http_switchboard_log_t *log)
{
    if (!log->waking && ngx_queue_empty(&log->waiters)
        && ngx_queue_empty(&log->streams))
    {
        ngx_rbtree_delete(&ngx_http_switchboard_logs, &log->sn.node);
        ngx_free(log);
    }
}


/* Out of every list; the log node is pruned by the caller. */
/* a visitor's log ("tenant/v:…") or an agent's ("tenant/a:…") */
static ngx_uint_t
ngx_http_switchboard_by_visitor(ngx_http_switchboard_log_t *log)
{
    return log->sn.str.len > log->tenant_len + 1
           && log->sn.str.data[log->tenant_len + 1] == 'v';
}


static void
ngx_http_switchboard_unlink(ngx_http_switchboard_waiter_t *w)
{
    ngx_http_switchboard_metric_held(
        ngx_http_switchboard_by_visitor(w->log), -1);
    ngx_queue_remove(&w->waiting);
    ngx_queue_remove(&w->everyone);
    w->log = NULL;
    if (w->timer.timer_set) {
        ngx_del_timer(&w->timer);
    }
    if (w->park.posted) {
        ngx_delete_posted_event(&w->park);
    }
}


/* Reads the log after the cursor, as the poll's JSON or (last not NULL)
 * as stream frames: 0 with an answer, or MDB_NOTFOUND when there is
 * nothing yet. */
int
ngx_http_switchboard_log_read(MDB_txn *txn, ngx_http_switchboard_log_t *log,
    uint64_t cursor, uint64_t *last, sb_answer_t *ans)
{
    char    tenant[SB_ID_MAX + 1], owner[SB_VISITOR_MAX + 32];
    size_t  olen = log->sn.str.len - log->tenant_len - 1;

    if (log->tenant_len > SB_ID_MAX || olen >= sizeof(owner)) {
        return MDB_NOTFOUND;
    }
    ngx_memcpy(tenant, log->sn.str.data, log->tenant_len);
    tenant[log->tenant_len] = '\0';
    ngx_memcpy(owner, log->sn.str.data + log->tenant_len + 1, olen);
    owner[olen] = '\0';
    return last ? sb_query_event_frames(&ngx_http_switchboard_store, txn,
                                        tenant, owner, cursor, last, ans)
                : sb_query_events(&ngx_http_switchboard_store, txn, tenant,
                                  owner, cursor, ans);
}



/* Answers a waiting poll (with events, or none: 200 and the same cursor,
 * R24) and frees the waiter; the caller prunes the log node afterwards. */
void
ngx_http_switchboard_release(ngx_http_switchboard_waiter_t *w,
    sb_answer_t *ans, ngx_int_t closed)
{
    ngx_http_request_t  *r = w->r;
    ngx_connection_t    *c = w->c;
    sb_answer_t          empty = { 0, NULL, NULL, 0, "" };
    uint64_t             cursor = w->cursor;
    char                 body[64];
    ngx_int_t            rc;

    /* unparked while the waiter still knows its log: the new request
     * takes who polled from the log's name */
    if (r == NULL) {
        r = ngx_http_switchboard_unpark(w);
    } else {
        w->cln->handler = NULL;      /* the request goes on without it */
    }
    ngx_http_switchboard_unlink(w);
    ngx_free(w);
    if (r == NULL) {
        if (ans) {
            sb_answer_free(ans);
        }
        ngx_http_close_connection(c);
        return;
    }

    if (closed) {
        /* logged as nginx logs a client gone (499), then closed */
        if (ans) {
            sb_answer_free(ans);
        }
        c->error = 1;
        ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        ngx_http_run_posted_requests(c);
        return;
    }
    if (ans == NULL) {
        ans = &empty;
        (void) sb_answer_text(ans, 200, NULL, body,
                              ngx_snprintf((u_char *) body, sizeof(body),
                                           "{\"cursor\":%uL,\"events\":[]}",
                                           cursor) - (u_char *) body);
    }
    rc = ngx_http_switchboard_answer(r, ans);
    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* Reads the log after the cursor; holds the request when it is empty. */
ngx_int_t
ngx_http_switchboard_poll(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, const char *owner, uint64_t cursor)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_http_switchboard_log_t        *log;
    ngx_http_switchboard_waiter_t     *w;
    ngx_http_cleanup_t                *cln;
    sb_answer_t                        ans = { 0, NULL, NULL, 0, "" };
    MDB_txn                           *txn;
    u_char                            *p;
    size_t                             hlen;
    int                                rc;

    log = ngx_http_switchboard_log_get(r, ctx->tenant, owner);
    if (log == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    txn = ngx_http_switchboard_read_begin(r->connection->log);
    rc = txn ? ngx_http_switchboard_log_read(txn, log, cursor, NULL, &ans)
             : MDB_PANIC;
    if (txn) {
        ngx_http_switchboard_read_end();
    }
    if (rc != MDB_NOTFOUND) {
        ngx_http_switchboard_log_prune(log);
        if (rc) {
            sb_store_error(&ans, rc);
        }
        return ngx_http_switchboard_answer(r, &ans);
    }

    rc = ngx_http_switchboard_log_full(r, log);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    /* the waiter keeps its own copy of what the answer's log line shows
     * and of every header (an access log's $http_user_agent, a CORS
     * recipe's $http_origin), packed: name, NUL, value, NUL */
    hlen = ngx_http_switchboard_headers_pack(r, NULL);
    w = ngx_calloc(sizeof(ngx_http_switchboard_waiter_t)
                   + r->request_line.len + r->uri.len + r->args.len + hlen,
                   r->connection->log);
    cln = ngx_http_cleanup_add(r, 0);
    if (w == NULL || cln == NULL) {
        ngx_free(w);
        ngx_http_switchboard_log_prune(log);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    cln->handler = ngx_http_switchboard_poll_cleanup;
    cln->data = w;
    w->cln = cln;

    w->c = r->connection;
    w->r = r;
    w->log = log;
    w->cursor = cursor;
    w->srv_conf = r->srv_conf;
    w->loc_conf = r->loc_conf;
    w->start_sec = r->start_sec;
    w->start_msec = r->start_msec;
    w->http_version = r->http_version;
    w->keepalive = r->keepalive;
    p = (u_char *) (w + 1);
    w->request_line.data = p;
    w->request_line.len = r->request_line.len;
    p = ngx_cpymem(p, r->request_line.data, r->request_line.len);
    w->uri.data = p;
    w->uri.len = r->uri.len;
    p = ngx_cpymem(p, r->uri.data, r->uri.len);
    w->args.data = p;
    w->args.len = r->args.len;
    p = ngx_cpymem(p, r->args.data, r->args.len);
    w->headers.data = p;
    w->headers.len = hlen;
    (void) ngx_http_switchboard_headers_pack(r, p);
    ctx->hold = w;
    ngx_queue_insert_tail(&log->waiters, &w->waiting);
    ngx_queue_insert_tail(&ngx_http_switchboard_everyone, &w->everyone);
    ngx_http_switchboard_metric_held(ngx_http_switchboard_by_visitor(log), 1);

    mcf = ngx_http_get_module_main_conf(r, ngx_http_switchboard_module);
    ngx_http_switchboard_event_init(&w->timer,
                                    ngx_http_switchboard_poll_timeout, w,
                                    ngx_cycle->log, 0);
    ngx_add_timer(&w->timer, mcf->poll_timeout);

    /* held until the request can be given back (after this handler) */
    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;
    ngx_http_switchboard_event_init(&w->park, ngx_http_switchboard_park, w,
                                    ngx_cycle->log, 0);
    ngx_post_event(&w->park, &ngx_posted_events);

    return NGX_DONE;
}


/* A request closed while held (client gone before parking). */
static void
ngx_http_switchboard_poll_cleanup(void *data)
{
    ngx_http_switchboard_waiter_t  *w = data;
    ngx_http_switchboard_log_t     *log = w->log;

    if (w->r == NULL) {
        return;                 /* answered, or parked: not ours to free */
    }
    ngx_http_switchboard_unlink(w);
    ngx_http_switchboard_log_prune(log);
    ngx_free(w);
}


static void
ngx_http_switchboard_poll_timeout(ngx_event_t *ev)
{
    ngx_http_switchboard_waiter_t  *w = ev->data;
    ngx_http_switchboard_log_t     *log = w->log;

    ngx_http_switchboard_release(w, NULL, 0);
    ngx_http_switchboard_log_prune(log);
}


/* A log moved: each of its waiters reads what lies after its cursor. */
static void
ngx_http_switchboard_poll_wake(u_char *key, size_t len)
{
    ngx_http_switchboard_log_t     *log;
    ngx_http_switchboard_waiter_t  *w;
    ngx_queue_t                    *q, *next;
    sb_answer_t                     ans;
    MDB_txn                        *txn;

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
        w = ngx_queue_data(q, ngx_http_switchboard_waiter_t, waiting);
        ngx_memzero(&ans, sizeof(sb_answer_t));
        if (ngx_http_switchboard_log_read(txn, log, w->cursor, NULL, &ans)
            == 0)
        {
            ngx_http_switchboard_release(w, &ans, 0);
        }
        sb_answer_free(&ans);
    }
    /* a stream that ends while written to would prune the log under us */
    log->waking = 1;
    ngx_http_switchboard_stream_wake(log, txn);
    log->waking = 0;

    ngx_http_switchboard_read_end();
    ngx_http_switchboard_log_prune(log);
}


static void
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


/* After a commit here: this worker's waiters, then the other workers. */
static void
ngx_http_switchboard_poll_committed(ngx_http_switchboard_op_t **ops,
    ngx_uint_t n, sb_moved_t *moved)
{
    size_t  k;

    for (k = 0; k < moved->n; k++) {
        ngx_http_switchboard_poll_wake((u_char *) moved->keys[k],
                                       ngx_strlen(moved->keys[k]));
    }
    ngx_http_switchboard_wake_broadcast(moved);
}


/* Another worker's commit: a log key, "*" (everything), or not ours. */
static void
ngx_http_switchboard_poll_heard(u_char *line, size_t len)
{
    if (len == 1 && line[0] == '*') {
        ngx_http_switchboard_poll_wake_all();
    } else if (len > 1) {
        ngx_http_switchboard_poll_wake(line, len);
    }
}


/* On reload or quit, waiting polls are answered and streams ended, so the
 * worker can go. */
static void
ngx_http_switchboard_exit_check(ngx_event_t *ev)
{
    ngx_queue_t                    *q;
    ngx_http_switchboard_waiter_t  *w;
    ngx_http_switchboard_log_t     *log;

    if (!ngx_exiting && !ngx_quit && !ngx_terminate) {
        ngx_add_timer(ev, 250);
        return;
    }
    while (!ngx_queue_empty(&ngx_http_switchboard_everyone)) {
        q = ngx_queue_head(&ngx_http_switchboard_everyone);
        w = ngx_queue_data(q, ngx_http_switchboard_waiter_t, everyone);
        log = w->log;
        ngx_http_switchboard_release(w, NULL, 0);
        ngx_http_switchboard_log_prune(log);
    }
    ngx_http_switchboard_stream_exit();
}
