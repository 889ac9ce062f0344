/* A request of our own, for a subrequest no client asked for (a
 * delivery, R22, or an event webhook): a connection without a socket,
 * the server's configuration, a loopback address for allow/deny, a body,
 * and the POST of it to the operator's location. */

#include "ngx_http_switchboard.h"


static ngx_str_t           ngx_http_switchboard_post = ngx_string("POST");

/* what allow/deny and $remote_addr see in the operator's location */
static struct sockaddr_in  ngx_http_switchboard_loopback = {
    .sin_family = AF_INET, .sin_addr = { .s_addr = 0x0100007f }
};


/*
 * Back to nginx's free list. ngx_free_connection() clears files[c->fd]
 * when that slot is c: under `use poll;` or `select` files exists, and
 * fd -1 read files[-1] (issue 19). fd 0 is the descriptor borrowed
 * when the connection was taken, whose slot holds another connection or
 * none, so nothing there is touched. Then -1 again, as
 * ngx_close_connection() leaves it: an exiting worker reports a free
 * connection with a descriptor as an open socket left behind.
 */
static void
ngx_http_switchboard_fake_free(ngx_connection_t *c)
{
    c->fd = 0;
    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
}


/*
 * A request of our own, on a connection with no socket: enough for the
 * phases to find the operator's location and for the upstream module to
 * proxy a subrequest. Nothing reads from or writes to it.
 */
ngx_http_request_t *
ngx_http_switchboard_fake_request(ngx_http_conf_ctx_t *conf,
    ngx_http_event_handler_pt done)
{
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_log_ctx_t         *lctx;
    ngx_log_t                  *log;
    ngx_pool_t                 *pool;
    ngx_http_core_main_conf_t  *cmcf;
    ngx_connection_t           *saved = NULL;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NULL;
    }
    log = ngx_pcalloc(pool, sizeof(ngx_log_t));
    lctx = ngx_pcalloc(pool, sizeof(ngx_http_log_ctx_t));
    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    if (log == NULL || lctx == NULL || r == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    /* ngx_get_connection() wants a descriptor; 0 is borrowed, then given
     * back, and the connection is marked as having none */
    if (ngx_cycle->files) {
        saved = ngx_cycle->files[0];
    }
    c = ngx_get_connection(0, ngx_cycle->log);
    if (ngx_cycle->files) {
        ngx_cycle->files[0] = saved;
    }
    if (c == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }
    c->fd = (ngx_socket_t) -1;
    c->pool = pool;

    /* the upstream module sets the current request through log->data */
    *log = *ngx_cycle->log;
    log->handler = NULL;
    log->data = lctx;
    lctx->connection = c;
    lctx->request = r;
    lctx->current_request = r;
    c->log = log;
    c->log_error = NGX_ERROR_INFO;
    c->read->log = log;
    c->write->log = log;
    c->write->active = 1;      /* never registered with the event method */
    c->read->active = 1;
    c->data = r;
    ngx_str_set(&c->addr_text, "127.0.0.1");
    c->sockaddr = (struct sockaddr *) &ngx_http_switchboard_loopback;
    c->socklen = sizeof(struct sockaddr_in);
    c->local_sockaddr = c->sockaddr;
    c->local_socklen = c->socklen;

    r->signature = NGX_HTTP_MODULE;
    r->connection = c;
    r->pool = pool;
    r->main = r;
    r->count = 1;
    r->main_conf = conf->main_conf;
    r->srv_conf = conf->srv_conf;
    r->loc_conf = conf->loc_conf;
    r->http_version = NGX_HTTP_VERSION_11;
    ngx_str_set(&r->http_protocol, "HTTP/1.1");
    ngx_str_set(&r->request_line, "POST /switchboard-delivery HTTP/1.1");
    r->method = NGX_HTTP_POST;
    r->method_name = ngx_http_switchboard_post;
    r->headers_in.content_length_n = -1;
    r->headers_in.keep_alive_n = -1;
    r->uri_changes = NGX_HTTP_MAX_URI_CHANGES + 1;
    r->subrequests = NGX_HTTP_MAX_SUBREQUESTS + 1;
    r->http_state = NGX_HTTP_PROCESS_REQUEST_STATE;
    r->logged = 1;                      /* the subrequest's log is enough */
    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = done;

    cmcf = ngx_http_get_module_main_conf(r, ngx_http_core_module);
    r->ctx = ngx_pcalloc(pool, sizeof(void *) * ngx_http_max_module);
    r->variables = ngx_pcalloc(pool, cmcf->variables.nelts
                                     * sizeof(ngx_http_variable_value_t));
    if (r->ctx == NULL || r->variables == NULL
        || ngx_list_init(&r->headers_in.headers, pool, 4,
                         sizeof(ngx_table_elt_t)) != NGX_OK
        || ngx_list_init(&r->headers_out.headers, pool, 4,
                         sizeof(ngx_table_elt_t)) != NGX_OK)
    {
        ngx_http_switchboard_fake_free(c);
        ngx_destroy_pool(pool);
        return NULL;
    }
    return r;
}


void
ngx_http_switchboard_fake_close(ngx_http_request_t *r)
{
    ngx_connection_t  *c = r->connection;

    ngx_http_free_request(r, 0);       /* cleanups, then the pool */
    c->destroyed = 1;
    c->read->active = 0;
    c->write->active = 0;
    ngx_http_switchboard_fake_free(c);
}


