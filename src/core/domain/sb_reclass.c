/*
 * Slot classes after a reload that renamed or removed some (issue 19):
 * rows keyed or valued by a class name nginx.conf no longer has are moved
 * to the class their channel belongs to now, and the counters and slot
 * counts that depend on classes are made true again.
 */

#include <stdio.h>

#include "domain/sb_cache.h"


/* The NUL-ended strings a key starts with: 0 and *rest, or -1. */
static int
sb_key_parts(const MDB_val *key, const char **part, int n, size_t *rest)
{
    const char  *p = key->mv_data;
    size_t       off = 0, len;
    int          i;

    for (i = 0; i < n; i++) {
        if (off >= key->mv_size) {
            return -1;
        }
        len = strnlen(p + off, key->mv_size - off);
        if (off + len == key->mv_size || len > SB_ID_MAX) {
            return -1;
        }
        part[i] = p + off;
        off += len + 1;
    }
    *rest = off;
    return 0;
}


static int
sb_class_known(const sb_config_t *cfg, const char *name)
{
    return sb_class_find(cfg, name, strlen(name)) >= 0;
}


typedef struct sb_moving_s  sb_moving_t;

struct sb_moving_s {
    sb_moving_t  *next;
    char          tenant[SB_ID_MAX + 1];
    char          who[SB_ID_MAX + 1];      /* the queue's group, the agent */
    char          klass[SB_ID_MAX + 1];    /* the queue's class, gone */
    uint64_t      conv;
    int64_t       at;
};


static int
sb_moving_add(sb_ctx_t *cx, sb_moving_t **list, const char *tenant,
    const char *who, const char *klass, uint64_t conv, int64_t at)
{
    sb_moving_t  *m = sb_alloc(cx, sizeof(sb_moving_t));

    if (m == NULL) {
        return ENOMEM;
    }
    snprintf(m->tenant, sizeof(m->tenant), "%s", tenant);
    snprintf(m->who, sizeof(m->who), "%s", who);
    snprintf(m->klass, sizeof(m->klass), "%s", klass);
    m->conv = conv;
    m->at = at;
    m->next = *list;
    *list = m;
    return 0;
}


/* Queue rows (t group class since conv) of a class that is gone. */
static int
sb_reclass_queues(sb_ctx_t *cx, sb_moving_t **out)
{
    MDB_cursor   *cur;
    MDB_val       key, val;
    const char   *part[3];
    size_t        rest;
    int           rc;

    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_QUEUE), &cur));
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (sb_key_parts(&key, part, 3, &rest) != 0
            || key.mv_size != rest + 16 || sb_class_known(cx->cfg, part[2]))
        {
            continue;
        }
        rc = sb_moving_add(cx, out, part[0], part[1], part[2],
                           sb_be64((const unsigned char *) key.mv_data
                                   + rest + 8),
                           (int64_t) sb_be64((const unsigned char *)
                                             key.mv_data + rest));
        if (rc) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* Each queued conversation back in line, under its class of now, at the
 * place its wait gives it (the old row and its length go); one whose
 * channel has no class waits in its old queue, row and length kept
 * (stranded, and shown), until a class takes the channel again. */
static int
sb_requeue_moved(sb_ctx_t *cx, sb_moving_t *m, size_t *moved,
    size_t *stranded)
{
    sb_conv_t  *c;
    int         rc;

    for ( /* void */ ; m; m = m->next) {
        cx->tenant = m->tenant;
        rc = sb_conv_get(cx, m->conv, &c);
        if (rc && rc != MDB_NOTFOUND) {
            return rc;
        }
        if (rc == 0 && c->state == SB_STATE_QUEUED && c->queued_at == m->at
            && c->klass < 0)
        {
            (*stranded)++;
            continue;
        }
        SB_TRY(sb_queue_row_del(cx, m->who, m->klass, m->at, m->conv));
        if (rc || c->state != SB_STATE_QUEUED || c->queued_at != m->at) {
            continue;                             /* a stale row: gone */
        }
        c->queued_at = 0;
        SB_TRY(sb_enqueue_at(cx, c, m->at));
        (*moved)++;
    }
    return 0;
}


/* Held rows (t agent conv -> class) naming a class that is gone: the
 * class of now; the agents holding them get their slot counts again. */
static int
sb_reclass_held(sb_ctx_t *cx, sb_moving_t **agents, size_t *moved)
{
    MDB_cursor   *cur;
    MDB_val       key, val;
    const char   *part[2];
    char          name[SB_ID_MAX + 1];
    sb_moving_t  *list = NULL, *m;
    sb_conv_t    *c;
    size_t        rest;
    sb_key_t      k;
    int           rc;

    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_HELD), &cur));
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (sb_key_parts(&key, part, 2, &rest) != 0
            || key.mv_size != rest + 8 || val.mv_size > SB_ID_MAX)
        {
            continue;
        }
        memcpy(name, val.mv_data, val.mv_size);
        name[val.mv_size] = '\0';
        if (sb_class_known(cx->cfg, name)) {
            continue;
        }
        rc = sb_moving_add(cx, &list, part[0], part[1], name,
                           sb_be64((const unsigned char *) key.mv_data
                                   + rest), 0);
        if (rc) {
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND) {
        return rc;
    }

    for (m = list; m; m = m->next) {
        cx->tenant = m->tenant;
        rc = sb_conv_get(cx, m->conv, &c);
        if (rc == 0 && c->klass >= 0) {
            SB_TRY(sb_held_add(cx, c, m->who));
            (*moved)++;
        } else if (rc && rc != MDB_NOTFOUND) {
            return rc;
        } else if (rc == MDB_NOTFOUND) {
            sb_key_init(&k, m->tenant);
            sb_key_str(&k, m->who);
            sb_key_u64(&k, m->conv);
            SB_TRY(sb_del(cx->txn, SB_DB(cx, SB_DB_HELD), &k));
        }
        SB_TRY(sb_moving_add(cx, agents, m->tenant, m->who, "", 0, 0));
    }
    return 0;
}


