/* Switchboard module definition: directives, configuration defaults and
 * checks, and the store's life cycle around fork (master vs workers). */

#include "ngx_http_switchboard.h"


static void *ngx_http_switchboard_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_switchboard_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_switchboard_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_switchboard_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_switchboard_store_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_jwt_secret(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_webhook_secret(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_read_secret(ngx_conf_t *cf,
    ngx_str_t *name, ssize_t min, ngx_str_t *out);
static char *ngx_http_switchboard_slot_class(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_switchboard_snooze_presets(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_auto_close(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_capabilities(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_switchboard_webhook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_switchboard_deliver_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_switchboard_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_switchboard_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_switchboard_init_process(ngx_cycle_t *cycle);
static void ngx_http_switchboard_exit_process(ngx_cycle_t *cycle);


sb_store_t  ngx_http_switchboard_store;


static ngx_command_t  ngx_http_switchboard_commands[] = {

    { ngx_string("switchboard_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE123,
      ngx_http_switchboard_store_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("switchboard_jwt_secret"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_switchboard_jwt_secret,
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
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_switchboard_loc_conf_t, tenant),
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
      ngx_http_switchboard_webhook_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_switchboard_loc_conf_t, webhook_secret),
      NULL },

    { ngx_string("switchboard_verify_token"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
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

    { ngx_string("switchboard_dedupe_window"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_switchboard_main_conf_t, dedupe_window),
      NULL },

    { ngx_string("switchboard_admin_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_switchboard_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_SWITCHBOARD_ADMIN,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_switchboard_module_ctx = {
    ngx_http_switchboard_add_variables,    /* preconfiguration */
    NULL,                                  /* postconfiguration */

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
    mcf->sync = NGX_CONF_UNSET;
    mcf->poll_timeout = NGX_CONF_UNSET_MSEC;
    mcf->presence_timeout = NGX_CONF_UNSET_MSEC;
    mcf->first_reply_timeout = NGX_CONF_UNSET_MSEC;
    mcf->reply_timeout = NGX_CONF_UNSET_MSEC;
    mcf->snooze_max = NGX_CONF_UNSET_MSEC;
    mcf->sticky = NGX_CONF_UNSET;
    mcf->text_max = NGX_CONF_UNSET_SIZE;
    mcf->deliver_attempts = NGX_CONF_UNSET;
    mcf->deliver_backoff = NGX_CONF_UNSET_MSEC;
    mcf->deliver_timeout = NGX_CONF_UNSET_MSEC;
    mcf->dedupe_window = NGX_CONF_UNSET_MSEC;
    for (i = 0; i < SB_CH_COUNT; i++) {
        mcf->core.auto_close_ms[i] = -1;
    }

    return mcf;
}


static void
ngx_http_switchboard_default_class(sb_config_t *core, const char *name,
    int capacity, unsigned channels)
{
    sb_class_t  *c = &core->classes[core->nclasses++];

    ngx_cpystrn((u_char *) c->name, (u_char *) name, sizeof(c->name));
    c->capacity = capacity;
    c->channels = channels;
}


static char *
ngx_http_switchboard_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    sb_config_t                       *core = &mcf->core;
    int                                i;

    ngx_conf_init_size_value(mcf->map_size, 1024 * 1024 * 1024);
    ngx_conf_init_msec_value(mcf->first_reply_timeout, 5 * 60000);
    ngx_conf_init_msec_value(mcf->reply_timeout, 12 * 3600000);
    ngx_conf_init_msec_value(mcf->snooze_max, (ngx_msec_t) 30 * 86400000);
    ngx_conf_init_value(mcf->sticky, 0);

    core->first_reply_ms = (int64_t) mcf->first_reply_timeout;
    core->reply_ms = (int64_t) mcf->reply_timeout;
    core->snooze_max_ms = (int64_t) mcf->snooze_max;
    core->sticky = (int) mcf->sticky;

    ngx_conf_init_size_value(mcf->text_max, 4096);
    if (mcf->text_max == 0 || mcf->text_max > 65536) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_max_text must be 1 to 64k");
        return NGX_CONF_ERROR;
    }
    core->text_max = mcf->text_max;

    /* R22: six tries over about a minute by default (2s, 4s, 8s, 16s,
     * 32s); an attempt in flight is given two minutes before another */
    ngx_conf_init_value(mcf->deliver_attempts, 6);
    ngx_conf_init_msec_value(mcf->deliver_backoff, 2000);
    ngx_conf_init_msec_value(mcf->deliver_timeout, 120000);
    if (mcf->deliver_attempts < 1 || mcf->deliver_backoff == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_deliver_attempts must be at least 1 "
                           "and switchboard_deliver_backoff above 0");
        return NGX_CONF_ERROR;
    }
    core->deliver_attempts = mcf->deliver_attempts;
    core->deliver_backoff_ms = (int64_t) mcf->deliver_backoff;
    core->deliver_lease_ms = (int64_t) mcf->deliver_timeout;

    /* R21: Meta retries for up to 7 days */
    ngx_conf_init_msec_value(mcf->dedupe_window, (ngx_msec_t) 7 * 86400000);
    core->dedupe_ms = (int64_t) mcf->dedupe_window;

    /* R12, the seeds: mobile has canned responses, blocking, emoji and
     * tags; no attachments, offers or transfer. Others have everything. */
    for (i = 0; i < SB_CH_COUNT; i++) {
        if (!(mcf->caps_set & (1u << i))) {
            core->caps[i] = (i == SB_CH_MOBILE)
                            ? SB_CAP_CANNED | SB_CAP_BLOCK | SB_CAP_EMOJI
                              | SB_CAP_TAGS
                            : SB_CAP_ALL;
        }
    }

    /* the seeds: mobile closes after 7 days, third-party channels never */
    for (i = 0; i < SB_CH_COUNT; i++) {
        if (core->auto_close_ms[i] < 0) {
            core->auto_close_ms[i] = (i == SB_CH_MOBILE) ? 7 * 86400000LL : 0;
        }
    }
    if (core->npresets == 0) {
        ngx_cpystrn((u_char *) core->presets[0].label, (u_char *) "3h", 16);
        core->presets[0].ms = 3 * 3600000LL;
        ngx_cpystrn((u_char *) core->presets[1].label, (u_char *) "1d", 16);
        core->presets[1].ms = 86400000LL;
        core->npresets = 2;
    }
    ngx_conf_init_value(mcf->sync, 1);
    ngx_conf_init_msec_value(mcf->poll_timeout, 30000);
    ngx_conf_init_msec_value(mcf->presence_timeout, 90000);

    if (!mcf->classes_set) {
        /* the seeds: chat 3, mobile 2, third-party messaging apps 3 */
        ngx_http_switchboard_default_class(&mcf->core, "chat", 3,
                                           1u << SB_CH_CHAT);
        ngx_http_switchboard_default_class(&mcf->core, "mobile", 2,
                                           1u << SB_CH_MOBILE);
        ngx_http_switchboard_default_class(&mcf->core, "messaging", 3,
            (1u << SB_CH_WHATSAPP) | (1u << SB_CH_MESSENGER)
            | (1u << SB_CH_INSTAGRAM) | (1u << SB_CH_FACEBOOK)
            | (1u << SB_CH_TWITTER) | (1u << SB_CH_SMS));
    }

    /* a poll that outlives the presence timeout would look like absence */
    if (mcf->poll_timeout >= mcf->presence_timeout) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard_poll_timeout must be shorter than "
                           "switchboard_presence_timeout");
        return NGX_CONF_ERROR;
    }
    mcf->core.presence_timeout_ms = (int64_t) mcf->presence_timeout;

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
    lcf->max_body = NGX_CONF_UNSET;

    return lcf;
}


static char *
ngx_http_switchboard_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_switchboard_loc_conf_t   *prev = parent;
    ngx_http_switchboard_loc_conf_t   *conf = child;
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_http_core_loc_conf_t          *clcf;

    ngx_conf_merge_str_value(conf->group, prev->group, "default");
    ngx_conf_merge_str_value(conf->webhook_secret, prev->webhook_secret, "");
    ngx_conf_merge_str_value(conf->verify_token, prev->verify_token, "");
    ngx_conf_merge_str_value(conf->public_url, prev->public_url, "");
    ngx_conf_merge_ptr_value(conf->tenant, prev->tenant, NULL);

    if (!sb_valid_id((char *) conf->group.data, conf->group.len, 0)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid switchboard_group \"%V\"", &conf->group);
        return NGX_CONF_ERROR;
    }

    if (conf->kind == NGX_HTTP_SWITCHBOARD_NONE) {
        return NGX_CONF_OK;
    }

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_switchboard_module);
    if (conf->kind == NGX_HTTP_SWITCHBOARD_WEBHOOK) {
        if (mcf->store_path.len == 0 || conf->webhook_secret.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "a switchboard_webhook location needs "
                               "\"switchboard_store\" and its "
                               "\"switchboard_webhook_secret\"");
            return NGX_CONF_ERROR;
        }
        /* Twilio signs the URL it called, which nginx cannot know */
        if (conf->channel == SB_CH_SMS && conf->public_url.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "a switchboard_webhook sms location needs "
                               "\"switchboard_public_url\"");
            return NGX_CONF_ERROR;
        }

    } else if (mcf->store_path.len == 0 || mcf->jwt_secret.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "switchboard API locations need "
                           "\"switchboard_store\" and "
                           "\"switchboard_jwt_secret\" at http level");
        return NGX_CONF_ERROR;
    }

    /*
     * The core module has merged this location already: its
     * client_max_body_size becomes our limit, and nginx's own check is
     * switched off here so that a too large body gets a JSON 413.
     */
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    conf->max_body = clcf->client_max_body_size;
    clcf->client_max_body_size = 0;

    return NGX_CONF_OK;
}


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
    clcf->handler = ngx_http_switchboard_handler;

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
    if (ch < 0 || ch == SB_CH_MOBILE || ch == SB_CH_CHAT) {
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
    if (ch < 0 || ch == SB_CH_MOBILE || ch == SB_CH_CHAT) {
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
    return NGX_OK;
}


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


static char *
ngx_http_switchboard_jwt_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value = cf->args->elts;

    if (mcf->jwt_secret.len) {
        return "is duplicate";
    }
    return ngx_http_switchboard_read_secret(cf, &value[1], 16,
                                            &mcf->jwt_secret);
}


