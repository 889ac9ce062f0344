/* The routes' handlers: reads answered at once from the worker's read
 * transaction, and commands (their body validated into a typed command)
 * handed to the write path, answered after their commit. */

#include "ngx_http_switchboard_api.h"


static void ngx_http_switchboard_body_ready(ngx_http_request_t *r);


/* A read: one query in a fresh read transaction. An agent's reads need
 * the agent in the directory: a removed agent's token, which lives on
 * until its exp, reads nothing more (issue 19). */
ngx_int_t
ngx_http_switchboard_read(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_query_pt query)
{
    sb_answer_t  ans = { 0, NULL, NULL, 0, "" };
    MDB_txn     *txn;
    sb_agent_t   a;

    txn = ngx_http_switchboard_read_begin(r->connection->log);
    if (txn == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ctx->role && ngx_strcmp(ctx->role, "agent") == 0
        && sb_load_agent(&ngx_http_switchboard_store, txn, ctx->tenant,
                         ctx->actor, &a) == MDB_NOTFOUND)
    {
        sb_answer_error(&ans, 403, "unknown_agent", "agent %s is not in the "
                        "directory", ctx->actor);
    } else {
        query(txn, r, ctx, &ans);
    }
    ngx_http_switchboard_read_end();
    return ngx_http_switchboard_answer(r, &ans);
}


/* A read of a tenant being moved (issue 12) answers 503 like its
 * commands (which the write transaction refuses), one moved away 421.
 * NGX_DECLINED: go on. */
ngx_int_t
ngx_http_switchboard_paused(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx)
{
    sb_answer_t  ans = { 0, NULL, NULL, 0, "" };
    MDB_txn     *txn;
    int          state;

    txn = ngx_http_switchboard_read_begin(r->connection->log);
    if (txn == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    state = sb_tenant_state(&ngx_http_switchboard_store, txn, ctx->tenant);
    ngx_http_switchboard_read_end();
    if (state == SB_TENANT_LIVE) {
        return NGX_DECLINED;
    }
    if (state == SB_TENANT_PAUSED) {
        sb_tenant_paused_answer(&ans);
    } else {
        sb_tenant_moved_answer(&ans);
    }
    return ngx_http_switchboard_answer(r, &ans);
}


/* POST /admin/pause and /admin/resume: the node's operator's, on a
 * location marked `switchboard_operator on` (guard it with allow/deny):
 * a tenant's own admin must not be able to stop its tenant (issue 19). */
ngx_int_t
ngx_http_switchboard_pause(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    ngx_http_switchboard_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);
    if (lcf->operator != 1) {
        return ngx_http_switchboard_error(r, 403, "operator_only",
                                          "pausing a tenant is the node "
                                          "operator's: use a location "
                                          "with switchboard_operator on");
    }
    return ngx_http_switchboard_command(r, ctx, ctx->type);
}


/* An id from the path into dst; R26: 0 when it is none (refused). */
static ngx_int_t
ngx_http_switchboard_path_id(ngx_str_t *s, char *dst, int provider)
{
    if (!sb_valid_id((char *) s->data, s->len, provider)) {
        return 0;
    }
    ngx_memcpy(dst, s->data, s->len);
    dst[s->len] = '\0';
    return 1;
}


#define ngx_http_switchboard_bad_id(r, what)                                 \
    ngx_http_switchboard_error(r, 400, "bad_id", what)


/* A conversation id into ctx->target and ctx->conv: NGX_OK, or
 * NGX_DECLINED when it is no id (400) or no conversation can have it
 * (404); then *rc is the answer's. */
static ngx_int_t
ngx_http_switchboard_path_conv(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_str_t *s, ngx_int_t *rc)
{
    if (!ngx_http_switchboard_path_id(s, ctx->target, 0)) {
        *rc = ngx_http_switchboard_bad_id(r, "invalid conversation id");
        return NGX_DECLINED;
    }
    if (sb_conv_parse(ctx->target, s->len, &ctx->conv) != 0) {
        *rc = ngx_http_switchboard_error(r, 404, "unknown_conversation",
                                         "no such conversation");
        return NGX_DECLINED;
    }
    ctx->conversation = ctx->conv;
    return NGX_OK;
}


/* ?cursor=N, or Last-Event-ID (what EventSource sends when it
 * reconnects), which wins: the same position in the log */
