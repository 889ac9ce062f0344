/*
 * The routing index (R2) and presence (R5a). An agent that may take work
 * in a class (available, present, a free slot) has a row per group:
 * group, class, slots used, last assignment, agent. The first row of a
 * group and class is the agent R2 picks: O(log n), whatever the team's
 * size. Presence lapses by time, not by a write: the "seen" rows, in
 * order of last poll, let the next routing mark the lapsed ones away.
 */

#include "domain/sb_domain.h"


static int
sb_ready_in(const sb_config_t *cfg, const sb_agent_t *a, int k)
{
    return a->cls[k].available && a->present
           && a->cls[k].used < sb_agent_capacity(cfg, a, k);
}


static void
sb_ready_key(sb_key_t *k, const char *tenant, const char *group,
    const char *klass, uint32_t used, int64_t last, const char *agent)
{
    sb_key_init(k, tenant);
    sb_key_str(k, group);
    sb_key_str(k, klass);
    sb_key_u32(k, used);
    sb_key_u64(k, (uint64_t) last);
    sb_key_str(k, agent);
}


static void
sb_seen_key(sb_key_t *k, const char *tenant, int64_t seen_at,
    const char *agent)
{
    sb_key_init(k, tenant);
    sb_key_u64(k, (uint64_t) seen_at);
    sb_key_str(k, agent);
}


/* The agent's groups, packed: each name and its NUL. */
static size_t
sb_groups_pack(const sb_agent_t *a, char *out)
{
    size_t  n = 0, len;
    int     g;

    for (g = 0; g < a->ngroups; g++) {
        len = strlen(a->groups[g]) + 1;
        if (out) {
            memcpy(out + n, a->groups[g], len);
        }
        n += len;
    }
    return n;
}


static int
sb_groups_same(const sb_agent_t *a, const sb_ready_snap_t *snap)
{
    const char  *p = snap->groups;
    int          g;

    if (a->ngroups != snap->ngroups) {
        return 0;
    }
    for (g = 0; g < a->ngroups; g++) {
        if (strcmp(p, a->groups[g]) != 0) {
            return 0;
        }
        p += strlen(p) + 1;
    }
    return 1;
}


/* What the index holds of a as it is now; groups copied only when they
 * are not the snapshot's already. */
int
sb_ready_snap(sb_ctx_t *cx, const sb_agent_t *a, sb_ready_snap_t *snap)
{
    char  *packed;
    int    c;

    snap->seen_at = a->seen_at;
    snap->last_assigned_at = a->last_assigned_at;
    snap->present = a->present;
    for (c = 0; c < SB_MAX_CLASSES; c++) {
        snap->in[c] = c < cx->cfg->nclasses && sb_ready_in(cx->cfg, a, c);
        snap->used[c] = a->cls[c].used;
        snap->status[c] = c < cx->cfg->nclasses
                          ? sb_agent_status(cx->cfg, a, c, a->present) + 1
                          : 0;
    }
    if (snap->groups == NULL || !sb_groups_same(a, snap)) {
        snap->groups_len = sb_groups_pack(a, NULL);
        packed = sb_alloc(cx, snap->groups_len + 1);
        if (packed == NULL) {
            return ENOMEM;
        }
        sb_groups_pack(a, packed);
        snap->groups = packed;
        snap->ngroups = a->ngroups;
    }
    return 0;
}


/* agent.status_changed, per class whose colour (R5) moved; presence is
 * the stored flag, so a lapse is told when a write notices it */
static int
sb_status_hooks(sb_ctx_t *cx, const sb_agent_t *a, const sb_ready_snap_t *was)
{
    sb_outevent_t  h;
    int        c, now, before;

    if (!(cx->cfg->hook_types & (1u << SB_HOOK_AGENT_STATUS))) {
        return 0;
    }
    for (c = 0; c < cx->cfg->nclasses; c++) {
        now = sb_agent_status(cx->cfg, a, c, a->present);
        before = was->status[c] ? was->status[c] - 1 : SB_STATUS_RED;
        if (now == before) {
            continue;
        }
        sb_hook_init(cx, &h, SB_HOOK_AGENT_STATUS, NULL);
        h.agent = sb_cspan(a->id);
        h.klass = sb_cspan(cx->cfg->classes[c].name);
        h.status = (uint8_t) now;
        h.was = (uint8_t) before;
        SB_TRY(sb_hook_emit(cx, &h));
    }
    return 0;
}