/* switchboard_webhook_secret VALUE | file:PATH (kept out of nginx.conf) */
static char *
ngx_http_switchboard_webhook_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_loc_conf_t  *lcf = conf;
    ngx_str_t                        *value = cf->args->elts, path;

    if (lcf->webhook_secret.data) {
        return "is duplicate";
    }
    if (value[1].len > 5 && ngx_strncmp(value[1].data, "file:", 5) == 0) {
        path.data = value[1].data + 5;
        path.len = value[1].len - 5;
        return ngx_http_switchboard_read_secret(cf, &path, 1,
                                                &lcf->webhook_secret);
    }
    lcf->webhook_secret = value[1];
    return NGX_CONF_OK;
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


static char *
ngx_http_switchboard_slot_class(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_int_t                          capacity, ch;
    sb_class_t                        *c;
    int                                k;

    value = cf->args->elts;

    if (!mcf->classes_set) {
        mcf->classes_set = 1;
        mcf->core.nclasses = 0;
    }
    if (mcf->core.nclasses == SB_MAX_CLASSES) {
        return "has too many classes";
    }
    if (!sb_valid_id((char *) value[1].data, value[1].len, 0)
        || ngx_strcmp(value[1].data, "all") == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid slot class name \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }
    if (sb_class_find(&mcf->core, (char *) value[1].data, value[1].len)
        >= 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "slot class \"%V\" is defined twice", &value[1]);
        return NGX_CONF_ERROR;
    }

    capacity = ngx_atoi(value[2].data, value[2].len);
    if (capacity == NGX_ERROR || capacity > 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid capacity \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }
    if (cf->args->nelts < 4) {
        return "needs at least one channel";
    }

    c = &mcf->core.classes[mcf->core.nclasses];
    ngx_cpystrn((u_char *) c->name, value[1].data, sizeof(c->name));
    c->capacity = (int) capacity;
    c->channels = 0;

    for (i = 3; i < cf->args->nelts; i++) {
        ch = sb_channel_parse((char *) value[i].data, value[i].len);
        if (ch < 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown channel \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }
        k = sb_class_of_channel(&mcf->core, (int) ch);
        if (k >= 0 || (c->channels & (1u << ch))) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "channel \"%V\" is already in a slot class",
                               &value[i]);
            return NGX_CONF_ERROR;
        }
        c->channels |= 1u << ch;
    }
    mcf->core.nclasses++;

    return NGX_CONF_OK;
}


