/* The three APIs (agent, visitor, admin): paths and methods to reads on
 * the event loop or commands for the write path, after the token check. */

#include "ngx_http_switchboard.h"


#define SB_SEGMENTS  4


typedef struct {
    ngx_str_t   seg[SB_SEGMENTS];
    ngx_uint_t  n;
} ngx_http_switchboard_path_t;


static void ngx_http_switchboard_body_ready(ngx_http_request_t *r);


/* The part of the URI below the location's prefix, split on '/'. */
static ngx_int_t
ngx_http_switchboard_split(ngx_http_request_t *r,
    ngx_http_switchboard_path_t *path)
{
    ngx_http_core_loc_conf_t  *clcf;
    u_char                    *p, *end, *start;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    p = r->uri.data;
    end = r->uri.data + r->uri.len;
    if (r->uri.len >= clcf->name.len
        && ngx_strncmp(p, clcf->name.data, clcf->name.len) == 0)
    {
        p += clcf->name.len;
    }

    path->n = 0;
    while (p < end) {
        if (*p == '/') {
            p++;
            continue;
        }
        if (path->n == SB_SEGMENTS) {
            return NGX_DECLINED;
        }
        start = p;
        while (p < end && *p != '/') {
            p++;
        }
        path->seg[path->n].data = start;
        path->seg[path->n].len = p - start;
        path->n++;
    }
    return NGX_OK;
}


static ngx_int_t
ngx_http_switchboard_is(ngx_str_t *s, const char *word)
{
    size_t  len = ngx_strlen(word);

    return s->len == len && ngx_strncmp(s->data, word, len) == 0;
}


static ngx_int_t
ngx_http_switchboard_not_found(ngx_http_request_t *r)
{
    return ngx_http_switchboard_error(r, 404, "not_found",
                                      "no such resource");
}


static ngx_int_t
ngx_http_switchboard_bad_method(ngx_http_request_t *r, const char *allow)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = (u_char *) allow;
    h->value.len = ngx_strlen(allow);

    return ngx_http_switchboard_error(r, 405, "method_not_allowed",
                                      "method not allowed here");
}


/* An id from the path; R26: refused (NGX_DECLINED) before any use. */
static ngx_int_t
ngx_http_switchboard_path_id(ngx_str_t *s, char *dst)
{
    if (!sb_valid_id((char *) s->data, s->len, 0)) {
        return NGX_DECLINED;
    }
    ngx_memcpy(dst, s->data, s->len);
    dst[s->len] = '\0';
    return NGX_OK;
}


static ngx_int_t
ngx_http_switchboard_bad_id(ngx_http_request_t *r, const char *what)
{
    return ngx_http_switchboard_error(r, 400, "bad_id", what);
}


static ngx_int_t
ngx_http_switchboard_cursor(ngx_http_request_t *r, uint64_t *cursor)
{
    ngx_str_t  v;
    size_t     i;

    *cursor = 0;
    if (ngx_http_arg(r, (u_char *) "cursor", 6, &v) != NGX_OK) {
        return NGX_OK;
    }
    if (v.len == 0 || v.len > 19) {
        return NGX_ERROR;
    }
    for (i = 0; i < v.len; i++) {
        if (v.data[i] < '0' || v.data[i] > '9') {
            return NGX_ERROR;
        }
        *cursor = *cursor * 10 + (v.data[i] - '0');
    }
    return NGX_OK;
}


/* R21: Idempotency-Key is 1-128 visible ASCII characters. */
static ngx_int_t
ngx_http_switchboard_idem(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx)
{
    ngx_str_t   *v = ngx_http_switchboard_header(r, "Idempotency-Key");
    ngx_uint_t   k;

    if (v == NULL) {
        return NGX_OK;
    }
    if (v->len == 0 || v->len > SB_IDEM_MAX) {
        return NGX_ERROR;
    }
    for (k = 0; k < v->len; k++) {
        if (v->data[k] < 0x21 || v->data[k] > 0x7e) {
            return NGX_ERROR;
        }
    }
    ctx->idem = *v;
    return NGX_OK;
}


static ngx_int_t
ngx_http_switchboard_command(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_cmd_type_t type)
{
    ctx->type = type;
    if (r->method == NGX_HTTP_DELETE) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        r->main->count++;
        ngx_http_switchboard_body_ready(r);
        return NGX_DONE;
    }
    return ngx_http_switchboard_read_body(r, ngx_http_switchboard_body_ready);
}


