/* Prometheus text (exposition format 0.0.4) of what the store knows, for
 * every tenant: conversations per state, agents per class and status,
 * queues (length, oldest wait), deadlines, the event webhooks' outbox and
 * the map's use. */

#include <stdio.h>
#include <stdlib.h>

#include "edge/sb_edge.h"
#include "records/sb_records.h"


static const char  *sb_deadline_names[SB_DL_KINDS] = {
    "reply", "snooze", "auto_close", "delivery", "event_webhook"
};

static const struct {
    const char  *name, *type, *help;
} sb_hook_families[SB_HOOKS_COUNTERS] = {
    { "switchboard_event_webhooks_pending", "gauge",
      "Events in the outbox, waiting to be sent or retried." },
    { "switchboard_event_webhooks_failed", "gauge",
      "Events that gave up after their last attempt, until replayed." },
    { "switchboard_event_webhook_failed_attempts_total", "counter",
      "Attempts to send an event that did not get a 2xx." },
    { "switchboard_event_webhooks_dropped_total", "counter",
      "Failed events dropped: kept longer than "
      "switchboard_event_webhook_keep, or past its rows a tenant." }
};


typedef struct {
    char     tenant[SB_ID_MAX + 1];
    char     group[SB_ID_MAX + 1];
    char     klass[SB_ID_MAX + 1];
    int64_t  length, oldest_at;
} sb_queue_row_t;

typedef struct {
    char            tenant[SB_ID_MAX + 1];
    sb_counts_t     n;
} sb_tenant_row_t;

typedef struct {
    const char       *tenant;
    sb_queue_row_t   *queues;
    size_t            nqueues, cap;
    int               failed;
} sb_rows_t;


static void
sb_text(sb_jw_t *w, const char *s)
{
    sb_jw_bytes(w, s, strlen(s));
}


/* HELP and TYPE, once per family (the glue's counters use it too) */
void
sb_metrics_family(sb_jw_t *w, const char *name, const char *type, const char *help)
{
    sb_text(w, "# HELP ");
    sb_text(w, name);
    sb_text(w, " ");
    sb_text(w, help);
    sb_text(w, "\n# TYPE ");
    sb_text(w, name);
    sb_text(w, " ");
    sb_text(w, type);
    sb_text(w, "\n");
}


/* a label value: ids need no escape, but the format's three are kept */
static void
sb_label(sb_jw_t *w, const char *name, const char *value, int first)
{
    const char  *p;

    sb_text(w, first ? "{" : ",");
    sb_text(w, name);
    sb_text(w, "=\"");
    for (p = value; *p; p++) {
        if (*p == '\\') {
            sb_text(w, "\\\\");
        } else if (*p == '"') {
            sb_text(w, "\\\"");
        } else if (*p == '\n') {
            sb_text(w, "\\n");
        } else {
            sb_jw_bytes(w, p, 1);
        }
    }
    sb_text(w, "\"");
}


static void
sb_value(sb_jw_t *w, int64_t v)
{
    char  buf[32];

    snprintf(buf, sizeof(buf), "} %lld\n", (long long) v);
    sb_text(w, buf);
}


static void
sb_queue_series(sb_jw_t *w, const char *name, const sb_queue_row_t *q)
{
    sb_text(w, name);
    sb_label(w, "tenant", q->tenant, 1);
    sb_label(w, "group", q->group, 0);
    sb_label(w, "class", q->klass, 0);
}


static void
sb_queue_row(void *data, const char *group, const char *klass,
    int64_t length, int64_t oldest_at)
{
    sb_rows_t       *r = data;
    sb_queue_row_t  *q;

    if (r->nqueues == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        q = realloc(r->queues, r->cap * sizeof(sb_queue_row_t));
        if (q == NULL) {
            r->failed = 1;
            r->cap = r->nqueues;
            return;
        }
        r->queues = q;
    }
    q = &r->queues[r->nqueues++];
    snprintf(q->tenant, sizeof(q->tenant), "%s", r->tenant);
    snprintf(q->group, sizeof(q->group), "%s", group);
    snprintf(q->klass, sizeof(q->klass), "%s", klass);
    q->length = length;
    q->oldest_at = oldest_at;
}


