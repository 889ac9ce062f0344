/* A request of our own, for a subrequest no client asked for (a
 * delivery, R22): a connection without a socket, the server's
 * configuration, a loopback address for allow/deny, and a body. */

#include "ngx_http_switchboard.h"


static ngx_str_t           ngx_http_switchboard_post = ngx_string("POST");

/* what allow/deny and $remote_addr see in the operator's location */
static struct sockaddr_in  ngx_http_switchboard_loopback = {
    .sin_family = AF_INET, .sin_addr = { .s_addr = 0x0100007f }
};


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
        ngx_free_connection(c);
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
    ngx_free_connection(c);
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
