/* Long-polls' insides, shared by the waiting (poll.c) and the parking
 * (park.c) of a poll: the log a poll waits on, and its waiter. */

#ifndef _NGX_HTTP_SWITCHBOARD_POLL_H_INCLUDED_
#define _NGX_HTTP_SWITCHBOARD_POLL_H_INCLUDED_


#include "ngx_http_switchboard.h"


typedef struct {
    ngx_str_node_t  sn;           /* "tenant/owner" */
    size_t          tenant_len;
    ngx_queue_t     waiters;
} ngx_http_switchboard_log_t;

typedef struct {
    ngx_connection_t            *c;
    ngx_http_request_t          *r;        /* until parked */
    ngx_http_switchboard_log_t  *log;
    uint64_t                     cursor;
    ngx_event_t                  timer;
    ngx_event_t                  park;
    ngx_http_cleanup_t          *cln;      /* the request's, until parked */
    ngx_queue_t                  waiting;  /* in its log's waiters */
    ngx_queue_t                  everyone; /* in the worker's waiters */

    /* what the answer's request needs of the one that was freed */
    void                       **srv_conf;
    void                       **loc_conf;
    time_t                       start_sec;
    ngx_msec_t                   start_msec;
    ngx_uint_t                   http_version;
    unsigned                     keepalive:1;
    ngx_str_t                    request_line, uri, args;
    ngx_str_t                    origin;   /* for CORS headers (add_header) */
} ngx_http_switchboard_waiter_t;


/* poll.c */
void ngx_http_switchboard_release(ngx_http_switchboard_waiter_t *w,
    sb_answer_t *ans, ngx_int_t closed);
void ngx_http_switchboard_log_prune(ngx_http_switchboard_log_t *log);

/* park.c */
ngx_int_t ngx_http_switchboard_park_init(ngx_cycle_t *cycle);
void ngx_http_switchboard_park(ngx_event_t *ev);
ngx_http_request_t *ngx_http_switchboard_unpark(
    ngx_http_switchboard_waiter_t *w);


#endif /* _NGX_HTTP_SWITCHBOARD_POLL_H_INCLUDED_ */
