/* Event webhooks: each event a FIRE claimed is POSTed, signed, to the
 * operator's internal location (nginx holds the URL and TLS), and the
 * attempt's outcome goes back as a command; the admin's view and replay. */

#include <openssl/hmac.h>

#include "ngx_http_switchboard.h"
#include "ngx_http_switchboard_api.h"


typedef struct {
    sb_hook_job_t               job;        /* its record not kept: the
                                               body is rendered at once */
    ngx_uint_t                  status;
} ngx_http_switchboard_event_out_t;


static void ngx_http_switchboard_outbox_committed(
    ngx_http_switchboard_op_t **ops, ngx_uint_t n, sb_moved_t *moved);


ngx_int_t
ngx_http_switchboard_outbox_init(ngx_cycle_t *cycle)
{
    return ngx_http_switchboard_on_commit(
               ngx_http_switchboard_outbox_committed);
}


static void
ngx_http_switchboard_outbox_outcome(const sb_hook_job_t *job,
    sb_send_outcome_t outcome, ngx_uint_t status, const char *error)
{
    sb_cmd_t  cmd;

    sb_cmd_init(&cmd, SB_CMD_HOOK_SENT, sb_now_ms());
    ngx_memcpy(cmd.tenant, job->tenant, sizeof(cmd.tenant));
    cmd.conv = job->conv;
    cmd.u.delivered.seq = job->id;
    cmd.u.delivered.attempt = job->attempt;
    ngx_http_switchboard_fake_outcome(&cmd, outcome, status, NULL, error);
}


static ngx_int_t
ngx_http_switchboard_outbox_answered(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_switchboard_event_out_t  *s = data;

    (void) ngx_http_switchboard_fake_status(sr, &rc, &s->status);
    return rc;
}


/* Any 2xx is received; anything else is tried again with back-off until
 * switchboard_event_webhook_attempts, as Stripe and Meta do. */
static void
ngx_http_switchboard_outbox_done(ngx_http_request_t *r)
{
    ngx_http_switchboard_ctx_t        *ctx;
    ngx_http_switchboard_event_out_t  *s;
    char                               error[48];

    ctx = ngx_http_get_module_ctx(r, ngx_http_switchboard_module);
    s = ctx->delivery;
    if (s->status >= 200 && s->status < 300) {
        ngx_http_switchboard_outbox_outcome(&s->job, SB_SENT_OK, s->status,
                                            NULL);
    } else {
        ngx_snprintf((u_char *) error, sizeof(error),
                     "the event webhook answered %ui%Z", s->status);
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "switchboard: event %s/%uL: %ui", s->job.tenant,
                      s->job.id, s->status);
        ngx_http_switchboard_outbox_outcome(&s->job, SB_SENT_RETRY,
                                            s->status, error);
    }
    ngx_http_switchboard_fake_close(r);
    ngx_free(s);
    ngx_http_switchboard_slot_freed(NGX_HTTP_SWITCHBOARD_SLOT_HOOK);
}


/*
 * Switchboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<body>" under the secret>: the receiver recomputes it and refuses
 * an old t, so a captured request cannot be replayed later.
 */
static ngx_int_t
ngx_http_switchboard_outbox_sign(ngx_str_t *secret, const char *body,
    size_t len, u_char *out, size_t cap)
{
    unsigned char  mac[EVP_MAX_MD_SIZE];
    unsigned int   maclen = 0;
    u_char        *signed_, *p;
    size_t         tlen;

    signed_ = ngx_alloc(NGX_TIME_T_LEN + 1 + len, ngx_cycle->log);
    if (signed_ == NULL) {
        return NGX_ERROR;
    }
    p = ngx_sprintf(signed_, "%T.", ngx_time());
    tlen = p - signed_;
    ngx_memcpy(p, body, len);
    if (HMAC(EVP_sha256(), secret->data, (int) secret->len, signed_,
             tlen + len, mac, &maclen) == NULL
        || cap < tlen + 8 + 2 * maclen)
    {
        ngx_free(signed_);
        return NGX_ERROR;
    }
    p = ngx_sprintf(out, "t=%*s,v1=", tlen - 1, signed_);
    p = ngx_hex_dump(p, mac, maclen);
    *p = '\0';
    ngx_free(signed_);
    return NGX_OK;
}