/* The body and its content type, as the operator's location receives it. */
ngx_int_t
ngx_http_switchboard_fake_body(ngx_http_request_t *r, const char *body,
    size_t len, const char *type)
{
    ngx_http_request_body_t  *rb;
    ngx_buf_t                *b;
    ngx_table_elt_t          *h;

    rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    b = ngx_create_temp_buf(r->pool, len ? len : 1);
    h = ngx_list_push(&r->headers_in.headers);
    if (rb == NULL || b == NULL || h == NULL) {
        return NGX_ERROR;
    }
    b->last = ngx_cpymem(b->pos, body, len);
    b->last_buf = 1;
    rb->bufs = ngx_alloc_chain_link(r->pool);
    if (rb->bufs == NULL) {
        return NGX_ERROR;
    }
    rb->bufs->buf = b;
    rb->bufs->next = NULL;
    rb->buf = b;
    r->request_body = rb;
    r->headers_in.content_length_n = (off_t) len;

    ngx_memzero(h, sizeof(ngx_table_elt_t));
    ngx_str_set(&h->key, "Content-Type");
    h->lowcase_key = (u_char *) "content-type";
    h->hash = ngx_hash_key(h->lowcase_key, h->key.len);
    h->value.data = (u_char *) type;
    h->value.len = ngx_strlen(type);
    r->headers_in.content_type = h;
    return NGX_OK;
}


static ngx_int_t
ngx_http_switchboard_fake_header(ngx_http_request_t *r, ngx_keyval_t *kv)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    ngx_memzero(h, sizeof(ngx_table_elt_t));
    h->key = kv->key;
    h->value = kv->value;
    h->lowcase_key = ngx_pnalloc(r->pool, kv->key.len);
    if (h->lowcase_key == NULL) {
        return NGX_ERROR;
    }
    h->hash = ngx_hash_strlow(h->lowcase_key, kv->key.data, kv->key.len);
    return NGX_OK;
}


/*
 * body POSTed to uri, a location of the server conf was written in, with
 * headers (copied): answered sees the subrequest end, done is the end of
 * the request made for it, which closes it. data is the request's
 * ctx->delivery. NGX_ERROR: nothing was started, data is the caller's.
 */
ngx_int_t
ngx_http_switchboard_fake_post(ngx_http_conf_ctx_t *conf, ngx_str_t *uri,
    const char *body, size_t len, const char *type, ngx_keyval_t *headers,
    ngx_uint_t nheaders, ngx_http_post_subrequest_pt answered,
    ngx_http_event_handler_pt done, void *data)
{
    ngx_http_switchboard_ctx_t  *ctx;
    ngx_http_post_subrequest_t  *ps;
    ngx_http_request_t          *r, *sr;
    ngx_keyval_t                 kv;
    ngx_uint_t                   i;

    r = ngx_http_switchboard_fake_request(conf, done);
    if (r == NULL) {
        return NGX_ERROR;
    }
    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_switchboard_ctx_t));
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ctx == NULL || ps == NULL
        || ngx_http_switchboard_fake_body(r, body, len, type) != NGX_OK)
    {
        goto failed;
    }
    for (i = 0; i < nheaders; i++) {
        kv.key = headers[i].key;
        kv.value.len = headers[i].value.len;
        kv.value.data = ngx_pstrdup(r->pool, &headers[i].value);
        if (kv.value.data == NULL
            || ngx_http_switchboard_fake_header(r, &kv) != NGX_OK)
        {
            goto failed;
        }
    }
    ctx->delivery = data;
    ngx_http_set_ctx(r, ctx, ngx_http_switchboard_module);

    ps->handler = answered;
    ps->data = data;
    if (ngx_http_subrequest(r, uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY)
        != NGX_OK)
    {
        goto failed;
    }
    sr->method = NGX_HTTP_POST;
    sr->method_name = ngx_http_switchboard_post;

    ngx_http_run_posted_requests(r->connection);
    return NGX_OK;

failed:
    ngx_http_switchboard_fake_close(r);
    return NGX_ERROR;
}


/* The location's answer, once: an error page finalizes the subrequest
 * again and the first word counts; an error that would terminate the
 * request made for it is a bad gateway like any other. 1: the first. */
ngx_uint_t
ngx_http_switchboard_fake_status(ngx_http_request_t *sr, ngx_int_t *rc,
    ngx_uint_t *status)
{
    if (*rc == NGX_ERROR || *rc == NGX_HTTP_REQUEST_TIME_OUT
        || *rc == NGX_HTTP_CLIENT_CLOSED_REQUEST)
    {
        *rc = NGX_HTTP_BAD_GATEWAY;
    }
    if (*status) {
        return 0;
    }
    *status = sr->headers_out.status ? sr->headers_out.status
              : (*rc >= NGX_HTTP_SPECIAL_RESPONSE ? (ngx_uint_t) *rc
                                                  : NGX_HTTP_BAD_GATEWAY);
    return 1;
}


/* An attempt's outcome (cmd names the attempt): one command on the write
 * path, which owns the command from here. */
void
ngx_http_switchboard_fake_outcome(sb_cmd_t *cmd, sb_send_outcome_t outcome,
    ngx_uint_t status, const char *sent_id, const char *error)
{
    cmd->u.delivered.outcome = outcome;
    cmd->u.delivered.http_status = (int) status;
    if (sent_id && sent_id[0]) {
        cmd->u.delivered.provider_id = sb_arena_copy(&cmd->mem, sent_id,
                                                     ngx_strlen(sent_id));
    }
    if (error) {
        cmd->u.delivered.error = sb_arena_copy(&cmd->mem, error,
                                               ngx_strlen(error));
    }
    (void) ngx_http_switchboard_submit(NULL, cmd);
}