ngx_int_t
ngx_http_switchboard_cursor(ngx_http_request_t *r, uint64_t *cursor)
{
    ngx_str_t  v, *id;
    size_t     i;

    *cursor = 0;
    id = ngx_http_switchboard_header(r, "Last-Event-ID");
    if (id) {
        v = *id;
    } else if (ngx_http_arg(r, (u_char *) "cursor", 6, &v) != NGX_OK) {
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


/* Accept: text/event-stream asks for a stream rather than a poll */
static ngx_uint_t
ngx_http_switchboard_wants_stream(ngx_http_request_t *r)
{
    ngx_str_t  *accept = ngx_http_switchboard_header(r, "Accept");

    return accept != NULL
           && ngx_strlcasestrn(accept->data, accept->data + accept->len,
                               (u_char *) "text/event-stream", 17 - 1)
              != NULL;
}


ngx_int_t
ngx_http_switchboard_bad_cursor(ngx_http_request_t *r)
{
    return ngx_http_switchboard_error(r, 400, "bad_cursor",
                                      "cursor must be an integer");
}


/* R5a: a poll refreshes presence, written only when it has gone stale. */
ngx_int_t
ngx_http_switchboard_agent_events(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    MDB_txn                           *txn;
    sb_cmd_t                           seen;
    uint64_t                           cursor;
    int64_t                            seen_at = 0, stale;
    char                               owner[SB_ID_MAX + 8];
    sb_answer_t                        ans = { 0, NULL, NULL, 0, "" };
    int                                rc, ahead;

    if (ngx_http_switchboard_cursor(r, &cursor) != NGX_OK) {
        return ngx_http_switchboard_bad_cursor(r);
    }
    mcf = ngx_http_get_module_main_conf(r, ngx_http_switchboard_module);

    txn = ngx_http_switchboard_read_begin(r->connection->log);
    if (txn == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    rc = sb_query_agent_seen(&ngx_http_switchboard_store, txn, ctx->tenant,
                             ctx->actor, &seen_at);
    sb_owner_agent(ctx->actor, owner, sizeof(owner));
    ahead = rc == 0
            && sb_query_cursor_ahead(&ngx_http_switchboard_store, txn,
                                     ctx->tenant, owner, cursor, &ans) != 0;
    ngx_http_switchboard_read_end();
    if (rc == MDB_NOTFOUND) {
        return ngx_http_switchboard_error(r, 403, "unknown_agent",
                                          "this agent is not in the "
                                          "directory");
    }
    if (ahead) {
        return ngx_http_switchboard_answer(r, &ans);   /* nothing written */
    }

    stale = (int64_t) (mcf->presence_timeout - mcf->poll_timeout) / 2;
    if (rc == 0 && sb_now_ms() - seen_at > stale) {
        sb_cmd_init(&seen, SB_CMD_SEEN, sb_now_ms());
        ngx_memcpy(seen.tenant, ctx->tenant, sizeof(seen.tenant));
        ngx_memcpy(seen.actor, ctx->actor, sizeof(ctx->actor));
        (void) ngx_http_switchboard_submit(NULL, &seen);
    }

    if (ngx_http_switchboard_wants_stream(r)) {
        return ngx_http_switchboard_stream(r, ctx, owner, cursor, 1);
    }
    return ngx_http_switchboard_poll(r, ctx, owner, cursor);
}


ngx_int_t
ngx_http_switchboard_visitor_events(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    uint64_t  cursor;
    char      owner[SB_ID_MAX + 24];

    if (ngx_http_switchboard_cursor(r, &cursor) != NGX_OK) {
        return ngx_http_switchboard_bad_cursor(r);
    }
    sb_owner_visitor(ctx->channel, ctx->actor, owner, sizeof(owner));
    if (ngx_http_switchboard_wants_stream(r)) {
        return ngx_http_switchboard_stream(r, ctx, owner, cursor, 0);
    }
    return ngx_http_switchboard_poll(r, ctx, owner, cursor);
}


static void
ngx_http_switchboard_q_me(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_agent_me(&ngx_http_switchboard_store, txn, ctx->tenant,
                      ctx->actor, sb_now_ms(), ans);
}


/* the admin's view of an agent: unknown is 404 (for the agent itself,
 * 403: its token names no one) */
static void
ngx_http_switchboard_q_agent(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_agent_me(&ngx_http_switchboard_store, txn, ctx->tenant,
                      ctx->target, sb_now_ms(), ans);
    if (ans->status == 403) {
        sb_answer_error(ans, 404, "unknown_agent", "no agent %s",
                        ctx->target);
    }
}


ngx_int_t
ngx_http_switchboard_get_me(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_me);
}


ngx_int_t
ngx_http_switchboard_get_agent(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    if (!ngx_http_switchboard_path_id(&path->seg[1], ctx->target, 0)) {
        return ngx_http_switchboard_bad_id(r, "invalid agent id");
    }
    return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_agent);
}


static void
ngx_http_switchboard_q_group(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_group(&ngx_http_switchboard_store, txn, ctx->tenant, ctx->target,
                   ans);
}


ngx_int_t
ngx_http_switchboard_get_group(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    if (!ngx_http_switchboard_path_id(&path->seg[1], ctx->target, 0)) {
        return ngx_http_switchboard_bad_id(r, "invalid group id");
    }
    return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_group);
}


