/* Wake-ups between workers: one datagram socket pair per worker, made in
 * the master before fork. A committer sends lines (the moved log keys,
 * "T" for timers) to every other worker, whose listeners act on them. */

#include "ngx_http_switchboard.h"
#include <ngx_channel.h>

#define NGX_HTTP_SWITCHBOARD_DGRAM  8192


typedef struct {
    ngx_uint_t     n;
    ngx_socket_t  *send;      /* send[w]: write end towards worker w */
    ngx_socket_t  *recv;      /* recv[w]: worker w reads here */
    u_char        *rescan;    /* rescan[w]: a send to w failed; one flag
                                 per worker, for any worker_processes */
} ngx_http_switchboard_wake_t;


static ngx_http_switchboard_wake_t  *ngx_http_switchboard_wake;
static ngx_event_t                   ngx_http_switchboard_retry;
static ngx_uint_t                    ngx_http_switchboard_rescan; /* any */
static ngx_http_switchboard_wake_pt  ngx_http_switchboard_listeners[4];
static ngx_uint_t                    ngx_http_switchboard_nlisteners;


static void ngx_http_switchboard_wake_close(void *data);
static void ngx_http_switchboard_wake_read(ngx_event_t *ev);
static void ngx_http_switchboard_wake_retry(ngx_event_t *ev);


ngx_int_t
ngx_http_switchboard_wake_create(ngx_cycle_t *cycle)
{
    ngx_http_switchboard_wake_t  *wk;
    ngx_core_conf_t              *ccf;
    ngx_pool_cleanup_t           *cln;
    ngx_socket_t                  sv[2];
    ngx_uint_t                    i;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    wk = ngx_pcalloc(cycle->pool, sizeof(ngx_http_switchboard_wake_t));
    if (wk == NULL) {
        return NGX_ERROR;
    }
    wk->send = ngx_pcalloc(cycle->pool,
                           2 * ccf->worker_processes * sizeof(ngx_socket_t));
    if (wk->send == NULL) {
        return NGX_ERROR;
    }
    wk->recv = wk->send + ccf->worker_processes;
    wk->rescan = ngx_pcalloc(cycle->pool, ccf->worker_processes);
    if (wk->rescan == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }
    cln->handler = ngx_http_switchboard_wake_close;
    cln->data = wk;

    for (i = 0; i < (ngx_uint_t) ccf->worker_processes; i++) {
        if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                          "switchboard: socketpair() failed");
            return NGX_ERROR;
        }
        wk->send[i] = sv[0];
        wk->recv[i] = sv[1];
        wk->n = i + 1;

        if (ngx_nonblocking(sv[0]) == -1 || ngx_nonblocking(sv[1]) == -1
            || fcntl(sv[0], F_SETFD, FD_CLOEXEC) == -1
            || fcntl(sv[1], F_SETFD, FD_CLOEXEC) == -1)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                          "switchboard: cannot set up wake-up sockets");
            return NGX_ERROR;
        }
    }

    ngx_http_switchboard_wake = wk;
    return NGX_OK;
}


static void
ngx_http_switchboard_wake_close(void *data)
{
    ngx_http_switchboard_wake_t  *wk = data;
    ngx_uint_t                    i;

    for (i = 0; i < wk->n; i++) {
        close(wk->send[i]);
        close(wk->recv[i]);
    }
    if (ngx_http_switchboard_wake == wk) {
        ngx_http_switchboard_wake = NULL;
    }
}


/* A listener hears every line another worker sends, and "*" (look at
 * everything) after a datagram was lost. */
ngx_int_t
ngx_http_switchboard_on_wake(ngx_http_switchboard_wake_pt handler)
{
    if (ngx_http_switchboard_nlisteners == 4) {
        return NGX_ERROR;
    }
    ngx_http_switchboard_listeners[ngx_http_switchboard_nlisteners++] =
        handler;
    return NGX_OK;
}


static void
ngx_http_switchboard_heard(u_char *line, size_t len)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_http_switchboard_nlisteners; i++) {
        ngx_http_switchboard_listeners[i](line, len);
    }
}


ngx_int_t
ngx_http_switchboard_wake_listen(ngx_cycle_t *cycle)
{
    ngx_http_switchboard_wake_t  *wk = ngx_http_switchboard_wake;

    ngx_http_switchboard_nlisteners = 0;
    ngx_http_switchboard_retry.handler = ngx_http_switchboard_wake_retry;
    ngx_http_switchboard_retry.log = cycle->log;
    ngx_http_switchboard_retry.cancelable = 1;

    if (wk == NULL || ngx_process == NGX_PROCESS_SINGLE
        || ngx_worker >= wk->n)
    {
        return NGX_OK;
    }

    return ngx_add_channel_event(cycle, wk->recv[ngx_worker], NGX_READ_EVENT,
                                 ngx_http_switchboard_wake_read);
}


