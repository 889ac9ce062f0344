/* The route handlers of the three APIs (api.c, list.c, outbox.c), as
 * the route table (routes.c) names them. */

#ifndef _NGX_HTTP_SWITCHBOARD_API_H_INCLUDED_
#define _NGX_HTTP_SWITCHBOARD_API_H_INCLUDED_


#include "ngx_http_switchboard.h"


#define SB_SEGMENTS  4

typedef struct {
    ngx_str_t   seg[SB_SEGMENTS];
    ngx_uint_t  n;
} ngx_http_switchboard_path_t;

typedef ngx_int_t (*ngx_http_switchboard_route_pt)(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);

/* a read: one query in a fresh read transaction (api.c) */
typedef void (*ngx_http_switchboard_query_pt)(MDB_txn *txn,
    ngx_http_request_t *r, ngx_http_switchboard_ctx_t *ctx,
    sb_answer_t *ans);

ngx_int_t ngx_http_switchboard_read(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_query_pt query);
/* ?cursor=N, and the 400 when it is not a number */
ngx_int_t ngx_http_switchboard_cursor(ngx_http_request_t *r,
    uint64_t *cursor);
ngx_int_t ngx_http_switchboard_bad_cursor(ngx_http_request_t *r);


ngx_int_t ngx_http_switchboard_agent_events(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_visitor_events(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_get_me(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_get_canned(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_get_conversation(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_get_ledger(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_list_conversations(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_get_stats(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_get_capabilities(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_get_settings(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_get_directory(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_get_agent(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_get_group(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_pause(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_accounts(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_account(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_visitor(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_get_erasures(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_block(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_run(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_post_message(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_on_conversation(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_on_entry(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);
ngx_int_t ngx_http_switchboard_paused(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx);
ngx_int_t ngx_http_switchboard_get_outbox(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path);


#endif /* _NGX_HTTP_SWITCHBOARD_API_H_INCLUDED_ */
