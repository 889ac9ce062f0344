/* switchboard_health: the operator's probe, without a token (guard it
 * with allow/deny). 200 when a read of the store works, its file is the
 * one mapped and it has room; 503 with the reason otherwise. */

#include "ngx_http_switchboard.h"


ngx_int_t
ngx_http_switchboard_health_handler(ngx_http_request_t *r)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    sb_store_usage_t                   u;
    sb_answer_t                        ans = { 0, NULL, NULL, 0, "" };
    sb_jw_t                            w;
    MDB_txn                           *txn;
    char                               why[512], *path;
    const char                        *reason = NULL;
    char                               ratio[32];
    int                                n;

    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) {
        return ngx_http_switchboard_error(r, 405, "method_not_allowed",
                                          "GET or HEAD");
    }
    mcf = ngx_http_get_module_main_conf(r, ngx_http_switchboard_module);
    path = ngx_pnalloc(r->pool, mcf->store_path.len + 1);
    if (path == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_cpystrn((u_char *) path, mcf->store_path.data,
                mcf->store_path.len + 1);

    txn = ngx_http_switchboard_read_begin(r->connection->log);
    if (txn == NULL) {
        ngx_cpystrn((u_char *) why, (u_char *) "a read transaction failed "
                    "(the error log says why)", sizeof(why));
    } else if (sb_store_health(&ngx_http_switchboard_store, txn, path, why,
                               sizeof(why)) == 0)
    {
        why[0] = '\0';
        sb_store_usage(&ngx_http_switchboard_store, txn, &u);
    }
    if (txn) {
        ngx_http_switchboard_read_end();
    }

    /* issue 20: a store with no room for new content sends the balancer
     * elsewhere: inside its reserve, or refusing writes just now */
    if (why[0]) {
        reason = why;
    } else if (u.room_bytes < mcf->reserve
               || ngx_http_switchboard_store_refusing())
    {
        reason = "store_full";
    }

    sb_jw_init(&w, 512);
    sb_jw_obj(&w);
    if (reason) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "switchboard: unhealthy: %s", reason);
        sb_jw_kstr(&w, "status", "unavailable");
        sb_jw_kstr(&w, "reason", reason);
    } else {
        sb_jw_kstr(&w, "status", "ok");
        sb_jw_kint(&w, "pid", (int64_t) ngx_pid);
    }
    if (!why[0]) {
        sb_jw_key(&w, "store");
        sb_jw_obj(&w);
        sb_jw_kint(&w, "map_bytes", (int64_t) u.map_bytes);
        sb_jw_kint(&w, "used_bytes", (int64_t) u.used_bytes);
        sb_jw_kint(&w, "room_bytes", (int64_t) u.room_bytes);
        sb_jw_kint(&w, "reserve_bytes", (int64_t) mcf->reserve);
        sb_jw_kint(&w, "disk_free_bytes", (int64_t) u.disk_free_bytes);
        sb_jw_key(&w, "fill_ratio");
        n = snprintf(ratio, sizeof(ratio), "%.4f", sb_store_fill(&u));
        sb_jw_raw(&w, ratio, (size_t) n);
        sb_jw_kint(&w, "readers", u.readers);
        sb_jw_obj_end(&w);
    }
    sb_jw_obj_end(&w);
    if (sb_jw_answer(&w, reason ? 503 : 200, &ans) != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return ngx_http_switchboard_answer(r, &ans);
}
