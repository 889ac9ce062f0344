/* Provider webhooks (R20, R21): Meta's and X's handshakes, the signature
 * over the raw body before any parsing, and the payload's messages stored
 * in one command; 200 only after the commit. */

#include "ngx_http_switchboard.h"


static void ngx_http_switchboard_webhook_body(ngx_http_request_t *r);


/* GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C → C */
static ngx_int_t
ngx_http_switchboard_meta_handshake(ngx_http_request_t *r,
    ngx_http_switchboard_loc_conf_t *lcf)
{
    ngx_str_t     mode, token, challenge;
    ngx_buf_t    *b;
    ngx_chain_t   out;
    ngx_int_t     rc;

    if (ngx_http_switchboard_arg(r, "hub.mode", &mode) != NGX_OK
        || ngx_http_switchboard_arg(r, "hub.verify_token", &token) != NGX_OK
        || ngx_http_arg(r, (u_char *) "hub.challenge", 13, &challenge)
           != NGX_OK
        || mode.len != 9 || ngx_strncmp(mode.data, "subscribe", 9) != 0)
    {
        return ngx_http_switchboard_error(r, 403, "bad_handshake",
                                          "expected hub.mode=subscribe with "
                                          "hub.verify_token and "
                                          "hub.challenge");
    }

    if (lcf->verify_token.len == 0 || token.len != lcf->verify_token.len
        || CRYPTO_memcmp(token.data, lcf->verify_token.data, token.len) != 0)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "switchboard: webhook handshake with a wrong token");
        return ngx_http_switchboard_error(r, 403, "bad_verify_token",
                                          "the verify token does not match");
    }

    /* the challenge goes back as the raw body, text/plain */
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = challenge.len;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }
    b = ngx_create_temp_buf(r->pool, challenge.len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    b->last = ngx_cpymem(b->pos, challenge.data, challenge.len);
    b->last_buf = 1;
    out.buf = b;
    out.next = NULL;
    return ngx_http_output_filter(r, &out);
}


/* X's challenge-response check: GET ?crc_token=T →
 * {"response_token":"sha256=" + base64 HMAC-SHA256(consumer secret, T)} */
static ngx_int_t
ngx_http_switchboard_x_crc(ngx_http_request_t *r,
    ngx_http_switchboard_loc_conf_t *lcf)
{
    ngx_str_t  token;
    u_char     body[128];
    char       sig[64];

    if (ngx_http_switchboard_arg(r, "crc_token", &token) != NGX_OK
        || token.len == 0)
    {
        return ngx_http_switchboard_error(r, 400, "missing_crc_token",
                                          "crc_token is required");
    }
    sb_x_sign(lcf->webhook_secret.data, lcf->webhook_secret.len, token.data,
              token.len, sig, sizeof(sig));
    ngx_snprintf(body, sizeof(body), "{\"response_token\":\"%s\"}%Z", sig);
    return ngx_http_switchboard_respond(r, 200, (char *) body);
}


ngx_int_t
ngx_http_switchboard_webhook_handler(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx)
{
    ngx_http_switchboard_loc_conf_t  *lcf;
    ngx_str_t                         tenant;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);

    if (lcf->tenant == NULL) {
        ngx_str_set(&tenant, "default");
    } else if (ngx_http_complex_value(r, lcf->tenant, &tenant) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!sb_valid_id((char *) tenant.data, tenant.len, 0)) {
        return ngx_http_switchboard_error(r, 400, "bad_tenant",
                                          "the tenant is not a valid id");
    }
    ngx_memcpy(ctx->tenant, tenant.data, tenant.len);
    ctx->tenant[tenant.len] = '\0';
    ctx->channel = (int) lcf->channel;

    if (r->method == NGX_HTTP_GET && ctx->channel != SB_CH_SMS) {
        return ctx->channel == SB_CH_TWITTER
               ? ngx_http_switchboard_x_crc(r, lcf)
               : ngx_http_switchboard_meta_handshake(r, lcf);
    }
    if (r->method != NGX_HTTP_POST) {
        return ngx_http_switchboard_error(r, 405, "method_not_allowed",
                                          ctx->channel == SB_CH_SMS
                                          ? "POST" : "GET (handshake) or "
                                                     "POST");
    }
    return ngx_http_switchboard_read_body(r,
                                          ngx_http_switchboard_webhook_body);
}


/* The URL Twilio called: the configured public URL with this request's
 * query string, if any. */
