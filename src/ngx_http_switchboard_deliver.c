/* Delivery (R22): each claimed job becomes a POST subrequest of a request
 * made for it, to the operator's internal location; nginx holds the
 * credentials and TLS, and the answer goes back through the write path. */

#include "ngx_http_switchboard.h"


typedef struct {
    json_t                     *job;
    ngx_uint_t                  status;
    char                       *provider_id; /* from a 2xx, malloc'd */
} ngx_http_switchboard_delivery_t;


static ngx_str_t           ngx_http_switchboard_post = ngx_string("POST");

/* what allow/deny and $remote_addr see in the operator's location */
static struct sockaddr_in  ngx_http_switchboard_loopback = {
    .sin_family = AF_INET, .sin_addr = { .s_addr = 0x0100007f }
};


static void ngx_http_switchboard_deliver_done(ngx_http_request_t *r);


/* The job's tenant, conversation, outcome: one command on the write path. */
static void
ngx_http_switchboard_outcome(json_t *job, const char *outcome,
    ngx_uint_t status, const char *provider_id, const char *error)
{
    sb_cmd_t  cmd;

    ngx_memzero(&cmd, sizeof(sb_cmd_t));
    cmd.type = SB_CMD_DELIVERED;
    cmd.now = sb_now_ms();
    ngx_cpystrn((u_char *) cmd.tenant,
                (u_char *) json_string_value(json_object_get(job, "tenant")),
                sizeof(cmd.tenant));
    ngx_cpystrn((u_char *) cmd.target,
                (u_char *) json_string_value(json_object_get(job,
                                                             "conversation")),
                sizeof(cmd.target));
    cmd.body = json_pack("{s:O,s:O,s:s,s:i,s:s?,s:s?}",
                         "seq", json_object_get(job, "seq"),
                         "attempt", json_object_get(job, "attempt"),
                         "outcome", outcome, "http_status", (int) status,
                         "provider_id", provider_id, "error", error);
    (void) ngx_http_switchboard_submit(NULL, &cmd);
}


/*
 * A request of our own, on a connection with no socket: enough for the
 * phases to find the operator's location and for the upstream module to
 * proxy a subrequest. Nothing reads from or writes to it.
 */
static ngx_http_request_t *
ngx_http_switchboard_fake_request(ngx_http_conf_ctx_t *conf)
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
    r->write_event_handler = ngx_http_switchboard_deliver_done;

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


static void
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
static ngx_int_t
ngx_http_switchboard_fake_body(ngx_http_request_t *r, const char *body,
    const char *type)
{
    ngx_http_request_body_t  *rb;
    ngx_buf_t                *b;
    ngx_table_elt_t          *h;
    size_t                    len = ngx_strlen(body);

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


/* The subrequest is over: keep what it got; the parent reports it. */
static ngx_int_t
ngx_http_switchboard_deliver_answered(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_switchboard_delivery_t  *d = data;
    ngx_buf_t                        *b;

    /* an error page finalizes the subrequest again: the first word counts;
     * and an error that would terminate the request made for the job is
     * a bad gateway like any other */
    if (rc == NGX_ERROR || rc == NGX_HTTP_REQUEST_TIME_OUT
        || rc == NGX_HTTP_CLIENT_CLOSED_REQUEST)
    {
        rc = NGX_HTTP_BAD_GATEWAY;
    }
    if (d->status) {
        return rc;
    }
    d->status = sr->headers_out.status ? sr->headers_out.status
                : (rc >= NGX_HTTP_SPECIAL_RESPONSE ? (ngx_uint_t) rc
                                                   : NGX_HTTP_BAD_GATEWAY);
    /* the id is read where the body lies, in the upstream's buffer */
    if (d->status >= 200 && d->status < 300 && sr->upstream) {
        b = &sr->upstream->buffer;
        if (b->start && b->last > b->pos) {
            d->provider_id = sb_send_provider_id(
                json_string_value(json_object_get(d->job, "channel")),
                (char *) b->pos, b->last - b->pos);
        }
    }
    return rc;
}


static void
ngx_http_switchboard_deliver_done(ngx_http_request_t *r)
{
    ngx_http_switchboard_ctx_t       *ctx;
    ngx_http_switchboard_delivery_t  *d;
    const char                       *channel;
    char                              error[64];

    ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);
    d = ctx->delivery;
    channel = json_string_value(json_object_get(d->job, "channel"));

    if (d->status >= 200 && d->status < 300) {
        ngx_http_switchboard_outcome(d->job, "sent", d->status,
                                     d->provider_id, NULL);

    } else {
        /* R22: the network and the provider's bad moments are retried;
         * a refusal of the message itself is final */
        ngx_snprintf((u_char *) error, sizeof(error), "%s answered %ui%Z",
                     channel, d->status);
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "switchboard: delivery of a %s message: %ui",
                      channel, d->status);
        ngx_http_switchboard_outcome(d->job,
                                     d->status == 429 || d->status == 408
                                     || d->status >= 500 ? "retry" : "failed",
                                     d->status, NULL, error);
    }

    free(d->provider_id);
    json_decref(d->job);
    ngx_http_switchboard_fake_close(r);
    ngx_free(d);
}


