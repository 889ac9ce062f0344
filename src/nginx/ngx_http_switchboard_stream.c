/*
 * Server-Sent Events (R24): the event logs that long-polls read, streamed
 * on one open response: each event an "id/event/data" frame, a comment
 * line as heartbeat; a stream is presence (R5a); a reader that stops
 * reading is dropped at an output limit; reload and quit end streams.
 */

#include "ngx_http_switchboard_poll.h"


static ngx_queue_t  ngx_http_switchboard_streams;


static void ngx_http_switchboard_stream_cleanup(void *data);
static void ngx_http_switchboard_stream_beat(ngx_event_t *ev);
static void ngx_http_switchboard_stream_writer(ngx_http_request_t *r);
static void ngx_http_switchboard_stream_start(ngx_event_t *ev);


void
ngx_http_switchboard_stream_init(void)
{
    ngx_queue_init(&ngx_http_switchboard_streams);
}


/* Bytes written to the stream that the client has not taken yet. */
static off_t
ngx_http_switchboard_stream_pending(ngx_http_request_t *r)
{
    ngx_chain_t  *cl;
    off_t         n = 0;

    for (cl = r->out; cl; cl = cl->next) {
        n += ngx_buf_size(cl->buf);
    }
    return n;
}


static void
ngx_http_switchboard_stream_unlink(ngx_http_switchboard_stream_t *s)
{
    ngx_http_switchboard_log_t  *log = s->log;

    ngx_http_switchboard_metric_held(2 + !s->agent, -1);
    ngx_queue_remove(&s->streaming);
    ngx_queue_remove(&s->everyone);
    if (s->beat.timer_set) {
        ngx_del_timer(&s->beat);
    }
    if (s->start.posted) {
        ngx_delete_posted_event(&s->start);
    }
    s->cln->handler = NULL;
    s->log = NULL;
    ngx_http_switchboard_log_prune(log);
}


/* Ends a stream: rc NGX_OK after the last chunk (reload, quit), or an
 * error (the client gone, or too slow) that closes the connection. */
static void
ngx_http_switchboard_stream_end(ngx_http_switchboard_stream_t *s,
    ngx_int_t rc)
{
    ngx_http_request_t  *r = s->r;
    ngx_connection_t    *c = r->connection;

    ngx_http_switchboard_stream_unlink(s);
    if (rc == NGX_OK) {
        r->keepalive = 0;
        rc = ngx_http_send_special(r, NGX_HTTP_LAST);
    }
    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


#define SB_STREAM_BUF  4096

/* Writes bytes to the stream; 0, or -1 when the stream was ended (the
 * client is gone, or has left more than the limit unread). The bytes go
 * in buffers of a fixed size that come back to the stream's free list
 * once sent, so a stream's memory is bounded however long it lives. */
static ngx_int_t
ngx_http_switchboard_stream_write(ngx_http_switchboard_stream_t *s,
    const char *data, size_t len)
{
    ngx_http_core_loc_conf_t          *clcf;
    ngx_http_request_t                *r = s->r;
    ngx_chain_t                       *out = NULL, **ll = &out, *cl;
    ngx_buf_t                         *b;
    size_t                             n;
    off_t                              pending;
    ngx_int_t                          rc;

    while (len) {
        cl = ngx_chain_get_free_buf(r->pool, &s->free);
        if (cl == NULL) {
            ngx_http_switchboard_stream_end(s, NGX_ERROR);
            return -1;
        }
        b = cl->buf;
        if (b->start == NULL) {
            b->start = ngx_palloc(r->pool, SB_STREAM_BUF);
            if (b->start == NULL) {
                ngx_http_switchboard_stream_end(s, NGX_ERROR);
                return -1;
            }
            b->end = b->start + SB_STREAM_BUF;
            b->temporary = 1;
            b->tag = (ngx_buf_tag_t) &ngx_http_switchboard_module;
        }
        n = ngx_min(len, (size_t) (b->end - b->start));
        b->pos = b->start;
        b->last = ngx_cpymem(b->start, data, n);
        b->flush = 1;
        data += n;
        len -= n;
        *ll = cl;
        ll = &cl->next;
    }

    rc = ngx_http_output_filter(r, out);
    ngx_chain_update_chains(r->pool, &s->free, &s->busy, &out,
                            (ngx_buf_tag_t) &ngx_http_switchboard_module);
    if (rc == NGX_ERROR) {
        ngx_http_switchboard_stream_end(s, NGX_ERROR);
        return -1;
    }

    pending = ngx_http_switchboard_stream_pending(r);
    if (pending && !r->connection->write->timer_set) {
        /* the rest goes when the socket can take it (the writer) */
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
        ngx_add_timer(r->connection->write, clcf->send_timeout);
        if (ngx_handle_write_event(r->connection->write, clcf->send_lowat)
            != NGX_OK)
        {
            ngx_http_switchboard_stream_end(s, NGX_ERROR);
            return -1;
        }
    }
    return 0;
}


/* What the client has not taken yet, against the limit: 1 when more may
 * be written, 0 when it is at the limit (the writer goes on once it has
 * taken some). Frames wait in the log, not in memory. */
static ngx_int_t
ngx_http_switchboard_stream_room(ngx_http_switchboard_stream_t *s,
    off_t *left)
{
    ngx_http_switchboard_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(s->r, ngx_http_switchboard_module);
    *left = (off_t) mcf->stream_buffer
            - ngx_http_switchboard_stream_pending(s->r);
    return *left > 0;
}


/* A new event for a client still sitting on a full limit: it is not
 * reading. Dropped, it resumes with Last-Event-ID and loses nothing. */
static ngx_int_t
ngx_http_switchboard_stream_too_slow(ngx_http_switchboard_stream_t *s)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    off_t                              left;

    if (ngx_http_switchboard_stream_room(s, &left)) {
        return 0;
    }
    mcf = ngx_http_get_module_main_conf(s->r, ngx_http_switchboard_module);
    ngx_log_error(NGX_LOG_INFO, s->r->connection->log, 0,
                  "switchboard: stream dropped: over %uz bytes unread",
                  mcf->stream_buffer);
    s->r->connection->error = 1;
    ngx_http_switchboard_stream_end(s, NGX_HTTP_CLIENT_CLOSED_REQUEST);
    return 1;
}


