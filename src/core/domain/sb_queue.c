/* Group queues (R3): rows ordered by how long the visitor has waited,
 * per group and class, with a length counter kept beside them for the
 * stats; an agent that can take work takes the oldest of its groups. */

#include "domain/sb_domain.h"


static void
sb_queue_prefix(sb_key_t *k, const char *tenant, const char *group,
    const char *klass)
{
    sb_key_init(k, tenant);
    sb_key_str(k, group);
    sb_key_str(k, klass);
}


static int
sb_queue_count(sb_ctx_t *cx, const char *group, const char *klass,
    int64_t delta)
{
    sb_key_t  k;

    sb_key_init(&k, cx->tenant);
    sb_key_u8(&k, 'q');
    sb_key_str(&k, group);
    sb_key_str(&k, klass);
    return sb_count(cx, &k, delta);
}


/* One queue row out, and its length with it; a row that is not there
 * (one a reload's class change left under another name, moved by the
 * reconcile) changes no length. */
int
sb_queue_row_del(sb_ctx_t *cx, const char *group, const char *klass,
    int64_t at, uint64_t id)
{
    sb_key_t  k;
    MDB_val   key;
    int       rc;

    sb_queue_prefix(&k, cx->tenant, group, klass);
    sb_key_u64(&k, (uint64_t) at);
    sb_key_u64(&k, id);
    if (k.overflow) {
        return 0;
    }
    key = sb_key_val(&k);
    rc = mdb_del(cx->txn, SB_DB(cx, SB_DB_QUEUE), &key, NULL);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    return rc ? rc : sb_queue_count(cx, group, klass, -1);
}


int
sb_dequeue(sb_ctx_t *cx, sb_conv_t *c)
{
    int64_t  at = c->queued_at;

    if (at == 0 || c->klass < 0) {
        return 0;
    }
    c->queued_at = 0;
    return sb_queue_row_del(cx, c->group, cx->cfg->classes[c->klass].name, at,
                            c->id);
}


/* R3: ordered by the oldest unanswered visitor message. */
int
sb_enqueue(sb_ctx_t *cx, sb_conv_t *c)
{
    return sb_enqueue_at(cx, c, c->waiting_since ? c->waiting_since
                                                 : cx->now);
}


/* In line at since (a conversation moved to another class keeps its
 * place). */
int
sb_enqueue_at(sb_ctx_t *cx, sb_conv_t *c, int64_t since)
{
    sb_key_t  k;

    if (c->klass < 0) {
        return MDB_INCOMPATIBLE;
    }
    SB_TRY(sb_dequeue(cx, c));
    c->state = SB_STATE_QUEUED;
    c->agent[0] = '\0';
    c->queued_at = since;
    sb_queue_prefix(&k, cx->tenant, c->group,
                    cx->cfg->classes[c->klass].name);
    sb_key_u64(&k, (uint64_t) since);
    sb_key_u64(&k, c->id);
    SB_TRY(sb_queue_count(cx, c->group, cx->cfg->classes[c->klass].name, 1));
    return sb_put(cx->txn, SB_DB(cx, SB_DB_QUEUE), &k, "", 0);
}


/* The oldest conversation of class k queued in any of the agent's
 * groups, other than avoid (one the agent just let go of, R8). */
int
sb_queue_oldest(sb_ctx_t *cx, const sb_agent_t *a, int k, uint64_t avoid,
    uint64_t *conv)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix;
    uint64_t     at, best_at = UINT64_MAX, id;
    int          g, rc = 0;

    *conv = 0;
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_QUEUE), &cur));
    for (g = 0; g < a->ngroups; g++) {
        sb_queue_prefix(&prefix, cx->tenant, a->groups[g],
                        cx->cfg->classes[k].name);
        key = sb_key_val(&prefix);
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        while (rc == 0 && sb_key_has_prefix(&key, &prefix)
               && key.mv_size == prefix.n + 16)
        {
            id = sb_be64((unsigned char *) key.mv_data + prefix.n + 8);
            if (id != avoid) {
                at = sb_be64((unsigned char *) key.mv_data + prefix.n);
                if (at < best_at) {
                    best_at = at;
                    *conv = id;
                }
                break;
            }
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
        }
        if (rc && rc != MDB_NOTFOUND) {
            break;
        }
        rc = 0;
    }
    mdb_cursor_close(cur);
    return rc;
}
