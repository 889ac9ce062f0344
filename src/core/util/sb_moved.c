/* Commands and results own memory; the moved-logs set lists the event
 * logs a transaction appended to, for the wake-ups after its commit. */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>

#include "util/sb_util.h"


void
sb_cmd_init(sb_cmd_t *cmd, sb_cmd_type_t type, int64_t now)
{
    memset(cmd, 0, sizeof(sb_cmd_t));
    cmd->type = type;
    cmd->now = now;
    cmd->channel = -1;
}


void
sb_cmd_free(sb_cmd_t *cmd)
{
    sb_arena_free(cmd->mem);
    cmd->mem = NULL;
}


void
sb_result_free(sb_result_t *res)
{
    size_t  i;

    free(res->record);
    for (i = 0; i < res->njobs; i++) {
        free(res->jobs[i].text);
    }
    free(res->jobs);
    for (i = 0; i < res->nhooks; i++) {
        free(res->hooks[i].record);
    }
    free(res->hooks);
    memset(res, 0, sizeof(sb_result_t));
}


void
sb_result_free_record(sb_result_t *res)
{
    free(res->record);
    res->record = NULL;
    res->record_len = 0;
    res->conv = 0;
    res->seq = 0;
}


int
sb_moved_add(sb_moved_t *mv, const char *tenant, const char *owner,
    size_t owner_len)
{
    size_t   i, tlen = strlen(tenant);
    char    *key, **keys;

    key = malloc(tlen + owner_len + 2);
    if (key == NULL) {
        return -1;
    }
    memcpy(key, tenant, tlen);
    key[tlen] = '/';
    memcpy(key + tlen + 1, owner, owner_len);
    key[tlen + 1 + owner_len] = '\0';

    /* a recent repeat is dropped; an older one only costs a second look */
    for (i = mv->n > 16 ? mv->n - 16 : 0; i < mv->n; i++) {
        if (strcmp(mv->keys[i], key) == 0) {
            free(key);
            return 0;
        }
    }
    if (mv->n == mv->cap) {
        mv->cap = mv->cap ? mv->cap * 2 : 16;
        keys = realloc(mv->keys, mv->cap * sizeof(char *));
        if (keys == NULL) {
            free(key);
            return -1;
        }
        mv->keys = keys;
    }
    mv->keys[mv->n++] = key;
    return 0;
}


void
sb_moved_truncate(sb_moved_t *mv, size_t n)
{
    while (mv->n > n) {
        free(mv->keys[--mv->n]);
    }
}


void
sb_moved_free(sb_moved_t *mv)
{
    sb_moved_truncate(mv, 0);
    free(mv->keys);
    mv->keys = NULL;
    mv->cap = 0;
}