/* Of a batch of frames, the bytes of those that fit in left (one at
 * least), and the id of the last of them. */
static size_t
ngx_http_switchboard_stream_fit(const char *p, size_t len, off_t left,
    uint64_t *last)
{
    const char  *end = p + len, *frame = p, *next;
    size_t       take = 0;
    uint64_t     id;

    while (frame < end) {
        next = (const char *) ngx_strnstr((u_char *) frame, "\n\n",
                                          end - frame);
        if (next == NULL || (take && (off_t) (next + 2 - p) > left)) {
            break;
        }
        next += 2;
        /* "id: N\n" opens each frame (sb_query_event_frames) */
        for (id = 0, frame += 4; frame < next && *frame >= '0'
             && *frame <= '9'; frame++)
        {
            id = id * 10 + (uint64_t) (*frame - '0');
        }
        *last = id;
        take = next - p;
        frame = next;
    }
    return take;
}


/* The frames after the stream's cursor, while the limit has room (the
 * writer calls again once the client has taken some). 0, or -1 when the
 * stream was ended. */
static ngx_int_t
ngx_http_switchboard_stream_catch_up(ngx_http_switchboard_stream_t *s,
    MDB_txn *txn)
{
    sb_answer_t  ans;
    uint64_t     last;
    size_t       take;
    off_t        left;
    int          rc;

    while (ngx_http_switchboard_stream_room(s, &left)) {
        ngx_memzero(&ans, sizeof(sb_answer_t));
        rc = ngx_http_switchboard_log_read(txn, s->log, s->cursor, &last,
                                             &ans);
        if (rc != 0 || ans.status != 200) {
            sb_answer_free(&ans);
            return 0;            /* nothing more now (or a store error) */
        }
        take = ngx_http_switchboard_stream_fit(ans.body, ans.len, left,
                                               &last);
        s->cursor = last;
        rc = ngx_http_switchboard_stream_write(s, ans.body, take);
        sb_answer_free(&ans);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}


/* A log moved: each of its streams writes what lies after its cursor. */
void
ngx_http_switchboard_stream_wake(ngx_http_switchboard_log_t *log,
    MDB_txn *txn)
{
    ngx_http_switchboard_stream_t  *s;
    ngx_queue_t                    *q, *next;

    for (q = ngx_queue_head(&log->streams);
         q != ngx_queue_sentinel(&log->streams);
         q = next)
    {
        next = ngx_queue_next(q);
        s = ngx_queue_data(q, ngx_http_switchboard_stream_t, streaming);
        if (!ngx_http_switchboard_stream_too_slow(s)) {
            (void) ngx_http_switchboard_stream_catch_up(s, txn);
        }
    }
}


/* R5a: an agent's stream keeps the agent present, as a poll does. */
static void
ngx_http_switchboard_stream_presence(ngx_http_switchboard_stream_t *s)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    sb_cmd_t                           seen;
    int64_t                            now = sb_now_ms(), stale;

    if (!s->agent) {
        return;
    }
    mcf = ngx_http_get_module_main_conf(s->r, ngx_http_switchboard_module);
    stale = (int64_t) (mcf->presence_timeout - mcf->poll_timeout) / 2;
    if (now - s->seen_at <= stale) {
        return;
    }
    s->seen_at = now;
    sb_cmd_init(&seen, SB_CMD_SEEN, now);
    ngx_memcpy(seen.tenant, s->tenant, sizeof(seen.tenant));
    ngx_memcpy(seen.actor, s->actor, sizeof(seen.actor));
    (void) ngx_http_switchboard_submit(NULL, &seen);
}


