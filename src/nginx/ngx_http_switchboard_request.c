/* Request plumbing: answers, the whole body (memory or temp file) with a
 * JSON 413, headers and arguments, the tenant, bearer tokens (R25) and
 * the worker's read transaction. */

#include "ngx_http_switchboard.h"


static MDB_txn  *ngx_http_switchboard_reader;


/* Sends an answer and frees its body: every caller is done with it. */
ngx_int_t
ngx_http_switchboard_answer(ngx_http_request_t *r, sb_answer_t *ans)
{
    ngx_buf_t        *b;
    ngx_chain_t       out;
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    if (r->connection->error) {
        sb_answer_free(ans);
        return NGX_ERROR;
    }
    if (ans->status == 0) {
        sb_answer_free(ans);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ans->status == 500 || ans->status == 507) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "switchboard: store failure: %*s", ans->len, ans->body);
    }
    ngx_http_switchboard_note_error(r, ans->code);

    /* answered before reading: the unread body must not become a request */
    if (ngx_http_discard_request_body(r) != NGX_OK) {
        sb_answer_free(ans);
        return NGX_ERROR;
    }

    /* a tenant being moved (issue 12), or moved (issue 19): clients and
     * providers come back (through the front, to its new node) */
    if ((ans->status == 503 && ngx_strcmp(ans->code, "tenant_paused") == 0)
        || (ans->status == 421 && ngx_strcmp(ans->code, "tenant_moved") == 0))
    {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            sb_answer_free(ans);
            return NGX_ERROR;
        }
        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        ngx_str_set(&h->value, "10");
    }

    r->headers_out.status = ans->status;
    r->headers_out.content_length_n = (off_t) ans->len;
    if (ans->len) {
        if (ans->content_type) {
            r->headers_out.content_type.data = (u_char *) ans->content_type;
            r->headers_out.content_type.len = ngx_strlen(ans->content_type);
        } else {
            ngx_str_set(&r->headers_out.content_type, "application/json");
        }
        r->headers_out.content_type_len = r->headers_out.content_type.len;
        r->headers_out.content_type_lowcase = NULL;
    } else {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        sb_answer_free(ans);
        return rc;
    }

    b = ngx_create_temp_buf(r->pool, ans->len);
    if (b == NULL) {
        sb_answer_free(ans);
        return NGX_ERROR;
    }
    b->last = ngx_cpymem(b->pos, ans->body, ans->len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    sb_answer_free(ans);

    out.buf = b;
    out.next = NULL;
    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_switchboard_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    sb_answer_t  ans = { 0, NULL, NULL, 0, "" };

    sb_answer_error(&ans, (int) status, code, "%s", message);
    return ngx_http_switchboard_answer(r, &ans);
}


/* R26: nginx enforces client_max_body_size as it reads (a declared
 * length before reading, chunks as they come), and its 413 is JSON. */
ngx_int_t
ngx_http_switchboard_read_body(ngx_http_request_t *r,
    ngx_http_client_body_handler_pt handler)
{
    ngx_int_t  rc;

    rc = ngx_http_read_client_request_body(r, handler);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }
    return NGX_DONE;
}


/* Gathers the body into one buffer, reading spooled parts from the file. */
ngx_int_t
ngx_http_switchboard_body(ngx_http_request_t *r, ngx_str_t *body)
{
    ngx_chain_t  *cl;
    ngx_buf_t    *b;
    size_t        len = 0, n;
    ssize_t       got;
    u_char       *p;

    body->len = 0;
    body->data = (u_char *) "";

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        len += b->in_file ? (size_t) (b->file_last - b->file_pos)
                          : (size_t) (b->last - b->pos);
    }
    cl = r->request_body->bufs;
    if (cl->next == NULL && !cl->buf->in_file) {
        body->data = cl->buf->pos;
        body->len = len;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }
    body->data = p;

    for ( ; cl; cl = cl->next) {
        b = cl->buf;
        if (b->in_file) {
            n = (size_t) (b->file_last - b->file_pos);
            got = ngx_read_file(b->file, p, n, b->file_pos);
            if (got != (ssize_t) n) {
                return NGX_ERROR;
            }
            p += n;
        } else {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
        }
    }
    body->len = len;
    return NGX_OK;
}


