/* switchboard_metrics: Prometheus text, without a token (guard it with
 * allow/deny). Counters live in a shared zone, so every worker adds to the
 * same ones and a killed worker loses none; gauges come from the store. */

#include "ngx_http_switchboard.h"


#define SB_BATCH_BUCKETS    10
#define SB_LATENCY_BUCKETS  12

static const ngx_uint_t  ngx_http_switchboard_batch_le[SB_BATCH_BUCKETS] = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512
};

/* microseconds: 0.5 ms … 1 s */
static const ngx_uint_t  ngx_http_switchboard_latency_le[SB_LATENCY_BUCKETS] = {
    500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000,
    1000000, 2000000
};

static const char  *ngx_http_switchboard_hook_names[] = {
    "received", "bad_signature", "refused"
};

static const char  *ngx_http_switchboard_delivery_names[] = {
    "sent", "retried", "failed"
};


typedef struct {
    ngx_atomic_t   webhooks[SB_CH_COUNT][3];       /* by SB_HOOK_* */
    ngx_atomic_t   duplicates[SB_CH_COUNT];
    ngx_atomic_t   messages[SB_CH_COUNT][2];       /* visitor, agent */
    ngx_atomic_t   committed[SB_CMD_COUNT];
    ngx_atomic_t   refused[SB_CMD_COUNT][SB_REFUSE_COUNT];
    ngx_atomic_t   failed[SB_CMD_COUNT][2];        /* store full, failed */
    ngx_atomic_t   deliveries[SB_CH_COUNT][3];     /* sent, retry, failed */
    ngx_atomic_t   batch[SB_BATCH_BUCKETS + 1];
    ngx_atomic_t   batch_sum, batches;
    ngx_atomic_t   latency[SB_LATENCY_BUCKETS + 1];
    ngx_atomic_t   latency_us;
    /* the last command refused for want of room, and the last one that
     * wrote new content or deleted some: /health says store_full between
     * the two */
    ngx_atomic_t   full_at_ms, room_at_ms;
    ngx_atomic_t   retained[3];       /* conversations, events, ledger */
    /* held polls and open streams, per worker slot: a respawned worker
     * takes the slot of the one killed (whose polls and streams died with
     * it) and starts from zero */
    struct {
        ngx_atomic_t   pid;
        ngx_atomic_t   held[4];     /* polls: agent, visitor; streams: … */
    }              polls[NGX_MAX_PROCESSES];
} ngx_http_switchboard_counters_t;


static ngx_http_switchboard_counters_t  *ngx_http_switchboard_counters;
static ngx_shm_zone_t                   *ngx_http_switchboard_zone;


