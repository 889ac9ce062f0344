/* The names the API and nginx.conf use for the core's enums, both ways:
 * channels, states, statuses, reasons, delivery states, capabilities. */

#include "util/sb_util.h"

#define SB_NELTS(a)  (sizeof(a) / sizeof((a)[0]))


static int
sb_name_index(const char *const *names, size_t n, const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (names[i] && strlen(names[i]) == len
            && memcmp(names[i], s, len) == 0)
        {
            return (int) i;
        }
    }
    return -1;
}


static const char *const  sb_channels[SB_CH_COUNT] = {
    "whatsapp", "messenger", "instagram", "facebook", "twitter", "sms",
    "mobile", "chat"
};

static const char *const  sb_states[SB_STATE_COUNT] = {
    "new", "queued", "assigned", "snoozed", "released", "ended"
};

static const char *const  sb_statuses[SB_STATUS_COUNT] = {
    "green", "orange", "red"
};

static const char *const  sb_whys[SB_WHY_COUNT] = {
    NULL, "agent", "auto_close", "blocked", "snoozed", "released",
    "first_reply_timeout", "reply_timeout", "transferred", "agent_removed",
    "erased"
};

static const char *const  sb_hooks[SB_HOOK_COUNT] = {
    "conversation.created", "conversation.assigned",
    "conversation.unassigned", "conversation.transferred",
    "conversation.snoozed", "conversation.woke", "conversation.released",
    "conversation.ended", "message.created", "message.failed",
    "agent.status_changed", "visitor.erased"
};

static const char *const  sb_deliveries[] = {
    NULL, "pending", "sent", "delivered", "read", "failed"
};

static const char *const  sb_caps[SB_CAP_COUNT] = {
    "canned", "block", "emoji", "tags", "attachments", "offers", "transfer"
};


const char *
sb_channel_name(int ch)
{
    return (ch >= 0 && ch < SB_CH_COUNT) ? sb_channels[ch] : "?";
}


int
sb_channel_parse(const char *s, size_t len)
{
    return sb_name_index(sb_channels, SB_CH_COUNT, s, len);
}


const char *
sb_state_name(int state)
{
    return (state >= 0 && state < SB_STATE_COUNT) ? sb_states[state] : "?";
}


/* "new" is a conversation's state only inside the transaction that
 * makes it, never one to ask for */
int
sb_state_parse(const char *s, size_t len)
{
    int  i = sb_name_index(sb_states, SB_STATE_COUNT, s, len);

    return i == SB_STATE_NEW ? -1 : i;
}


const char *
sb_status_name(int status)
{
    return (status >= 0 && status < SB_STATUS_COUNT) ? sb_statuses[status]
                                                     : "?";
}


const char *
sb_why_name(int why)
{
    return (why > 0 && why < SB_WHY_COUNT) ? sb_whys[why] : NULL;
}


const char *
sb_delivery_name(int state)
{
    return (state > 0 && (size_t) state < SB_NELTS(sb_deliveries))
           ? sb_deliveries[state] : NULL;
}


const char *
sb_cap_name(unsigned cap)
{
    int  i;

    for (i = 0; i < SB_CAP_COUNT; i++) {
        if (cap == (1u << i)) {
            return sb_caps[i];
        }
    }
    return "?";
}


unsigned
sb_cap_parse(const char *s, size_t len)
{
    int  i = sb_name_index(sb_caps, SB_CAP_COUNT, s, len);

    return i < 0 ? 0 : 1u << i;
}


int
sb_class_of_channel(const sb_config_t *cfg, int channel)
{
    int  i;

    for (i = 0; i < cfg->nclasses; i++) {
        if (cfg->classes[i].channels & (1u << channel)) {
            return i;
        }
    }
    return -1;
}


int
sb_class_find(const sb_config_t *cfg, const char *name, size_t len)
{
    int  i;

    for (i = 0; i < cfg->nclasses; i++) {
        if (strlen(cfg->classes[i].name) == len
            && memcmp(cfg->classes[i].name, name, len) == 0)
        {
            return i;
        }
    }
    return -1;
}


const char *
sb_hook_name(int type)
{
    return type >= 0 && type < SB_HOOK_COUNT ? sb_hooks[type] : NULL;
}


/* An event type as nginx.conf names it; "conversation.*" and the like
 * name a family, "all" every one: the bits, or 0 when unknown. */
unsigned
sb_hook_parse(const char *s, size_t len)
{
    unsigned  bits = 0;
    size_t    i, n;
    int       one;

    if (len == 3 && memcmp(s, "all", 3) == 0) {
        return (1u << SB_HOOK_COUNT) - 1;
    }
    if (len > 2 && s[len - 2] == '.' && s[len - 1] == '*') {
        n = len - 1;                       /* "conversation." */
        for (i = 0; i < SB_HOOK_COUNT; i++) {
            if (strncmp(sb_hooks[i], s, n) == 0) {
                bits |= 1u << i;
            }
        }
        return bits;
    }
    one = sb_name_index(sb_hooks, SB_NELTS(sb_hooks), s, len);
    return one < 0 ? 0 : 1u << one;
}


/* a command's name, for the metrics */
const char *
sb_cmd_name(int type)
{
    static const char  *names[SB_CMD_COUNT] = {
        "visitor_message", "webhook", "agent_message", "end", "snooze",
        "release", "transfer", "tags", "block", "availability", "seen",
        "put_agent", "delete_agent", "put_group", "delete_group",
        "put_canned", "delete_canned", "unblock", "fire", "delivered",
        "purge", "hook_sent", "hook_replay", "pause", "resume",
        "reconcile", "put_account", "delete_account", "erase_visitor"
    };

    return type >= 0 && type < SB_CMD_COUNT ? names[type] : "?";
}
