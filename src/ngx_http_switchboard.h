/* Switchboard nginx glue: configuration, per-request context and the
 * functions the glue files call on each other. */

#ifndef _NGX_HTTP_SWITCHBOARD_H_INCLUDED_
#define _NGX_HTTP_SWITCHBOARD_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>
#include <openssl/crypto.h>

#include "sb_core.h"


#define NGX_HTTP_SWITCHBOARD_NONE     0
#define NGX_HTTP_SWITCHBOARD_AGENT    1
#define NGX_HTTP_SWITCHBOARD_VISITOR  2
#define NGX_HTTP_SWITCHBOARD_ADMIN    3
#define NGX_HTTP_SWITCHBOARD_WEBHOOK  4


typedef struct {
    ngx_str_t                  store_path;
    size_t                     map_size;
    ngx_flag_t                 sync;
    ngx_str_t                  jwt_secret;
    ngx_msec_t                 poll_timeout;
    ngx_msec_t                 presence_timeout;
    ngx_flag_t                 classes_set;
    ngx_msec_t                 first_reply_timeout;
    ngx_msec_t                 reply_timeout;
    ngx_msec_t                 snooze_max;
    ngx_flag_t                 sticky;
    size_t                     text_max;
    ngx_int_t                  deliver_attempts;
    ngx_msec_t                 deliver_backoff;
    ngx_msec_t                 deliver_timeout;
    ngx_msec_t                 dedupe_window;
    struct {
        ngx_str_t              uri;
        ngx_http_conf_ctx_t   *conf;        /* the server it was written in */
    }                          deliver[SB_CH_COUNT];
    unsigned                   caps_set;    /* channels named by a directive */
    sb_config_t                core;
    ngx_thread_pool_t         *thread_pool;
} ngx_http_switchboard_main_conf_t;


typedef struct {
    ngx_uint_t                 kind;
    ngx_str_t                  group;
    ngx_http_complex_value_t  *tenant;
    off_t                      max_body;
    ngx_uint_t                 channel;          /* webhook locations */
    ngx_str_t                  webhook_secret;
    ngx_str_t                  verify_token;
    ngx_str_t                  public_url;       /* Twilio signs it */
} ngx_http_switchboard_loc_conf_t;


/* One command on its way through the group-committed write path. */
typedef struct {
    sb_cmd_t                   cmd;
    sb_result_t                result;
    ngx_http_request_t        *request;     /* NULL: no one waits for it */
    ngx_queue_t                queue;
} ngx_http_switchboard_op_t;


/* A request's state: the command it builds, or the long-poll it holds. */
typedef struct {
    ngx_http_request_t        *request;
    sb_cmd_type_t              type;
    char                       tenant[SB_ID_MAX + 1];
    char                       actor[SB_ID_MAX + 1];
    char                       target[SB_ID_MAX + 1];
    int                        channel;
    ngx_str_t                  idem;
    char                       owner[2 * SB_ID_MAX + 16];
    sb_conv_filter_t           filter;      /* admin conversation lists */
    uint64_t                   cursor;
    ngx_event_t                timer;
    ngx_queue_t                waiting;     /* in its log's waiters */
    ngx_queue_t                everyone;    /* in the worker's waiters */
    void                      *node;
    void                      *delivery;    /* a request made for a job */
    unsigned                   held:1;
} ngx_http_switchboard_ctx_t;


extern ngx_module_t  ngx_http_switchboard_module;
extern sb_store_t    ngx_http_switchboard_store;


/* request.c */
ngx_int_t ngx_http_switchboard_respond(ngx_http_request_t *r,
    ngx_uint_t status, const char *body);
ngx_int_t ngx_http_switchboard_respond_as(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *body);
ngx_int_t ngx_http_switchboard_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message);
ngx_int_t ngx_http_switchboard_result(ngx_http_request_t *r,
    sb_result_t *res);
ngx_int_t ngx_http_switchboard_read_body(ngx_http_request_t *r,
    ngx_http_client_body_handler_pt handler);
ngx_int_t ngx_http_switchboard_body(ngx_http_request_t *r, ngx_str_t *body);
ngx_int_t ngx_http_switchboard_body_or_answer(ngx_http_request_t *r,
    ngx_str_t *body);
ngx_str_t *ngx_http_switchboard_header(ngx_http_request_t *r,
    const char *name);
ngx_int_t ngx_http_switchboard_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value);
ngx_int_t ngx_http_switchboard_authenticate(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx, const char *role, sb_result_t *err);
MDB_txn *ngx_http_switchboard_read_begin(ngx_log_t *log);
void ngx_http_switchboard_read_end(void);
void ngx_http_switchboard_read_close(void);

/* commit.c */
ngx_int_t ngx_http_switchboard_commit_init(ngx_cycle_t *cycle);
ngx_int_t ngx_http_switchboard_submit(ngx_http_request_t *r,
    sb_cmd_t *cmd);

/* wake.c */
ngx_int_t ngx_http_switchboard_wake_create(ngx_cycle_t *cycle);
ngx_int_t ngx_http_switchboard_wake_listen(ngx_cycle_t *cycle);
void ngx_http_switchboard_wake_broadcast(sb_moved_t *moved);
void ngx_http_switchboard_wake_timers(void);

/* timer.c */
ngx_int_t ngx_http_switchboard_timer_init(ngx_cycle_t *cycle);
ngx_int_t ngx_http_switchboard_timer_rearm(void);
ngx_int_t ngx_http_switchboard_purge_init(ngx_cycle_t *cycle);
void ngx_http_switchboard_purge_answered(json_t *answer);

/* poll.c */
ngx_int_t ngx_http_switchboard_poll_init(ngx_cycle_t *cycle);
ngx_int_t ngx_http_switchboard_poll(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx);
void ngx_http_switchboard_poll_wake(u_char *key, size_t len);
void ngx_http_switchboard_poll_wake_all(void);

/* api.c */
ngx_int_t ngx_http_switchboard_handler(ngx_http_request_t *r);

/* deliver.c */
void ngx_http_switchboard_deliver(json_t *jobs);
ngx_int_t ngx_http_switchboard_deliver_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

/* webhook.c */
ngx_int_t ngx_http_switchboard_webhook_handler(ngx_http_request_t *r,
    ngx_http_switchboard_ctx_t *ctx);


#endif /* _NGX_HTTP_SWITCHBOARD_H_INCLUDED_ */
