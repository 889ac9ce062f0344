/* The deadline timer (R16): each worker keeps one cancelable nginx timer
 * on the store's earliest deadline; when it fires, a FIRE command takes
 * the group-committed write path, which deletes what it fires. And the
 * dedupe purge's timer (R21). */

#include "ngx_http_switchboard.h"

/* a FIRE the store refused (full, I/O) is tried again after this, doubled
 * each time up to the cap, and logged at most once per cap */
#define NGX_HTTP_SWITCHBOARD_FIRE_BACKOFF      1000
#define NGX_HTTP_SWITCHBOARD_FIRE_BACKOFF_MAX  60000


static ngx_event_t  ngx_http_switchboard_deadline_ev;
static int64_t      ngx_http_switchboard_armed;     /* due, ms; 0: none */
static ngx_event_t  ngx_http_switchboard_purge_ev;

static ngx_msec_t   ngx_http_switchboard_fire_backoff;     /* 0: it works */
static int64_t      ngx_http_switchboard_fire_not_before;  /* ms */
static int64_t      ngx_http_switchboard_fire_logged;      /* ms */

/* jobs in flight, and promised to FIREs not yet committed, per kind; a
 * FIRE that left jobs due for want of a slot makes the next freed slot
 * fire at once */
static ngx_uint_t   ngx_http_switchboard_in_flight[2];
static ngx_uint_t   ngx_http_switchboard_promised[2];
static ngx_uint_t   ngx_http_switchboard_jobs_waiting;


static ngx_int_t ngx_http_switchboard_timer_rearm(void);
static void ngx_http_switchboard_purge_answered(sb_result_t *res);
static void ngx_http_switchboard_timer_committed(
    ngx_http_switchboard_op_t **ops, ngx_uint_t n, sb_moved_t *moved);
static void ngx_http_switchboard_timer_heard(u_char *line, size_t len);
static void ngx_http_switchboard_purge_fire(ngx_event_t *ev);


static ngx_uint_t
ngx_http_switchboard_free_slots(ngx_uint_t kind)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_uint_t                         used;

    mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                              ngx_http_switchboard_module);
    used = ngx_http_switchboard_in_flight[kind]
           + ngx_http_switchboard_promised[kind];
    return used < (ngx_uint_t) mcf->deliver_concurrency
           ? (ngx_uint_t) mcf->deliver_concurrency - used : 0;
}


static void
ngx_http_switchboard_deadline_fire(ngx_event_t *ev)
{
    sb_cmd_t  fire;

    ngx_http_switchboard_armed = 0;
    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;              /* the next worker arms from the store */
    }
    sb_cmd_init(&fire, SB_CMD_FIRE, sb_now_ms());
    fire.u.fire.budgeted = 1;
    fire.u.fire.deliveries = (int) ngx_http_switchboard_free_slots(
                                       NGX_HTTP_SWITCHBOARD_SLOT_DELIVERY);
    fire.u.fire.hooks = (int) ngx_http_switchboard_free_slots(
                                  NGX_HTTP_SWITCHBOARD_SLOT_HOOK);
    if (ngx_http_switchboard_submit(NULL, &fire) == NGX_OK) {
        ngx_http_switchboard_promised[NGX_HTTP_SWITCHBOARD_SLOT_DELIVERY]
            += fire.u.fire.deliveries;
        ngx_http_switchboard_promised[NGX_HTTP_SWITCHBOARD_SLOT_HOOK]
            += fire.u.fire.hooks;
    }
}


void
ngx_http_switchboard_slot_taken(ngx_uint_t kind)
{
    ngx_http_switchboard_in_flight[kind]++;
}


/* A job is over: if a FIRE left jobs due for want of a slot, this one
 * takes the next of them now rather than at the next deadline. */
void
ngx_http_switchboard_slot_freed(ngx_uint_t kind)
{
    ngx_event_t  *ev = &ngx_http_switchboard_deadline_ev;

    if (ngx_http_switchboard_in_flight[kind]) {
        ngx_http_switchboard_in_flight[kind]--;
    }
    if (ngx_http_switchboard_jobs_waiting && ev->handler && !ev->posted) {
        ngx_http_switchboard_jobs_waiting = 0;
        ngx_http_switchboard_fire_not_before = 0;
        if (ev->timer_set) {
            ngx_del_timer(ev);
        }
        ngx_post_event(ev, &ngx_posted_events);
    }
}


