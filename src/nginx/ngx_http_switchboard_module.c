/* Switchboard module definition: configuration defaults and checks, and
 * the store's life cycle around fork (master vs workers), with each part
 * of the glue started in the worker in order. */

#include "ngx_http_switchboard.h"


extern ngx_command_t  ngx_http_switchboard_commands[];

static void *ngx_http_switchboard_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_switchboard_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_switchboard_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_switchboard_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_switchboard_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_switchboard_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_switchboard_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_switchboard_init_process(ngx_cycle_t *cycle);
static void ngx_http_switchboard_exit_process(ngx_cycle_t *cycle);


sb_store_t  ngx_http_switchboard_store;

/* what ngx_event_ident() reads for an event that belongs to no connection */
static ngx_connection_t  ngx_http_switchboard_no_connection = {
    .fd = (ngx_socket_t) -1
};


static ngx_http_module_t  ngx_http_switchboard_module_ctx = {
    ngx_http_switchboard_add_variables,    /* preconfiguration */
    ngx_http_switchboard_postconfiguration, /* postconfiguration */

    ngx_http_switchboard_create_main_conf, /* create main configuration */
    ngx_http_switchboard_init_main_conf,   /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_switchboard_create_loc_conf,  /* create location configuration */
    ngx_http_switchboard_merge_loc_conf    /* merge location configuration */
};


ngx_module_t  ngx_http_switchboard_module = {
    NGX_MODULE_V1,
    &ngx_http_switchboard_module_ctx,      /* module context */
    ngx_http_switchboard_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_switchboard_init_module,      /* init module */
    ngx_http_switchboard_init_process,     /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_switchboard_exit_process,     /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_switchboard_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_uint_t                         i;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_switchboard_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    mcf->map_size = NGX_CONF_UNSET_SIZE;
    mcf->reserve = NGX_CONF_UNSET_SIZE;
    mcf->sync = NGX_CONF_UNSET;
    mcf->poll_timeout = NGX_CONF_UNSET_MSEC;
    mcf->polls_per_token = NGX_CONF_UNSET_UINT;
    mcf->presence_timeout = NGX_CONF_UNSET_MSEC;
    mcf->stream_heartbeat = NGX_CONF_UNSET_MSEC;
    mcf->stream_buffer = NGX_CONF_UNSET_SIZE;
    mcf->first_reply_timeout = NGX_CONF_UNSET_MSEC;
    mcf->reply_timeout = NGX_CONF_UNSET_MSEC;
    mcf->snooze_max = NGX_CONF_UNSET_MSEC;
    mcf->sticky = NGX_CONF_UNSET;
    mcf->auth_log_level = NGX_CONF_UNSET_UINT;
    for (i = 0; i < SB_ROLE_COUNT; i++) {
        mcf->jwt.max_age[i] = -1;
    }
    mcf->text_max = NGX_CONF_UNSET_SIZE;
    mcf->deliver_attempts = NGX_CONF_UNSET;
    mcf->deliver_concurrency = NGX_CONF_UNSET;
    mcf->hook.attempts = NGX_CONF_UNSET;
    mcf->hook.backoff = NGX_CONF_UNSET_MSEC;
    mcf->hook.timeout = NGX_CONF_UNSET_MSEC;
    mcf->hook.keep = NGX_CONF_UNSET_MSEC;
    mcf->hook.keep_max = NGX_CONF_UNSET;
    mcf->deliver_backoff = NGX_CONF_UNSET_MSEC;
    mcf->deliver_timeout = NGX_CONF_UNSET_MSEC;
    mcf->dedupe_window = NGX_CONF_UNSET_MSEC;
    mcf->retention = NGX_CONF_UNSET;
    mcf->core.ledger_retention_ms = -1;
    for (i = 0; i < SB_CH_COUNT; i++) {
        mcf->core.auto_close_ms[i] = -1;
        mcf->core.retention_ms[i] = -1;
    }

    return mcf;
}