static char *
ngx_http_switchboard_twilio_url(ngx_http_request_t *r,
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


/* R20: the signature over the raw bytes (Twilio: over the URL and the
 * decoded fields), before any payload parser runs. Returns the parsed
 * payload ({messages, statuses}) or NULL when it answered. */
static json_t *
ngx_http_switchboard_verified(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_str_t *body, int *ignored)
{
    ngx_http_switchboard_loc_conf_t  *lcf;
    ngx_str_t                        *sig;
    sb_result_t                       res = { 0, NULL, NULL };
    json_t                           *pairs = NULL, *payload;
    const char                       *name, *url;
    int                               bad;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);
    name = ctx->channel == SB_CH_TWITTER ? "x-twitter-webhooks-signature"
           : ctx->channel == SB_CH_SMS ? "X-Twilio-Signature"
           : "X-Hub-Signature-256";
    sig = ngx_http_switchboard_header(r, name);
    if (sig == NULL) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "switchboard: webhook without a signature");
        ngx_http_finalize_request(r,
            ngx_http_switchboard_error(r, 401, "missing_signature",
                                       "the provider's signature header is "
                                       "required"));
        return NULL;
    }

    if (ctx->channel == SB_CH_SMS) {
        /* Twilio signs the decoded fields: they must be read first */
        pairs = sb_form_parse((char *) body->data, body->len, &res);
        if (pairs == NULL) {
            ngx_http_finalize_request(r,
                                      ngx_http_switchboard_result(r, &res));
            return NULL;
        }
        url = ngx_http_switchboard_twilio_url(r, lcf);
        bad = url == NULL
              || sb_twilio_signature_ok((char *) sig->data, sig->len,
                                        lcf->webhook_secret.data,
                                        lcf->webhook_secret.len, url, pairs)
                 != 0;
    } else {
        bad = (ctx->channel == SB_CH_TWITTER ? sb_x_signature_ok
                                             : sb_meta_signature_ok)(
                  (char *) sig->data, sig->len, lcf->webhook_secret.data,
                  lcf->webhook_secret.len, body->data, body->len) != 0;
    }
    sb_result_free(&res);
    if (bad) {
        json_decref(pairs);
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "switchboard: webhook with a wrong signature");
        ngx_http_finalize_request(r,
            ngx_http_switchboard_error(r, 403, "bad_signature",
                                       "the signature does not match the "
                                       "body"));
        return NULL;
    }

    payload = ctx->channel == SB_CH_SMS
              ? sb_twilio_parse(pairs, ignored, &res)
              : sb_webhook_parse(ctx->channel, (char *) body->data,
                                 body->len, ignored, &res);
    json_decref(pairs);
    if (payload == NULL) {
        ngx_http_finalize_request(r, ngx_http_switchboard_result(r, &res));
    }
    return payload;
}


static void
ngx_http_switchboard_webhook_body(ngx_http_request_t *r)
{
    ngx_http_switchboard_loc_conf_t  *lcf;
    ngx_http_switchboard_ctx_t       *ctx;
    ngx_str_t                         body;
    sb_result_t                       res = { 0, NULL, NULL };
    sb_cmd_t                          cmd;
    json_t                           *payload;
    int                               ignored;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);

    if (ngx_http_switchboard_body_or_answer(r, &body) != NGX_OK) {
        return;
    }
    payload = ngx_http_switchboard_verified(r, ctx, &body, &ignored);
    if (payload == NULL) {
        return;
    }
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "switchboard webhook: %d events not for us (echoes, "
                   "receipts, other types)", ignored);

    if (json_array_size(json_object_get(payload, "messages")) == 0
        && json_array_size(json_object_get(payload, "statuses")) == 0)
    {
        /* receipts, echoes, typing: nothing to store */
        json_decref(payload);
        sb_webhook_answer(&res, 0, 0, 0, 0, 0, ignored);
        ngx_http_finalize_request(r, ngx_http_switchboard_result(r, &res));
        return;
    }

    ngx_memzero(&cmd, sizeof(sb_cmd_t));
    cmd.type = SB_CMD_WEBHOOK;
    cmd.now = sb_now_ms();
    cmd.channel = ctx->channel;
    ngx_memcpy(cmd.tenant, ctx->tenant, sizeof(cmd.tenant));
    ngx_memcpy(cmd.group, lcf->group.data, lcf->group.len);
    json_object_set_new(payload, "ignored", json_integer(ignored));
    cmd.body = payload;

    if (ngx_http_switchboard_submit(r, &cmd) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}