/* The whole body for a body handler; on failure the request is answered
 * (JSON 413, or 500) and finalized, and NGX_ERROR comes back. */
ngx_int_t
ngx_http_switchboard_body_or_answer(ngx_http_request_t *r, ngx_str_t *body)
{
    ngx_int_t  rc = ngx_http_switchboard_body(r, body);

    if (rc == NGX_OK) {
        return NGX_OK;
    }
    ngx_http_finalize_request(r, rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE
        ? ngx_http_switchboard_error(r, 413, "body_too_large",
                                     "the body is over the limit")
        : NGX_HTTP_INTERNAL_SERVER_ERROR);
    return NGX_ERROR;
}


/* A request header by name (case-insensitive), or NULL. */
ngx_str_t *
ngx_http_switchboard_header(ngx_http_request_t *r, const char *name)
{
    ngx_list_part_t  *part = &r->headers_in.headers.part;
    ngx_table_elt_t  *h = part->elts;
    ngx_uint_t        i;
    size_t            len = ngx_strlen(name);

    for (i = 0; ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }
            part = part->next;
            h = part->elts;
            i = 0;
        }
        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i].value;
        }
    }
}


/*
 * A query argument, percent-decoded: NGX_DECLINED when it is absent,
 * NGX_ABORT when it is not clean (a "%" without two hex digits, or a value
 * that decodes to a NUL or to invalid UTF-8): refused, never cut at the
 * NUL or passed on as it came. With form set, '+' is a space, as in an
 * HTML form's query (the providers' handshakes are sent so).
 */
ngx_int_t
ngx_http_switchboard_arg(ngx_http_request_t *r, const char *name, int form,
    ngx_str_t *value)
{
    ngx_str_t  raw;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK) {
        return NGX_DECLINED;
    }
    value->data = ngx_pnalloc(r->pool, raw.len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }
    if (sb_percent_decode((const char *) raw.data, raw.len, form,
                          (char *) value->data, &value->len) != 0)
    {
        return NGX_ABORT;
    }
    return NGX_OK;
}


/* The request's tenant (switchboard_tenant, default "default"), checked;
 * on a refusal err holds the answer. */
ngx_int_t
ngx_http_switchboard_tenant(ngx_http_request_t *r, char *tenant,
    sb_answer_t *err)
{
    ngx_http_switchboard_loc_conf_t  *lcf;
    ngx_str_t                         v;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);
    if (lcf->tenant == NULL) {
        ngx_str_set(&v, "default");
    } else if (ngx_http_complex_value(r, lcf->tenant, &v) != NGX_OK) {
        sb_answer_error(err, 500, "tenant_error", "cannot evaluate tenant");
        return NGX_DECLINED;
    }
    if (!sb_valid_id((char *) v.data, v.len, 0)) {
        sb_answer_error(err, 400, "bad_tenant", "the tenant is not a valid id");
        return NGX_DECLINED;
    }
    ngx_memcpy(tenant, v.data, v.len);
    tenant[v.len] = '\0';
    return NGX_OK;
}


/*
 * R25: "Authorization: Bearer <HS256 JWT>" with the location's role; the
 * token's tenant (default "default") must be the request's tenant. Sends
 * nothing: a refusal is left in err for the caller to answer.
 */