static void
ngx_http_switchboard_outbox_send(const sb_hook_job_t *job)
{
    ngx_http_switchboard_main_conf_t  *mcf;
    ngx_http_switchboard_event_out_t  *s;
    ngx_keyval_t                       h[4];
    char                              *body = NULL;
    size_t                             len;
    u_char                             sig[160], id[SB_ID_MAX + 24],
                                       attempt[NGX_INT64_LEN];

    mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                              ngx_http_switchboard_module);
    if (mcf->hook.uri.len == 0) {
        ngx_http_switchboard_outbox_outcome(job, SB_SENT_RETRY, 0,
                                            "no switchboard_event_webhook");
        return;
    }
    s = ngx_calloc(sizeof(ngx_http_switchboard_event_out_t), ngx_cycle->log);
    if (s == NULL) {
        goto failed;
    }
    s->job = *job;
    s->job.record = NULL;
    body = sb_hook_body(job->record, job->record_len, job->tenant, &len);
    if (body == NULL
        || ngx_http_switchboard_outbox_sign(&mcf->hook.secret, body, len,
                                            sig, sizeof(sig))
           != NGX_OK)
    {
        goto failed;
    }

    ngx_str_set(&h[0].key, "Switchboard-Signature");
    h[0].value.data = sig;
    h[0].value.len = ngx_strlen(sig);
    ngx_str_set(&h[1].key, "Switchboard-Event-Id");
    h[1].value.data = id;
    h[1].value.len = ngx_sprintf(id, "%s/%uL", job->tenant, job->id) - id;
    ngx_str_set(&h[2].key, "Switchboard-Event-Type");
    h[2].value.data = (u_char *) sb_hook_name(job->type);
    h[2].value.len = ngx_strlen(h[2].value.data);
    ngx_str_set(&h[3].key, "Switchboard-Attempt");
    h[3].value.data = attempt;
    h[3].value.len = ngx_sprintf(attempt, "%L", job->attempt) - attempt;

    if (ngx_http_switchboard_fake_post(mcf->hook.conf, &mcf->hook.uri, body,
                                       len, "application/json", h, 4,
                                       ngx_http_switchboard_outbox_answered,
                                       ngx_http_switchboard_outbox_done, s)
        != NGX_OK)
    {
        goto failed;
    }
    free(body);
    ngx_http_switchboard_slot_taken(NGX_HTTP_SWITCHBOARD_SLOT_HOOK);
    return;

failed:
    free(body);
    ngx_free(s);
    ngx_http_switchboard_outbox_outcome(job, SB_SENT_RETRY, 0,
                                        "the event webhook could not be "
                                        "started");
}


/* The events a FIRE of this worker claimed, each sent at once. */
static void
ngx_http_switchboard_outbox_committed(ngx_http_switchboard_op_t **ops,
    ngx_uint_t n, sb_moved_t *moved)
{
    ngx_uint_t  i;
    size_t      k;

    for (i = 0; i < n; i++) {
        for (k = 0; k < ops[i]->result.nhooks; k++) {
            ngx_http_switchboard_outbox_send(&ops[i]->result.hooks[k]);
        }
    }
}


static void
ngx_http_switchboard_q_outbox(MDB_txn *txn, ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_answer_t *ans)
{
    sb_query_hooks(&ngx_http_switchboard_store, txn, ctx->tenant, ctx->conv,
                   ans);
}


/* GET /admin/webhooks[?cursor=]: the outbox, and the failed events from
 * the cursor on */
ngx_int_t
ngx_http_switchboard_get_outbox(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, ngx_http_switchboard_path_t *path)
{
    if (ngx_http_switchboard_cursor(r, &ctx->conv) != NGX_OK) {
        return ngx_http_switchboard_bad_cursor(r);
    }
    return ngx_http_switchboard_read(r, ctx, ngx_http_switchboard_q_outbox);
}
