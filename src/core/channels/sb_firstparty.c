/* The first-party channels (R23): the in-app mobile SDK and web chat come
 * through the visitor API, not a webhook; they have no provider limit and
 * nothing to deliver. Mobile's capabilities and auto-close are the seeds'. */

#include "channels/sb_channels.h"


const sb_channel_ops_t  sb_mobile_ops = {
    .channel = SB_CH_MOBILE,
    .default_caps = SB_CAP_CANNED | SB_CAP_BLOCK | SB_CAP_EMOJI | SB_CAP_TAGS,
    .default_class = "mobile",
    .default_auto_close_ms = 7 * 86400000LL
};

const sb_channel_ops_t  sb_chat_ops = {
    .channel = SB_CH_CHAT,
    .default_caps = SB_CAP_ALL,
    .default_class = "chat"
};