static ngx_int_t
ngx_http_switchboard_check_token(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, const char *role, sb_answer_t *err)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_table_elt_t                   *h;
    ngx_str_t                          token;
    sb_claims_t                        claims;
    const char                        *why, *claimed;
    int                                rc;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_switchboard_module);

    if (ngx_http_switchboard_tenant(r, ctx->tenant, err) != NGX_OK) {
        return NGX_DECLINED;
    }

    h = r->headers_in.authorization;
    if (h == NULL || h->value.len < 7
        || ngx_strncasecmp(h->value.data, (u_char *) "Bearer ", 7) != 0)
    {
        sb_answer_error(err, 401, "missing_token",
                        "a Bearer token is required");
        return NGX_DECLINED;
    }
    token.data = h->value.data + 7;
    token.len = h->value.len - 7;

    rc = sb_jwt_verify((char *) token.data, token.len, &mcf->jwt,
                       (int64_t) ngx_time(), &claims, &why);
    if (rc != 0) {
        sb_answer_error(err, 401, "invalid_token", "%s", why);
        return NGX_DECLINED;
    }

    if (ngx_strcmp(claims.role, role) != 0) {
        sb_answer_error(err, 403, "wrong_role",
                        "a %s token may not use the %s API", claims.role,
                        role);
        return NGX_DECLINED;
    }

    claimed = claims.tenant[0] ? claims.tenant : "default";
    if (ngx_strcmp(claimed, ctx->tenant) != 0) {
        sb_answer_error(err, 403, "wrong_tenant",
                        "this token is for another tenant");
        return NGX_DECLINED;
    }

    if (!sb_valid_id(claims.sub, ngx_strlen(claims.sub), role[0] == 'v')) {
        sb_answer_error(err, 401, "invalid_token",
                        "the token's subject is not a valid id");
        return NGX_DECLINED;
    }
    ngx_cpystrn((u_char *) ctx->actor, (u_char *) claims.sub,
                sizeof(ctx->actor));
    ctx->role = role;

    ctx->channel = -1;
    if (claims.channel[0]) {
        ctx->channel = sb_channel_parse(claims.channel,
                                        ngx_strlen(claims.channel));
    }

    return NGX_OK;
}


/*
 * R25, then the refusal in the error log at switchboard_auth_log_level
 * (error by default, which Debian's default error_log shows), one line a
 * second per worker: a flood of bad tokens is counted, not written out.
 */
ngx_int_t
ngx_http_switchboard_authenticate(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, const char *role, sb_answer_t *err)
{
    static time_t                      last;
    static ngx_uint_t                  quiet;
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_int_t                          rc;

    rc = ngx_http_switchboard_check_token(r, ctx, role, err);
    if (rc == NGX_OK || (err->status != 401 && err->status != 403)) {
        return rc;
    }
    if (ngx_time() == last) {
        quiet++;
        return rc;
    }
    mcf = ngx_http_get_module_main_conf(r, ngx_http_switchboard_module);
    ngx_log_error(mcf->auth_log_level, r->connection->log, 0,
                  "switchboard: %s token refused: %*s (%ui more refused "
                  "since the last line)", role, err->len, err->body, quiet);
    last = ngx_time();
    quiet = 0;
    return rc;
}


/* One reader slot per worker, renewed for each read (LMDB readers take no
 * lock; MDB_NOTLS lets the slot live apart from any thread). */
MDB_txn *
ngx_http_switchboard_read_begin(ngx_log_t *log)
{
    int  rc;

    if (ngx_http_switchboard_reader) {
        rc = mdb_txn_renew(ngx_http_switchboard_reader);
    } else {
        rc = mdb_txn_begin(ngx_http_switchboard_store.env, NULL, MDB_RDONLY,
                           &ngx_http_switchboard_reader);
    }
    if (rc == MDB_MAP_RESIZED
        && ngx_http_switchboard_map_adopt(log) == NGX_OK)
    {
        /* another generation grew the map (issue 20): follow, once */
        rc = mdb_txn_begin(ngx_http_switchboard_store.env, NULL, MDB_RDONLY,
                           &ngx_http_switchboard_reader);
    }
    if (rc) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "switchboard: read transaction: %s", mdb_strerror(rc));
        if (ngx_http_switchboard_reader) {
            mdb_txn_abort(ngx_http_switchboard_reader);
            ngx_http_switchboard_reader = NULL;
        }
        return NULL;
    }
    return ngx_http_switchboard_reader;
}


void
ngx_http_switchboard_read_end(void)
{
    if (ngx_http_switchboard_reader) {
        mdb_txn_reset(ngx_http_switchboard_reader);
    }
}


void
ngx_http_switchboard_read_close(void)
{
    if (ngx_http_switchboard_reader) {
        mdb_txn_abort(ngx_http_switchboard_reader);
        ngx_http_switchboard_reader = NULL;
    }
}