static void
ngx_http_switchboard_q_canned(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_canned(&ngx_http_switchboard_store, txn, ctx->tenant,
                    ctx->target[0] ? ctx->target : NULL, ans);
}


ngx_int_t
ngx_http_switchboard_get_canned(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    if (path->n == 2
        && !ngx_http_switchboard_path_id(&path->seg[1], ctx->target, 0))
    {
        return ngx_http_switchboard_bad_id(r, "invalid canned id");
    }
    return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_canned);
}


static void
ngx_http_switchboard_q_conversation(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    ngx_http_switchboard_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);
    sb_query_conversation(&ngx_http_switchboard_store, txn, ctx->tenant,
                          ctx->target,
                          lcf->kind == NGX_HTTP_SWITCHBOARD_AGENT
                          ? ctx->actor : NULL, &ctx->page, sb_now_ms(), ans);
}


/* ?limit=N (1-500, default 50) and ?before=SEQ (the "thread_before" of
 * the page after it): which page of the thread a read answers.
 * NGX_DECLINED: go on; anything else, the refusal was sent. */
static ngx_int_t
ngx_http_switchboard_thread_page(ngx_http_request_t *r, sb_page_t *page)
{
    ngx_str_t  v;
    ngx_int_t  n;

    page->limit = SB_THREAD_PAGE;
    page->before = 0;
    if (ngx_http_arg(r, (u_char *) "limit", 5, &v) == NGX_OK) {
        n = ngx_atoi(v.data, v.len);
        if (n < 1 || n > SB_THREAD_PAGE_MAX) {
            return ngx_http_switchboard_error(r, 400, "bad_limit",
                                              "limit is 1-500 thread entries");
        }
        page->limit = (uint32_t) n;
    }
    if (ngx_http_arg(r, (u_char *) "before", 6, &v) == NGX_OK) {
        n = ngx_atoi(v.data, v.len);
        if (n < 1) {
            return ngx_http_switchboard_error(r, 400, "bad_cursor",
                                              "before is a thread entry's "
                                              "seq, as thread_before gives");
        }
        page->before = (uint64_t) n;
    }
    return NGX_DECLINED;
}


/* R18, R25: an agent reads those it handled; the admin reads any. */
ngx_int_t
ngx_http_switchboard_get_conversation(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    ngx_int_t  rc;

    if (ngx_http_switchboard_path_conv(r, ctx, &path->seg[1], &rc)
        != NGX_OK)
    {
        return rc;
    }
    rc = ngx_http_switchboard_thread_page(r, &ctx->page);
    if (rc != NGX_DECLINED) {
        return rc;
    }
    return ngx_http_switchboard_read(r, ctx,
                                     ngx_http_switchboard_q_conversation);
}


static void
ngx_http_switchboard_q_erasures(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_erasures(&ngx_http_switchboard_store, txn, ctx->tenant,
                      ctx->conv, ans);
}


/* erasures?cursor=N: the audit lines of visitors' erasures (issue 20) */
ngx_int_t
ngx_http_switchboard_get_erasures(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    if (ngx_http_switchboard_cursor(r, &ctx->conv) != NGX_OK) {
        return ngx_http_switchboard_bad_cursor(r);
    }
    return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_erasures);
}


static void
ngx_http_switchboard_q_ledger(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_ledger(&ngx_http_switchboard_store, txn, ctx->tenant, ctx->conv,
                    ans);
}


