/* Variables for log_format: who asked ($switchboard_tenant, _sub, _role),
 * about what ($switchboard_conversation), how it ended ($switchboard_error,
 * the code of a refusal) and how long its commit took (_commit_ms). */

#include "ngx_http_switchboard.h"


typedef enum {
    SB_VAR_TENANT, SB_VAR_SUB, SB_VAR_ROLE, SB_VAR_CONVERSATION,
    SB_VAR_ERROR, SB_VAR_COMMIT_MS
} ngx_http_switchboard_var_t;

static const char  *ngx_http_switchboard_var_names[] = {
    "switchboard_tenant", "switchboard_sub", "switchboard_role",
    "switchboard_conversation", "switchboard_error",
    "switchboard_commit_ms"
};


static ngx_int_t
ngx_http_switchboard_log_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_switchboard_ctx_t  *ctx;
    u_char                      *p = NULL;
    size_t                       len = 0;

    ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);
    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }
    switch (data) {
    case SB_VAR_TENANT:
        p = (u_char *) ctx->tenant;
        len = ngx_strlen(ctx->tenant);
        break;
    case SB_VAR_SUB:
        p = (u_char *) ctx->actor;
        len = ctx->role ? ngx_strlen(ctx->actor) : 0;
        break;
    case SB_VAR_ROLE:
        p = (u_char *) ctx->role;
        len = ctx->role ? ngx_strlen(ctx->role) : 0;
        break;
    case SB_VAR_CONVERSATION:
        if (ctx->conversation) {
            p = ngx_pnalloc(r->pool, 24);
            if (p == NULL) {
                return NGX_ERROR;
            }
            len = sb_conv_name(ctx->conversation, (char *) p);
        }
        break;
    case SB_VAR_ERROR:
        p = ctx->error.data;
        len = ctx->error.len;
        break;
    case SB_VAR_COMMIT_MS:
        if (ctx->committed) {
            p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
            if (p == NULL) {
                return NGX_ERROR;
            }
            len = ngx_sprintf(p, "%M", ctx->commit_ms) - p;
        }
        break;
    }
    if (len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }
    v->data = p;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    return NGX_OK;
}


ngx_int_t
ngx_http_switchboard_log_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *v;
    ngx_str_t             name;
    ngx_uint_t            i;

    for (i = 0; i < sizeof(ngx_http_switchboard_var_names)
                    / sizeof(ngx_http_switchboard_var_names[0]); i++)
    {
        name.data = (u_char *) ngx_http_switchboard_var_names[i];
        name.len = ngx_strlen(name.data);
        v = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
        if (v == NULL) {
            return NGX_ERROR;
        }
        v->get_handler = ngx_http_switchboard_log_variable;
        v->data = i;
    }
    return NGX_OK;
}


/* The code of the refusal the request is answered with ("": none). */
void
ngx_http_switchboard_note_error(ngx_http_request_t *r, const char *code)
{
    ngx_http_switchboard_ctx_t  *ctx;
    ngx_str_t                    s;

    ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);
    if (ctx == NULL || code[0] == '\0') {
        return;
    }
    s.data = (u_char *) code;
    s.len = ngx_strlen(code);
    ctx->error.data = ngx_pstrdup(r->pool, &s);
    ctx->error.len = ctx->error.data ? s.len : 0;
}
