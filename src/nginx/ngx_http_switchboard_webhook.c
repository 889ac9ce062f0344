/* Provider webhooks (R20, R21): the channel table's handshake for GET,
 * its signature over the raw body before any parsing, its parser into
 * typed messages, and one command; 200 only after the commit. */

#include "ngx_http_switchboard.h"


static void ngx_http_switchboard_webhook_body(ngx_http_request_t *r);


/* What a handshake asks of the query string. */
static const char *
ngx_http_switchboard_hook_arg(void *data, const char *name, int raw,
    size_t *len)
{
    ngx_http_request_t  *r = data;
    ngx_str_t            v;

    if (raw ? ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &v)
            : ngx_http_switchboard_arg(r, name, 1, &v))
    {
        return NULL;
    }
    *len = v.len;
    return (const char *) v.data;
}


static void
ngx_http_switchboard_hook_init(ngx_http_request_t *r, sb_hook_t *hook,
    int channel)
{
    ngx_http_switchboard_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);
    ngx_memzero(hook, sizeof(sb_hook_t));
    hook->channel = (sb_channel_t) channel;
    hook->secret = lcf->webhook_secret.data;
    hook->secret_len = lcf->webhook_secret.len;
    hook->verify_token = (const char *) lcf->verify_token.data;
    hook->verify_token_len = lcf->verify_token.len;
    hook->arg = ngx_http_switchboard_hook_arg;
    hook->arg_data = r;
}


ngx_int_t
ngx_http_switchboard_webhook_handler(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx)
{
    ngx_http_switchboard_loc_conf_t  *lcf;
    const sb_channel_ops_t           *ops;
    sb_answer_t                       ans = { 0, NULL, NULL, 0, "" };
    sb_hook_t                         hook;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);
    if (ngx_http_switchboard_tenant(r, ctx->tenant, &ans) != NGX_OK) {
        return ngx_http_switchboard_answer(r, &ans);
    }
    ctx->channel = (int) lcf->channel;
    ops = sb_channel_ops(ctx->channel);

    if (r->method == NGX_HTTP_GET && ops->handshake) {
        ngx_http_switchboard_hook_init(r, &hook, ctx->channel);
        ops->handshake(&hook, &ans);
        if (ans.status == 403) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "switchboard: webhook handshake refused");
        }
        return ngx_http_switchboard_answer(r, &ans);
    }
    if (r->method != NGX_HTTP_POST) {
        return ngx_http_switchboard_error(r, 405, "method_not_allowed",
                                          ops->handshake
                                          ? "GET (handshake) or POST"
                                          : "POST");
    }
    ngx_http_switchboard_metric_webhook(ctx->channel,
                                        NGX_HTTP_SWITCHBOARD_HOOK_RECEIVED);
    return ngx_http_switchboard_read_body(r,
                                          ngx_http_switchboard_webhook_body);
}


/* The URL the provider called, for those that sign it (Twilio): the
 * configured public URL with this request's query string, if any. */
static char *
ngx_http_switchboard_public_url(ngx_http_request_t *r,
    ngx_http_switchboard_loc_conf_t *lcf)
{
    u_char  *url, *p;

    url = ngx_pnalloc(r->pool, lcf->public_url.len + r->args.len + 2);
    if (url == NULL) {
        return NULL;
    }
    p = ngx_cpymem(url, lcf->public_url.data, lcf->public_url.len);
    if (r->args.len && ngx_strlchr(lcf->public_url.data,
                                   lcf->public_url.data + lcf->public_url.len,
                                   '?') == NULL)
    {
        *p++ = '?';
        p = ngx_cpymem(p, r->args.data, r->args.len);
    }
    *p = '\0';
    return (char *) url;
}


/* R20: the signature over the raw bytes, before any parser; then the
 * parse into cmd. NGX_OK, or the request was answered. */
