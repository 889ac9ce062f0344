/* Switchboard nginx glue: configuration, a request's context, and what
 * the glue's parts offer each other. The write path reports to the
 * others through hooks they register at init, never by calling them. */

#ifndef _NGX_HTTP_SWITCHBOARD_H_INCLUDED_
#define _NGX_HTTP_SWITCHBOARD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>

#include "sb_core.h"


#define NGX_HTTP_SWITCHBOARD_NONE     0
#define NGX_HTTP_SWITCHBOARD_AGENT    1
#define NGX_HTTP_SWITCHBOARD_VISITOR  2
#define NGX_HTTP_SWITCHBOARD_ADMIN    3
#define NGX_HTTP_SWITCHBOARD_WEBHOOK  4
#define NGX_HTTP_SWITCHBOARD_ERRORS   5     /* switchboard_error_json */
#define NGX_HTTP_SWITCHBOARD_HEALTH   6     /* switchboard_health */
#define NGX_HTTP_SWITCHBOARD_METRICS  7     /* switchboard_metrics */

/* what the metrics count of a webhook */
#define NGX_HTTP_SWITCHBOARD_HOOK_RECEIVED       0
#define NGX_HTTP_SWITCHBOARD_HOOK_BAD_SIGNATURE  1
#define NGX_HTTP_SWITCHBOARD_HOOK_REFUSED        2


typedef struct {
    ngx_str_t                  store_path;
    size_t                     map_size;
    size_t                     reserve;        /* room kept for deletes */
    ngx_flag_t                 sync;
    ngx_array_t               *jwt_keys;       /* sb_jwt_key_t */
    ngx_uint_t                 jwt_secrets;    /* unnamed: the key, the
                                                  old one */
    sb_jwt_keys_t              jwt;            /* what tokens are checked
                                                  with */
    ngx_msec_t                 poll_timeout;
    ngx_uint_t                 polls_per_token;  /* held at once, a worker */
    ngx_msec_t                 presence_timeout;
    ngx_msec_t                 stream_heartbeat;
    size_t                     stream_buffer;
    ngx_flag_t                 classes_set;
    ngx_msec_t                 first_reply_timeout;
    ngx_msec_t                 reply_timeout;
    ngx_msec_t                 snooze_max;
    ngx_flag_t                 sticky;
    ngx_uint_t                 auth_log_level;
    size_t                     text_max;
    ngx_int_t                  deliver_attempts;
    ngx_int_t                  deliver_concurrency;  /* per worker, each of
                                                        replies and events */
    ngx_msec_t                 deliver_backoff;
    ngx_msec_t                 deliver_timeout;
    ngx_msec_t                 dedupe_window;
    ngx_int_t                  retention;      /* the line without
                                                  channels: ms, 0 off */
    struct {
        ngx_str_t              uri;
        ngx_http_conf_ctx_t   *conf;        /* the server it was written in */
    }                          deliver[SB_CH_COUNT];
    unsigned                   caps_set;    /* channels named by a directive */
    struct {
        ngx_str_t              uri;
        ngx_http_conf_ctx_t   *conf;
        unsigned               types;       /* bit (1 << sb_hook_type_t) */
        ngx_str_t              secret;
        ngx_int_t              attempts;
        ngx_msec_t             backoff;
        ngx_msec_t             timeout;
        ngx_msec_t             keep;        /* failed events: kept so long */
        ngx_int_t              keep_max;    /* and so many a tenant */
    }                          hook;        /* switchboard_event_webhook */
    sb_config_t                core;
    ngx_thread_pool_t         *thread_pool;
} ngx_http_switchboard_main_conf_t;


typedef struct {
    ngx_uint_t                 kind;
    ngx_str_t                  group;
    ngx_http_complex_value_t  *tenant;
    ngx_uint_t                 channel;          /* webhook locations */
    ngx_str_t                  webhook_secret;
    ngx_str_t                  verify_token;
    ngx_str_t                  public_url;       /* Twilio signs it */
    ngx_flag_t                 operator;         /* pause and resume */
} ngx_http_switchboard_loc_conf_t;


/* One command on its way through the group-committed write path. */
typedef struct {
    sb_cmd_t                   cmd;
    sb_result_t                result;
    ngx_http_request_t        *request;     /* NULL: no one waits for it */
    ngx_queue_t                queue;
} ngx_http_switchboard_op_t;