ngx_int_t
ngx_http_switchboard_timer_init(ngx_cycle_t *cycle)
{
    ngx_event_t  *ev = &ngx_http_switchboard_deadline_ev;

    /* cancelable: never keeps an exiting worker alive */
    ngx_http_switchboard_event_init(ev, ngx_http_switchboard_deadline_fire,
                                    NULL, cycle->log, 1);
    ngx_http_switchboard_event_init(&ngx_http_switchboard_purge_ev,
                                    ngx_http_switchboard_purge_fire, NULL,
                                    cycle->log, 1);
    ngx_http_switchboard_purge_answered(NULL);

    if (ngx_http_switchboard_on_commit(ngx_http_switchboard_timer_committed)
        != NGX_OK
        || ngx_http_switchboard_on_wake(ngx_http_switchboard_timer_heard)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* deadlines that fell due while nginx was down fire at once */
    (void) ngx_http_switchboard_timer_rearm();
    return NGX_OK;
}


/*
 * Re-reads the earliest deadline (one cursor step, O(log n)) and arms the
 * timer on it. Returns 1 when it is earlier than what was armed, so that
 * the other workers are told to look too.
 */
static ngx_int_t
ngx_http_switchboard_timer_rearm(void)
{
    ngx_event_t  *ev = &ngx_http_switchboard_deadline_ev;
    MDB_txn      *txn;
    int64_t       due = 0, delay, now;
    ngx_int_t     earlier;
    int           rc;

    if (ev->handler == NULL) {
        return 0;
    }
    txn = ngx_http_switchboard_read_begin(ev->log);
    if (txn == NULL) {
        return 0;
    }
    rc = sb_deadline_earliest(&ngx_http_switchboard_store, txn, &due);
    ngx_http_switchboard_read_end();

    if (rc != 0) {
        if (ev->timer_set) {
            ngx_del_timer(ev);
        }
        ngx_http_switchboard_armed = 0;
        return 0;
    }
    if (ev->timer_set && due == ngx_http_switchboard_armed) {
        return 0;
    }

    earlier = ngx_http_switchboard_armed == 0
              || due < ngx_http_switchboard_armed;

    /* deleted first: ngx_add_timer keeps an old timer within 300 ms */
    if (ev->timer_set) {
        ngx_del_timer(ev);
    }
    now = sb_now_ms();
    delay = due - now;
    if (ngx_http_switchboard_fire_not_before > now + (delay > 0 ? delay : 0))
    {
        /* backing off a store that refused: no news for the others */
        delay = ngx_http_switchboard_fire_not_before - now;
        earlier = 0;
    }
    ngx_add_timer(ev, delay > 0 ? (ngx_msec_t) delay : 0);
    ngx_http_switchboard_armed = due;

    return earlier;
}


/*
 * A FIRE the store refused (a full map, an I/O error) leaves its deadlines
 * due: without a pause every worker would fire again at once, forever.
 * The pause doubles up to a minute, and the error log hears of it when it
 * starts and then at most once a minute; the first FIRE that commits ends
 * it.
 */
static void
ngx_http_switchboard_fire_outcome(sb_result_t *res)
{
    ngx_msec_t  *backoff = &ngx_http_switchboard_fire_backoff;
    int64_t      now = sb_now_ms();
    ngx_uint_t   level = res->parked ? NGX_LOG_ERR : NGX_LOG_WARN;

    if (res->note[0]) {
        /* a row set aside (once: it is out of the way now), or a wake
         * that waits for a class (once an hour per conversation) */
        ngx_log_error(level, ngx_cycle->log, 0, "switchboard: %s",
                      res->note);
    }
    if (res->outcome != SB_STORE_FULL && res->outcome != SB_STORE_FAILED) {
        if (*backoff) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "switchboard: deadlines fire again");
        }
        *backoff = 0;
        ngx_http_switchboard_fire_not_before = 0;
        ngx_http_switchboard_fire_logged = 0;
        if (res->jobs_waiting) {
            /* the jobs left due are the first deadlines: rather than
             * fire again at once for nothing, this worker waits for a
             * free slot (or a second, for the deadlines behind them) */
            ngx_http_switchboard_jobs_waiting = 1;
            ngx_http_switchboard_fire_not_before = now + 1000;
        }
        return;
    }

    *backoff = *backoff == 0 ? NGX_HTTP_SWITCHBOARD_FIRE_BACKOFF
               : ngx_min(*backoff * 2, NGX_HTTP_SWITCHBOARD_FIRE_BACKOFF_MAX);
    ngx_http_switchboard_fire_not_before = now + *backoff;
    if (ngx_http_switchboard_fire_logged == 0
        || now - ngx_http_switchboard_fire_logged
           >= NGX_HTTP_SWITCHBOARD_FIRE_BACKOFF_MAX)
    {
        ngx_http_switchboard_fire_logged = now;
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "switchboard: deadlines cannot fire: %s (LMDB %d); "
                      "trying again in %M ms",
                      res->outcome == SB_STORE_FULL ? "the store is full"
                                                    : "the store failed",
                      res->store_rc, *backoff);
    }
}


