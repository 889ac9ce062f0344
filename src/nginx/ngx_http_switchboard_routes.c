/* The three APIs as one route table: the path below the location's
 * prefix, split on '/', is matched against each route's segments ("*"
 * takes an id), then its method; the route's handler does the rest. */

#include "ngx_http_switchboard.h"
#include "ngx_http_switchboard_api.h"


#define SB_GET     NGX_HTTP_GET
#define SB_PUT     NGX_HTTP_PUT
#define SB_POST    NGX_HTTP_POST
#define SB_DELETE  NGX_HTTP_DELETE

#define SB_AGENT    NGX_HTTP_SWITCHBOARD_AGENT
#define SB_VISITOR  NGX_HTTP_SWITCHBOARD_VISITOR
#define SB_ADMIN    NGX_HTTP_SWITCHBOARD_ADMIN


typedef struct {
    ngx_uint_t                        api;
    const char                       *path[SB_SEGMENTS];
    ngx_uint_t                        method;
    ngx_http_switchboard_route_pt     handler;
    sb_cmd_type_t                     type;     /* for commands */
} ngx_http_switchboard_route_t;


static const ngx_http_switchboard_route_t  ngx_http_switchboard_routes[] = {

    /* agents (R5-R12, R24) */
    { SB_AGENT, { "events" }, SB_GET, ngx_http_switchboard_agent_events, 0 },
    { SB_AGENT, { "me" }, SB_GET, ngx_http_switchboard_get_me, 0 },
    { SB_AGENT, { "canned" }, SB_GET, ngx_http_switchboard_get_canned, 0 },
    { SB_AGENT, { "settings" }, SB_GET, ngx_http_switchboard_get_settings, 0 },
    { SB_AGENT, { "directory" }, SB_GET, ngx_http_switchboard_get_directory,
      0 },
    { SB_AGENT, { "availability" }, SB_PUT, ngx_http_switchboard_run,
      SB_CMD_AVAILABILITY },
    { SB_AGENT, { "conversations", "*" }, SB_GET,
      ngx_http_switchboard_get_conversation, 0 },
    { SB_AGENT, { "conversations", "*", "messages" }, SB_POST,
      ngx_http_switchboard_post_message, SB_CMD_AGENT_MESSAGE },
    { SB_AGENT, { "conversations", "*", "tags" }, SB_PUT,
      ngx_http_switchboard_on_conversation, SB_CMD_TAGS },
    { SB_AGENT, { "conversations", "*", "end" }, SB_POST,
      ngx_http_switchboard_on_conversation, SB_CMD_END },
    { SB_AGENT, { "conversations", "*", "snooze" }, SB_POST,
      ngx_http_switchboard_on_conversation, SB_CMD_SNOOZE },
    { SB_AGENT, { "conversations", "*", "release" }, SB_POST,
      ngx_http_switchboard_on_conversation, SB_CMD_RELEASE },
    { SB_AGENT, { "conversations", "*", "transfer" }, SB_POST,
      ngx_http_switchboard_on_conversation, SB_CMD_TRANSFER },
    { SB_AGENT, { "conversations", "*", "block" }, SB_POST,
      ngx_http_switchboard_on_conversation, SB_CMD_BLOCK },

    /* visitors on first-party channels (R23) */
    { SB_VISITOR, { "messages" }, SB_POST, ngx_http_switchboard_post_message,
      SB_CMD_VISITOR_MESSAGE },
    { SB_VISITOR, { "events" }, SB_GET, ngx_http_switchboard_visitor_events,
      0 },

    /* the admin: directory and inspection (R19) */
    { SB_ADMIN, { "ledger" }, SB_GET, ngx_http_switchboard_get_ledger, 0 },
    { SB_ADMIN, { "conversations" }, SB_GET,
      ngx_http_switchboard_list_conversations, 0 },
    { SB_ADMIN, { "conversations", "*" }, SB_GET,
      ngx_http_switchboard_get_conversation, 0 },
    { SB_ADMIN, { "stats" }, SB_GET, ngx_http_switchboard_get_stats, 0 },
    { SB_ADMIN, { "webhooks" }, SB_GET, ngx_http_switchboard_get_outbox, 0 },
    { SB_ADMIN, { "webhooks", "replay" }, SB_POST, ngx_http_switchboard_run,
      SB_CMD_HOOK_REPLAY },

    /* moving a tenant to another node (issue 12) */
    { SB_ADMIN, { "pause" }, SB_POST, ngx_http_switchboard_pause,
      SB_CMD_PAUSE },
    { SB_ADMIN, { "resume" }, SB_POST, ngx_http_switchboard_pause,
      SB_CMD_RESUME },
    { SB_ADMIN, { "capabilities" }, SB_GET,
      ngx_http_switchboard_get_capabilities, 0 },
    { SB_ADMIN, { "canned" }, SB_GET, ngx_http_switchboard_get_canned, 0 },
    { SB_ADMIN, { "canned", "*" }, SB_GET, ngx_http_switchboard_get_canned,
      0 },
    { SB_ADMIN, { "canned", "*" }, SB_PUT, ngx_http_switchboard_on_entry,
      SB_CMD_PUT_CANNED },
    { SB_ADMIN, { "canned", "*" }, SB_DELETE, ngx_http_switchboard_on_entry,
      SB_CMD_DELETE_CANNED },
    { SB_ADMIN, { "blocks", "*", "*" }, SB_GET, ngx_http_switchboard_block,
      0 },
    { SB_ADMIN, { "blocks", "*", "*" }, SB_DELETE,
      ngx_http_switchboard_block, SB_CMD_UNBLOCK },
    /* one visitor's data (issue 20) */
    { SB_ADMIN, { "visitors", "*", "*", "export" }, SB_GET,
      ngx_http_switchboard_visitor, 0 },
    { SB_ADMIN, { "visitors", "*", "*" }, SB_DELETE,
      ngx_http_switchboard_visitor, SB_CMD_ERASE_VISITOR },
    { SB_ADMIN, { "erasures" }, SB_GET, ngx_http_switchboard_get_erasures,
      0 },
    { SB_ADMIN, { "agents", "*" }, SB_GET, ngx_http_switchboard_get_agent,
      0 },
    { SB_ADMIN, { "agents", "*" }, SB_PUT, ngx_http_switchboard_on_entry,
      SB_CMD_PUT_AGENT },
    { SB_ADMIN, { "agents", "*" }, SB_DELETE, ngx_http_switchboard_on_entry,
      SB_CMD_DELETE_AGENT },
    /* provider accounts bound to the tenant (issue 19) */
    { SB_ADMIN, { "accounts" }, SB_GET, ngx_http_switchboard_accounts, 0 },
    { SB_ADMIN, { "accounts", "*", "*" }, SB_GET,
      ngx_http_switchboard_account, 0 },
    { SB_ADMIN, { "accounts", "*", "*" }, SB_PUT,
      ngx_http_switchboard_account, SB_CMD_PUT_ACCOUNT },
    { SB_ADMIN, { "accounts", "*", "*" }, SB_DELETE,
      ngx_http_switchboard_account, SB_CMD_DELETE_ACCOUNT },
    { SB_ADMIN, { "groups", "*" }, SB_GET, ngx_http_switchboard_get_group,
      0 },
    { SB_ADMIN, { "groups", "*" }, SB_PUT, ngx_http_switchboard_on_entry,
      SB_CMD_PUT_GROUP },
    { SB_ADMIN, { "groups", "*" }, SB_DELETE, ngx_http_switchboard_on_entry,
      SB_CMD_DELETE_GROUP },

    { 0, { NULL }, 0, NULL, 0 }
};


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
    return path->n ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
