/* The first-party channels (R23): the in-app mobile SDK and web chat come
 * through the visitor API, not a webhook; they have no provider limit and
 * nothing to deliver. Mobile's default capabilities are the seeds'. */

#include "channels/sb_channels.h"


const sb_channel_ops_t  sb_mobile_ops = {
    SB_CH_MOBILE, 0, 0,
    SB_CAP_CANNED | SB_CAP_BLOCK | SB_CAP_EMOJI | SB_CAP_TAGS,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

const sb_channel_ops_t  sb_chat_ops = {
    SB_CH_CHAT, 0, 0, SB_CAP_ALL,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};
