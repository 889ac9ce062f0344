/* The admin's inspection: the conversation list walks an index (state,
 * or tag, or the conversations themselves) in id order, a page at a
 * time; the stats read counters kept by the write path, not the rows. */

#include <stdio.h>

#include "edge/sb_edge.h"


static int
sb_has_tag(sb_store_t *st, MDB_txn *txn, const char *tenant, uint64_t id,
    const char *tag)
{
    sb_key_t  k;
    MDB_val   val;

    sb_key_init(&k, tenant);
    sb_key_str(&k, tag);
    sb_key_u64(&k, id);
    return sb_get(txn, st->db[SB_DB_TAGGED], &k, &val) == 0;
}


/* Filtered by state, group and tag; paged in id order with "next". */
void
sb_query_conversations(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const sb_conv_filter_t *f, int64_t now, sb_answer_t *ans)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    MDB_dbi      dbi;
    sb_key_t     prefix, from;
    sb_conv_t    c;
    sb_jw_t      w;
    uint64_t     id, last = 0;
    size_t       n = 0;
    int          rc, more = 0;
    char         name[24];

    /* the narrowest index that the filter names */
    sb_key_init(&prefix, tenant);
    if (f->state >= 0) {
        dbi = st->db[SB_DB_STATE];
        sb_key_u8(&prefix, (unsigned) f->state);
    } else if (f->tag) {
        dbi = st->db[SB_DB_TAGGED];
        sb_key_str(&prefix, f->tag);
    } else {
        dbi = st->db[SB_DB_CONV];
    }
    from = prefix;
    sb_key_u64(&from, f->after + 1);

    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc) {
        sb_store_error(ans, rc);
        return;
    }
    sb_jw_init(&w, 4096);
    sb_jw_obj(&w);
    sb_jw_key(&w, "conversations");
    sb_jw_arr(&w);
    key = sb_key_val(&from);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix)
         && key.mv_size == prefix.n + 8;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        id = sb_be64((unsigned char *) key.mv_data + prefix.n);
        rc = sb_load_conv(st, txn, tenant, id, &c);
        if (rc) {
            break;
        }
        if ((f->state >= 0 && c.state != f->state)
            || (f->group && strcmp(c.group, f->group) != 0)
            || (f->tag && !sb_has_tag(st, txn, tenant, id, f->tag)))
        {
            continue;
        }
        if (n == f->limit) {
            more = 1;
            break;
        }
        rc = sb_render_conversation(&w, st, txn, tenant, &c, now, NULL);
        if (rc) {
            break;
        }
        last = id;
        n++;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) {
        sb_jw_free(&w);
        sb_store_error(ans, rc);
        return;
    }
    sb_jw_arr_end(&w);
    sb_jw_key(&w, "next");
    if (more) {
        sb_jw_strn(&w, name, sb_conv_name(last, name));
    } else {
        sb_jw_null(&w);
    }
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, 200, ans);
}


static int64_t
sb_counter(MDB_val *val)
{
    return val->mv_size == 8 ? (int64_t) sb_be64(val->mv_data) : 0;
}


/* Agents counted present whose last poll is older than the timeout are
 * away (red) now, though no write has said so yet (R5a). */
static int
sb_stats_lapsed(sb_store_t *st, MDB_txn *txn, const char *tenant,
    int64_t now, sb_counts_t *n)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix;
    sb_agent_t   a;
    char         id[SB_ID_MAX + 1];
    size_t       len;
    int          rc, k, was;

    sb_key_init(&prefix, tenant);
    SB_TRY(mdb_cursor_open(txn, st->db[SB_DB_SEEN], &cur));
    key = sb_key_val(&prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix)
         && key.mv_size > prefix.n + 9
         && (int64_t) sb_be64((unsigned char *) key.mv_data + prefix.n)
            < now - st->cfg->presence_timeout_ms;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        len = key.mv_size - prefix.n - 9;
        if (len > SB_ID_MAX) {
            continue;
        }
        memcpy(id, (char *) key.mv_data + prefix.n + 8, len);
        id[len] = '\0';
        if (sb_load_agent(st, txn, tenant, id, &a) != 0 || !a.present) {
            continue;
        }
        for (k = 0; k < st->cfg->nclasses; k++) {
            was = sb_agent_status(st->cfg, &a, k, 1);
            n->agents[k][was]--;
            n->agents[k][SB_STATUS_RED]++;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* The oldest wait of a queue: its first row. */
static int64_t
sb_oldest(sb_store_t *st, MDB_txn *txn, const char *tenant,
    const char *group, const char *klass)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix;
    int64_t      at = 0;

    sb_key_init(&prefix, tenant);
    sb_key_str(&prefix, group);
    sb_key_str(&prefix, klass);
    if (mdb_cursor_open(txn, st->db[SB_DB_QUEUE], &cur) != 0) {
        return 0;
    }
    key = sb_key_val(&prefix);
    if (mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE) == 0
        && sb_key_has_prefix(&key, &prefix) && key.mv_size == prefix.n + 16)
    {
        at = (int64_t) sb_be64((unsigned char *) key.mv_data + prefix.n);
    }
    mdb_cursor_close(cur);
    return at;
}


/* The counters of a tenant, in key order: conversations per state and
 * agents per class and status into n; each queue ('q', in group order)
 * to the callback with its length and oldest wait. */