/* After every commit: the first deadline may have moved; one set
 * earlier here is news for the other workers too. */
static void
ngx_http_switchboard_timer_committed(ngx_http_switchboard_op_t **ops,
    ngx_uint_t n, sb_moved_t *moved)
{
    ngx_uint_t  i;

    for (i = 0; i < n; i++) {
        if (ops[i]->cmd.type == SB_CMD_PURGE) {
            ngx_http_switchboard_purge_answered(&ops[i]->result);
        } else if (ops[i]->cmd.type == SB_CMD_HOOK_SENT
                   && ops[i]->result.dropped)
        {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "switchboard: tenant \"%s\": the oldest failed "
                          "event webhook dropped, %L kept at most "
                          "(switchboard_event_webhook_keep)",
                          ops[i]->cmd.tenant,
                          ngx_http_switchboard_store.cfg->hook_keep_max);
        } else if (ops[i]->cmd.type == SB_CMD_FIRE) {
            /* what it claimed is in flight now (deliver.c, outbox.c) */
            ngx_http_switchboard_promised[NGX_HTTP_SWITCHBOARD_SLOT_DELIVERY]
                -= ops[i]->cmd.u.fire.deliveries;
            ngx_http_switchboard_promised[NGX_HTTP_SWITCHBOARD_SLOT_HOOK]
                -= ops[i]->cmd.u.fire.hooks;
            ngx_http_switchboard_fire_outcome(&ops[i]->result);
        }
    }
    if (ngx_http_switchboard_timer_rearm()) {
        ngx_http_switchboard_wake_send_line("T");
    }
}


static void
ngx_http_switchboard_timer_heard(u_char *line, size_t len)
{
    if (len == 1 && (line[0] == 'T' || line[0] == '*')) {
        (void) ngx_http_switchboard_timer_rearm();
    }
}


/*
 * R21: dedupe rows older than switchboard_dedupe_window, failed event
 * webhooks older than switchboard_event_webhook_keep, and what is past
 * switchboard_retention (issue 20) are purged a slice per command, every
 * quarter of the shortest (between 1 s and 10 min); a walk that did not
 * finish goes on at once.
 */
static void
ngx_http_switchboard_purge_fire(ngx_event_t *ev)
{
    sb_cmd_t  purge;

    sb_cmd_init(&purge, SB_CMD_PURGE, sb_now_ms());
    (void) ngx_http_switchboard_submit(NULL, &purge);
}


static void
ngx_http_switchboard_purge_answered(sb_result_t *res)
{
    ngx_event_t        *ev = &ngx_http_switchboard_purge_ev;
    const sb_config_t  *cfg = ngx_http_switchboard_store.cfg;
    int64_t             every = ngx_min(cfg->dedupe_ms, cfg->hook_keep_ms);
    int                 ch;

    for (ch = 0; ch < SB_CH_COUNT; ch++) {
        if (cfg->retention_ms[ch] > 0) {
            every = ngx_min(every, cfg->retention_ms[ch]);
        }
    }
    if (cfg->ledger_retention_ms > 0) {
        every = ngx_min(every, cfg->ledger_retention_ms);
    }
    every /= 4;

    if (res && res->dropped) {
        ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                      "switchboard: %uz failed event webhooks dropped, kept "
                      "longer than switchboard_event_webhook_keep or their "
                      "conversation deleted by switchboard_retention",
                      res->dropped);
    }
    if (res && (res->erased || res->erased_ledger)) {
        ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                      "switchboard: retention deleted %uz conversations, "
                      "%uz events and %uz ledger lines", res->erased,
                      res->erased_events, res->erased_ledger);
    }
    if (ev->handler == NULL || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }
    if (res && res->more) {
        ngx_add_timer(ev, 0);
        return;
    }
    every = every < 1000 ? 1000 : every > 600000 ? 600000 : every;
    ngx_add_timer(ev, (ngx_msec_t) every);
}
