/* What the fuzz targets share: the seeds' configuration (as the unit
 * tests use it), a NUL-ended copy of the input, and a check that aborts. */

#ifndef SB_FUZZ_H
#define SB_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "sb_core.h"
#include "edge/sb_edge.h"
#include "channels/sb_channels.h"
#include "../unit/seed_config.h"

#define SB_FUZZ_HELPER  static __attribute__((unused))

/* a property that must hold: a finding when it does not */
#define SB_FUZZ_CHECK(cond)                                                 \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                        \
        }                                                                   \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* The seeds' slot classes, with two snooze presets. */
SB_FUZZ_HELPER const sb_config_t *
sb_fuzz_config(void)
{
    static sb_config_t  cfg;
    static int          ready;

    if (!ready) {
        ready = 1;
        sb_seed_config(&cfg);
        cfg.npresets = 2;
        snprintf(cfg.presets[0].label, sizeof(cfg.presets[0].label), "3h");
        cfg.presets[0].ms = 3 * 3600000;
        snprintf(cfg.presets[1].label, sizeof(cfg.presets[1].label), "1d");
        cfg.presets[1].ms = 86400000;
    }
    return &cfg;
}


/* The input as a malloc'd C string, so that a read past its end is an
 * ASan finding and the parsers that want a NUL get one. */
SB_FUZZ_HELPER char *
sb_fuzz_string(const uint8_t *data, size_t size)
{
    char  *s = malloc(size + 1);

    if (s == NULL) {
        abort();
    }
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}


/* An answer's body must be JSON (RFC 8259, as jansson reads it: a
 * "\u0000" the core's strict input reader refuses is still JSON). */
SB_FUZZ_HELPER void
sb_fuzz_answer_ok(sb_answer_t *ans)
{
    json_error_t  e;
    json_t       *j;

    if (ans->body && ans->content_type == NULL) {
        j = json_loadb(ans->body, ans->len, JSON_ALLOW_NUL | JSON_DECODE_ANY,
                       &e);
        if (j == NULL) {
            fprintf(stderr, "not JSON (%s at %d): %.*s\n", e.text,
                    e.position, (int) ans->len, ans->body);
            abort();
        }
        json_decref(j);
    }
    sb_answer_free(ans);
}


#endif
