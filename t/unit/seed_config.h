/* The seeds' configuration for the C tests and the fuzz targets: chat 3,
 * mobile 2, messaging 3, and the defaults of conf/switchboard.conf. */

#ifndef SB_SEED_CONFIG_H
#define SB_SEED_CONFIG_H

#include <stdio.h>

#include "sb_core.h"

static __attribute__((unused)) void
sb_seed_config(sb_config_t *cfg)
{
    int  ch;

    cfg->nclasses = 3;
    snprintf(cfg->classes[0].name, SB_ID_MAX, "chat");
    cfg->classes[0].capacity = 3;
    cfg->classes[0].channels = 1u << SB_CH_CHAT;
    snprintf(cfg->classes[1].name, SB_ID_MAX, "mobile");
    cfg->classes[1].capacity = 2;
    cfg->classes[1].channels = 1u << SB_CH_MOBILE;
    snprintf(cfg->classes[2].name, SB_ID_MAX, "messaging");
    cfg->classes[2].capacity = 3;
    cfg->classes[2].channels = (1u << SB_CH_MOBILE) - 1;
    cfg->presence_timeout_ms = 90000;
    cfg->first_reply_ms = 300000;
    cfg->reply_ms = 43200000;
    cfg->snooze_max_ms = 30LL * 86400000;
    cfg->text_max = 4096;
    cfg->deliver_attempts = 6;
    cfg->deliver_backoff_ms = 2000;
    cfg->deliver_lease_ms = 120000;
    cfg->dedupe_ms = 7LL * 86400000;
    cfg->hook_keep_ms = 7LL * 86400000;        /* the module's defaults */
    cfg->hook_keep_max = 10000;
    for (ch = 0; ch < SB_CH_COUNT; ch++) {
        cfg->caps[ch] = SB_CAP_ALL;
    }
}

#endif
