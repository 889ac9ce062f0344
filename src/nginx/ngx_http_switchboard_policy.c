/* The contact centre's policy directives (slot classes, snooze presets,
 * auto-close, capabilities, retention) and the seeds' defaults where none
 * is given. */

#include "ngx_http_switchboard.h"


/* The seeds' slot classes; each channel names its own in the channels
 * table. */
static const struct {
    const char  *name;
    int          capacity;
} ngx_http_switchboard_seed_classes[] = {
    { "chat", 3 }, { "mobile", 2 }, { "messaging", 3 }
};


static void
ngx_http_switchboard_default_classes(sb_config_t *core)
{
    sb_class_t  *c;
    ngx_uint_t   i;
    int          ch;

    for (i = 0; i < sizeof(ngx_http_switchboard_seed_classes)
                    / sizeof(ngx_http_switchboard_seed_classes[0]); i++)
    {
        c = &core->classes[core->nclasses++];
        ngx_cpystrn((u_char *) c->name,
                    (u_char *) ngx_http_switchboard_seed_classes[i].name,
                    sizeof(c->name));
        c->capacity = ngx_http_switchboard_seed_classes[i].capacity;
        c->channels = 0;
        for (ch = 0; ch < SB_CH_COUNT; ch++) {
            if (ngx_strcmp(sb_channel_ops(ch)->default_class, c->name) == 0) {
                c->channels |= 1u << ch;
            }
        }
    }
}


/* the seeds: chat 3, mobile 2, third-party messaging apps 3; mobile
 * closes after 7 days (the channels table says which channel does what);
 * presets 3h and 1d */
void
ngx_http_switchboard_seed_defaults(ngx_http_switchboard_main_conf_t *mcf)
{
    sb_config_t  *core = &mcf->core;
    int           i;

    for (i = 0; i < SB_CH_COUNT; i++) {
        if (!(mcf->caps_set & (1u << i))) {
            core->caps[i] = sb_channel_ops(i)->default_caps;
        }
        if (core->auto_close_ms[i] < 0) {
            core->auto_close_ms[i] = sb_channel_ops(i)->default_auto_close_ms;
        }
        /* a channel no retention line named takes the line without
         * channels; without one, everything is kept (issue 20) */
        if (core->retention_ms[i] < 0) {
            core->retention_ms[i] = mcf->retention > 0 ? mcf->retention : 0;
        }
    }
    if (core->ledger_retention_ms < 0) {
        core->ledger_retention_ms = 0;
    }
    if (core->npresets == 0) {
        ngx_cpystrn((u_char *) core->presets[0].label, (u_char *) "3h", 16);
        core->presets[0].ms = 3 * 3600000LL;
        ngx_cpystrn((u_char *) core->presets[1].label, (u_char *) "1d", 16);
        core->presets[1].ms = 86400000LL;
        core->npresets = 2;
    }
    if (!mcf->classes_set) {
        ngx_http_switchboard_default_classes(core);
    }
}


/* A channel's name as a directive's argument, or -1 (logged). */
static ngx_int_t
ngx_http_switchboard_channel_arg(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_int_t  ch = sb_channel_parse((char *) name->data, name->len);

    if (ch < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "unknown channel \"%V\"",
                           name);
    }
    return ch;
}


char *
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
        ch = ngx_http_switchboard_channel_arg(cf, &value[i]);
        if (ch < 0) {
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


char *
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


char *
ngx_http_switchboard_auto_close(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value = cf->args->elts;
    ngx_int_t                          ch, ms;

    ch = ngx_http_switchboard_channel_arg(cf, &value[1]);
    if (ch < 0) {
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


/* "off": 0; a time above 0 (ms, whole seconds); else -1, the error
 * logged */
static ngx_int_t
ngx_http_switchboard_keep_time(ngx_conf_t *cf, ngx_str_t *v)
{
    ngx_int_t  ms;

    if (ngx_strcmp(v->data, "off") == 0) {
        return 0;
    }
    /* in seconds, so that "1y" is taken as nginx takes it elsewhere */
    ms = ngx_parse_time(v, 1);
    if (ms == NGX_ERROR || ms == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid retention \"%V\": a time above 0, or "
                           "off", v);
        return -1;
    }
    return ms * 1000;
}


/*
 * switchboard_retention TIME|off [CHANNEL...]; ended conversations older
 * than TIME are deleted whole. Without channels it is every channel that
 * no other line names.
 */
char *
ngx_http_switchboard_retention(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value = cf->args->elts;
    ngx_int_t                          ms, ch;
    ngx_uint_t                         i;

    ms = ngx_http_switchboard_keep_time(cf, &value[1]);
    if (ms < 0) {
        return NGX_CONF_ERROR;
    }
    if (cf->args->nelts == 2) {
        if (mcf->retention != NGX_CONF_UNSET) {
            return "is duplicate without channels";
        }
        mcf->retention = ms;
        return NGX_CONF_OK;
    }
    for (i = 2; i < cf->args->nelts; i++) {
        ch = ngx_http_switchboard_channel_arg(cf, &value[i]);
        if (ch < 0) {
            return NGX_CONF_ERROR;
        }
        if (mcf->core.retention_ms[ch] >= 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "switchboard_retention is duplicate for "
                               "\"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }
        mcf->core.retention_ms[ch] = ms;
    }
    return NGX_CONF_OK;
}


/* switchboard_ledger_retention TIME|off; the ledger's lines (R19) are
 * kept unless this says how long */
char *
ngx_http_switchboard_ledger_retention(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value = cf->args->elts;
    ngx_int_t                          ms;

    if (mcf->core.ledger_retention_ms >= 0) {
        return "is duplicate";
    }
    ms = ngx_http_switchboard_keep_time(cf, &value[1]);
    if (ms < 0) {
        return NGX_CONF_ERROR;
    }
    mcf->core.ledger_retention_ms = ms;
    return NGX_CONF_OK;
}


/* switchboard_capabilities CHANNEL none | CAP...; replaces its row. */
char *
ngx_http_switchboard_capabilities(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_switchboard_main_conf_t  *mcf = conf;
    ngx_str_t                         *value = cf->args->elts;
    ngx_uint_t                         i;
    ngx_int_t                          ch;
    unsigned                           cap, caps = 0;

    ch = ngx_http_switchboard_channel_arg(cf, &value[1]);
    if (ch < 0) {
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