/* One job: its body in the provider's shape, POSTed to the location. */
static void
ngx_http_switchboard_deliver_one(json_t *job)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_http_switchboard_delivery_t   *d;
    ngx_http_switchboard_ctx_t        *ctx;
    ngx_http_post_subrequest_t        *ps;
    ngx_http_request_t                *r, *sr;
    const char                        *channel, *type;
    char                              *body;
    ngx_int_t                          ch;

    mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                              ngx_http_switchboard_module);
    channel = json_string_value(json_object_get(job, "channel"));
    ch = sb_channel_parse(channel, ngx_strlen(channel));

    if (ch < 0 || mcf->deliver[ch].uri.len == 0) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "switchboard: no switchboard_deliver location for %s",
                      channel);
        ngx_http_switchboard_outcome(job, "retry", 0, NULL,
                                     "no switchboard_deliver location for "
                                     "this channel");
        return;
    }

    d = ngx_calloc(sizeof(ngx_http_switchboard_delivery_t), ngx_cycle->log);
    r = ngx_http_switchboard_fake_request(mcf->deliver[ch].conf);
    body = sb_send_body(job, &type);
    if (d == NULL || r == NULL || body == NULL) {
        goto failed;
    }
    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_switchboard_ctx_t));
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ctx == NULL || ps == NULL
        || ngx_http_switchboard_fake_body(r, body, type) != NGX_OK)
    {
        goto failed;
    }
    d->job = json_incref(job);
    ctx->request = r;
    ctx->delivery = d;
    ngx_http_set_ctx(r, ctx, ngx_http_switchboard_module);

    ps->handler = ngx_http_switchboard_deliver_answered;
    ps->data = d;
    if (ngx_http_subrequest(r, &mcf->deliver[ch].uri, NULL, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY)
        != NGX_OK)
    {
        json_decref(job);
        goto failed;
    }
    sr->method = NGX_HTTP_POST;
    sr->method_name = ngx_http_switchboard_post;
    free(body);

    ngx_http_run_posted_requests(r->connection);
    return;

failed:
    free(body);
    if (r) {
        ngx_http_switchboard_fake_close(r);
    }
    ngx_free(d);
    ngx_http_switchboard_outcome(job, "retry", 0, NULL,
                                 "the delivery could not be started");
}


/* The jobs a FIRE claimed, each delivered at once. */
void
ngx_http_switchboard_deliver(json_t *jobs)
{
    json_t  *job;
    size_t   i;

    json_array_foreach(jobs, i, job) {
        ngx_http_switchboard_deliver_one(job);
    }
}


/* $switchboard_account, $switchboard_recipient, $switchboard_reply_to:
 * what the operator's location needs to build the provider's URL. */
ngx_int_t
ngx_http_switchboard_deliver_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_switchboard_ctx_t       *ctx;
    ngx_http_switchboard_delivery_t  *d;
    const char                       *s;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_switchboard_module);
    d = ctx ? ctx->delivery : NULL;
    s = d ? json_string_value(json_object_get(d->job, (char *) data)) : NULL;
    if (s == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }
    v->data = (u_char *) s;
    v->len = ngx_strlen(s);
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    return NGX_OK;
}
