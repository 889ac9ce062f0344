/* A poll parked as nginx parks an idle keep-alive connection: while it
 * waits, its request and header (and TLS) buffers are freed; its answer
 * goes out on a request made anew, carrying what the access log needs. */

#include "ngx_http_switchboard_poll.h"


static ngx_str_t  ngx_http_switchboard_get = ngx_string("GET");

/* the waiter of each parked connection, by the connection's slot */
static ngx_http_switchboard_waiter_t  **ngx_http_switchboard_parked;

/* nginx's own event handler of a connection with a request (static in
 * ngx_http_request.c), as it was found on the connection parked */
static ngx_event_handler_pt  ngx_http_switchboard_request_handler;


static void ngx_http_switchboard_parked_read(ngx_event_t *rev);


ngx_int_t
ngx_http_switchboard_park_init(ngx_cycle_t *cycle)
{
    ngx_http_switchboard_parked = ngx_pcalloc(cycle->pool,
        cycle->connection_n * sizeof(ngx_http_switchboard_waiter_t *));
    return ngx_http_switchboard_parked ? NGX_OK : NGX_ERROR;
}


/* Large header buffers go back, as between keep-alive requests. */
static void
ngx_http_switchboard_free_buffers(ngx_connection_t *c, ngx_chain_t *cl)
{
    ngx_chain_t  *ln;

    while (cl) {
        ln = cl;
        cl = cl->next;
        ngx_pfree(c->pool, ln->buf->start);
        ngx_free_chain(c->pool, ln);
    }
}


/*
 * The poll waits without its request: the request is freed (not logged:
 * the answer's request logs it), and so are the header buffers and TLS
 * buffers, as ngx_http_set_keepalive() does for an idle connection. A
 * connection with a pipelined request stays held as it is.
 */
void
ngx_http_switchboard_park(ngx_event_t *ev)
{
    ngx_http_switchboard_waiter_t  *w = ev->data;
    ngx_http_request_t             *r = w->r;
    ngx_connection_t               *c = w->c;
    ngx_http_connection_t          *hc = r->http_connection;
    ngx_buf_t                      *b = r->header_in;

    if (r->main->count != 1 || r != c->data || b->pos < b->last
        || c->read->ready || c->error || c->read->handler != c->write->handler
        || (ngx_http_switchboard_request_handler
            && c->read->handler != ngx_http_switchboard_request_handler))
    {
        return;                 /* held as it is, request and all */
    }
    ngx_http_switchboard_request_handler = c->read->handler;

    w->r = NULL;
    r->logged = 1;
    ngx_http_free_request(r, 0);
    c->data = hc;

    b = c->buffer;
    if (ngx_pfree(c->pool, b->start) == NGX_OK) {
        b->pos = NULL;                  /* revive allocates it again */
    } else {
        b->pos = b->start;
        b->last = b->start;
    }
    ngx_http_switchboard_free_buffers(c, hc->busy);
    hc->busy = NULL;
    hc->nbusy = 0;
    ngx_http_switchboard_free_buffers(c, hc->free);
    hc->free = NULL;
#if (NGX_HTTP_SSL)
    if (c->ssl) {
        ngx_ssl_free_buffer(c);
    }
#endif

    c->log->action = "waiting for events";
    c->read->handler = ngx_http_switchboard_parked_read;
    c->write->handler = ngx_http_empty_handler;
    ngx_http_switchboard_parked[c - ngx_cycle->connections] = w;
    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_http_switchboard_release(w, NULL, 1);
    }
}


/* The client of a parked poll: gone (closed, reset) is noticed; a byte
 * sent early (the next request) waits until the answer is out. */
static void
ngx_http_switchboard_parked_read(ngx_event_t *rev)
{
    ngx_connection_t               *c = rev->data;
    ngx_http_switchboard_waiter_t  *w;
    ngx_http_switchboard_log_t     *log;
    char                            buf[1];
    ssize_t                         n;

    w = ngx_http_switchboard_parked[c - ngx_cycle->connections];
    if (w == NULL) {
        ngx_http_close_connection(c);
        return;
    }
    n = recv(c->fd, buf, 1, MSG_PEEK);
    if (n > 0 || (n == -1 && ngx_socket_errno == NGX_EAGAIN)) {
        rev->ready = n > 0;
        return;
    }
    rev->eof = 1;
    log = w->log;
    ngx_http_switchboard_release(w, NULL, 1);
    ngx_http_switchboard_log_prune(log);
}


/*
 * The request's headers again, each through nginx's own handler for it
 * (as ngx_http_process_request_headers() does), so that every variable
 * an access log or an add_header reads ($http_user_agent, $http_referer,
 * $http_origin for a CORS recipe, $remote_user...) is what it was when
 * the poll came (issue 19: they were "-" once parked).
 */