ngx_http_switchboard_matches(const ngx_http_switchboard_route_t *route,
    ngx_http_switchboard_path_t *path)
{
    ngx_uint_t   i;
    size_t       len;

    for (i = 0; i < SB_SEGMENTS && route->path[i]; i++) {
        if (i == path->n) {
            return 0;
        }
        len = ngx_strlen(route->path[i]);
        if (!(len == 1 && route->path[i][0] == '*')
            && (path->seg[i].len != len
                || ngx_strncmp(path->seg[i].data, route->path[i], len) != 0))
        {
            return 0;
        }
    }
    return i == path->n;
}


static ngx_int_t
ngx_http_switchboard_bad_method(ngx_http_request_t *r, ngx_uint_t methods)
{
    static const struct { ngx_uint_t m; const char *name; }  names[] = {
        { SB_GET, "GET" }, { SB_PUT, "PUT" }, { SB_POST, "POST" },
        { SB_DELETE, "DELETE" }
    };
    ngx_table_elt_t  *h;
    u_char           *p, *allow;
    ngx_uint_t        i;

    allow = ngx_pnalloc(r->pool, 32);
    h = ngx_list_push(&r->headers_out.headers);
    if (allow == NULL || h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    p = allow;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (methods & names[i].m) {
            p = ngx_sprintf(p, "%s%s", p == allow ? "" : ", ", names[i].name);
        }
    }
    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = allow;
    h->value.len = p - allow;

    return ngx_http_switchboard_error(r, 405, "method_not_allowed",
                                      "method not allowed here");
}