static ngx_int_t
ngx_http_switchboard_wake_send(ngx_uint_t w, u_char *buf, size_t len)
{
    if (send(ngx_http_switchboard_wake->send[w], buf, len, 0) == -1) {
        if (ngx_socket_errno != NGX_EAGAIN) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_socket_errno,
                          "switchboard: wake-up send() failed");
        }
        return NGX_ERROR;
    }
    return NGX_OK;
}


/* Keys go in datagrams of whole lines; a full socket earns a rescan. */
void
ngx_http_switchboard_wake_broadcast(sb_moved_t *moved)
{
    ngx_http_switchboard_wake_t  *wk = ngx_http_switchboard_wake;
    u_char                        buf[NGX_HTTP_SWITCHBOARD_DGRAM], *p;
    size_t                        i, start, len;
    ngx_uint_t                    w;

    if (wk == NULL || moved->n == 0 || ngx_process == NGX_PROCESS_SINGLE
        || ngx_exiting)
    {
        return;
    }

    for (start = 0; start < moved->n; start = i) {
        p = buf;
        for (i = start; i < moved->n; i++) {
            len = ngx_strlen(moved->keys[i]);
            if ((size_t) (p - buf) + len + 1 > sizeof(buf)) {
                break;
            }
            p = ngx_cpymem(p, moved->keys[i], len);
            *p++ = '\n';
        }
        if (i == start) {
            i++;     /* a key longer than a datagram cannot exist; skip */
            continue;
        }
        for (w = 0; w < wk->n; w++) {
            if (w != ngx_worker
                && ngx_http_switchboard_wake_send(w, buf, p - buf) != NGX_OK)
            {
                wk->rescan[w] = 1;
                ngx_http_switchboard_rescan = 1;
            }
        }
    }

    if (ngx_http_switchboard_rescan && !ngx_http_switchboard_retry.timer_set)
    {
        ngx_add_timer(&ngx_http_switchboard_retry, 10);
    }
}


/* One line to every other worker (a timer moved earlier: "T"). */
void
ngx_http_switchboard_wake_send_line(const char *line)
{
    ngx_http_switchboard_wake_t  *wk = ngx_http_switchboard_wake;
    u_char                        buf[64];
    size_t                        len = ngx_strlen(line);
    ngx_uint_t                    w;

    if (wk == NULL || ngx_process == NGX_PROCESS_SINGLE || ngx_exiting
        || len + 1 > sizeof(buf))
    {
        return;
    }
    ngx_memcpy(buf, line, len);
    buf[len] = '\n';
    for (w = 0; w < wk->n; w++) {
        if (w != ngx_worker
            && ngx_http_switchboard_wake_send(w, buf, len + 1) != NGX_OK)
        {
            wk->rescan[w] = 1;
            ngx_http_switchboard_rescan = 1;
        }
    }
    if (ngx_http_switchboard_rescan && !ngx_http_switchboard_retry.timer_set)
    {
        ngx_add_timer(&ngx_http_switchboard_retry, 10);
    }
}


static void
ngx_http_switchboard_wake_retry(ngx_event_t *ev)
{
    ngx_http_switchboard_wake_t  *wk = ngx_http_switchboard_wake;
    ngx_uint_t                    w;

    ngx_http_switchboard_rescan = 0;
    for (w = 0; wk && w < wk->n; w++) {
        if (wk->rescan[w]) {
            if (ngx_http_switchboard_wake_send(w, (u_char *) "*", 1)
                == NGX_OK)
            {
                wk->rescan[w] = 0;
            } else {
                ngx_http_switchboard_rescan = 1;
            }
        }
    }
    if (ngx_http_switchboard_rescan && !ngx_exiting) {
        ngx_add_timer(ev, 10);
    }
}


static void
ngx_http_switchboard_wake_read(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;
    u_char             buf[NGX_HTTP_SWITCHBOARD_DGRAM + 1], *p, *eol;
    ssize_t            n;

    for ( ;; ) {
        n = recv(c->fd, buf, NGX_HTTP_SWITCHBOARD_DGRAM, 0);
        if (n == -1) {
            if (ngx_socket_errno != NGX_EAGAIN) {
                ngx_log_error(NGX_LOG_ALERT, ev->log, ngx_socket_errno,
                              "switchboard: wake-up recv() failed");
            }
            return;
        }
        /* "*": rescan after an overflow, so timers may have moved too */
        if (n == 1 && buf[0] == '*') {
            ngx_http_switchboard_heard(buf, 1);
            continue;
        }
        for (p = buf; p < buf + n; p = eol + 1) {
            eol = ngx_strlchr(p, buf + n, '\n');
            if (eol == NULL) {
                break;
            }
            ngx_http_switchboard_heard(p, eol - p);
        }
    }
}