static char *
ngx_http_switchboard_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    sb_config_t                       *core = &mcf->core;
    ngx_uint_t                         i;

    /*
     * The map is address space, not disk: LMDB's file grows only as pages
     * are written. A large default lets the store grow to what the disk
     * holds; size= is the ceiling an operator sets on purpose (issue 20).
     * A 32-bit worker cannot map that much.
     */
    ngx_conf_init_size_value(mcf->map_size, sizeof(void *) >= 8
                                            ? (size_t) 64 << 30
                                            : (size_t) 1 << 30);
    /* room kept for what frees room: 1/64 of the map, 512k to 64m (a
     * quarter of a map smaller than 2m) */
    if (mcf->reserve == NGX_CONF_UNSET_SIZE) {
        mcf->reserve = ngx_max(512 * 1024,
                               ngx_min(mcf->map_size / 64, 64 << 20));
        mcf->reserve = ngx_min(mcf->reserve, mcf->map_size / 4);
    }
    if (mcf->reserve >= mcf->map_size / 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the store's reserve= must be less than half its "
                           "size=");
        return NGX_CONF_ERROR;
    }
    core->reserve_bytes = mcf->reserve;
    ngx_conf_init_value(mcf->sync, 1);
    ngx_conf_init_msec_value(mcf->poll_timeout, 30000);
    ngx_conf_init_uint_value(mcf->polls_per_token, 8);
    if (mcf->polls_per_token == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_polls_per_token must be at least 1");
        return NGX_CONF_ERROR;
    }
    ngx_conf_init_msec_value(mcf->presence_timeout, 90000);
    ngx_conf_init_size_value(mcf->stream_buffer, 256 * 1024);
    ngx_conf_init_msec_value(mcf->first_reply_timeout, 5 * 60000);
    ngx_conf_init_msec_value(mcf->reply_timeout, 12 * 3600000);
    ngx_conf_init_msec_value(mcf->snooze_max, (ngx_msec_t) 30 * 86400000);
    ngx_conf_init_value(mcf->sticky, 0);
    ngx_conf_init_uint_value(mcf->auth_log_level, NGX_LOG_ERR);
    /* a token lives 12 h at most unless the operator says otherwise: a
     * leaked one is worth a shift, not a year */
    for (i = 0; i < SB_ROLE_COUNT; i++) {
        if (mcf->jwt.max_age[i] < 0) {
            mcf->jwt.max_age[i] = 12 * 3600;
        }
    }
    if (mcf->jwt_keys) {
        mcf->jwt.keys = mcf->jwt_keys->elts;
        mcf->jwt.n = mcf->jwt_keys->nelts;
    }
    ngx_conf_init_size_value(mcf->text_max, 4096);

    /* R22: six tries over about a minute by default (2s, 4s, 8s, 16s,
     * 32s); an attempt in flight is given two minutes before another */
    ngx_conf_init_value(mcf->deliver_attempts, 6);
    ngx_conf_init_value(mcf->deliver_concurrency, 32);
    if (mcf->deliver_concurrency < 1 || mcf->deliver_concurrency > 4096) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_deliver_concurrency must be 1-4096");
        return NGX_CONF_ERROR;
    }
    ngx_conf_init_msec_value(mcf->deliver_backoff, 2000);
    ngx_conf_init_msec_value(mcf->deliver_timeout, 120000);

    /* event webhooks: eight tries over about 20 minutes (5s, 10s, …,
     * 640s); a POST in flight is given a minute before another */
    ngx_conf_init_value(mcf->hook.attempts, 8);
    ngx_conf_init_msec_value(mcf->hook.backoff, 5000);
    ngx_conf_init_msec_value(mcf->hook.timeout, 60000);
    /* a week of a CRM's outage, 10,000 events a tenant, for a replay */
    ngx_conf_init_msec_value(mcf->hook.keep, (ngx_msec_t) 7 * 86400000);
    ngx_conf_init_value(mcf->hook.keep_max, 10000);
    if (mcf->hook.attempts < 1 || mcf->hook.backoff == 0
        || mcf->hook.timeout == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_event_webhook_attempts must be at "
                           "least 1, its backoff and timeout above 0");
        return NGX_CONF_ERROR;
    }
    /* an unsigned event could be forged by anyone who can reach the CRM */
    if (mcf->hook.uri.len && mcf->hook.secret.len < 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_event_webhook needs "
                           "switchboard_event_webhook_secret, 16 bytes or "
                           "more");
        return NGX_CONF_ERROR;
    }

    /* R21: Meta retries for up to 7 days */
    ngx_conf_init_msec_value(mcf->dedupe_window, (ngx_msec_t) 7 * 86400000);

    if (mcf->text_max == 0 || mcf->text_max > 65536) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_max_text must be 1 to 64k");
        return NGX_CONF_ERROR;
    }
    if (mcf->deliver_attempts < 1 || mcf->deliver_backoff == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_deliver_attempts must be at least 1 "
                           "and switchboard_deliver_backoff above 0");
        return NGX_CONF_ERROR;
    }
    /* a poll that outlives the presence timeout would look like absence */
    if (mcf->poll_timeout >= mcf->presence_timeout) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_poll_timeout must be shorter than "
                           "switchboard_presence_timeout");
        return NGX_CONF_ERROR;
    }
    /* 15 s, or less where presence is shorter */
    if (mcf->stream_heartbeat == NGX_CONF_UNSET_MSEC) {
        mcf->stream_heartbeat = ngx_min(15000, (mcf->presence_timeout
                                                - mcf->poll_timeout) / 2);
    }
    /* a stream writes presence at most every (presence - poll) / 2, checked
     * at its heartbeats: they must come often enough to keep it */
    if (mcf->stream_heartbeat == 0
        || mcf->stream_heartbeat
           > (mcf->presence_timeout - mcf->poll_timeout) / 2)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_stream_heartbeat must be above 0 and "
                           "at most half of switchboard_presence_timeout "
                           "minus switchboard_poll_timeout");
        return NGX_CONF_ERROR;
    }
    if (mcf->stream_buffer < 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_stream_buffer must be at least 1k");
        return NGX_CONF_ERROR;
    }

    core->first_reply_ms = (int64_t) mcf->first_reply_timeout;
    core->reply_ms = (int64_t) mcf->reply_timeout;
    core->snooze_max_ms = (int64_t) mcf->snooze_max;
    core->sticky = (int) mcf->sticky;
    core->text_max = mcf->text_max;
    core->deliver_attempts = mcf->deliver_attempts;
    core->deliver_backoff_ms = (int64_t) mcf->deliver_backoff;
    core->deliver_lease_ms = (int64_t) mcf->deliver_timeout;
    core->dedupe_ms = (int64_t) mcf->dedupe_window;
    core->hook_types = mcf->hook.types;
    core->hook_attempts = mcf->hook.attempts;
    core->hook_backoff_ms = (int64_t) mcf->hook.backoff;
    core->hook_lease_ms = (int64_t) mcf->hook.timeout;
    core->hook_keep_ms = (int64_t) mcf->hook.keep;
    core->hook_keep_max = (int64_t) mcf->hook.keep_max;
    core->presence_timeout_ms = (int64_t) mcf->presence_timeout;
    ngx_http_switchboard_seed_defaults(mcf);

    return NGX_CONF_OK;
}