ngx_int_t
ngx_http_switchboard_handler(ngx_http_request_t *r)
{
    const ngx_http_switchboard_route_t  *route;
    ngx_http_switchboard_loc_conf_t     *lcf;
    ngx_http_switchboard_ctx_t          *ctx;
    ngx_http_switchboard_path_t          path;
    sb_answer_t                          err = { 0, NULL, NULL, 0, "" };
    ngx_uint_t                           allowed = 0;
    ngx_int_t                            rc;
    static const char                   *roles[] = {
        NULL, "agent", "visitor", "admin"
    };

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_switchboard_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_switchboard_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_http_set_ctx(r, ctx, ngx_http_switchboard_module);

    /* providers sign their bodies; they carry no bearer token */
    if (lcf->kind == NGX_HTTP_SWITCHBOARD_WEBHOOK) {
        return ngx_http_switchboard_webhook_handler(r, ctx);
    }

    if (ngx_http_switchboard_authenticate(r, ctx, roles[lcf->kind], &err)
        != NGX_OK)
    {
        return ngx_http_switchboard_answer(r, &err);
    }

    /* R23: first-party channels only; the token names the channel */
    if (lcf->kind == SB_VISITOR
        && (ctx->channel < 0 || sb_channel_ops(ctx->channel)->third_party))
    {
        return ngx_http_switchboard_error(r, 403, "bad_channel",
                                          "visitor tokens carry chn: "
                                          "mobile or chat");
    }

    if (ngx_http_switchboard_split(r, &path) != NGX_OK) {
        return ngx_http_switchboard_error(r, 404, "not_found",
                                          "no such resource");
    }

    for (route = ngx_http_switchboard_routes; route->handler; route++) {
        if (route->api != lcf->kind
            || !ngx_http_switchboard_matches(route, &path))
        {
            continue;
        }
        if (route->method == r->method) {
            ctx->type = route->type;
            /* commands are refused in their transaction; reads here */
            if (route->method == SB_GET) {
                rc = ngx_http_switchboard_paused(r, ctx);
                if (rc != NGX_DECLINED) {
                    return rc;
                }
            }
            return route->handler(r, ctx, &path);
        }
        allowed |= route->method;
    }

    if (allowed) {
        return ngx_http_switchboard_bad_method(r, allowed);
    }
    return ngx_http_switchboard_error(r, 404, "not_found", "no such resource");
}
