/* The store made to agree with a new configuration, at each start: rows
 * of slot classes a reload renamed or removed moved to their class of
 * now, agents' counters recounted a tenant per command when the classes
 * changed, and deadlines a FIRE parked put back to fire (issue 19). */

#include <stdio.h>

#include "commands/sb_commands.h"

#define SB_CLASSES_KEY  "\0classes"          /* what the store agrees with */
#define SB_RECOUNT_KEY  "\0recount_after"    /* the last tenant recounted */


static void
sb_global_key(sb_key_t *k, const char *name, size_t len)
{
    sb_key_init(k, NULL);
    sb_key_raw(k, name, len);
}


/* The classes as the store remembers them: names and channels. */
static size_t
sb_classes_print(const sb_config_t *cfg, unsigned char *out, size_t cap)
{
    size_t  n = 0, len;
    int     i, j;

    for (i = 0; i < cfg->nclasses; i++) {
        len = strlen(cfg->classes[i].name) + 1;
        if (n + len + 4 > cap) {
            break;
        }
        memcpy(out + n, cfg->classes[i].name, len);
        n += len;
        for (j = 0; j < 4; j++) {
            out[n++] = (unsigned char) (cfg->classes[i].channels
                                        >> ((3 - j) * 8));
        }
    }
    return n;
}


/* The first tenant with agents after `after` ("" for the first). */
static int
sb_next_tenant(sb_ctx_t *cx, const char *after, char *tenant)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    char         from[SB_ID_MAX + 2];
    size_t       n = strlen(after), t;
    int          rc;

    /* past every key of `after`: its name, then a byte above its NUL */
    memcpy(from, after, n);
    from[n] = '\1';
    key.mv_data = from;
    key.mv_size = n ? n + 1 : 0;
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_AGENT), &cur));
    rc = mdb_cursor_get(cur, &key, &val, n ? MDB_SET_RANGE : MDB_FIRST);
    if (rc == 0) {
        t = strnlen(key.mv_data, key.mv_size);
        if (t == 0 || t > SB_ID_MAX) {
            rc = MDB_NOTFOUND;
        } else {
            memcpy(tenant, key.mv_data, t);
            tenant[t] = '\0';
        }
    }
    mdb_cursor_close(cur);
    return rc;
}


int
sb_apply_reconcile(sb_ctx_t *cx, const sb_cmd_t *cmd)
{
    unsigned char   now[SB_MAX_CLASSES * (SB_ID_MAX + 5)];
    char            after[SB_ID_MAX + 1] = "", tenant[SB_ID_MAX + 1];
    size_t          len, moved, stranded, unparked = 0;
    sb_key_t        ck, rk;
    MDB_val         val;
    int             rc;

    SB_TRY(sb_reclass_rows(cx, &moved, &stranded));
    cx->res->reclassed = moved;
    if (cmd->u.reconcile.start) {
        SB_TRY(sb_deadline_unpark(cx, &unparked));
        /* a tenant imported from a node where it was paused */
        SB_TRY(sb_deadlines_back_all(cx, &unparked));
    }

    len = sb_classes_print(cx->cfg, now, sizeof(now));
    sb_global_key(&ck, SB_CLASSES_KEY, sizeof(SB_CLASSES_KEY));
    rc = sb_get(cx->txn, SB_DB(cx, SB_DB_META), &ck, &val);
    if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    if (rc == 0 && val.mv_size == len && memcmp(val.mv_data, now, len) == 0) {
        cx->res->more = 0;
    } else {
        /* the classes changed since the last start: every tenant's
         * agents counted again, one tenant per command */
        sb_global_key(&rk, SB_RECOUNT_KEY, sizeof(SB_RECOUNT_KEY));
        rc = sb_get(cx->txn, SB_DB(cx, SB_DB_META), &rk, &val);
        if (rc == 0 && val.mv_size <= SB_ID_MAX) {
            memcpy(after, val.mv_data, val.mv_size);
            after[val.mv_size] = '\0';
        } else if (rc && rc != MDB_NOTFOUND) {
            return rc;
        }
        rc = sb_next_tenant(cx, after, tenant);
        if (rc == 0) {
            SB_TRY(sb_reclass_recount(cx, tenant));
            SB_TRY(sb_put(cx->txn, SB_DB(cx, SB_DB_META), &rk, tenant,
                          strlen(tenant)));
            cx->res->more = 1;
        } else if (rc == MDB_NOTFOUND) {
            SB_TRY(sb_del(cx->txn, SB_DB(cx, SB_DB_META), &rk));
            SB_TRY(sb_put(cx->txn, SB_DB(cx, SB_DB_META), &ck, now, len));
            cx->res->more = 0;
        } else {
            return rc;
        }
    }

    if (moved || stranded || unparked) {
        snprintf(cx->res->note, sizeof(cx->res->note), "the store "
                 "agrees with the configuration: %zu queued or held "
                 "conversations of a class it no longer has moved to their "
                 "channel's class, %zu left waiting (no class takes their "
                 "channel), %zu parked deadlines put back to fire", moved, stranded, unparked);
    }
    return 0;
}