static ngx_int_t
ngx_http_switchboard_zone_init(ngx_shm_zone_t *zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    if (data) {                 /* a reload: the counters go on counting */
        zone->data = data;
        return NGX_OK;
    }
    shpool = (ngx_slab_pool_t *) zone->shm.addr;
    zone->data = ngx_slab_calloc(shpool,
                                 sizeof(ngx_http_switchboard_counters_t));
    return zone->data ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_http_switchboard_metrics_zone(ngx_conf_t *cf)
{
    static ngx_str_t  name = ngx_string("switchboard_metrics");

    ngx_http_switchboard_zone = ngx_shared_memory_add(cf, &name,
        ngx_align(sizeof(ngx_http_switchboard_counters_t), ngx_pagesize)
        + 8 * ngx_pagesize, &ngx_http_switchboard_module);
    if (ngx_http_switchboard_zone == NULL) {
        return NGX_ERROR;
    }
    ngx_http_switchboard_zone->init = ngx_http_switchboard_zone_init;
    return NGX_OK;
}


static void
ngx_http_switchboard_count_commit(ngx_http_switchboard_op_t **ops,
    ngx_uint_t n, sb_moved_t *moved)
{
    ngx_http_switchboard_counters_t  *m = ngx_http_switchboard_counters;
    const sb_cmd_t                   *cmd;
    const sb_result_t                *res;
    ngx_uint_t                        i, ch;

    for (i = 0; i < n; i++) {
        cmd = &ops[i]->cmd;
        res = &ops[i]->result;
        ch = cmd->channel >= 0 && cmd->channel < SB_CH_COUNT
             ? (ngx_uint_t) cmd->channel : SB_CH_CHAT;
        switch (res->outcome) {
        case SB_REFUSED:
            ngx_atomic_fetch_add(&m->refused[cmd->type][res->refusal], 1);
            continue;
        case SB_STORE_FULL:
            m->full_at_ms = (ngx_atomic_uint_t) ngx_current_msec;
            ngx_atomic_fetch_add(&m->failed[cmd->type][0], 1);
            continue;
        case SB_STORE_FAILED:
            ngx_atomic_fetch_add(
                &m->failed[cmd->type][res->outcome == SB_STORE_FAILED], 1);
            continue;
        default:
            ngx_atomic_fetch_add(&m->committed[cmd->type], 1);
            if (!sb_may_use_reserve(cmd->type) || sb_frees_room(cmd->type))
            {
                m->room_at_ms = (ngx_atomic_uint_t) ngx_current_msec;
            }
        }
        if (cmd->type == SB_CMD_WEBHOOK) {
            ngx_atomic_fetch_add(&m->messages[ch][0], res->tally.stored);
            ngx_atomic_fetch_add(&m->duplicates[ch], res->tally.duplicates);
        } else if ((cmd->type == SB_CMD_VISITOR_MESSAGE
                    || cmd->type == SB_CMD_AGENT_MESSAGE)
                   && res->outcome != SB_REPLAYED)
        {
            ngx_atomic_fetch_add(
                &m->messages[ch][cmd->type == SB_CMD_AGENT_MESSAGE], 1);
        } else if (cmd->type == SB_CMD_PURGE) {
            ngx_atomic_fetch_add(&m->retained[0], res->erased);
            ngx_atomic_fetch_add(&m->retained[1], res->erased_events);
            ngx_atomic_fetch_add(&m->retained[2], res->erased_ledger);
        } else if (cmd->type == SB_CMD_DELIVERED) {
            ngx_atomic_fetch_add(
                &m->deliveries[ch][cmd->u.delivered.outcome], 1);
        }
    }
}


/*
 * A write refused for want of room in the last 10 s, with none written
 * since: the store is full though its pages may say otherwise (a disk
 * quota, a reserve of 0). Stale news expires, so that a balancer that
 * stopped sending on the 503 gets to try again.
 */
ngx_int_t
ngx_http_switchboard_store_refusing(void)
{
    ngx_http_switchboard_counters_t  *m = ngx_http_switchboard_counters;
    ngx_msec_t                        full, room;

    if (m == NULL || m->full_at_ms == 0) {
        return 0;
    }
    full = (ngx_msec_t) m->full_at_ms;
    room = (ngx_msec_t) m->room_at_ms;
    return (ngx_msec_int_t) (full - room) > 0
           && (ngx_msec_int_t) (ngx_current_msec - full) < 10000;
}


ngx_int_t
ngx_http_switchboard_metrics_init(ngx_cycle_t *cycle)
{
    ngx_uint_t  k;

    if (ngx_http_switchboard_zone == NULL
        || ngx_http_switchboard_zone->data == NULL)
    {
        return NGX_OK;
    }
    ngx_http_switchboard_counters = ngx_http_switchboard_zone->data;
    if (ngx_worker < NGX_MAX_PROCESSES) {
        for (k = 0; k < 4; k++) {
            ngx_http_switchboard_counters->polls[ngx_worker].held[k] = 0;
        }
        ngx_http_switchboard_counters->polls[ngx_worker].pid = ngx_pid;
    }
    return ngx_http_switchboard_on_commit(ngx_http_switchboard_count_commit);
}


void
ngx_http_switchboard_metric_webhook(ngx_uint_t channel, ngx_uint_t what)
{
    if (ngx_http_switchboard_counters && channel < SB_CH_COUNT) {
        ngx_atomic_fetch_add(
            &ngx_http_switchboard_counters->webhooks[channel][what], 1);
    }
}


void
ngx_http_switchboard_metric_batch(ngx_uint_t n, ngx_msec_t us)
{
    ngx_http_switchboard_counters_t  *m = ngx_http_switchboard_counters;
    ngx_uint_t                        i;

    if (m == NULL) {
        return;
    }
    for (i = 0; i < SB_BATCH_BUCKETS && n > ngx_http_switchboard_batch_le[i];
         i++) { /* void */ }
    ngx_atomic_fetch_add(&m->batch[i], 1);
    ngx_atomic_fetch_add(&m->batch_sum, n);
    ngx_atomic_fetch_add(&m->batches, 1);
    for (i = 0; i < SB_LATENCY_BUCKETS
                && us > ngx_http_switchboard_latency_le[i]; i++)
    { /* void */ }
    ngx_atomic_fetch_add(&m->latency[i], 1);
    ngx_atomic_fetch_add(&m->latency_us, us);
}


/* A poll held (+1) or let go (-1), kind 0 an agent's, 1 a visitor's; or
 * (kind 2, 3) a stream opened or ended; only by the worker whose slot it
 * is. */
void
ngx_http_switchboard_metric_held(ngx_uint_t kind, ngx_int_t delta)
{
    ngx_http_switchboard_counters_t  *m = ngx_http_switchboard_counters;

    if (m && ngx_worker < NGX_MAX_PROCESSES
        && m->polls[ngx_worker].pid == (ngx_atomic_uint_t) ngx_pid)
    {
        ngx_atomic_fetch_add(&m->polls[ngx_worker].held[kind], delta);
    }
}


/* --- the exposition ---------------------------------------------------- */

static void
ngx_http_switchboard_line(sb_jw_t *w, const char *fmt, ...)
{
    u_char   buf[256], *p;
    va_list  args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);
    sb_jw_bytes(w, (char *) buf, p - buf);
}