static int
sb_stats_counters(sb_store_t *st, MDB_txn *txn, const char *tenant,
    sb_counts_t *n, sb_queue_pt each, void *data)
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    sb_key_t     prefix;
    const char  *p, *group, *klass;
    int          rc, k;

    sb_key_init(&prefix, tenant);
    SB_TRY(mdb_cursor_open(txn, st->db[SB_DB_COUNTER], &cur));
    key = sb_key_val(&prefix);
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
         rc == 0 && sb_key_has_prefix(&key, &prefix)
         && key.mv_size > prefix.n + 1;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        p = (const char *) key.mv_data + prefix.n;
        if (*p == 'c' && key.mv_size == prefix.n + 2
            && (unsigned char) p[1] < SB_STATE_COUNT)
        {
            n->states[(unsigned char) p[1]] = sb_counter(&val);
            continue;
        }
        if (*p == 'h' && key.mv_size == prefix.n + 2
            && (unsigned char) p[1] < SB_HOOKS_COUNTERS)
        {
            n->hooks[(unsigned char) p[1]] = sb_counter(&val);
            continue;
        }
        if (*p == 'a') {
            klass = p + 1;
            k = sb_class_find(st->cfg, klass, strnlen(klass, SB_ID_MAX + 1));
            if (k >= 0 && key.mv_size == prefix.n + strlen(klass) + 3
                && (unsigned char) klass[strlen(klass) + 1] < SB_STATUS_COUNT)
            {
                n->agents[k][(unsigned char) klass[strlen(klass) + 1]] =
                    sb_counter(&val);
            }
            continue;
        }
        if (*p != 'q' || memchr(p, '\0', key.mv_size - prefix.n) == NULL) {
            continue;
        }
        group = p + 1;
        klass = group + strlen(group) + 1;
        if ((size_t) (klass - p) >= key.mv_size - prefix.n
            || strlen(group) > SB_ID_MAX)
        {
            continue;
        }
        each(data, group, klass, sb_counter(&val),
             sb_oldest(st, txn, tenant, group, klass));
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


int
sb_stats_gather(sb_store_t *st, MDB_txn *txn, const char *tenant,
    int64_t now, sb_counts_t *n, sb_queue_pt each, void *data)
{
    memset(n, 0, sizeof(*n));
    SB_TRY(sb_stats_counters(st, txn, tenant, n, each, data));
    return sb_stats_lapsed(st, txn, tenant, now, n);
}


/* queues {group: {class: {length, oldest_wait_seconds}}} */
typedef struct {
    sb_jw_t  *w;
    int64_t   now;
    char      open_group[SB_ID_MAX + 1];
} sb_queues_json_t;


static void
sb_queue_json(void *data, const char *group, const char *klass,
    int64_t length, int64_t oldest_at)
{
    sb_queues_json_t  *q = data;

    if (strcmp(q->open_group, group) != 0) {
        if (q->open_group[0]) {
            sb_jw_obj_end(q->w);
        }
        sb_jw_key(q->w, group);
        sb_jw_obj(q->w);
        snprintf(q->open_group, sizeof(q->open_group), "%s", group);
    }
    sb_jw_key(q->w, klass);
    sb_jw_obj(q->w);
    sb_jw_kint(q->w, "length", length);
    sb_jw_kint(q->w, "oldest_wait_seconds",
               oldest_at ? (q->now - oldest_at) / 1000 : 0);
    sb_jw_obj_end(q->w);
}


/* Queues per group and class, agents per status, conversations per state */
void
sb_query_stats(sb_store_t *st, MDB_txn *txn, const char *tenant,
    int64_t now, sb_answer_t *ans)
{
    sb_counts_t       n;
    sb_jw_t           w;
    sb_queues_json_t  q;
    int               rc, k, s;

    sb_jw_init(&w, 1024);
    sb_jw_obj(&w);
    sb_jw_key(&w, "queues");
    sb_jw_obj(&w);
    q.w = &w;
    q.now = now;
    q.open_group[0] = '\0';
    rc = sb_stats_gather(st, txn, tenant, now, &n, sb_queue_json, &q);
    if (q.open_group[0]) {
        sb_jw_obj_end(&w);
    }
    sb_jw_obj_end(&w);
    if (rc) {
        sb_jw_finish(&w, rc, ans);
        return;
    }
    sb_jw_key(&w, "agents");
    sb_jw_obj(&w);
    for (k = 0; k < st->cfg->nclasses; k++) {
        sb_jw_key(&w, st->cfg->classes[k].name);
        sb_jw_obj(&w);
        for (s = 0; s < SB_STATUS_COUNT; s++) {
            sb_jw_kint(&w, sb_status_name(s), n.agents[k][s]);
        }
        sb_jw_obj_end(&w);
    }
    sb_jw_obj_end(&w);
    sb_jw_key(&w, "conversations");
    sb_jw_obj(&w);
    for (s = SB_STATE_QUEUED; s < SB_STATE_COUNT; s++) {
        sb_jw_kint(&w, sb_state_name(s), n.states[s]);
    }
    sb_jw_obj_end(&w);
    sb_jw_obj_end(&w);
    (void) sb_jw_answer(&w, 200, ans);
}