static ngx_int_t
ngx_http_switchboard_verified(ngx_http_request_t *r, sb_hook_t *hook,
    sb_cmd_t *cmd)
{
    ngx_http_switchboard_loc_conf_t  *lcf;
    const sb_channel_ops_t           *ops = sb_channel_ops(hook->channel);
    ngx_str_t                        *sig;
    sb_answer_t                       err = { 0, NULL, NULL, 0, "" };
    int                               rc;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);
    sig = ngx_http_switchboard_header(r, ops->signature_header);
    if (sig == NULL) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "switchboard: webhook without a signature");
        ngx_http_switchboard_metric_webhook(hook->channel,
                                   NGX_HTTP_SWITCHBOARD_HOOK_BAD_SIGNATURE);
        ngx_http_finalize_request(r,
            ngx_http_switchboard_error(r, 401, "missing_signature",
                                       "the provider's signature header is "
                                       "required"));
        return NGX_ERROR;
    }
    hook->signature = (const char *) sig->data;
    hook->signature_len = sig->len;
    hook->url = ngx_http_switchboard_public_url(r, lcf);

    rc = hook->url ? ops->verify(hook) : -1;
    if (rc == -1) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "switchboard: webhook with a wrong signature");
        ngx_http_switchboard_metric_webhook(hook->channel,
                                   NGX_HTTP_SWITCHBOARD_HOOK_BAD_SIGNATURE);
        if (ops->done) {
            ops->done(hook);
        }
        ngx_http_finalize_request(r,
            ngx_http_switchboard_error(r, 403, "bad_signature",
                                       "the signature does not match the "
                                       "body"));
        return NGX_ERROR;
    }

    /* a body that could not even be read for its signature (-2) is the
     * parser's to refuse */
    rc = sb_webhook_parse(hook, cmd, &err);
    if (ops->done) {
        ops->done(hook);
    }
    if (rc != 0) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "switchboard: webhook refused with %d: %*s",
                      err.status, err.len, err.body);
        ngx_http_switchboard_metric_webhook(hook->channel,
                                   NGX_HTTP_SWITCHBOARD_HOOK_REFUSED);
        ngx_http_finalize_request(r, ngx_http_switchboard_answer(r, &err));
        return NGX_ERROR;
    }
    return NGX_OK;
}


static void
ngx_http_switchboard_webhook_body(ngx_http_request_t *r)
{
    ngx_http_switchboard_loc_conf_t  *lcf;
    ngx_http_switchboard_ctx_t       *ctx;
    const sb_channel_ops_t           *ops;
    ngx_str_t                         body;
    sb_answer_t                       ans = { 0, NULL, NULL, 0, "" };
    sb_hook_t                         hook;
    sb_cmd_t                          cmd;
    sb_tally_t                        none;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);
    ops = sb_channel_ops(ctx->channel);

    if (ngx_http_switchboard_body_or_answer(r, &body) != NGX_OK) {
        return;
    }
    ngx_http_switchboard_hook_init(r, &hook, ctx->channel);
    hook.body = body.data;
    hook.len = body.len;

    sb_cmd_init(&cmd, SB_CMD_WEBHOOK, sb_now_ms());
    cmd.channel = ctx->channel;
    ngx_memcpy(cmd.tenant, ctx->tenant, sizeof(cmd.tenant));
    ngx_memcpy(cmd.group, lcf->group.data, lcf->group.len);
    if (ngx_http_switchboard_verified(r, &hook, &cmd) != NGX_OK) {
        sb_cmd_free(&cmd);
        return;
    }
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "switchboard webhook: %d events not for us (echoes, "
                   "receipts, other types)", cmd.u.webhook.ignored);

    if (cmd.u.webhook.nmessages == 0 && cmd.u.webhook.nreceipts == 0) {
        /* echoes, typing, other events: nothing to store */
        ngx_memzero(&none, sizeof(sb_tally_t));
        none.ignored = cmd.u.webhook.ignored;
        sb_cmd_free(&cmd);
        ops->answer(&none, &ans);
        ngx_http_finalize_request(r, ngx_http_switchboard_answer(r, &ans));
        return;
    }

    if (ngx_http_switchboard_submit(r, &cmd) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}