/* Brings the agent's index rows from what they were to what it is now. */
int
sb_ready_sync(sb_ctx_t *cx, sb_agent_t *a)
{
    const sb_config_t  *cfg = cx->cfg;
    sb_ready_snap_t    *was = sb_agent_synced(a);
    const char         *g;
    sb_key_t            k;
    int                 c, i, in_now, same;

    same = was->groups != NULL && sb_groups_same(a, was);
    for (c = 0; c < cfg->nclasses; c++) {
        in_now = sb_ready_in(cfg, a, c);
        if (was->in[c] == in_now && same
            && (!in_now || (was->used[c] == a->cls[c].used
                            && was->last_assigned_at == a->last_assigned_at)))
        {
            continue;
        }
        for (i = 0, g = was->groups; was->in[c] && i < was->ngroups;
             i++, g += strlen(g) + 1)
        {
            sb_ready_key(&k, cx->tenant, g, cfg->classes[c].name,
                         was->used[c], was->last_assigned_at, a->id);
            SB_TRY(sb_del(cx->txn, SB_DB(cx, SB_DB_READY), &k));
        }
        for (i = 0; in_now && i < a->ngroups; i++) {
            sb_ready_key(&k, cx->tenant, a->groups[i], cfg->classes[c].name,
                         a->cls[c].used, a->last_assigned_at, a->id);
            SB_TRY(sb_put(cx->txn, SB_DB(cx, SB_DB_READY), &k, "", 0));
        }
    }

    if (was->present != a->present || was->seen_at != a->seen_at) {
        if (was->present) {
            sb_seen_key(&k, cx->tenant, was->seen_at, a->id);
            SB_TRY(sb_del(cx->txn, SB_DB(cx, SB_DB_SEEN), &k));
        }
        if (a->present) {
            sb_seen_key(&k, cx->tenant, a->seen_at, a->id);
            SB_TRY(sb_put(cx->txn, SB_DB(cx, SB_DB_SEEN), &k, "", 0));
        }
    }
    SB_TRY(sb_status_hooks(cx, a, was));
    return sb_ready_snap(cx, a, was);
}


/* R5a: a poll (or becoming available) makes the agent present now. */
int
sb_presence_seen(sb_ctx_t *cx, sb_agent_t *a)
{
    a->seen_at = cx->now;
    a->present = 1;
    return sb_ready_sync(cx, a);
}


/* Agents whose last poll is older than the presence timeout are away:
 * their rows leave the index (oldest first, each once). */
int
sb_presence_expire(sb_ctx_t *cx)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix;
    sb_agent_t  *a;
    char         id[SB_ID_MAX + 1];
    int64_t      seen, before = cx->now - cx->cfg->presence_timeout_ms;
    size_t       n;
    int          rc;

    sb_key_init(&prefix, cx->tenant);
    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_SEEN), &cur));
    for ( ;; ) {
        key = sb_key_val(&prefix);
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
        if (rc || !sb_key_has_prefix(&key, &prefix)
            || key.mv_size < prefix.n + 10)
        {
            break;
        }
        seen = (int64_t) sb_be64((unsigned char *) key.mv_data + prefix.n);
        if (seen >= before) {
            break;
        }
        n = key.mv_size - prefix.n - 9;
        if (n > SB_ID_MAX) {
            n = SB_ID_MAX;
        }
        memcpy(id, (char *) key.mv_data + prefix.n + 8, n);
        id[n] = '\0';
        rc = sb_agent_get(cx, id, &a);
        if (rc == 0 && a->present && a->seen_at == seen) {
            a->present = 0;
            rc = sb_ready_sync(cx, a);
        } else if (rc == 0 || rc == MDB_NOTFOUND) {
            rc = mdb_cursor_del(cur, 0);      /* a row nobody names */
        }
        if (rc) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/*
 * R2: the first agent of the group and class in the index: fewest
 * conversations in the class, then longest since an assignment, then by
 * id; never the excluded agent (R14a). *best is NULL when none qualifies.
 */
int
sb_pick(sb_ctx_t *cx, const sb_conv_t *c, const char *exclude,
    sb_agent_t **best)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix;
    sb_agent_t  *a;
    char         id[SB_ID_MAX + 1];
    size_t       n;
    int          rc;

    *best = NULL;
    if (c->klass < 0) {
        return MDB_INCOMPATIBLE;
    }
    SB_TRY(sb_presence_expire(cx));

    sb_key_init(&prefix, cx->tenant);
    sb_key_str(&prefix, c->group);
    sb_key_str(&prefix, cx->cfg->classes[c->klass].name);

    SB_TRY(mdb_cursor_open(cx->txn, SB_DB(cx, SB_DB_READY), &cur));
    key = sb_key_val(&prefix);
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    while (rc == 0 && sb_key_has_prefix(&key, &prefix)
           && key.mv_size > prefix.n + 13)
    {
        n = key.mv_size - prefix.n - 13;
        if (n > SB_ID_MAX) {
            n = SB_ID_MAX;
        }
        memcpy(id, (char *) key.mv_data + prefix.n + 12, n);
        id[n] = '\0';
        if (exclude == NULL || strcmp(id, exclude) != 0) {
            rc = sb_agent_get(cx, id, &a);
            if (rc == 0 && sb_agent_qualifies(cx, a, c->klass)) {
                *best = a;
                break;
            }
            if (rc && rc != MDB_NOTFOUND) {
                break;
            }
        }
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}
