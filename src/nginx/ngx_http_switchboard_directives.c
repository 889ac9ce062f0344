/* Switchboard's directives: the table nginx reads, and the handlers of
 * those that need more than a stock slot (store, secrets, API and webhook
 * kinds, delivery); the policy directives are in _policy.c. */

#include "ngx_http_switchboard.h"


static char *ngx_http_switchboard_hook_keep(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_store_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_token_max_age(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_jwt_secret(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_secret_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_read_secret(ngx_conf_t *cf,
    ngx_str_t *name, ssize_t min, ngx_str_t *out);
static char *ngx_http_switchboard_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_switchboard_webhook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_switchboard_event_webhook_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_deliver_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_tenant_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_placeholder(ngx_conf_t *cf,
    ngx_str_t *value);
static char *ngx_http_switchboard_secret_value(ngx_conf_t *cf,
    ngx_str_t *value, ngx_str_t *out);


/* as limit_req_log_level: where refused tokens are logged */
static ngx_conf_enum_t  ngx_http_switchboard_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


ngx_command_t  ngx_http_switchboard_commands[] = {

    { ngx_string("switchboard_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE123,
      ngx_http_switchboard_store_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_jwt_secret"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1234,
      ngx_http_switchboard_jwt_secret,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_token_max_age"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1234,
      ngx_http_switchboard_token_max_age,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_slot_class"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_switchboard_slot_class,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_poll_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, poll_timeout),
      NULL },

    { ngx_string("switchboard_presence_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, presence_timeout),
      NULL },

    { ngx_string("switchboard_stream_heartbeat"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, stream_heartbeat),
      NULL },

    { ngx_string("switchboard_stream_buffer"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, stream_buffer),
      NULL },

    { ngx_string("switchboard_first_reply_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, first_reply_timeout),
      NULL },

    { ngx_string("switchboard_reply_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, reply_timeout),
      NULL },

    { ngx_string("switchboard_snooze_presets"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_switchboard_snooze_presets,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_snooze_max"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, snooze_max),
      NULL },

    { ngx_string("switchboard_auto_close"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_switchboard_auto_close,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_retention"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_switchboard_retention,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_ledger_retention"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_switchboard_ledger_retention,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_auth_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, auth_log_level),
      &ngx_http_switchboard_log_levels },

    { ngx_string("switchboard_sticky"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, sticky),
      NULL },

    { ngx_string("switchboard_capabilities"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_switchboard_capabilities,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_max_text"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, text_max),
      NULL },

    { ngx_string("switchboard_tenant"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_switchboard_tenant_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_switchboard_loc_conf_t, tenant),
      NULL },

    { ngx_string("switchboard_operator"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_switchboard_loc_conf_t, operator),
      NULL },

    { ngx_string("switchboard_group"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_switchboard_loc_conf_t, group),
      NULL },

    { ngx_string("switchboard_agent_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_switchboard_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_SWITCHBOARD_AGENT,
      NULL },

    { ngx_string("switchboard_visitor_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_switchboard_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_SWITCHBOARD_VISITOR,
      NULL },

    { ngx_string("switchboard_webhook"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_switchboard_webhook,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_webhook_secret"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_switchboard_secret_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_switchboard_loc_conf_t, webhook_secret),
      NULL },

    { ngx_string("switchboard_verify_token"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_switchboard_secret_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_switchboard_loc_conf_t, verify_token),
      NULL },

    { ngx_string("switchboard_public_url"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_switchboard_loc_conf_t, public_url),
      NULL },

    { ngx_string("switchboard_deliver"),
      NGX_HTTP_SRV_CONF|NGX_CONF_TAKE2,
      ngx_http_switchboard_deliver_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_polls_per_token"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, polls_per_token),
      NULL },

    { ngx_string("switchboard_deliver_concurrency"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, deliver_concurrency),
      NULL },

    { ngx_string("switchboard_deliver_attempts"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, deliver_attempts),
      NULL },

    { ngx_string("switchboard_deliver_backoff"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, deliver_backoff),
      NULL },

    { ngx_string("switchboard_deliver_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, deliver_timeout),
      NULL },

    { ngx_string("switchboard_event_webhook"),
      NGX_HTTP_SRV_CONF|NGX_CONF_1MORE,
      ngx_http_switchboard_event_webhook_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_event_webhook_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_http_switchboard_secret_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, hook.secret),
      NULL },

    { ngx_string("switchboard_event_webhook_attempts"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, hook.attempts),
      NULL },

    { ngx_string("switchboard_event_webhook_backoff"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, hook.backoff),
      NULL },

    { ngx_string("switchboard_event_webhook_keep"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_switchboard_hook_keep,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_event_webhook_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, hook.timeout),
      NULL },

    { ngx_string("switchboard_dedupe_window"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, dedupe_window),
      NULL },

    { ngx_string("switchboard_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_switchboard_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_SWITCHBOARD_METRICS,
      ngx_http_switchboard_metrics_handler },

    { ngx_string("switchboard_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_switchboard_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_SWITCHBOARD_HEALTH,
      ngx_http_switchboard_health_handler },

    { ngx_string("switchboard_error_json"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_switchboard_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_SWITCHBOARD_ERRORS,
      ngx_http_switchboard_error_handler },

    { ngx_string("switchboard_admin_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_switchboard_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_SWITCHBOARD_ADMIN,
      NULL },

      ngx_null_command
};


static char *
ngx_http_switchboard_store_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value, s;
    ngx_uint_t                         i;
    off_t                              size;

    if (mcf->store_path.len) {
        return "is duplicate";
    }
    value = cf->args->elts;
    mcf->store_path = value[1];
    if (ngx_conf_full_name(cf->cycle, &mcf->store_path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_strncmp(value[i].data, "size=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;
            size = ngx_parse_offset(&s);
            if (size < 1024 * 1024) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid store size \"%V\" (at least 1m)",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }
            mcf->map_size = (size_t) size;
            continue;
        }
        if (ngx_strncmp(value[i].data, "reserve=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;
            size = ngx_parse_offset(&s);
            if (size == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid store reserve \"%V\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }
            mcf->reserve = (size_t) size;
            continue;
        }
        if (ngx_strcmp(value[i].data, "sync=on") == 0
            || ngx_strcmp(value[i].data, "sync=off") == 0)
        {
            mcf->sync = value[i].data[6] == 'n';
            continue;
        }
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    /* the write transaction runs in a pool thread, off the event loop */
    mcf->thread_pool = ngx_thread_pool_add(cf, NULL);
    if (mcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* switchboard_event_webhook_keep TIME [ROWS]: how long, and how many a
 * tenant, failed events are kept for a replay (issue 20) */
static char *
ngx_http_switchboard_hook_keep(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value = cf->args->elts;

    if (mcf->hook.keep != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }
    mcf->hook.keep = ngx_parse_time(&value[1], 0);
    if (mcf->hook.keep == (ngx_msec_t) NGX_ERROR || mcf->hook.keep == 0) {
        return "takes a time above 0 (e.g. 7d)";
    }
    if (cf->args->nelts == 3) {
        mcf->hook.keep_max = ngx_atoi(value[2].data, value[2].len);
        if (mcf->hook.keep_max < 1) {
            return "takes a number of rows of at least 1";
        }
    }
    return NGX_CONF_OK;
}


/* "agent", "visitor", "admin": its index, or -1 */
static ngx_int_t
ngx_http_switchboard_role(ngx_str_t *s)
{
    static const char  *roles[SB_ROLE_COUNT] = {
        [SB_ROLE_AGENT] = "agent", [SB_ROLE_VISITOR] = "visitor",
        [SB_ROLE_ADMIN] = "admin"
    };
    ngx_int_t           i;

    for (i = 0; i < SB_ROLE_COUNT; i++) {
        if (s->len == ngx_strlen(roles[i])
            && ngx_strncmp(s->data, roles[i], s->len) == 0)
        {
            return i;
        }
    }
    return -1;
}


/*
 * switchboard_jwt_secret FILE [kid=ID] [tenant=ID] [roles=ROLE,…]: an
 * unnamed key signs tokens whose header names no kid (a second one is
 * the key it replaces, accepted while its tokens live out their exp: a
 * rotation logs nobody out); a key with a kid signs the tokens that name
 * it, and may be bound to one tenant and some roles, so that a tenant's
 * visitor-minting backend holds a key that mints nothing else.
 */
static char *
ngx_http_switchboard_jwt_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value = cf->args->elts, v, secret, r;
    sb_jwt_key_t                      *key, *keys;
    ngx_uint_t                         i, j;
    ngx_int_t                          role;
    u_char                            *p, *comma;
    char                              *rv;

    if (mcf->jwt_keys == NULL) {
        mcf->jwt_keys = ngx_array_create(cf->pool, 4, sizeof(sb_jwt_key_t));
        if (mcf->jwt_keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }
    rv = ngx_http_switchboard_read_secret(cf, &value[1], 16, &secret);
    if (rv != NGX_CONF_OK) {
        return rv;
    }
    key = ngx_array_push(mcf->jwt_keys);
    if (key == NULL) {
        return NGX_CONF_ERROR;
    }
    ngx_memzero(key, sizeof(sb_jwt_key_t));
    key->secret = secret.data;
    key->len = secret.len;

    for (i = 2; i < cf->args->nelts; i++) {
        v = value[i];
        if (v.len > 4 && ngx_strncmp(v.data, "kid=", 4) == 0) {
            p = ngx_pnalloc(cf->pool, v.len - 3);
            if (p == NULL) {
                return NGX_CONF_ERROR;
            }
            ngx_cpystrn(p, v.data + 4, v.len - 3);
            if (!sb_valid_id((char *) p, v.len - 4, 0)) {
                return "has a kid that is not 1-64 of A-Za-z0-9._-";
            }
            key->kid = (char *) p;
        } else if (v.len > 7 && ngx_strncmp(v.data, "tenant=", 7) == 0) {
            p = ngx_pnalloc(cf->pool, v.len - 6);
            if (p == NULL) {
                return NGX_CONF_ERROR;
            }
            ngx_cpystrn(p, v.data + 7, v.len - 6);
            if (!sb_valid_id((char *) p, v.len - 7, 0)) {
                return "has a tenant that is not 1-64 of A-Za-z0-9._-";
            }
            key->tenant = (char *) p;
        } else if (v.len > 6 && ngx_strncmp(v.data, "roles=", 6) == 0) {
            for (p = v.data + 6; p < v.data + v.len; p = comma + 1) {
                comma = ngx_strlchr(p, v.data + v.len, ',');
                if (comma == NULL) {
                    comma = v.data + v.len;
                }
                r.data = p;
                r.len = (size_t) (comma - p);
                role = ngx_http_switchboard_role(&r);
                if (role < 0) {
                    return "has roles other than agent, visitor and admin";
                }
                key->roles |= 1u << role;
            }
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "unknown parameter "
                               "\"%V\" (kid=, tenant=, roles=)", &v);
            return NGX_CONF_ERROR;
        }
    }
    if (key->kid == NULL && (key->tenant || key->roles)) {
        return "binds a key to a tenant or roles only with a kid= (tokens "
               "name the key they were signed with)";
    }

    keys = mcf->jwt_keys->elts;
    for (j = 0; j + 1 < mcf->jwt_keys->nelts; j++) {
        if (key->kid && keys[j].kid && ngx_strcmp(key->kid, keys[j].kid) == 0)
        {
            return "is given twice with the same kid";
        }
    }
    if (key->kid == NULL && ++mcf->jwt_secrets > 2) {
        return "is given more than twice without a kid (the key and the one "
               "it replaces)";
    }
    return NGX_CONF_OK;
}


/* switchboard_token_max_age TIME|off [ROLE…]: the longest a token may
 * live (exp - iat, and exp - now); no ROLE: every role */
static char *
ngx_http_switchboard_token_max_age(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value = cf->args->elts;
    ngx_int_t                          role;
    ngx_uint_t                         i;
    time_t                             s;

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        s = 0;
    } else {
        s = ngx_parse_time(&value[1], 1);
        if (s == (time_t) NGX_ERROR || s <= 0) {
            return "takes a time (e.g. 12h) or off";
        }
    }
    if (cf->args->nelts == 2) {
        for (i = 0; i < SB_ROLE_COUNT; i++) {
            mcf->jwt.max_age[i] = s;
        }
        return NGX_CONF_OK;
    }
    for (i = 2; i < cf->args->nelts; i++) {
        role = ngx_http_switchboard_role(&value[i]);
        if (role < 0) {
            return "takes the roles agent, visitor and admin";
        }
        mcf->jwt.max_age[role] = s;
    }
    return NGX_CONF_OK;
}


/* A literal tenant is checked here, not on every request. */
static char *
ngx_http_switchboard_tenant_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_str_t  *value = cf->args->elts;

    if (ngx_http_script_variables_count(&value[1]) == 0
        && !sb_valid_id((char *) value[1].data, value[1].len, 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid switchboard_tenant \"%V\": a tenant is "
                           "1-64 of A-Za-z0-9._-", &value[1]);
        return NGX_CONF_ERROR;
    }
    return ngx_http_set_complex_value_slot(cf, cmd, conf);
}


/* "<app secret>" left from an example would sign nothing a provider
 * sends: nginx -t says so rather than every webhook being a 403. */
static char *
ngx_http_switchboard_placeholder(ngx_conf_t *cf, ngx_str_t *value)
{
    if (ngx_strlchr(value->data, value->data + value->len, '<')
        || ngx_strlchr(value->data, value->data + value->len, '>'))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is a placeholder: put the secret "
                           "there (or file:PATH)", value);
        return NGX_CONF_ERROR;
    }
    return NGX_CONF_OK;
}


/* A provider's secret: VALUE, or file:PATH to keep it out of nginx.conf;
 * never a placeholder left from an example. */
static char *
ngx_http_switchboard_secret_value(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *out)
{
    ngx_str_t  path;

    if (out->data) {
        return "is duplicate";
    }
    if (value->len > 5 && ngx_strncmp(value->data, "file:", 5) == 0) {
        path.data = value->data + 5;
        path.len = value->len - 5;
        if (ngx_http_switchboard_read_secret(cf, &path, 1, out)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }
        return ngx_http_switchboard_placeholder(cf, out);
    }
    if (ngx_http_switchboard_placeholder(cf, value) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }
    *out = *value;
    return NGX_CONF_OK;
}


/* switchboard_webhook_secret, switchboard_verify_token and
 * switchboard_event_webhook_secret: VALUE or file:PATH, into the
 * ngx_str_t at the command's offset */
static char *
ngx_http_switchboard_secret_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_str_t  *value = cf->args->elts;

    return ngx_http_switchboard_secret_value(cf, &value[1],
                                   (ngx_str_t *) ((char *) conf + cmd->offset));
}


/* A key from a file (relative to the prefix), its trailing newline cut. */
static char *
ngx_http_switchboard_read_secret(ngx_conf_t *cf, ngx_str_t *name,
    ssize_t min, ngx_str_t *out)
{
    ngx_str_t        path = *name;
    ngx_file_t       file;
    ngx_file_info_t  fi;
    ssize_t          n;
    u_char          *p;

    if (ngx_conf_full_name(cf->cycle, &path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = path;
    file.log = cf->log;
    file.fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &path);
        return NGX_CONF_ERROR;
    }
    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 4096)
    {
        ngx_close_file(file.fd);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret file \"%V\" is unreadable or over 4k",
                           &path);
        return NGX_CONF_ERROR;
    }
    /* nginx's master reads it; nobody else needs to (issue 19) */
    if (fi.st_mode & (S_IRWXG | S_IRWXO)) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "secret file \"%V\" can be read by its group or "
                           "others (mode %ui%ui%ui): chmod 600 it", &path,
                           (ngx_uint_t) (fi.st_mode >> 6) & 7,
                           (ngx_uint_t) (fi.st_mode >> 3) & 7,
                           (ngx_uint_t) fi.st_mode & 7);
    }

    p = ngx_pnalloc(cf->pool, (size_t) ngx_file_size(&fi) + 1);
    if (p == NULL) {
        ngx_close_file(file.fd);
        return NGX_CONF_ERROR;
    }
    n = ngx_read_file(&file, p, (size_t) ngx_file_size(&fi), 0);
    ngx_close_file(file.fd);
    if (n == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    /* an editor's trailing newline is not part of the key */
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r')) {
        n--;
    }
    if (n < min) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret in \"%V\" is shorter than %z bytes",
                           &path, min);
        return NGX_CONF_ERROR;
    }
    out->data = p;
    out->len = (size_t) n;

    return NGX_CONF_OK;
}


/* A location of one kind (the command's offset): an API, or the error
 * page, health or metrics, whose content handler is the command's post. */
static char *
ngx_http_switchboard_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_switchboard_loc_conf_t  *lcf = conf;
    ngx_http_core_loc_conf_t         *clcf;

    if (lcf->kind != NGX_HTTP_SWITCHBOARD_NONE) {
        return "is duplicate";
    }
    lcf->kind = cmd->offset;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = cmd->post ? (ngx_http_handler_pt) cmd->post
                              : ngx_http_switchboard_handler;

    return NGX_CONF_OK;
}


/* switchboard_webhook CHANNEL: any third-party channel; messenger and
 * facebook share Meta's Page payloads, so either takes both. */
static char *
ngx_http_switchboard_webhook(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_switchboard_loc_conf_t  *lcf = conf;
    ngx_http_core_loc_conf_t         *clcf;
    ngx_str_t                        *value = cf->args->elts;
    ngx_int_t                         ch;

    if (lcf->kind != NGX_HTTP_SWITCHBOARD_NONE) {
        return "is duplicate";
    }
    ch = sb_channel_parse((char *) value[1].data, value[1].len);
    if (ch < 0 || !sb_channel_ops(ch)->third_party) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_webhook takes whatsapp, messenger, "
                           "instagram, facebook, twitter or sms, not \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }
    lcf->kind = NGX_HTTP_SWITCHBOARD_WEBHOOK;
    lcf->channel = (ngx_uint_t) ch;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_switchboard_handler;
    return NGX_CONF_OK;
}


/* switchboard_deliver CHANNEL URI, in the server whose locations hold the
 * operator's internal location for that provider (R22). */
static char *
ngx_http_switchboard_deliver_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value = cf->args->elts;
    ngx_int_t                          ch;

    ch = sb_channel_parse((char *) value[1].data, value[1].len);
    if (ch < 0 || !sb_channel_ops(ch)->third_party) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_deliver takes a third-party channel, "
                           "not \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }
    if (mcf->deliver[ch].uri.len) {
        return "is duplicate for this channel";
    }
    if (value[2].len == 0 || value[2].data[0] != '/') {
        return "needs a location URI starting with \"/\"";
    }
    mcf->deliver[ch].uri = value[2];
    mcf->deliver[ch].conf = cf->ctx;
    return NGX_CONF_OK;
}




/* switchboard_event_webhook URI [TYPE ...], in the server whose locations
 * hold the operator's internal location for the CRM; types are names
 * ("message.created"), families ("conversation.*") or "all" (the
 * default). */
static char *
ngx_http_switchboard_event_webhook_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value = cf->args->elts;
    ngx_uint_t                         i;
    unsigned                           bits;

    if (mcf->hook.uri.len) {
        return "is duplicate";
    }
    if (value[1].len == 0 || value[1].data[0] != '/') {
        return "needs a location URI starting with \"/\"";
    }
    mcf->hook.types = cf->args->nelts == 2 ? sb_hook_parse("all", 3) : 0;
    for (i = 2; i < cf->args->nelts; i++) {
        bits = sb_hook_parse((char *) value[i].data, value[i].len);
        if (bits == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "switchboard_event_webhook: unknown event "
                               "type \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }
        mcf->hook.types |= bits;
    }
    mcf->hook.uri = value[1];
    mcf->hook.conf = cf->ctx;
    return NGX_CONF_OK;
}