/* A request's state while it builds its command. */
typedef struct {
    sb_cmd_type_t              type;
    char                       tenant[SB_ID_MAX + 1];
    char                       actor[SB_ID_MAX + 1];
    char                       target[SB_VISITOR_MAX + 1];
    uint64_t                   conv;
    int                        channel;
    ngx_str_t                  idem;
    void                      *hold;        /* a held poll */
    void                      *stream;      /* an open event stream */
    ngx_http_switchboard_op_t *op;          /* the command in flight */
    void                      *delivery;    /* a request made for a job */
    ngx_buf_t                 *error_body;  /* nginx's error, as JSON */
    sb_page_t                  page;        /* ?limit=&before= of a thread */
    unsigned                   error_json:1;

    /* for the log variables (_variables.c) */
    const char                *role;        /* the token's, once taken */
    uint64_t                   conversation; /* named, or made by it */
    ngx_str_t                  error;       /* the code of a refusal */
    ngx_msec_t                 submitted;   /* to the write path */
    ngx_msec_t                 commit_ms;   /* until its answer */
    unsigned                   committed:1;
} ngx_http_switchboard_ctx_t;


/* after each commit: the batch's ops (answered already) and the moved
 * logs; after each wake-up datagram line: its bytes */
typedef void (*ngx_http_switchboard_commit_pt)(ngx_http_switchboard_op_t **ops,
    ngx_uint_t n, sb_moved_t *moved);
typedef void (*ngx_http_switchboard_wake_pt)(u_char *line, size_t len);


extern ngx_module_t  ngx_http_switchboard_module;
extern sb_store_t    ngx_http_switchboard_store;


/* module.c: a timer or posted event of ours, never without a log or a
 * data pointer (nginx's debug lines read ev->log and the fd of
 * ev->data as a connection's: NULL there crashed every worker at
 * `error_log … debug`, issue 19); data NULL takes a connection of fd -1 */
void ngx_http_switchboard_event_init(ngx_event_t *ev,
    ngx_event_handler_pt handler, void *data, ngx_log_t *log,
    ngx_uint_t cancelable);


/* request.c: answers, bodies, headers, tokens, read transactions */
ngx_int_t ngx_http_switchboard_answer(ngx_http_request_t *r,
    sb_answer_t *ans);
ngx_int_t ngx_http_switchboard_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message);
ngx_int_t ngx_http_switchboard_read_body(ngx_http_request_t *r,
    ngx_http_client_body_handler_pt handler);
ngx_int_t ngx_http_switchboard_body_or_answer(ngx_http_request_t *r,
    ngx_str_t *body);
ngx_str_t *ngx_http_switchboard_header(ngx_http_request_t *r,
    const char *name);
ngx_int_t ngx_http_switchboard_arg(ngx_http_request_t *r, const char *name,
    int form, ngx_str_t *value);
ngx_int_t ngx_http_switchboard_tenant(ngx_http_request_t *r, char *tenant,
    sb_answer_t *err);
ngx_int_t ngx_http_switchboard_authenticate(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, const char *role, sb_answer_t *err);
MDB_txn *ngx_http_switchboard_read_begin(ngx_log_t *log);
void ngx_http_switchboard_read_end(void);
void ngx_http_switchboard_read_close(void);

/* commit.c: the write path */
ngx_int_t ngx_http_switchboard_commit_init(ngx_cycle_t *cycle);
/* takes the map size another generation set (MDB_MAP_RESIZED), once no
 * write transaction runs; on the event loop, outside any read */
ngx_int_t ngx_http_switchboard_map_adopt(ngx_log_t *log);
/* 1: writes were refused for want of room just now (metrics.c) */
ngx_int_t ngx_http_switchboard_store_refusing(void);
ngx_int_t ngx_http_switchboard_submit(ngx_http_request_t *r,
    sb_cmd_t *cmd);
ngx_int_t ngx_http_switchboard_on_commit(
    ngx_http_switchboard_commit_pt handler);

/* wake.c: datagrams between workers */
ngx_int_t ngx_http_switchboard_wake_create(ngx_cycle_t *cycle,
    ngx_str_t *store);
ngx_int_t ngx_http_switchboard_wake_listen(ngx_cycle_t *cycle,
    ngx_str_t *store);
void ngx_http_switchboard_wake_exit(void);
ngx_int_t ngx_http_switchboard_on_wake(ngx_http_switchboard_wake_pt handler);
void ngx_http_switchboard_wake_broadcast(sb_moved_t *moved);
void ngx_http_switchboard_wake_send_line(const char *line);

/* poll.c: held long-polls (R24) */
ngx_int_t ngx_http_switchboard_poll_init(ngx_cycle_t *cycle);
ngx_int_t ngx_http_switchboard_poll(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, const char *owner, uint64_t cursor);