static void
ngx_http_switchboard_histogram(sb_jw_t *w, const char *name,
    const ngx_uint_t *le, ngx_uint_t n, ngx_atomic_t *counts, double scale,
    double sum)
{
    ngx_uint_t  i, total = 0;
    u_char      bound[32], *p;

    for (i = 0; i <= n; i++) {
        total += counts[i];
        if (i < n) {
            p = ngx_sprintf(bound, "%.6f", (double) le[i] / scale);
            while (p[-1] == '0') {
                p--;
            }
            if (p[-1] == '.') {
                p--;
            }
            *p = '\0';
        } else {
            ngx_cpystrn(bound, (u_char *) "+Inf", sizeof(bound));
        }
        ngx_http_switchboard_line(w, "%s_bucket{le=\"%s\"} %ui\n", name,
                                  bound, total);
    }
    ngx_http_switchboard_line(w, "%s_sum %.6f\n%s_count %ui\n", name, sum,
                              name, total);
}


static void
ngx_http_switchboard_counters_text(sb_jw_t *w)
{
    ngx_http_switchboard_counters_t  *m = ngx_http_switchboard_counters;
    ngx_uint_t                        ch, i, k, held[4] = { 0, 0, 0, 0 };

    sb_metrics_family(w, "switchboard_webhooks_total", "counter",
        "Provider webhook deliveries, by channel and result.");
    for (ch = 0; ch < SB_CH_COUNT; ch++) {
        if (sb_channel_ops(ch)->signature_header == NULL) {
            continue;
        }
        for (k = 0; k < 3; k++) {
            ngx_http_switchboard_line(w, "switchboard_webhooks_total{"
                "channel=\"%s\",result=\"%s\"} %uA\n", sb_channel_name(ch),
                ngx_http_switchboard_hook_names[k], m->webhooks[ch][k]);
        }
    }
    sb_metrics_family(w, "switchboard_webhook_duplicates_total",
        "counter", "Provider messages acknowledged again and not stored "
        "twice (R21).");
    for (ch = 0; ch < SB_CH_COUNT; ch++) {
        if (sb_channel_ops(ch)->signature_header) {
            ngx_http_switchboard_line(w, "switchboard_webhook_duplicates_"
                "total{channel=\"%s\"} %uA\n", sb_channel_name(ch),
                m->duplicates[ch]);
        }
    }
    sb_metrics_family(w, "switchboard_messages_total", "counter",
        "Messages stored, by channel and author.");
    for (ch = 0; ch < SB_CH_COUNT; ch++) {
        for (k = 0; k < 2; k++) {
            ngx_http_switchboard_line(w, "switchboard_messages_total{"
                "channel=\"%s\",author=\"%s\"} %uA\n", sb_channel_name(ch),
                k ? "agent" : "visitor", m->messages[ch][k]);
        }
    }
    sb_metrics_family(w, "switchboard_commands_total", "counter",
        "Commands through the write path, by command and result (a "
        "refusal by its code).");
    for (i = 0; i < SB_CMD_COUNT; i++) {
        ngx_http_switchboard_line(w, "switchboard_commands_total{command="
            "\"%s\",result=\"committed\"} %uA\n", sb_cmd_name(i),
            m->committed[i]);
        for (k = 1; k < SB_REFUSE_COUNT; k++) {
            if (m->refused[i][k]) {
                ngx_http_switchboard_line(w, "switchboard_commands_total{"
                    "command=\"%s\",result=\"%s\"} %uA\n", sb_cmd_name(i),
                    sb_refusal_name(k), m->refused[i][k]);
            }
        }
        for (k = 0; k < 2; k++) {
            if (m->failed[i][k]) {
                ngx_http_switchboard_line(w, "switchboard_commands_total{"
                    "command=\"%s\",result=\"%s\"} %uA\n", sb_cmd_name(i),
                    k ? "store_failed" : "store_full", m->failed[i][k]);
            }
        }
    }
    sb_metrics_family(w, "switchboard_outbox_deliveries_total",
        "counter", "Delivery attempts of replies, by channel and outcome "
        "(R22).");
    for (ch = 0; ch < SB_CH_COUNT; ch++) {
        if (!sb_channel_ops(ch)->third_party) {
            continue;
        }
        for (k = 0; k < 3; k++) {
            ngx_http_switchboard_line(w, "switchboard_outbox_deliveries_"
                "total{channel=\"%s\",outcome=\"%s\"} %uA\n",
                sb_channel_name(ch), ngx_http_switchboard_delivery_names[k],
                m->deliveries[ch][k]);
        }
    }
    sb_metrics_family(w, "switchboard_commit_batch_size",
        "histogram", "Commands per group commit.");
    ngx_http_switchboard_histogram(w, "switchboard_commit_batch_size",
        ngx_http_switchboard_batch_le, SB_BATCH_BUCKETS, m->batch, 1,
        (double) m->batch_sum);
    sb_metrics_family(w, "switchboard_commit_duration_seconds",
        "histogram", "Time of one group commit, the write transaction and "
        "its fsync.");
    ngx_http_switchboard_histogram(w, "switchboard_commit_duration_seconds",
        ngx_http_switchboard_latency_le, SB_LATENCY_BUCKETS, m->latency,
        1000000, (double) m->latency_us / 1000000);

    for (i = 0; i < NGX_MAX_PROCESSES; i++) {
        for (k = 0; m->polls[i].pid && k < 4; k++) {
            held[k] += (ngx_int_t) m->polls[i].held[k] > 0
                       ? m->polls[i].held[k] : 0;
        }
    }
    sb_metrics_family(w, "switchboard_retention_deleted_total", "counter",
        "Rows deleted past switchboard_retention: whole conversations, "
        "events of the owners' logs, ledger lines.");
    ngx_http_switchboard_line(w, "switchboard_retention_deleted_total"
                              "{what=\"conversations\"} %uA\n"
                              "switchboard_retention_deleted_total"
                              "{what=\"events\"} %uA\n"
                              "switchboard_retention_deleted_total"
                              "{what=\"ledger\"} %uA\n",
                              m->retained[0], m->retained[1],
                              m->retained[2]);
    sb_metrics_family(w, "switchboard_polls_held", "gauge",
        "Long-polls held now, by kind.");
    ngx_http_switchboard_line(w, "switchboard_polls_held{kind=\"agent\"} "
                              "%ui\nswitchboard_polls_held{kind=\"visitor\"}"
                              " %ui\n", held[0], held[1]);
    sb_metrics_family(w, "switchboard_streams_open", "gauge",
        "Server-Sent Events streams open now, by kind.");
    ngx_http_switchboard_line(w, "switchboard_streams_open{kind=\"agent\"} "
                              "%ui\nswitchboard_streams_open{kind=\"visitor\"}"
                              " %ui\n", held[2], held[3]);
}


