/* The store made to agree with this configuration (issue 19): worker 0
 * sends a RECONCILE at start, again until it says there is no more, and
 * once more after the old workers of a reload have had time to go. */

#include "ngx_http_switchboard.h"


static ngx_event_t  ngx_http_switchboard_reconcile_ev;

static void ngx_http_switchboard_reconcile_committed(
    ngx_http_switchboard_op_t **ops, ngx_uint_t n, sb_moved_t *moved);


static void
ngx_http_switchboard_reconcile_send(int start)
{
    sb_cmd_t  cmd;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }
    sb_cmd_init(&cmd, SB_CMD_RECONCILE, sb_now_ms());
    cmd.u.reconcile.start = start;
    (void) ngx_http_switchboard_submit(NULL, &cmd);
}


/* The old generation's workers answer what they hold within a poll's
 * time; rows they wrote under the names they knew are moved then. */
static void
ngx_http_switchboard_reconcile_again(ngx_event_t *ev)
{
    ngx_http_switchboard_reconcile_send(0);
}


ngx_int_t
ngx_http_switchboard_reconcile_init(ngx_cycle_t *cycle,
    ngx_msec_t old_workers_gone)
{
    if (ngx_http_switchboard_on_commit(
            ngx_http_switchboard_reconcile_committed) != NGX_OK)
    {
        return NGX_ERROR;
    }
    if (ngx_worker != 0 && ngx_process != NGX_PROCESS_SINGLE) {
        return NGX_OK;                 /* one worker is enough for all */
    }
    ngx_http_switchboard_event_init(&ngx_http_switchboard_reconcile_ev,
                                    ngx_http_switchboard_reconcile_again,
                                    NULL, cycle->log, 1);
    ngx_add_timer(&ngx_http_switchboard_reconcile_ev, old_workers_gone);
    ngx_http_switchboard_reconcile_send(1);
    return NGX_OK;
}


static void
ngx_http_switchboard_reconcile_committed(ngx_http_switchboard_op_t **ops,
    ngx_uint_t n, sb_moved_t *moved)
{
    sb_result_t  *res;
    ngx_uint_t    i;

    for (i = 0; i < n; i++) {
        if (ops[i]->cmd.type != SB_CMD_RECONCILE) {
            continue;
        }
        res = &ops[i]->result;
        if (res->outcome == SB_STORE_FULL || res->outcome == SB_STORE_FAILED)
        {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "switchboard: the store could not be made to agree "
                          "with the configuration (LMDB %d); it is tried "
                          "again at the next start", res->store_rc);
            continue;
        }
        if (res->note[0]) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "switchboard: %s", res->note);
        }
        if (res->more) {
            ngx_http_switchboard_reconcile_send(0);
        }
    }
}