/* stream.c: the same logs as Server-Sent Events (R24) */
ngx_int_t ngx_http_switchboard_stream(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, const char *owner, uint64_t cursor,
    ngx_uint_t agent);

/* timer.c: deadlines (R16) and the dedupe purge (R21) */
ngx_int_t ngx_http_switchboard_timer_init(ngx_cycle_t *cycle);

/* timer.c: what a worker has in flight to providers and to the event
 * webhook, each kind capped by switchboard_deliver_concurrency; a FIRE
 * claims no more than the free slots, a freed slot fires again */
#define NGX_HTTP_SWITCHBOARD_SLOT_DELIVERY  0
#define NGX_HTTP_SWITCHBOARD_SLOT_HOOK      1
void ngx_http_switchboard_slot_taken(ngx_uint_t kind);
void ngx_http_switchboard_slot_freed(ngx_uint_t kind);

/* reconcile.c: the store made to agree with a new configuration */
ngx_int_t ngx_http_switchboard_reconcile_init(ngx_cycle_t *cycle,
    ngx_msec_t old_workers_gone);

/* deliver.c: replies to providers (R22) */
ngx_int_t ngx_http_switchboard_deliver_init(ngx_cycle_t *cycle);
ngx_int_t ngx_http_switchboard_deliver_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

/* fake.c: a request of our own, for a subrequest with no client */
ngx_http_request_t *ngx_http_switchboard_fake_request(
    ngx_http_conf_ctx_t *conf, ngx_http_event_handler_pt done);
void ngx_http_switchboard_fake_close(ngx_http_request_t *r);
ngx_int_t ngx_http_switchboard_fake_body(ngx_http_request_t *r,
    const char *body, size_t len, const char *type);
ngx_int_t ngx_http_switchboard_fake_post(ngx_http_conf_ctx_t *conf,
    ngx_str_t *uri, const char *body, size_t len, const char *type,
    ngx_keyval_t *headers, ngx_uint_t nheaders,
    ngx_http_post_subrequest_pt answered, ngx_http_event_handler_pt done,
    void *data);
ngx_uint_t ngx_http_switchboard_fake_status(ngx_http_request_t *sr,
    ngx_int_t *rc, ngx_uint_t *status);
void ngx_http_switchboard_fake_outcome(sb_cmd_t *cmd,
    sb_send_outcome_t outcome, ngx_uint_t status, const char *sent_id,
    const char *error);

/* outbox.c: the event webhooks, signed and sent to the operator's
 * location; the admin's view and replay */
ngx_int_t ngx_http_switchboard_outbox_init(ngx_cycle_t *cycle);

/* routes.c and api.c: the three APIs */
ngx_int_t ngx_http_switchboard_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_switchboard_command(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, sb_cmd_type_t type);

/* webhook.c: providers' deliveries (R20) */
ngx_int_t ngx_http_switchboard_webhook_handler(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx);

/* directives.c */
char *ngx_http_switchboard_directive_error(ngx_conf_t *cf);

/* errors.c: nginx's own error answers in our locations, as JSON */
ngx_int_t ngx_http_switchboard_errors_init(ngx_conf_t *cf);
ngx_int_t ngx_http_switchboard_error_handler(ngx_http_request_t *r);

/* variables.c: $switchboard_tenant and the others for log_format */
ngx_int_t ngx_http_switchboard_log_variables(ngx_conf_t *cf);
void ngx_http_switchboard_note_error(ngx_http_request_t *r,
    const char *code);

/* metrics.c: counters in a shared zone, gauges from the store */
ngx_int_t ngx_http_switchboard_metrics_zone(ngx_conf_t *cf);
ngx_int_t ngx_http_switchboard_metrics_init(ngx_cycle_t *cycle);
void ngx_http_switchboard_metric_webhook(ngx_uint_t channel, ngx_uint_t what);
void ngx_http_switchboard_metric_batch(ngx_uint_t n, ngx_msec_t us);
void ngx_http_switchboard_metric_held(ngx_uint_t kind, ngx_int_t delta);
ngx_int_t ngx_http_switchboard_metrics_handler(ngx_http_request_t *r);

/* health.c: the operator's probe */
ngx_int_t ngx_http_switchboard_health_handler(ngx_http_request_t *r);

/* policy directives and the seeds' defaults (_policy.c) */
char *ngx_http_switchboard_slot_class(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_switchboard_snooze_presets(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_switchboard_auto_close(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_switchboard_capabilities(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_switchboard_retention(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_switchboard_ledger_retention(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
void ngx_http_switchboard_seed_defaults(ngx_http_switchboard_main_conf_t *mcf);


#endif /* _NGX_HTTP_SWITCHBOARD_H_INCLUDED_ */
