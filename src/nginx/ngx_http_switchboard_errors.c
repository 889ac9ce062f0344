/* nginx's own error answers in Switchboard's locations (a body over
 * client_max_body_size, a broken chunk, a timeout) become JSON like ours;
 * switchboard_error_json is the error_page target for the rest. */

#include "ngx_http_switchboard.h"


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


static const struct {
    ngx_uint_t   status;
    const char  *code;
    const char  *message;
} ngx_http_switchboard_errors[] = {
    { 400, "bad_request", "the request is malformed" },
    { 408, "request_timeout", "the request did not arrive in time" },
    { 411, "length_required", "a body needs a length or chunked encoding" },
    { 413, "body_too_large", "the body is over the limit" },
    { 414, "uri_too_long", "the request line is too long" },
    { 494, "headers_too_large", "the request headers are too large" },
    { 404, "not_found", "nothing is here" },
    { 405, "method_not_allowed", "the method is not allowed here" },
    { 500, "internal_error", "the server failed" },
    { 501, "not_implemented", "the transfer encoding is not supported" },
    { 503, "unavailable", "the server is not taking requests" },
};


static void
ngx_http_switchboard_error_text(ngx_uint_t status, sb_answer_t *ans)
{
    ngx_uint_t  i;

    for (i = 0; i < sizeof(ngx_http_switchboard_errors)
                    / sizeof(ngx_http_switchboard_errors[0]); i++)
    {
        if (ngx_http_switchboard_errors[i].status == status) {
            sb_answer_error(ans, (int) status,
                            ngx_http_switchboard_errors[i].code, "%s",
                            ngx_http_switchboard_errors[i].message);
            return;
        }
    }
    sb_answer_error(ans, (int) status, "http_error", "nginx answered %d",
                    (int) status);
}


/* A response nginx made for an error (r->err_status), not one of ours. */
static ngx_int_t
ngx_http_switchboard_error_header_filter(ngx_http_request_t *r)
{
    ngx_http_switchboard_loc_conf_t  *lcf;
    ngx_http_switchboard_ctx_t       *ctx;
    sb_answer_t                       ans = { 0, NULL, NULL, 0, "" };
    ngx_buf_t                        *b;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);
    if (r != r->main || r->err_status < NGX_HTTP_BAD_REQUEST
        || lcf == NULL || lcf->kind == NGX_HTTP_SWITCHBOARD_NONE)
    {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);
    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_switchboard_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }
        ngx_http_set_ctx(r, ctx, ngx_http_switchboard_module);
    }

    ngx_http_switchboard_error_text(r->err_status, &ans);
    ngx_http_switchboard_note_error(r, ans.code);
    b = ngx_create_temp_buf(r->pool, ans.len);
    if (ans.body == NULL || b == NULL) {
        sb_answer_free(&ans);
        return NGX_ERROR;
    }
    b->last = ngx_cpymem(b->pos, ans.body, ans.len);
    b->last_buf = 1;
    b->last_in_chain = 1;
    sb_answer_free(&ans);

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = b->last - b->pos;
    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    ctx->error_body = r->header_only ? NULL : b;
    ctx->error_json = 1;
    return ngx_http_next_header_filter(r);
}


/* nginx's HTML goes nowhere; the JSON goes once, as the whole body. */
static ngx_int_t
ngx_http_switchboard_error_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in)
{
    ngx_http_switchboard_ctx_t  *ctx;
    ngx_chain_t                  out, *cl;

    ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);
    if (ctx == NULL || !ctx->error_json) {
        return ngx_http_next_body_filter(r, in);
    }
    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }
    if (ctx->error_body == NULL) {
        return ngx_http_next_body_filter(r, NULL);
    }
    out.buf = ctx->error_body;
    out.next = NULL;
    ctx->error_body = NULL;
    return ngx_http_next_body_filter(r, &out);
}


/* An error_page target: the status nginx was sending, as JSON. Errors
 * raised before a location is chosen (a malformed request line, a
 * Content-Length beside Transfer-Encoding, %00 in the path) reach it
 * through a server-level error_page. */
ngx_int_t
ngx_http_switchboard_error_handler(ngx_http_request_t *r)
{
    (void) ngx_http_discard_request_body(r);
    return r->err_status >= NGX_HTTP_BAD_REQUEST ? r->err_status
                                                 : NGX_HTTP_NOT_FOUND;
}


ngx_int_t
ngx_http_switchboard_errors_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_switchboard_error_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_switchboard_error_body_filter;

    return NGX_OK;
}