static ngx_int_t
ngx_http_switchboard_unpark_headers(ngx_http_request_t *r,
    ngx_http_switchboard_waiter_t *w)
{
    ngx_http_core_main_conf_t  *cmcf;
    ngx_http_header_t          *hh;
    ngx_table_elt_t            *h;
    u_char                     *p, *end, *copy;

    if (ngx_list_init(&r->headers_in.headers, r->pool, 8,
                      sizeof(ngx_table_elt_t)) != NGX_OK
        || ngx_array_init(&r->headers_in.cookies, r->pool, 2,
                          sizeof(ngx_table_elt_t *)) != NGX_OK)
    {
        return NGX_ERROR;
    }
    copy = ngx_pnalloc(r->pool, w->headers.len);
    if (copy == NULL) {
        return NGX_ERROR;
    }
    ngx_memcpy(copy, w->headers.data, w->headers.len);
    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);

    for (p = copy, end = copy + w->headers.len; p < end; /* void */) {
        h = ngx_list_push(&r->headers_in.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }
        h->key.data = p;
        h->key.len = ngx_strlen(p);
        p += h->key.len + 1;
        h->value.data = p;
        h->value.len = ngx_strlen(p);
        p += h->value.len + 1;
        h->lowcase_key = ngx_pnalloc(r->pool, h->key.len);
        if (h->lowcase_key == NULL) {
            return NGX_ERROR;
        }
        h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, h->key.len);
        hh = ngx_hash_find(&cmcf->headers_in_hash, h->hash, h->lowcase_key,
                           h->key.len);
        if (hh && hh->handler(r, h, hh->offset) != NGX_OK) {
            return NGX_ERROR;
        }
    }
    return NGX_OK;
}


/* Who polled, for the log variables: the log's key is "tenant/a:agent"
 * or "tenant/v:channel:visitor". */
static ngx_int_t
ngx_http_switchboard_unpark_ctx(ngx_http_request_t *r,
    ngx_http_switchboard_waiter_t *w)
{
    ngx_http_switchboard_ctx_t  *ctx;
    ngx_str_t                   *key;
    u_char                      *owner, *end, *sub;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_switchboard_ctx_t));
    if (ctx == NULL) {
        ngx_http_free_request(r, 0);
        return NGX_ERROR;
    }
    ngx_http_set_ctx(r, ctx, ngx_http_switchboard_module);
    if (w->log == NULL) {
        return NGX_OK;
    }
    key = &w->log->sn.str;
    end = key->data + key->len;
    ngx_memcpy(ctx->tenant, key->data,
               ngx_min(w->log->tenant_len, SB_ID_MAX));
    owner = key->data + w->log->tenant_len + 1;
    if (owner + 2 > end) {
        return NGX_OK;
    }
    sub = ngx_strlchr(owner + 2, end, ':');
    sub = owner[0] == 'v' && sub ? sub + 1 : owner + 2;
    ctx->role = owner[0] == 'v' ? "visitor" : "agent";
    ngx_memcpy(ctx->actor, sub, ngx_min((size_t) (end - sub), SB_ID_MAX));
    return NGX_OK;
}


/* The request that carries the answer of a parked poll: made on the
 * connection as nginx makes one for the next keep-alive request, with
 * what the access log needs of the first. */
ngx_http_request_t *
ngx_http_switchboard_unpark(ngx_http_switchboard_waiter_t *w)
{
    ngx_connection_t    *c = w->c;
    ngx_http_request_t  *r;
    ngx_buf_t           *b = c->buffer;
    size_t               size;

    ngx_http_switchboard_parked[c - ngx_cycle->connections] = NULL;

    if (b->pos == NULL) {
        size = b->end - b->start;
        b->start = ngx_palloc(c->pool, size);
        if (b->start == NULL) {
            return NULL;
        }
        b->pos = b->start;
        b->last = b->start;
        b->end = b->start + size;
    }
    r = ngx_http_create_request(c);
    if (r == NULL) {
        return NULL;
    }
    c->requests--;                       /* the same request, answered */
    c->data = r;
    c->destroyed = 0;
    c->log->action = NULL;
    c->read->handler = ngx_http_switchboard_request_handler;
    c->write->handler = ngx_http_switchboard_request_handler;

#if (NGX_STAT_STUB)
    (void) ngx_atomic_fetch_add(ngx_stat_reading, -1);
    r->stat_reading = 0;
    (void) ngx_atomic_fetch_add(ngx_stat_writing, 1);
    r->stat_writing = 1;
#endif

    r->srv_conf = w->srv_conf;
    r->loc_conf = w->loc_conf;
    r->method = NGX_HTTP_GET;
    r->method_name = ngx_http_switchboard_get;
    r->http_version = w->http_version;
    r->keepalive = w->keepalive;
    r->start_sec = w->start_sec;
    r->start_msec = w->start_msec;
    r->http_state = NGX_HTTP_PROCESS_REQUEST_STATE;
    r->read_event_handler = ngx_http_block_reading;
    r->request_line.data = ngx_pstrdup(r->pool, &w->request_line);
    r->request_line.len = w->request_line.len;
    r->uri.data = ngx_pstrdup(r->pool, &w->uri);
    r->uri.len = w->uri.len;
    r->args.data = ngx_pstrdup(r->pool, &w->args);
    r->args.len = w->args.len;
    if (r->request_line.data == NULL || r->uri.data == NULL
        || (w->args.len && r->args.data == NULL))
    {
        ngx_http_free_request(r, 0);
        return NULL;
    }
    ngx_str_set(&r->http_protocol, "HTTP/1.1");
    if (ngx_http_switchboard_unpark_headers(r, w) != NGX_OK) {
        ngx_http_free_request(r, 0);
        return NULL;
    }
    r->keepalive = w->keepalive;           /* as decided for the first */
    return ngx_http_switchboard_unpark_ctx(r, w) == NGX_OK ? r : NULL;
}