static void
ngx_http_switchboard_stream_beat(ngx_event_t *ev)
{
    ngx_http_switchboard_stream_t     *s = ev->data;
    ngx_http_switchboard_main_conf_t  *mcf;

    /* a beat only on an idle stream: frames on their way are as good */
    mcf = ngx_http_get_module_main_conf(s->r, ngx_http_switchboard_module);
    if (ngx_http_switchboard_stream_too_slow(s)
        || (ngx_http_switchboard_stream_pending(s->r) == 0
            && ngx_http_switchboard_stream_write(s, ": heartbeat\n\n", 13)
               != 0))
    {
        return;
    }
    ngx_http_switchboard_stream_presence(s);
    ngx_add_timer(&s->beat, mcf->stream_heartbeat);
}


/* The socket can take more: what is pending goes; a client that takes
 * nothing for send_timeout is dropped. */
static void
ngx_http_switchboard_stream_writer(ngx_http_request_t *r)
{
    ngx_http_switchboard_stream_t  *s;
    ngx_http_switchboard_ctx_t     *ctx;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_event_t                    *wev = r->connection->write;
    ngx_chain_t                    *out = NULL;
    ngx_int_t                       rc;
    MDB_txn                        *txn;
    off_t                           left;

    ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);
    s = ctx ? ctx->stream : NULL;
    if (s == NULL || s->log == NULL) {
        return;                  /* ended: nginx's own writer finishes */
    }
    if (wev->timedout) {
        r->connection->timedout = 1;
        ngx_http_switchboard_stream_end(s, NGX_HTTP_REQUEST_TIME_OUT);
        return;
    }
    rc = ngx_http_output_filter(r, NULL);
    ngx_chain_update_chains(r->pool, &s->free, &s->busy, &out,
                            (ngx_buf_tag_t) &ngx_http_switchboard_module);
    if (rc == NGX_ERROR) {
        ngx_http_switchboard_stream_end(s, NGX_ERROR);
        return;
    }
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    if (r->out) {
        ngx_add_timer(wev, clcf->send_timeout);
    } else if (wev->timer_set) {
        ngx_del_timer(wev);
    }
    if (ngx_handle_write_event(wev, clcf->send_lowat) != NGX_OK) {
        ngx_http_switchboard_stream_end(s, NGX_ERROR);
        return;
    }
    if (ngx_http_switchboard_stream_room(s, &left)) {
        /* taken: what the log has written since can follow */
        txn = ngx_http_switchboard_read_begin(r->connection->log);
        if (txn) {
            (void) ngx_http_switchboard_stream_catch_up(s, txn);
            ngx_http_switchboard_read_end();
        }
    }
}


/* The client went away (or the request ended otherwise). */
static void
ngx_http_switchboard_stream_cleanup(void *data)
{
    ngx_http_switchboard_stream_t  *s = data;

    if (s->log) {
        s->cln->handler = NULL;
        ngx_http_switchboard_stream_unlink(s);
    }
}


static ngx_int_t
ngx_http_switchboard_stream_header(ngx_http_request_t *r, const char *key,
    const char *value)
{
    ngx_table_elt_t  *h = ngx_list_push(&r->headers_out.headers);

    if (h == NULL) {
        return NGX_ERROR;
    }
    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);
    return NGX_OK;
}