ngx_int_t
ngx_http_switchboard_get_ledger(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    if (ngx_http_switchboard_cursor(r, &ctx->conv) != NGX_OK) {
        return ngx_http_switchboard_bad_cursor(r);
    }
    return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_ledger);
}


static void
ngx_http_switchboard_q_stats(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_stats(&ngx_http_switchboard_store, txn, ctx->tenant,
                   sb_now_ms(), ans);
}


ngx_int_t
ngx_http_switchboard_get_stats(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_stats);
}


/* a table of the configuration (no transaction): the admin's
 * capabilities */
static ngx_int_t
ngx_http_switchboard_config_answer(ngx_http_request_t *r,
    void (*table)(const sb_config_t *cfg, sb_answer_t *ans))
{
    ngx_http_switchboard_main_conf_t  *mcf;
    sb_answer_t                        ans = { 0, NULL, NULL, 0, "" };

    mcf = ngx_http_get_module_main_conf(r, ngx_http_switchboard_module);
    table(&mcf->core, &ans);
    return ngx_http_switchboard_answer(r, &ans);
}


ngx_int_t
ngx_http_switchboard_get_capabilities(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    return ngx_http_switchboard_config_answer(r, sb_query_capabilities);
}


static void
ngx_http_switchboard_q_settings(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_settings(ngx_http_switchboard_store.cfg, ans);
}


/* the desk's settings: a read, so that only a listed agent has them */
ngx_int_t
ngx_http_switchboard_get_settings(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_settings);
}


static void
ngx_http_switchboard_q_directory(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_directory(&ngx_http_switchboard_store, txn, ctx->tenant,
                       ctx->actor, sb_now_ms(), ans);
}


ngx_int_t
ngx_http_switchboard_get_directory(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_directory);
}


static void
ngx_http_switchboard_q_block(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_block(&ngx_http_switchboard_store, txn, ctx->tenant,
                   ctx->channel, ctx->target, ans);
}


/* .../{channel}/{id} of a path into ctx: NGX_DECLINED, or the refusal
 * sent (an unknown channel, or one without provider accounts when
 * provider_only; an id no provider's rules allow) */
static ngx_int_t
ngx_http_switchboard_path_channel_id(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path,
    ngx_uint_t provider_only, const char *what)
{
    ctx->channel = sb_channel_parse((char *) path->seg[1].data,
                                    path->seg[1].len);
    if (ctx->channel < 0
        || (provider_only && !sb_channel_third_party(ctx->channel)))
    {
        return ngx_http_switchboard_error(r, 404, "unknown_channel",
                                          provider_only
                                          ? "no such provider channel"
                                          : "no such channel");
    }
    if (!ngx_http_switchboard_path_id(&path->seg[2], ctx->target, 1)) {
        return ngx_http_switchboard_bad_id(r, what);
    }
    return NGX_DECLINED;
}


/* blocks/{channel}/{visitor}: R11's block, and the unblock */
ngx_int_t
ngx_http_switchboard_block(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    ngx_int_t  rc;

    rc = ngx_http_switchboard_path_channel_id(r, ctx, path, 0,
                                              "invalid visitor id");
    if (rc != NGX_DECLINED) {
        return rc;
    }
    if (r->method == NGX_HTTP_GET) {
        return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_block);
    }
    return ngx_http_switchboard_command(r, ctx, SB_CMD_UNBLOCK);
}


static void
ngx_http_switchboard_q_visitor_export(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_visitor_export(&ngx_http_switchboard_store, txn, ctx->tenant,
                            ctx->channel, ctx->target, sb_now_ms(), ans);
}


/* visitors/{channel}/{visitor}[/export]: everything of one visitor,
 * exported (GET, GDPR art. 15 and 20) or erased (DELETE, art. 17) */
ngx_int_t
ngx_http_switchboard_visitor(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    ngx_int_t  rc;

    rc = ngx_http_switchboard_path_channel_id(r, ctx, path, 0,
                                              "invalid visitor id");
    if (rc != NGX_DECLINED) {
        return rc;
    }
    if (r->method == NGX_HTTP_GET) {
        return ngx_http_switchboard_read(r, ctx,
                                         ngx_http_switchboard_q_visitor_export);
    }
    return ngx_http_switchboard_command(r, ctx, SB_CMD_ERASE_VISITOR);
}


static void
ngx_http_switchboard_q_accounts(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_accounts(&ngx_http_switchboard_store, txn, ctx->tenant, ans);
}


