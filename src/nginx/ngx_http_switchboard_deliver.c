/* Delivery (R22): each job a FIRE claimed becomes a POST subrequest of a
 * request made for it, to the operator's internal location; nginx holds
 * the credentials and TLS, and the outcome goes back as a command. */

#include "ngx_http_switchboard.h"


typedef struct {
    sb_job_t                    job;        /* its text malloc'd here */
    ngx_uint_t                  status;
    char                        sent_id[SB_PROVIDER_ID_MAX + 1];
} ngx_http_switchboard_delivery_t;


static void ngx_http_switchboard_deliver_committed(
    ngx_http_switchboard_op_t **ops, ngx_uint_t n, sb_moved_t *moved);
static void ngx_http_switchboard_deliver_done(ngx_http_request_t *r);


ngx_int_t
ngx_http_switchboard_deliver_init(ngx_cycle_t *cycle)
{
    return ngx_http_switchboard_on_commit(
               ngx_http_switchboard_deliver_committed);
}


/* The attempt's outcome: one command on the write path. */
static void
ngx_http_switchboard_outcome(const sb_job_t *job, sb_send_outcome_t outcome,
    ngx_uint_t status, const char *sent_id, const char *error)
{
    sb_cmd_t  cmd;

    sb_cmd_init(&cmd, SB_CMD_DELIVERED, sb_now_ms());
    ngx_memcpy(cmd.tenant, job->tenant, sizeof(cmd.tenant));
    cmd.conv = job->conv;
    cmd.channel = job->channel;
    cmd.u.delivered.seq = job->seq;
    cmd.u.delivered.attempt = job->attempt;
    ngx_http_switchboard_fake_outcome(&cmd, outcome, status, sent_id, error);
}


/* The subrequest is over: keep what it got; the parent reports it. */
static ngx_int_t
ngx_http_switchboard_deliver_answered(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_switchboard_delivery_t  *d = data;
    ngx_buf_t                        *b;

    if (!ngx_http_switchboard_fake_status(sr, &rc, &d->status)) {
        return rc;
    }
    /* the id is read where the body lies, in the upstream's buffer */
    if (d->status >= 200 && d->status < 300 && sr->upstream) {
        b = &sr->upstream->buffer;
        if (b->start && b->last > b->pos) {
            (void) sb_channel_ops(d->job.channel)->sent_id(
                       (char *) b->pos, b->last - b->pos, d->sent_id,
                       sizeof(d->sent_id));
        }
    }
    return rc;
}


static void
ngx_http_switchboard_delivery_free(ngx_http_switchboard_delivery_t *d)
{
    free(d->job.text);
    ngx_free(d);
}


static void
ngx_http_switchboard_deliver_done(ngx_http_request_t *r)
{
    ngx_http_switchboard_ctx_t       *ctx;
    ngx_http_switchboard_delivery_t  *d;
    const char                       *channel;
    char                              error[64];

    ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);
    d = ctx->delivery;
    channel = sb_channel_name(d->job.channel);

    if (d->status >= 200 && d->status < 300) {
        ngx_http_switchboard_outcome(&d->job, SB_SENT_OK, d->status,
                                     d->sent_id, NULL);

    } else {
        /* R22: the network and the provider's bad moments are retried;
         * a refusal of the message itself is final */
        ngx_snprintf((u_char *) error, sizeof(error), "%s answered %ui%Z",
                     channel, d->status);
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "switchboard: delivery of a %s message: %ui",
                      channel, d->status);
        ngx_http_switchboard_outcome(&d->job,
                                     d->status == 429 || d->status == 408
                                     || d->status >= 500 ? SB_SENT_RETRY
                                                         : SB_SENT_FAILED,
                                     d->status, NULL, error);
    }

    ngx_http_switchboard_fake_close(r);
    ngx_http_switchboard_delivery_free(d);
    ngx_http_switchboard_slot_freed(NGX_HTTP_SWITCHBOARD_SLOT_DELIVERY);
}


/* One job: its body in the provider's shape, POSTed to the location. */
static void
ngx_http_switchboard_deliver_one(const sb_job_t *job)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_http_switchboard_delivery_t   *d;
    const char                        *type;
    char                              *body = NULL;
    size_t                             len;

    mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                              ngx_http_switchboard_module);
    if (mcf->deliver[job->channel].uri.len == 0) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "switchboard: no switchboard_deliver location for %s",
                      sb_channel_name(job->channel));
        ngx_http_switchboard_outcome(job, SB_SENT_RETRY, 0, NULL,
                                     "no switchboard_deliver location for "
                                     "this channel");
        return;
    }

    d = ngx_calloc(sizeof(ngx_http_switchboard_delivery_t), ngx_cycle->log);
    if (d == NULL) {
        goto failed;
    }
    d->job = *job;
    d->job.text = strdup(job->text);
    body = sb_channel_ops(job->channel)->send_body(job, &type, &len);
    if (d->job.text == NULL || body == NULL
        || ngx_http_switchboard_fake_post(mcf->deliver[job->channel].conf,
               &mcf->deliver[job->channel].uri, body, len, type, NULL, 0,
               ngx_http_switchboard_deliver_answered,
               ngx_http_switchboard_deliver_done, d)
           != NGX_OK)
    {
        goto failed;
    }
    free(body);
    ngx_http_switchboard_slot_taken(NGX_HTTP_SWITCHBOARD_SLOT_DELIVERY);
    return;

failed:
    free(body);
    if (d) {
        ngx_http_switchboard_delivery_free(d);
    }
    ngx_http_switchboard_outcome(job, SB_SENT_RETRY, 0, NULL,
                                 "the delivery could not be started");
}


/* The jobs a FIRE of this worker claimed, each delivered at once. */
static void
ngx_http_switchboard_deliver_committed(ngx_http_switchboard_op_t **ops,
    ngx_uint_t n, sb_moved_t *moved)
{
    ngx_uint_t  i;
    size_t      k;

    for (i = 0; i < n; i++) {
        for (k = 0; k < ops[i]->result.njobs; k++) {
            ngx_http_switchboard_deliver_one(&ops[i]->result.jobs[k]);
        }
    }
}


/* $switchboard_account, $switchboard_recipient, $switchboard_reply_to:
 * what the operator's location needs to build the provider's URL. */
ngx_int_t
ngx_http_switchboard_deliver_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_switchboard_ctx_t       *ctx;
    ngx_http_switchboard_delivery_t  *d;
    const char                       *name = (const char *) data, *s = NULL;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_switchboard_module);
    d = ctx ? ctx->delivery : NULL;
    if (d) {
        s = name[0] == 'a' ? d->job.account
            : name[0] == 'r' && name[2] == 'c' ? d->job.recipient
            : d->job.reply_to;
    }
    if (s == NULL || s[0] == '\0') {
        v->not_found = 1;
        return NGX_OK;
    }
    v->data = (u_char *) s;
    v->len = ngx_strlen(s);
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    return NGX_OK;
}