static void *
ngx_http_switchboard_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_switchboard_loc_conf_t  *lcf;

    lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_switchboard_loc_conf_t));
    if (lcf == NULL) {
        return NULL;
    }

    /* kind is zero (NONE) unless a location names its API */
    lcf->tenant = NGX_CONF_UNSET_PTR;
    lcf->operator = NGX_CONF_UNSET;

    return lcf;
}


static char *
ngx_http_switchboard_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_switchboard_loc_conf_t   *prev = parent;
    ngx_http_switchboard_loc_conf_t   *conf = child;
    ngx_http_switchboard_main_conf_t  *mcf;

    ngx_conf_merge_str_value(conf->group, prev->group, "default");
    ngx_conf_merge_str_value(conf->webhook_secret, prev->webhook_secret, "");
    ngx_conf_merge_str_value(conf->verify_token, prev->verify_token, "");
    ngx_conf_merge_str_value(conf->public_url, prev->public_url, "");
    ngx_conf_merge_ptr_value(conf->tenant, prev->tenant, NULL);
    ngx_conf_merge_value(conf->operator, prev->operator, 0);

    if (!sb_valid_id((char *) conf->group.data, conf->group.len, 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid switchboard_group \"%V\"", &conf->group);
        return NGX_CONF_ERROR;
    }

    if (conf->kind == NGX_HTTP_SWITCHBOARD_NONE
        || conf->kind == NGX_HTTP_SWITCHBOARD_ERRORS)
    {
        return NGX_CONF_OK;
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_switchboard_module);
    if (conf->kind == NGX_HTTP_SWITCHBOARD_HEALTH
        || conf->kind == NGX_HTTP_SWITCHBOARD_METRICS)
    {
        if (mcf->store_path.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "switchboard_%s needs \"switchboard_store\" "
                               "at http level",
                               conf->kind == NGX_HTTP_SWITCHBOARD_HEALTH
                               ? "health" : "metrics");
            return NGX_CONF_ERROR;
        }

    } else if (conf->kind == NGX_HTTP_SWITCHBOARD_WEBHOOK) {
        if (mcf->store_path.len == 0 || conf->webhook_secret.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "a switchboard_webhook location needs "
                               "\"switchboard_store\" and its "
                               "\"switchboard_webhook_secret\"");
            return NGX_CONF_ERROR;
        }
        /* a provider that signs the URL it called: nginx cannot know it */
        if (sb_channel_ops(conf->channel)->signs_url
            && conf->public_url.len == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "a switchboard_webhook %s location needs "
                               "\"switchboard_public_url\"",
                               sb_channel_name(conf->channel));
            return NGX_CONF_ERROR;
        }
        /* R1: every message the provider sends must find a slot class,
         * or it would be acknowledged and then have nowhere to go */
        if (sb_class_of_channel(&mcf->core, conf->channel) < 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "a switchboard_webhook %s location needs a "
                               "\"switchboard_slot_class\" that takes %s",
                               sb_channel_name(conf->channel),
                               sb_channel_name(conf->channel));
            return NGX_CONF_ERROR;
        }

    } else if (mcf->store_path.len == 0 || mcf->jwt.n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard API locations need "
                           "\"switchboard_store\" and "
                           "\"switchboard_jwt_secret\" at http level");
        return NGX_CONF_ERROR;
    }

    /* client_max_body_size stays nginx's to enforce while it reads, for
     * Content-Length and chunked bodies alike; _errors.c makes its 413
     * (and its other errors) JSON */

    return NGX_CONF_OK;
}