/*
 * Rows only a class's name keeps alive: the routing index's (an agent's
 * state in a class it no longer has) and the counters of agents per
 * status (counted again by sb_reclass_recount). Queue lengths move with
 * their rows.
 */
static int
sb_reclass_drop(sb_ctx_t *cx, int db, int counters)
{
    MDB_cursor   *cur;
    MDB_val       key, val;
    const char   *part[3], *name;
    size_t        rest;
    int           rc, n;

    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, db), &cur));
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        name = NULL;
        if (!counters) {
            if (sb_key_parts(&key, part, 3, &rest) == 0) {
                name = part[2];                     /* t group class … */
            }
        } else if (key.mv_size > 2) {
            /* t 'a' class status */
            n = strnlen(key.mv_data, key.mv_size);
            if ((size_t) n + 1 < key.mv_size) {
                MDB_val  after = { key.mv_size - n - 2,
                                   (char *) key.mv_data + n + 2 };
                char     kind = ((char *) key.mv_data)[n + 1];

                if (kind == 'a' && sb_key_parts(&after, part, 1, &rest) == 0
                    && rest + 1 == after.mv_size)
                {
                    name = part[0];
                }
            }
        }
        if (name && !sb_class_known(cx->cfg, name)) {
            rc = mdb_cursor_del(cur, 0);
            if (rc) {
                break;
            }
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* An agent's slots used per class, counted from what it holds. */
static int
sb_reclass_slots(sb_ctx_t *cx, const char *agent)
{
    MDB_cursor   *cur;
    MDB_val       key, val;
    sb_agent_t   *a;
    sb_key_t      prefix;
    uint16_t      used[SB_MAX_CLASSES] = { 0 };
    int           rc, k, changed = 0;

    rc = sb_agent_get(cx, agent, &a);
    if (rc) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    sb_key_init(&prefix, cx->tenant);
    sb_key_str(&prefix, agent);
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_HELD), &cur));
    key = sb_key_val(&prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        k = sb_class_find(cx->cfg, val.mv_data, val.mv_size);
        if (k >= 0) {
            used[k]++;
        }
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    for (k = 0; k < cx->cfg->nclasses; k++) {
        if (a->cls[k].used != used[k]) {
            a->cls[k].used = used[k];
            changed = 1;
        }
    }
    return changed ? sb_ready_sync(cx, a) : 0;
}


int
sb_reclass_rows(sb_ctx_t *cx, size_t *moved, size_t *stranded)
{
    sb_moving_t  *queued = NULL, *agents = NULL, *m;
    const char   *own = cx->tenant;
    int           rc;

    *moved = 0;
    *stranded = 0;
    rc = sb_reclass_queues(cx, &queued);
    if (rc == 0) {
        rc = sb_reclass_drop(cx, SB_DB_COUNTER, 1);
    }
    if (rc == 0) {
        rc = sb_requeue_moved(cx, queued, moved, stranded);
    }
    if (rc == 0) {
        rc = sb_reclass_held(cx, &agents, moved);
    }
    if (rc == 0) {
        rc = sb_reclass_drop(cx, SB_DB_READY, 0);
    }
    for (m = agents; rc == 0 && m; m = m->next) {
        cx->tenant = m->tenant;
        rc = sb_reclass_slots(cx, m->who);
    }
    cx->tenant = own;
    return rc;
}


/*
 * A tenant's agents per class and status, counted again from its agents
 * (a class added, renamed or removed left them counted under names that
 * are gone, or not at all). Each agent counts with the status the batch
 * loaded it with; the flush then adds what the batch changed.
 */
int
sb_reclass_recount(sb_ctx_t *cx, const char *tenant)
{
    MDB_cursor   *cur;
    MDB_val       key, val;
    sb_key_t      prefix, ck;
    sb_moving_t  *list = NULL, *m;
    sb_agent_t   *a;
    const char   *part[2], *own = cx->tenant;
    size_t        rest;
    int           rc, k;

    /* the tenant's agent status counters: t 'a' … */
    sb_key_init(&prefix, tenant);
    sb_key_u8(&prefix, 'a');
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_COUNTER), &cur));
    key = sb_key_val(&prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_GET_CURRENT))
    {
        rc = mdb_cursor_del(cur, 0);
        if (rc) {
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND && rc != EINVAL) {
        return rc;
    }

    sb_key_init(&prefix, tenant);
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_AGENT), &cur));
    key = sb_key_val(&prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix);
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (sb_key_parts(&key, part, 2, &rest) == 0
            && rest == key.mv_size)
        {
            rc = sb_moving_add(cx, &list, tenant, part[1], "", 0, 0);
            if (rc) {
                break;
            }
        }
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }

    cx->tenant = tenant;
    for (m = list, rc = 0; rc == 0 && m; m = m->next) {
        rc = sb_reclass_slots(cx, m->who);
        if (rc == 0) {
            rc = sb_agent_get(cx, m->who, &a);
        }
        if (rc == MDB_NOTFOUND) {
            rc = 0;                      /* removed by this batch already */
            continue;
        }
        for (k = 0; rc == 0 && k < cx->cfg->nclasses; k++) {
            sb_key_init(&ck, tenant);
            sb_key_u8(&ck, 'a');
            sb_key_str(&ck, cx->cfg->classes[k].name);
            sb_key_u8(&ck, (unsigned) sb_agent_loaded_status(a, k));
            rc = sb_count(cx, &ck, 1);
        }
    }
    cx->tenant = own;
    return rc;
}