ngx_int_t
ngx_http_switchboard_accounts(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_accounts);
}


static void
ngx_http_switchboard_q_account(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_account(&ngx_http_switchboard_store, txn, ctx->tenant,
                     ctx->channel, ctx->target, ans);
}


/* accounts/{channel}/{account}: a provider's account (a WhatsApp phone
 * number id, a Page, an Instagram or X account, a Twilio number) bound
 * to this tenant, read, bound or let go */
ngx_int_t
ngx_http_switchboard_account(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    ngx_int_t  rc;

    rc = ngx_http_switchboard_path_channel_id(r, ctx, path, 1,
                                              "invalid account id");
    if (rc != NGX_DECLINED) {
        return rc;
    }
    if (r->method == NGX_HTTP_GET) {
        return ngx_http_switchboard_read(r, ctx,
                                         ngx_http_switchboard_q_account);
    }
    return ngx_http_switchboard_command(r, ctx, ctx->type);
}


/* A command without an id in its path (availability). */
ngx_int_t
ngx_http_switchboard_run(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    return ngx_http_switchboard_command(r, ctx, ctx->type);
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


/* POST of a message: R21's Idempotency-Key is checked before the body. */
ngx_int_t
ngx_http_switchboard_post_message(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    ngx_int_t  rc;

    if (path->n == 3
        && ngx_http_switchboard_path_conv(r, ctx, &path->seg[1], &rc)
           != NGX_OK)
    {
        return rc;
    }
    if (ngx_http_switchboard_idem(r, ctx) != NGX_OK) {
        return ngx_http_switchboard_error(r, 400, "bad_idempotency_key",
                                          "Idempotency-Key must be 1-128 "
                                          "visible ASCII characters");
    }
    return ngx_http_switchboard_command(r, ctx, ctx->type);
}


/* An agent's action on a conversation it holds (R7-R11). */
ngx_int_t
ngx_http_switchboard_on_conversation(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    ngx_int_t  rc;

    if (ngx_http_switchboard_path_conv(r, ctx, &path->seg[1], &rc)
        != NGX_OK)
    {
        return rc;
    }
    return ngx_http_switchboard_command(r, ctx, ctx->type);
}


/* The directory: agents, groups, canned responses by id. */
ngx_int_t
ngx_http_switchboard_on_entry(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    if (!ngx_http_switchboard_path_id(&path->seg[1], ctx->target, 0)) {
        return ngx_http_switchboard_bad_id(r, path->seg[0].data[0] == 'a'
                                              ? "invalid agent id"
                                              : path->seg[0].data[0] == 'g'
                                              ? "invalid group id"
                                              : "invalid canned id");
    }
    return ngx_http_switchboard_command(r, ctx, ctx->type);
}


/* A command: its body is read (a DELETE's is discarded), then checked. */
ngx_int_t
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


/* The body is complete: validate it into a command and queue it. */
static void
ngx_http_switchboard_body_ready(ngx_http_request_t *r)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_http_switchboard_loc_conf_t   *lcf;
    ngx_http_switchboard_ctx_t        *ctx;
    sb_cmd_t                           cmd;
    sb_answer_t                        err = { 0, NULL, NULL, 0, "" };
    ngx_str_t                          body;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_switchboard_module);
    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);

    if (ngx_http_switchboard_body_or_answer(r, &body) != NGX_OK) {
        return;
    }

    sb_cmd_init(&cmd, ctx->type, sb_now_ms());
    cmd.channel = ctx->channel;
    cmd.conv = ctx->conv;
    ngx_memcpy(cmd.tenant, ctx->tenant, sizeof(cmd.tenant));
    ngx_memcpy(cmd.actor, ctx->actor, sizeof(ctx->actor));
    ngx_memcpy(cmd.target, ctx->target, sizeof(cmd.target));
    ngx_memcpy(cmd.group, lcf->group.data, lcf->group.len);
    if (ctx->idem.len) {
        ngx_memcpy(cmd.idem, ctx->idem.data, ctx->idem.len);
    }

    if (sb_body_parse(&cmd, &mcf->core, (char *) body.data, body.len, &err)
        != 0)
    {
        sb_cmd_free(&cmd);
        ngx_http_finalize_request(r, ngx_http_switchboard_answer(r, &err));
        return;
    }

    if (ngx_http_switchboard_submit(r, &cmd) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}