ngx_int_t
ngx_http_switchboard_metrics_handler(ngx_http_request_t *r)
{
    sb_answer_t   ans = { 0, NULL, NULL, 0, "" };
    sb_jw_t       w;
    MDB_txn      *txn;
    int           rc;

    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) {
        return ngx_http_switchboard_error(r, 405, "method_not_allowed",
                                          "GET or HEAD");
    }
    if (ngx_http_switchboard_counters == NULL) {
        return ngx_http_switchboard_error(r, 503, "unavailable",
                                          "the metrics zone is not ready");
    }
    sb_jw_init(&w, 16384);
    ngx_http_switchboard_counters_text(&w);
    txn = ngx_http_switchboard_read_begin(r->connection->log);
    rc = txn ? sb_metrics_store(&ngx_http_switchboard_store, txn,
                                sb_now_ms(), &w)
             : MDB_PANIC;
    if (txn) {
        ngx_http_switchboard_read_end();
    }
    if (rc) {
        sb_jw_free(&w);
        return ngx_http_switchboard_error(r, 500, "store_error",
                                          "the store could not be read");
    }
    if (w.failed) {
        sb_jw_free(&w);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ans.status = 200;
    ans.content_type = "text/plain; version=0.0.4; charset=utf-8";
    ans.body = w.buf;
    ans.len = w.len;
    return ngx_http_switchboard_answer(r, &ans);
}