/* The tenants, from the counters every tenant's first write makes: the
 * key after "tenant\0…" is found at "tenant\1". */
static int
sb_tenants(sb_store_t *st, MDB_txn *txn, int64_t now, sb_tenant_row_t **out,
    size_t *nout, sb_rows_t *rows)
{
    MDB_cursor       *cur;
    MDB_val           key, val;
    sb_tenant_row_t  *t, *list = NULL;
    size_t            n = 0, len;
    char              next[SB_ID_MAX + 2];
    int               rc;

    SB_TRY(mdb_cursor_open(txn, st->db[SB_DB_COUNTER], &cur));
    rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
    while (rc == 0) {
        len = strnlen(key.mv_data, key.mv_size);
        if (len == 0 || len > SB_ID_MAX || len == key.mv_size) {
            break;                          /* not a tenant's key */
        }
        t = realloc(list, (n + 1) * sizeof(sb_tenant_row_t));
        if (t == NULL) {
            rc = ENOMEM;
            break;
        }
        list = t;
        t = &list[n++];
        memcpy(t->tenant, key.mv_data, len);
        t->tenant[len] = '\0';
        memcpy(next, t->tenant, len);
        next[len] = '\1';
        key.mv_data = next;
        key.mv_size = len + 1;
        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) {
        free(list);
        return rc;
    }
    for (len = 0; len < n; len++) {
        rows->tenant = list[len].tenant;
        rc = sb_stats_gather(st, txn, list[len].tenant, now, &list[len].n,
                             sb_queue_row, rows);
        if (rc) {
            free(list);
            return rc;
        }
    }
    *out = list;
    *nout = n;
    return rows->failed ? ENOMEM : 0;
}


/* Pending deadlines by kind, node-wide: one pass over their keys (be64
 * due, tenant, kind, …), no record read. */
