/* Switchboard's core, as the nginx glue sees it: typed commands and their
 * batch, the channel table, the JSON edge and the reads. Nothing here
 * includes an nginx header. */

#ifndef SB_CORE_H
#define SB_CORE_H

#include "edge/sb_edge.h"
#include "channels/sb_channels.h"

#endif