static char *
ngx_http_switchboard_snooze_presets(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value = cf->args->elts;
    ngx_uint_t                         i;
    ngx_int_t                          ms;
    sb_preset_t                       *p;

    if (mcf->core.npresets) {
        return "is duplicate";
    }
    if (cf->args->nelts - 1 > SB_MAX_PRESETS) {
        return "has too many presets";
    }
    for (i = 1; i < cf->args->nelts; i++) {
        ms = ngx_parse_time(&value[i], 0);
        if (ms == NGX_ERROR || ms == 0 || value[i].len >= sizeof(p->label)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid snooze preset \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }
        p = &mcf->core.presets[mcf->core.npresets++];
        ngx_cpystrn((u_char *) p->label, value[i].data, value[i].len + 1);
        p->ms = ms;
    }
    return NGX_CONF_OK;
}


static char *
ngx_http_switchboard_auto_close(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value = cf->args->elts;
    ngx_int_t                          ch, ms;

    ch = sb_channel_parse((char *) value[1].data, value[1].len);
    if (ch < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "unknown channel \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }
    if (mcf->core.auto_close_ms[ch] >= 0) {
        return "is duplicate for this channel";
    }
    if (ngx_strcmp(value[2].data, "off") == 0) {
        mcf->core.auto_close_ms[ch] = 0;
        return NGX_CONF_OK;
    }
    ms = ngx_parse_time(&value[2], 0);
    if (ms == NGX_ERROR || ms == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid auto-close time \"%V\"", &value[2]);
        return NGX_CONF_ERROR;
    }
    mcf->core.auto_close_ms[ch] = ms;
    return NGX_CONF_OK;
}