/* POST of a message: R21's Idempotency-Key is checked before the body. */
static ngx_int_t
ngx_http_switchboard_post_message(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_cmd_type_t type)
{
    if (r->method != NGX_HTTP_POST) {
        return ngx_http_switchboard_bad_method(r, "POST");
    }
    if (ngx_http_switchboard_idem(r, ctx) != NGX_OK) {
        return ngx_http_switchboard_error(r, 400, "bad_idempotency_key",
                                          "Idempotency-Key must be 1-128 "
                                          "visible ASCII characters");
    }
    return ngx_http_switchboard_command(r, ctx, type);
}


/* Runs a read-only query in a fresh read transaction. */
typedef int (*ngx_http_switchboard_query_pt)(MDB_txn *txn,
    ngx_http_switchboard_ctx_t *ctx, sb_result_t *res);

static ngx_int_t
ngx_http_switchboard_read(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_query_pt query)
{
    sb_result_t  res = { 0, NULL, NULL };
    MDB_txn     *txn;
    int          err;

    txn = ngx_http_switchboard_read_begin(r->connection->log);
    if (txn == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    err = query(txn, ctx, &res);
    ngx_http_switchboard_read_end();
    if (err) {
        sb_result_error(&res, 500, "store_error", "%s", mdb_strerror(err));
    }
    return ngx_http_switchboard_result(r, &res);
}


static int
ngx_http_switchboard_q_me(MDB_txn *txn, ngx_http_switchboard_ctx_t *ctx,
    sb_result_t *res)
{
    return sb_query_agent_me(&ngx_http_switchboard_store, txn, ctx->tenant,
                             ctx->actor, sb_now_ms(), res);
}


static int
ngx_http_switchboard_q_agent_conv(MDB_txn *txn,
    ngx_http_switchboard_ctx_t *ctx, sb_result_t *res)
{
    return sb_query_conversation(&ngx_http_switchboard_store, txn,
                                 ctx->tenant, ctx->target, ctx->actor,
                                 sb_now_ms(), res);
}


static int
ngx_http_switchboard_q_admin_conv(MDB_txn *txn,
    ngx_http_switchboard_ctx_t *ctx, sb_result_t *res)
{
    return sb_query_conversation(&ngx_http_switchboard_store, txn,
                                 ctx->tenant, ctx->target, NULL, sb_now_ms(),
                                 res);
}


static int
ngx_http_switchboard_q_ledger(MDB_txn *txn, ngx_http_switchboard_ctx_t *ctx,
    sb_result_t *res)
{
    return sb_query_ledger(&ngx_http_switchboard_store, txn, ctx->tenant,
                           ctx->cursor, res);
}


static int
ngx_http_switchboard_q_directory(MDB_txn *txn,
    ngx_http_switchboard_ctx_t *ctx, sb_result_t *res)
{
    return sb_query_admin_get(&ngx_http_switchboard_store, txn, ctx->tenant,
                              ctx->type == SB_CMD_PUT_AGENT ? "agents"
                                                            : "groups",
                              ctx->target, sb_now_ms(), res);
}


static int
ngx_http_switchboard_q_conversations(MDB_txn *txn,
    ngx_http_switchboard_ctx_t *ctx, sb_result_t *res)
{
    return sb_query_conversations(&ngx_http_switchboard_store, txn,
                                  ctx->tenant, &ctx->filter, sb_now_ms(),
                                  res);
}


static int
ngx_http_switchboard_q_canned(MDB_txn *txn, ngx_http_switchboard_ctx_t *ctx,
    sb_result_t *res)
{
    return sb_query_canned(&ngx_http_switchboard_store, txn, ctx->tenant,
                           ctx->target[0] ? ctx->target : NULL, res);
}


static int
ngx_http_switchboard_q_block(MDB_txn *txn, ngx_http_switchboard_ctx_t *ctx,
    sb_result_t *res)
{
    return sb_query_block(&ngx_http_switchboard_store, txn, ctx->tenant,
                          sb_channel_name(ctx->channel), ctx->target, res);
}


static int
ngx_http_switchboard_q_stats(MDB_txn *txn, ngx_http_switchboard_ctx_t *ctx,
    sb_result_t *res)
{
    return sb_query_stats(&ngx_http_switchboard_store, txn, ctx->tenant,
                          sb_now_ms(), res);
}


/* R5a: a poll refreshes presence, written only when it has gone stale. */
static ngx_int_t
ngx_http_switchboard_agent_events(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    MDB_txn                           *txn;
    sb_cmd_t                           seen;
    int64_t                            seen_at = 0, stale;
    int                                rc;

    if (ngx_http_switchboard_cursor(r, &ctx->cursor) != NGX_OK) {
        return ngx_http_switchboard_error(r, 400, "bad_cursor",
                                          "cursor must be an integer");
    }
    mcf = ngx_http_get_module_main_conf(r, ngx_http_switchboard_module);

    txn = ngx_http_switchboard_read_begin(r->connection->log);
    if (txn == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    rc = sb_query_agent_seen(&ngx_http_switchboard_store, txn, ctx->tenant,
                             ctx->actor, &seen_at);
    ngx_http_switchboard_read_end();
    if (rc == MDB_NOTFOUND) {
        return ngx_http_switchboard_error(r, 403, "unknown_agent",
                                          "this agent is not in the "
                                          "directory");
    }

    stale = (int64_t) (mcf->presence_timeout - mcf->poll_timeout) / 2;
    if (rc == 0 && sb_now_ms() - seen_at > stale) {
        ngx_memzero(&seen, sizeof(sb_cmd_t));
        seen.type = SB_CMD_SEEN;
        seen.now = sb_now_ms();
        ngx_memcpy(seen.tenant, ctx->tenant, sizeof(seen.tenant));
        ngx_memcpy(seen.actor, ctx->actor, sizeof(seen.actor));
        (void) ngx_http_switchboard_submit(NULL, &seen);
    }

    ngx_snprintf((u_char *) ctx->owner, sizeof(ctx->owner), "a:%s%Z",
                 ctx->actor);
    return ngx_http_switchboard_poll(r, ctx);
}


static ngx_int_t
ngx_http_switchboard_agent_api(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *p)
{
    static const struct {
        const char     *name;
        sb_cmd_type_t   type;
    }  actions[] = {
        { "end", SB_CMD_END },            /* R9 */
        { "snooze", SB_CMD_SNOOZE },      /* R7 */
        { "release", SB_CMD_RELEASE },    /* R8 */
        { "transfer", SB_CMD_TRANSFER },  /* R10 */
        { "block", SB_CMD_BLOCK },        /* R11 */
        { NULL, 0 }
    }, *a;


    if (p->n == 1 && ngx_http_switchboard_is(&p->seg[0], "events")) {
        if (r->method != NGX_HTTP_GET) {
            return ngx_http_switchboard_bad_method(r, "GET");
        }
        return ngx_http_switchboard_agent_events(r, ctx);
    }

    if (p->n == 1 && ngx_http_switchboard_is(&p->seg[0], "me")) {
        if (r->method != NGX_HTTP_GET) {
            return ngx_http_switchboard_bad_method(r, "GET");
        }
        return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_me);
    }

    if (p->n == 1 && ngx_http_switchboard_is(&p->seg[0], "canned")) {
        if (r->method != NGX_HTTP_GET) {
            return ngx_http_switchboard_bad_method(r, "GET");
        }
        ctx->target[0] = '\0';
        return ngx_http_switchboard_read(r, ctx,
                                         ngx_http_switchboard_q_canned);
    }

    if (p->n == 1 && ngx_http_switchboard_is(&p->seg[0], "availability")) {
        if (r->method != NGX_HTTP_PUT) {
            return ngx_http_switchboard_bad_method(r, "PUT");
        }
        return ngx_http_switchboard_command(r, ctx, SB_CMD_AVAILABILITY);
    }

    if (p->n < 2 || p->n > 3
        || !ngx_http_switchboard_is(&p->seg[0], "conversations"))
    {
        return ngx_http_switchboard_not_found(r);
    }
    if (ngx_http_switchboard_path_id(&p->seg[1], ctx->target) != NGX_OK) {
        return ngx_http_switchboard_bad_id(r, "invalid conversation id");
    }

    if (p->n == 2) {
        if (r->method != NGX_HTTP_GET) {
            return ngx_http_switchboard_bad_method(r, "GET");
        }
        return ngx_http_switchboard_read(r, ctx,
                                         ngx_http_switchboard_q_agent_conv);
    }

    if (ngx_http_switchboard_is(&p->seg[2], "messages")) {
        return ngx_http_switchboard_post_message(r, ctx,
                                                 SB_CMD_AGENT_MESSAGE);
    }

    if (ngx_http_switchboard_is(&p->seg[2], "tags")) {     /* R11 */
        if (r->method != NGX_HTTP_PUT) {
            return ngx_http_switchboard_bad_method(r, "PUT");
        }
        return ngx_http_switchboard_command(r, ctx, SB_CMD_TAGS);
    }

    for (a = actions; a->name; a++) {
        if (ngx_http_switchboard_is(&p->seg[2], a->name)) {
            if (r->method != NGX_HTTP_POST) {
                return ngx_http_switchboard_bad_method(r, "POST");
            }
            return ngx_http_switchboard_command(r, ctx, a->type);
        }
    }

    return ngx_http_switchboard_not_found(r);
}


/* R23: first-party channels only; the token names the visitor's channel */
static ngx_int_t
ngx_http_switchboard_visitor_api(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *p)
{
    if (ctx->channel != SB_CH_MOBILE && ctx->channel != SB_CH_CHAT) {
        return ngx_http_switchboard_error(r, 403, "bad_channel",
                                          "visitor tokens carry chn: "
                                          "mobile or chat");
    }

    if (p->n == 1 && ngx_http_switchboard_is(&p->seg[0], "messages")) {
        return ngx_http_switchboard_post_message(r, ctx,
                                                 SB_CMD_VISITOR_MESSAGE);
    }

    if (p->n == 1 && ngx_http_switchboard_is(&p->seg[0], "events")) {
        if (r->method != NGX_HTTP_GET) {
            return ngx_http_switchboard_bad_method(r, "GET");
        }
        if (ngx_http_switchboard_cursor(r, &ctx->cursor) != NGX_OK) {
            return ngx_http_switchboard_error(r, 400, "bad_cursor",
                                              "cursor must be an integer");
        }
        ngx_snprintf((u_char *) ctx->owner, sizeof(ctx->owner), "v:%s:%s%Z",
                     sb_channel_name(ctx->channel), ctx->actor);
        return ngx_http_switchboard_poll(r, ctx);
    }

    return ngx_http_switchboard_not_found(r);
}


static ngx_http_switchboard_main_conf_t *
ngx_http_switchboard_main(ngx_http_request_t *r)
{
    return ngx_http_get_module_main_conf(r, ngx_http_switchboard_module);
}


/* ?state=&group=&tag=&after=&limit= for the admin's conversation list;
 * sends nothing: a refusal is left in err. */
static ngx_int_t
ngx_http_switchboard_list_filter(ngx_http_request_t *r, sb_conv_filter_t *f,
    sb_result_t *err)
{
    static const char  *states[] = {
        "queued", "assigned", "snoozed", "released", "ended", NULL
    };
    static const char  *names[] = { "state", "group", "tag", "after" };
    const char        **slots[4], **s;
    ngx_str_t           v;
    ngx_uint_t          i;
    ngx_int_t           n;

    slots[0] = &f->state;
    slots[1] = &f->group;
    slots[2] = &f->tag;
    slots[3] = &f->after;
    f->limit = 100;

    for (i = 0; i < 4; i++) {
        n = ngx_http_switchboard_arg(r, names[i], &v);
        if (n == NGX_ERROR) {
            sb_result_error(err, 500, "no_memory", "out of memory");
            return NGX_DECLINED;
        }
        if (n == NGX_OK) {
            *slots[i] = (const char *) v.data;
        }
    }

    if (f->state) {
        for (s = states; *s && ngx_strcmp(*s, f->state) != 0; s++) {
            /* void */
        }
        if (*s == NULL) {
            sb_result_error(err, 400, "bad_state", "unknown state");
            return NGX_DECLINED;
        }
    }
    if ((f->group && !sb_valid_id(f->group, ngx_strlen(f->group), 0))
        || (f->after && !sb_valid_id(f->after, ngx_strlen(f->after), 0)))
    {
        sb_result_error(err, 400, "bad_id", "group and after are ids");
        return NGX_DECLINED;
    }
    if (f->tag && (f->tag[0] == '\0' || ngx_strlen(f->tag) > 32)) {
        sb_result_error(err, 400, "bad_tag", "a tag is 1-32 bytes");
        return NGX_DECLINED;
    }
    if (ngx_http_arg(r, (u_char *) "limit", 5, &v) == NGX_OK) {
        n = ngx_atoi(v.data, v.len);
        if (n < 1 || n > 500) {
            sb_result_error(err, 400, "bad_limit", "limit is 1-500");
            return NGX_DECLINED;
        }
        f->limit = (size_t) n;
    }
    return NGX_OK;
}


static ngx_int_t
ngx_http_switchboard_admin_api(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *p)
{
    sb_result_t  res = { 0, NULL, NULL };
    ngx_int_t    agents;

    if (p->n == 1 && ngx_http_switchboard_is(&p->seg[0], "ledger")) {
        if (r->method != NGX_HTTP_GET) {
            return ngx_http_switchboard_bad_method(r, "GET");
        }
        if (ngx_http_switchboard_cursor(r, &ctx->cursor) != NGX_OK) {
            return ngx_http_switchboard_error(r, 400, "bad_cursor",
                                              "cursor must be an integer");
        }
        return ngx_http_switchboard_read(r, ctx,
                                         ngx_http_switchboard_q_ledger);
    }

    if (ngx_http_switchboard_is(&p->seg[0], "conversations")
        && (p->n == 1 || p->n == 2))
    {
        if (r->method != NGX_HTTP_GET) {
            return ngx_http_switchboard_bad_method(r, "GET");
        }
        if (p->n == 2) {
            if (ngx_http_switchboard_path_id(&p->seg[1], ctx->target)
                != NGX_OK)
            {
                return ngx_http_switchboard_bad_id(r,
                                                   "invalid conversation id");
            }
            return ngx_http_switchboard_read(r, ctx,
                                           ngx_http_switchboard_q_admin_conv);
        }
        if (ngx_http_switchboard_list_filter(r, &ctx->filter, &res)
            != NGX_OK)
        {
            return ngx_http_switchboard_result(r, &res);
        }
        return ngx_http_switchboard_read(r, ctx,
                                       ngx_http_switchboard_q_conversations);
    }

    if (p->n == 1 && (ngx_http_switchboard_is(&p->seg[0], "stats")
                      || ngx_http_switchboard_is(&p->seg[0], "capabilities")
                      || ngx_http_switchboard_is(&p->seg[0], "canned")))
    {
        if (r->method != NGX_HTTP_GET) {
            return ngx_http_switchboard_bad_method(r, "GET");
        }
        if (ngx_http_switchboard_is(&p->seg[0], "stats")) {
            return ngx_http_switchboard_read(r, ctx,
                                             ngx_http_switchboard_q_stats);
        }
        if (ngx_http_switchboard_is(&p->seg[0], "canned")) {
            return ngx_http_switchboard_read(r, ctx,
                                             ngx_http_switchboard_q_canned);
        }
        sb_query_capabilities(&ngx_http_switchboard_main(r)->core, &res);
        return ngx_http_switchboard_result(r, &res);
    }

    /* blocks/{channel}/{visitor}: R11's unblock */
    if (p->n == 3 && ngx_http_switchboard_is(&p->seg[0], "blocks")) {
        ctx->channel = sb_channel_parse((char *) p->seg[1].data,
                                        p->seg[1].len);
        if (ctx->channel < 0) {
            return ngx_http_switchboard_error(r, 404, "unknown_channel",
                                              "no such channel");
        }
        if (!sb_valid_id((char *) p->seg[2].data, p->seg[2].len, 1)) {
            return ngx_http_switchboard_bad_id(r, "invalid visitor id");
        }
        ngx_memcpy(ctx->target, p->seg[2].data, p->seg[2].len);
        ctx->target[p->seg[2].len] = '\0';
        if (r->method == NGX_HTTP_GET) {
            return ngx_http_switchboard_read(r, ctx,
                                             ngx_http_switchboard_q_block);
        }
        if (r->method == NGX_HTTP_DELETE) {
            return ngx_http_switchboard_command(r, ctx, SB_CMD_UNBLOCK);
        }
        return ngx_http_switchboard_bad_method(r, "GET, DELETE");
    }

    if (p->n == 2 && ngx_http_switchboard_is(&p->seg[0], "canned")) {
        if (ngx_http_switchboard_path_id(&p->seg[1], ctx->target) != NGX_OK) {
            return ngx_http_switchboard_bad_id(r, "invalid canned id");
        }
        switch (r->method) {
        case NGX_HTTP_GET:
            return ngx_http_switchboard_read(r, ctx,
                                             ngx_http_switchboard_q_canned);
        case NGX_HTTP_PUT:
            return ngx_http_switchboard_command(r, ctx, SB_CMD_PUT_CANNED);
        case NGX_HTTP_DELETE:
            return ngx_http_switchboard_command(r, ctx,
                                                SB_CMD_DELETE_CANNED);
        default:
            return ngx_http_switchboard_bad_method(r, "GET, PUT, DELETE");
        }
    }

    if (p->n != 2) {
        return ngx_http_switchboard_not_found(r);
    }
    agents = ngx_http_switchboard_is(&p->seg[0], "agents");
    if (!agents && !ngx_http_switchboard_is(&p->seg[0], "groups")) {
        return ngx_http_switchboard_not_found(r);
    }
    if (ngx_http_switchboard_path_id(&p->seg[1], ctx->target) != NGX_OK) {
        return ngx_http_switchboard_bad_id(r, agents ? "invalid agent id"
                                                     : "invalid group id");
    }

    switch (r->method) {
    case NGX_HTTP_GET:
        ctx->type = agents ? SB_CMD_PUT_AGENT : SB_CMD_PUT_GROUP;
        return ngx_http_switchboard_read(r, ctx,
                                         ngx_http_switchboard_q_directory);
    case NGX_HTTP_PUT:
        return ngx_http_switchboard_command(r, ctx, agents ? SB_CMD_PUT_AGENT
                                                           : SB_CMD_PUT_GROUP);
    case NGX_HTTP_DELETE:
        return ngx_http_switchboard_command(r, ctx,
                                            agents ? SB_CMD_DELETE_AGENT
                                                   : SB_CMD_DELETE_GROUP);
    default:
        return ngx_http_switchboard_bad_method(r, "GET, PUT, DELETE");
    }
}


ngx_int_t
ngx_http_switchboard_handler(ngx_http_request_t *r)
{
    ngx_http_switchboard_loc_conf_t  *lcf;
    ngx_http_switchboard_ctx_t       *ctx;
    ngx_http_switchboard_path_t       path;
    sb_result_t                       err = { 0, NULL, NULL };
    ngx_int_t                         rc;
    static const char                *roles[] = {
        NULL, "agent", "visitor", "admin"
    };

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_switchboard_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ctx->request = r;
    ngx_http_set_ctx(r, ctx, ngx_http_switchboard_module);

    /* providers sign their bodies; they carry no bearer token */
    if (lcf->kind == NGX_HTTP_SWITCHBOARD_WEBHOOK) {
        return ngx_http_switchboard_webhook_handler(r, ctx);
    }

    if (ngx_http_switchboard_authenticate(r, ctx, roles[lcf->kind], &err)
        != NGX_OK)
    {
        rc = ngx_http_switchboard_result(r, &err);
        sb_result_free(&err);
        return rc;
    }

    if (ngx_http_switchboard_split(r, &path) != NGX_OK || path.n == 0) {
        return ngx_http_switchboard_not_found(r);
    }

    switch (lcf->kind) {
    case NGX_HTTP_SWITCHBOARD_AGENT:
        return ngx_http_switchboard_agent_api(r, ctx, &path);
    case NGX_HTTP_SWITCHBOARD_VISITOR:
        return ngx_http_switchboard_visitor_api(r, ctx, &path);
    default:
        return ngx_http_switchboard_admin_api(r, ctx, &path);
    }
}


/* The body is complete: validate it into a command and queue it. */
static void
ngx_http_switchboard_body_ready(ngx_http_request_t *r)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_http_switchboard_loc_conf_t   *lcf;
    ngx_http_switchboard_ctx_t        *ctx;
    sb_cmd_t                           cmd;
    sb_result_t                        err = { 0, NULL, NULL };
    ngx_str_t                          body;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_switchboard_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);

    if (ngx_http_switchboard_body_or_answer(r, &body) != NGX_OK) {
        return;
    }

    ngx_memzero(&cmd, sizeof(sb_cmd_t));
    cmd.type = ctx->type;
    cmd.now = sb_now_ms();
    cmd.channel = ctx->channel;
    ngx_memcpy(cmd.tenant, ctx->tenant, sizeof(cmd.tenant));
    ngx_memcpy(cmd.actor, ctx->actor, sizeof(cmd.actor));
    ngx_memcpy(cmd.target, ctx->target, sizeof(cmd.target));
    ngx_memcpy(cmd.group, lcf->group.data, lcf->group.len);
    ngx_memcpy(cmd.idem, ctx->idem.data, ctx->idem.len);

    if (sb_cmd_parse(&cmd, &mcf->core, (char *) body.data, body.len, &err)
        != 0)
    {
        sb_cmd_free(&cmd);
        ngx_http_finalize_request(r, ngx_http_switchboard_result(r, &err));
        sb_result_free(&err);
        return;
    }

    if (ngx_http_switchboard_submit(r, &cmd) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}
