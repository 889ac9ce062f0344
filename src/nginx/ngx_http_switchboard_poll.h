/* Long-polls' insides, shared by the waiting (poll.c) and the parking
 * (park.c) of a poll: the log a poll waits on, and its waiter. */

#ifndef _NGX_HTTP_SWITCHBOARD_POLL_H_INCLUDED_
#define _NGX_HTTP_SWITCHBOARD_POLL_H_INCLUDED_


#include "ngx_http_switchboard.h"


typedef struct {
    ngx_str_node_t  sn;           /* "tenant/owner" */
    size_t          tenant_len;
    ngx_queue_t     waiters;
    ngx_queue_t     streams;
    ngx_uint_t      waking;       /* being walked: pruned afterwards */
} ngx_http_switchboard_log_t;

/* an open event stream (stream.c) */
typedef struct {
    ngx_http_request_t          *r;
    ngx_http_switchboard_log_t  *log;      /* NULL once ended */
    uint64_t                     cursor;
    ngx_chain_t                 *free;     /* buffers sent, to reuse */
    ngx_chain_t                 *busy;     /* buffers still being sent */
    ngx_event_t                  beat;
    ngx_event_t                  start;    /* after the handler returns */
    ngx_http_cleanup_t          *cln;
    ngx_queue_t                  streaming; /* in its log's streams */
    ngx_queue_t                  everyone;  /* in the worker's streams */
    int64_t                      seen_at;   /* presence last written */
    ngx_uint_t                   agent;
    char                         tenant[SB_ID_MAX + 1];
    char                         actor[SB_ID_MAX + 1];
} ngx_http_switchboard_stream_t;

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
    ngx_str_t                    headers;  /* every request header, packed:
                                              what an access log or a CORS
                                              add_header may read */
} ngx_http_switchboard_waiter_t;


/* poll.c */
void ngx_http_switchboard_release(ngx_http_switchboard_waiter_t *w,
    sb_answer_t *ans, ngx_int_t closed);
ngx_http_switchboard_log_t *ngx_http_switchboard_log_get(
    ngx_http_request_t *r, const char *tenant, const char *owner);
int ngx_http_switchboard_log_read(MDB_txn *txn,
    ngx_http_switchboard_log_t *log, uint64_t cursor, uint64_t *last,
    sb_answer_t *ans);
void ngx_http_switchboard_log_prune(ngx_http_switchboard_log_t *log);
ngx_int_t ngx_http_switchboard_log_full(ngx_http_request_t *r,
    ngx_http_switchboard_log_t *log);

/* stream.c */
void ngx_http_switchboard_stream_init(void);
void ngx_http_switchboard_stream_wake(ngx_http_switchboard_log_t *log,
    MDB_txn *txn);
void ngx_http_switchboard_stream_exit(void);

/* park.c */
ngx_int_t ngx_http_switchboard_park_init(ngx_cycle_t *cycle);
void ngx_http_switchboard_park(ngx_event_t *ev);
ngx_http_request_t *ngx_http_switchboard_unpark(
    ngx_http_switchboard_waiter_t *w);


#endif /* _NGX_HTTP_SWITCHBOARD_POLL_H_INCLUDED_ */