/* switchboard_capabilities CHANNEL none | CAP...; replaces its row. */
static char *
ngx_http_switchboard_capabilities(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value = cf->args->elts;
    ngx_uint_t                         i;
    ngx_int_t                          ch;
    unsigned                           cap, caps = 0;

    ch = sb_channel_parse((char *) value[1].data, value[1].len);
    if (ch < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "unknown channel \"%V\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }
    if (mcf->caps_set & (1u << ch)) {
        return "is duplicate for this channel";
    }
    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_strcmp(value[i].data, "none") == 0 && cf->args->nelts == 3) {
            break;
        }
        cap = sb_cap_parse((char *) value[i].data, value[i].len);
        if (cap == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown capability \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }
        caps |= cap;
    }
    mcf->caps_set |= 1u << ch;
    mcf->core.caps[ch] = caps;
    return NGX_CONF_OK;
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
 * databases once, and hand the files to the worker user. The environment
 * is closed again: LMDB environments must not cross fork.
 */
static ngx_int_t
ngx_http_switchboard_init_module(ngx_cycle_t *cycle)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_core_conf_t                   *ccf;
    sb_store_t                         st;
    u_char                             path[NGX_MAX_PATH];
    char                               err[256];
    const char                        *files[] = { "", "/data.mdb",
                                                   "/lock.mdb" };
    ngx_uint_t                         i;

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

    return ngx_http_switchboard_wake_create(cycle);
}


static ngx_int_t
ngx_http_switchboard_init_process(ngx_cycle_t *cycle)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    u_char                             path[NGX_MAX_PATH];
    char                               err[256];

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

    if (ngx_http_switchboard_commit_init(cycle) != NGX_OK
        || ngx_http_switchboard_wake_listen(cycle) != NGX_OK
        || ngx_http_switchboard_poll_init(cycle) != NGX_OK
        || ngx_http_switchboard_timer_init(cycle) != NGX_OK
        || ngx_http_switchboard_purge_init(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_switchboard_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_switchboard_read_close();
    sb_store_close(&ngx_http_switchboard_store);
}
