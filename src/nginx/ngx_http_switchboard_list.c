/* The admin's conversation list (R19): its query arguments checked
 * (%-escapes, UTF-8, ids, states, tags, paging) into a typed filter, then
 * one read of the narrowest index the filter names. */

#include "ngx_http_switchboard_api.h"


/* An argument of the list: NGX_OK, NGX_DECLINED when absent, or
 * NGX_ERROR with the refusal in err (%ZZ, %00, not UTF-8: a 400). */
static ngx_int_t
ngx_http_switchboard_list_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *v, sb_answer_t *err)
{
    ngx_int_t  rc = ngx_http_switchboard_arg(r, name, 0, v);

    if (rc == NGX_ABORT) {
        sb_answer_error(err, 400, "bad_argument", "the \"%s\" argument is "
                        "not clean percent-encoded UTF-8 (or holds %%00)",
                        name);
        return NGX_ERROR;
    }
    if (rc == NGX_ERROR) {
        sb_answer_error(err, 500, "no_memory", "out of memory");
    }
    return rc;
}


/* ?state=&group=&tag=&after=&limit= for the admin's conversation list;
 * sends nothing: a refusal is left in err. */
static ngx_int_t
ngx_http_switchboard_list_filter(ngx_http_request_t *r, sb_conv_filter_t *f,
    sb_answer_t *err)
{
    static const char *const  names[] = { "state", "group", "after", "tag" };
    ngx_str_t                 v, args[4];
    ngx_int_t                 n, rc;
    ngx_uint_t                i;

    ngx_memzero(f, sizeof(sb_conv_filter_t));
    f->state = -1;
    f->limit = 100;

    for (i = 0; i < 4; i++) {
        rc = ngx_http_switchboard_list_arg(r, names[i], &args[i], err);
        if (rc == NGX_ERROR) {
            return NGX_DECLINED;
        }
        if (rc == NGX_DECLINED) {
            args[i].data = NULL;
        }
    }

    if ((v = args[0]).data) {
        f->state = sb_state_parse((char *) v.data, v.len);
        if (f->state < 0) {
            sb_answer_error(err, 400, "bad_state", "unknown state");
            return NGX_DECLINED;
        }
    }
    if ((v = args[1]).data) {
        if (!sb_valid_id((char *) v.data, v.len, 0)) {
            sb_answer_error(err, 400, "bad_id", "group and after are ids");
            return NGX_DECLINED;
        }
        f->group = (const char *) v.data;
    }
    if ((v = args[2]).data
        && (!sb_valid_id((char *) v.data, v.len, 0)
            || sb_conv_parse((char *) v.data, v.len, &f->after) != 0))
    {
        sb_answer_error(err, 400, "bad_id",
                        "after is a conversation id, as \"next\" gives");
        return NGX_DECLINED;
    }
    if ((v = args[3]).data) {
        if (v.len == 0 || v.len > SB_TAG_MAX) {
            sb_answer_error(err, 400, "bad_tag", "a tag is 1-32 bytes");
            return NGX_DECLINED;
        }
        f->tag = (const char *) v.data;
    }
    if (ngx_http_arg(r, (u_char *) "limit", 5, &v) == NGX_OK) {
        n = ngx_atoi(v.data, v.len);
        if (n < 1 || n > 500) {
            sb_answer_error(err, 400, "bad_limit", "limit is 1-500");
            return NGX_DECLINED;
        }
        f->limit = (size_t) n;
    }
    return NGX_OK;
}


static void
ngx_http_switchboard_q_list(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_answer_t       err = { 0, NULL, NULL, 0, "" };
    sb_conv_filter_t  f;

    if (ngx_http_switchboard_list_filter(r, &f, &err) != NGX_OK) {
        *ans = err;
        return;
    }
    sb_query_conversations(&ngx_http_switchboard_store, txn, ctx->tenant, &f,
                           sb_now_ms(), ans);
}


ngx_int_t
ngx_http_switchboard_list_conversations(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_list);
}