/* The error filters; the metrics zone, where there is a store to count. */
static ngx_int_t
ngx_http_switchboard_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_switchboard_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_switchboard_module);
    if (mcf->store_path.len
        && ngx_http_switchboard_metrics_zone(cf) != NGX_OK)
    {
        return NGX_ERROR;
    }
    return ngx_http_switchboard_errors_init(cf);
}


static ngx_int_t
ngx_http_switchboard_add_variables(ngx_conf_t *cf)
{
    static const char  *names[] = { "account", "recipient", "reply_to" };
    ngx_http_variable_t  *v;
    ngx_str_t             name;
    ngx_uint_t            i;
    u_char               *p;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        p = ngx_pnalloc(cf->pool, 32);
        if (p == NULL) {
            return NGX_ERROR;
        }
        name.data = p;
        name.len = ngx_sprintf(p, "switchboard_%s", names[i]) - p;
        v = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
        if (v == NULL) {
            return NGX_ERROR;
        }
        v->get_handler = ngx_http_switchboard_deliver_variable;
        v->data = (uintptr_t) names[i];
    }
    return ngx_http_switchboard_log_variables(cf);
}


static ngx_http_switchboard_main_conf_t *
ngx_http_switchboard_cycle_conf(ngx_cycle_t *cycle)
{
    ngx_http_switchboard_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_switchboard_module);
    return (mcf && mcf->store_path.len) ? mcf : NULL;
}


/*
 * In the master, before fork: make the store directory, create the
 * databases once (and check the store's format), and hand the files to
 * the worker user. The environment is closed again: LMDB environments
 * must not cross fork.
 */