/* Opens the stream: the headers, what follows the cursor, then held. */
ngx_int_t
ngx_http_switchboard_stream(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, const char *owner, uint64_t cursor,
    ngx_uint_t agent)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_http_switchboard_stream_t     *s;
    ngx_http_switchboard_log_t        *log;
    ngx_http_cleanup_t                *cln;
    sb_answer_t                        ans = { 0, NULL, NULL, 0, "" };
    MDB_txn                           *txn;
    ngx_int_t                          rc;
    int                                ahead;

    /* a cursor ahead of the log is refused before anything is streamed */
    txn = ngx_http_switchboard_read_begin(r->connection->log);
    if (txn == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ahead = sb_query_cursor_ahead(&ngx_http_switchboard_store, txn,
                                  ctx->tenant, owner, cursor, &ans);
    ngx_http_switchboard_read_end();
    if (ahead) {
        return ngx_http_switchboard_answer(r, &ans);
    }

    log = ngx_http_switchboard_log_get(r, ctx->tenant, owner);
    if (log == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    rc = ngx_http_switchboard_log_full(r, log);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    s = ngx_pcalloc(r->pool, sizeof(ngx_http_switchboard_stream_t));
    cln = ngx_http_cleanup_add(r, 0);
    if (s == NULL || cln == NULL) {
        ngx_http_switchboard_log_prune(log);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    cln->handler = ngx_http_switchboard_stream_cleanup;
    cln->data = s;
    s->cln = cln;
    s->r = r;
    s->log = log;
    s->cursor = cursor;
    s->agent = agent;
    ngx_memcpy(s->tenant, ctx->tenant, sizeof(s->tenant));
    ngx_memcpy(s->actor, ctx->actor, sizeof(s->actor));
    ctx->stream = s;
    ngx_queue_insert_tail(&log->streams, &s->streaming);
    ngx_queue_insert_tail(&ngx_http_switchboard_streams, &s->everyone);
    ngx_http_switchboard_metric_held(2 + !agent, 1);

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        ngx_http_switchboard_stream_unlink(s);
        return NGX_ERROR;
    }
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = -1;
    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    /* a proxy in front must pass frames as they come */
    if (ngx_http_switchboard_stream_header(r, "Cache-Control", "no-cache")
        != NGX_OK
        || ngx_http_switchboard_stream_header(r, "X-Accel-Buffering", "no")
           != NGX_OK)
    {
        ngx_http_switchboard_stream_unlink(s);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        ngx_http_switchboard_stream_unlink(s);
        return rc;
    }

    /* held: the request lives on after this handler */
    r->main->count++;
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_switchboard_stream_writer;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_switchboard_module);
    ngx_http_switchboard_event_init(&s->beat, ngx_http_switchboard_stream_beat,
                                    s, r->connection->log, 0);
    ngx_add_timer(&s->beat, mcf->stream_heartbeat);

    /* the request that opened it counted as presence already */
    s->seen_at = sb_now_ms();

    /* the first frames go once this handler has returned: a stream that
     * ends while writing them must not free the request under nginx */
    ngx_http_switchboard_event_init(&s->start,
                                    ngx_http_switchboard_stream_start, s,
                                    r->connection->log, 0);
    ngx_post_event(&s->start, &ngx_posted_events);
    return NGX_DONE;
}


/* A first line, so the client sees the headers before any event, then
 * what follows the cursor. */
static void
ngx_http_switchboard_stream_start(ngx_event_t *ev)
{
    ngx_http_switchboard_stream_t  *s = ev->data;
    MDB_txn                        *txn;

    if (ngx_http_switchboard_stream_write(s, ": stream open\n\n", 15) != 0) {
        return;
    }
    txn = ngx_http_switchboard_read_begin(s->r->connection->log);
    if (txn) {
        (void) ngx_http_switchboard_stream_catch_up(s, txn);
        ngx_http_switchboard_read_end();
    }
}


/* On reload or quit streams end cleanly, so clients reconnect to the new
 * workers (EventSource does, with Last-Event-ID). */
void
ngx_http_switchboard_stream_exit(void)
{
    ngx_queue_t                    *q;
    ngx_http_switchboard_stream_t  *s;

    while (!ngx_queue_empty(&ngx_http_switchboard_streams)) {
        q = ngx_queue_head(&ngx_http_switchboard_streams);
        s = ngx_queue_data(q, ngx_http_switchboard_stream_t, everyone);
        ngx_http_switchboard_stream_end(s, NGX_OK);
    }
}