static int
sb_deadlines(sb_store_t *st, MDB_txn *txn, int64_t counts[SB_DL_KINDS])
{
    MDB_cursor  *cur;
    MDB_val      key, val;
    size_t       len;
    int          rc;
    unsigned     kind;

    SB_TRY(mdb_cursor_open(txn, st->db[SB_DB_DEADLINE], &cur));
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
    {
        if (key.mv_size < 10) {
            continue;
        }
        len = strnlen((char *) key.mv_data + 8, key.mv_size - 8);
        if (8 + len + 1 >= key.mv_size) {
            continue;
        }
        kind = ((unsigned char *) key.mv_data)[8 + len + 1];
        if (kind < SB_DL_KINDS) {
            counts[kind]++;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}


static void
sb_store_gauge(sb_jw_t *w, const char *name, const char *help, size_t v)
{
    char  buf[128];

    sb_metrics_family(w, name, "gauge", help);
    snprintf(buf, sizeof(buf), "%s %zu\n", name, v);
    sb_text(w, buf);
}


int
sb_metrics_store(sb_store_t *st, MDB_txn *txn, int64_t now, sb_jw_t *w)
{
    sb_tenant_row_t   *tenants = NULL;
    sb_rows_t          rows;
    sb_store_usage_t   u;
    int64_t            deadlines[SB_DL_KINDS] = { 0 };
    size_t             i, ntenants = 0;
    int                rc, k, s;
    char               buf[64];

    memset(&rows, 0, sizeof(rows));
    rc = sb_tenants(st, txn, now, &tenants, &ntenants, &rows);
    if (rc == 0) {
        rc = sb_deadlines(st, txn, deadlines);
    }
    if (rc) {
        free(tenants);
        free(rows.queues);
        return rc;
    }

    sb_metrics_family(w, "switchboard_conversations", "gauge",
              "Conversations per tenant and state.");
    for (i = 0; i < ntenants; i++) {
        for (s = SB_STATE_QUEUED; s < SB_STATE_COUNT; s++) {
            sb_text(w, "switchboard_conversations");
            sb_label(w, "tenant", tenants[i].tenant, 1);
            sb_label(w, "state", sb_state_name(s), 0);
            sb_value(w, tenants[i].n.states[s]);
        }
    }
    sb_metrics_family(w, "switchboard_agents", "gauge",
              "Agents per tenant, slot class and status (green, orange, "
              "red).");
    for (i = 0; i < ntenants; i++) {
        for (k = 0; k < st->cfg->nclasses; k++) {
            for (s = 0; s < SB_STATUS_COUNT; s++) {
                sb_text(w, "switchboard_agents");
                sb_label(w, "tenant", tenants[i].tenant, 1);
                sb_label(w, "class", st->cfg->classes[k].name, 0);
                sb_label(w, "status", sb_status_name(s), 0);
                sb_value(w, tenants[i].n.agents[k][s]);
            }
        }
    }
    sb_metrics_family(w, "switchboard_queue_length", "gauge",
              "Conversations waiting, per tenant, group and slot class.");
    for (i = 0; i < rows.nqueues; i++) {
        sb_queue_series(w, "switchboard_queue_length", &rows.queues[i]);
        sb_value(w, rows.queues[i].length);
    }
    sb_metrics_family(w, "switchboard_queue_oldest_wait_seconds", "gauge",
              "How long the first conversation of a queue has waited.");
    for (i = 0; i < rows.nqueues; i++) {
        sb_queue_series(w, "switchboard_queue_oldest_wait_seconds",
                        &rows.queues[i]);
        snprintf(buf, sizeof(buf), "} %.3f\n", rows.queues[i].oldest_at
                 ? (double) (now - rows.queues[i].oldest_at) / 1000 : 0.0);
        sb_text(w, buf);
    }
    sb_metrics_family(w, "switchboard_deadlines_pending", "gauge",
              "Deadlines set and not yet fired, by kind (R16).");
    for (k = 0; k < SB_DL_KINDS; k++) {
        sb_text(w, "switchboard_deadlines_pending");
        sb_label(w, "kind", sb_deadline_names[k], 1);
        sb_value(w, deadlines[k]);
    }
    sb_metrics_family(w, "switchboard_outbox_pending", "gauge",
              "Replies waiting to go out or to be retried (R22).");
    snprintf(buf, sizeof(buf), "switchboard_outbox_pending %lld\n",
             (long long) deadlines[SB_DL_DELIVER]);
    sb_text(w, buf);

    for (k = 0; k < SB_HOOKS_COUNTERS; k++) {
        sb_metrics_family(w, sb_hook_families[k].name,
                          sb_hook_families[k].type, sb_hook_families[k].help);
        for (i = 0; i < ntenants; i++) {
            sb_text(w, sb_hook_families[k].name);
            sb_label(w, "tenant", tenants[i].tenant, 1);
            sb_value(w, tenants[i].n.hooks[k]);
        }
    }

    sb_store_usage(st, txn, &u);
    sb_store_gauge(w, "switchboard_store_size_bytes",
                   "The store's map size: its ceiling.", u.map_bytes);
    sb_store_gauge(w, "switchboard_store_used_bytes",
                   "Pages in use in the map (its high-water mark less the "
                   "free list).", u.used_bytes);
    sb_store_gauge(w, "switchboard_store_room_bytes",
                   "What can still be written: the free list, and the map "
                   "above its high-water mark as far as the disk has room.",
                   u.room_bytes);
    sb_store_gauge(w, "switchboard_store_reserve_bytes",
                   "Room kept for deletes, retention and presence: new "
                   "content is 507 once the room is less.",
                   st->cfg->reserve_bytes);
    sb_store_gauge(w, "switchboard_store_disk_free_bytes",
                   "Free bytes of the store's file system, for the "
                   "workers' user.", u.disk_free_bytes);
    sb_metrics_family(w, "switchboard_store_fill_ratio", "gauge",
              "Used bytes over used and room: 1 is full.");
    snprintf(buf, sizeof(buf), "switchboard_store_fill_ratio %.4f\n",
             sb_store_fill(&u));
    sb_text(w, buf);

    free(tenants);
    free(rows.queues);
    return 0;
}