static ngx_int_t
ngx_http_switchboard_init_module(ngx_cycle_t *cycle)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_core_conf_t                   *ccf;
    sb_store_t                         st;
    u_char                             path[NGX_MAX_PATH];
    char                               err[512];
    const char                        *files[] = { "", "/data.mdb",
                                                   "/lock.mdb" };
    ngx_uint_t                         i;
    size_t                             indexed;
    int                                rc;

    mcf = ngx_http_switchboard_cycle_conf(cycle);
    if (mcf == NULL) {
        return NGX_OK;
    }
    if (mcf->store_path.len + 16 > NGX_MAX_PATH) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "store path too long");
        return NGX_ERROR;
    }

    ngx_snprintf(path, sizeof(path), "%V/%Z", &mcf->store_path);
    if (ngx_create_full_path(path, 0700) != 0 && ngx_errno != NGX_EEXIST) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "cannot create store directory \"%V\"",
                      &mcf->store_path);
        return NGX_ERROR;
    }

    ngx_memzero(&st, sizeof(st));
    st.cfg = &mcf->core;
    ngx_snprintf(path, sizeof(path), "%V%Z", &mcf->store_path);
    if (sb_store_open(&st, (char *) path, mcf->map_size, !mcf->sync, err,
                      sizeof(err)) != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "cannot open store \"%V\": %s", &mcf->store_path, err);
        return NGX_ERROR;
    }
    /* a store from before the visitors' index gets it (issue 20) */
    rc = sb_visits_index(&st, &indexed);
    if (rc) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "cannot index the visitors of store \"%V\": %s",
                      &mcf->store_path, mdb_strerror(rc));
        sb_store_close(&st);
        return NGX_ERROR;
    }
    if (indexed) {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "store \"%V\": %uz conversations indexed by visitor",
                      &mcf->store_path, indexed);
    }
    sb_store_close(&st);

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);
    if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            ngx_snprintf(path, sizeof(path), "%V%s%Z", &mcf->store_path,
                         files[i]);
            if (chown((char *) path, ccf->user, ccf->group) == -1) {
                ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                              "chown(\"%s\") failed", path);
                return NGX_ERROR;
            }
        }
    }

    return ngx_http_switchboard_wake_create(cycle, &mcf->store_path);
}


static ngx_int_t
ngx_http_switchboard_init_process(ngx_cycle_t *cycle)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    u_char                             path[NGX_MAX_PATH];
    char                               err[512];

    mcf = ngx_http_switchboard_cycle_conf(cycle);
    if (mcf == NULL || ngx_process == NGX_PROCESS_HELPER) {
        return NGX_OK;
    }

    ngx_http_switchboard_store.cfg = &mcf->core;
    ngx_snprintf(path, sizeof(path), "%V%Z", &mcf->store_path);
    if (sb_store_open(&ngx_http_switchboard_store, (char *) path,
                      mcf->map_size, !mcf->sync, err, sizeof(err))
        != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "cannot open store \"%V\": %s", &mcf->store_path, err);
        return NGX_ERROR;
    }

    /* the write path first: the others register their hooks on it */
    if (ngx_http_switchboard_commit_init(cycle) != NGX_OK
        || ngx_http_switchboard_metrics_init(cycle) != NGX_OK
        || ngx_http_switchboard_wake_listen(cycle, &mcf->store_path)
           != NGX_OK
        || ngx_http_switchboard_poll_init(cycle) != NGX_OK
        || ngx_http_switchboard_reconcile_init(cycle,
                                               mcf->poll_timeout + 5000)
           != NGX_OK
        || ngx_http_switchboard_timer_init(cycle) != NGX_OK
        || ngx_http_switchboard_deliver_init(cycle) != NGX_OK
        || ngx_http_switchboard_outbox_init(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_switchboard_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_switchboard_wake_exit();
    ngx_http_switchboard_read_close();
    sb_store_close(&ngx_http_switchboard_store);
}


void
ngx_http_switchboard_event_init(ngx_event_t *ev, ngx_event_handler_pt handler,
    void *data, ngx_log_t *log, ngx_uint_t cancelable)
{
    ev->handler = handler;
    ev->data = data ? data : &ngx_http_switchboard_no_connection;
    ev->log = log;
    ev->cancelable = cancelable;
}
