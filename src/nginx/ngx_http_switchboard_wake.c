/* Wake-ups between workers: each worker binds a datagram socket in the
 * store's wake/ directory, named by its pid; a committer sends lines (the
 * moved log keys, "T" for timers) to every socket there but its own. */

#include "ngx_http_switchboard.h"
#include <ngx_channel.h>
#include <dirent.h>
#include <sys/un.h>

#define NGX_HTTP_SWITCHBOARD_DGRAM  8192
#define NGX_HTTP_SWITCHBOARD_PEERS  1024


/*
 * The sockets are files, not socket pairs made before fork (as before
 * issue 19), so that every worker of every generation hears every
 * other: the old workers of a reload finishing their requests, and both
 * masters' workers during a binary upgrade (USR2), share the store and
 * so the directory. A send that finds no one (a killed worker's socket)
 * removes the file once its pid is gone.
 */
typedef struct {
    ngx_pid_t            pid;
    struct sockaddr_un   addr;
    socklen_t            len;
    unsigned             rescan:1;  /* a send failed: "*" owed to it */
} ngx_http_switchboard_peer_t;


static ngx_socket_t                  ngx_http_switchboard_sock = -1;
static struct sockaddr_un            ngx_http_switchboard_self;
static u_char                        ngx_http_switchboard_dir[NGX_MAX_PATH];
static struct timespec               ngx_http_switchboard_dir_seen;
static time_t                        ngx_http_switchboard_scanned;
static ngx_http_switchboard_peer_t  *ngx_http_switchboard_peers;
static ngx_uint_t                    ngx_http_switchboard_npeers;
static ngx_event_t                   ngx_http_switchboard_retry;
static ngx_uint_t                    ngx_http_switchboard_rescan; /* any */
static ngx_http_switchboard_wake_pt  ngx_http_switchboard_listeners[4];
static ngx_uint_t                    ngx_http_switchboard_nlisteners;


static void ngx_http_switchboard_wake_read(ngx_event_t *ev);
static void ngx_http_switchboard_wake_retry(ngx_event_t *ev);


/* In the master: the directory, for the workers (whoever they run as). */
ngx_int_t
ngx_http_switchboard_wake_create(ngx_cycle_t *cycle, ngx_str_t *store)
{
    ngx_core_conf_t  *ccf;
    u_char            dir[NGX_MAX_PATH];

    if (store->len + sizeof("/wake/4294967295") > sizeof(dir)
        || store->len + sizeof("/wake/4294967295")
           > sizeof(ngx_http_switchboard_self.sun_path))
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "switchboard_store path \"%V\" is too long for the "
                      "wake-up sockets (at most %uz bytes)", store,
                      sizeof(ngx_http_switchboard_self.sun_path)
                      - sizeof("/wake/4294967295"));
        return NGX_ERROR;
    }
    ngx_snprintf(dir, sizeof(dir), "%V/wake%Z", store);
    if (mkdir((char *) dir, 0700) == -1 && ngx_errno != NGX_EEXIST) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "switchboard: mkdir(\"%s\") failed", dir);
        return NGX_ERROR;
    }
    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);
    if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT
        && chown((char *) dir, ccf->user, ccf->group) == -1)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "switchboard: chown(\"%s\") failed", dir);
        return NGX_ERROR;
    }
    return NGX_OK;
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


/* The peers: every socket of the directory but this worker's, read again
 * when the directory changed (a worker came or went), and at every send
 * for two seconds after a change: a directory's time has the kernel's
 * coarse tick, and a worker that binds within the tick of the last read
 * leaves it as it was. A peer owed a rescan keeps its flag. */
static void
ngx_http_switchboard_peers_scan(ngx_log_t *log)
{
    ngx_http_switchboard_peer_t  *p, *old = ngx_http_switchboard_peers;
    ngx_uint_t                    i, n = 0, nold = ngx_http_switchboard_npeers;
    struct stat                   sb;
    struct dirent                *de;
    DIR                          *d;
    ngx_int_t                     pid;

    if (stat((char *) ngx_http_switchboard_dir, &sb) == -1) {
        return;
    }
    if (sb.st_mtim.tv_sec == ngx_http_switchboard_dir_seen.tv_sec
        && sb.st_mtim.tv_nsec == ngx_http_switchboard_dir_seen.tv_nsec
        && ngx_http_switchboard_scanned > sb.st_mtim.tv_sec + 2 && old)
    {
        return;
    }
    p = ngx_alloc(NGX_HTTP_SWITCHBOARD_PEERS
                  * sizeof(ngx_http_switchboard_peer_t), log);
    d = opendir((char *) ngx_http_switchboard_dir);
    if (p == NULL || d == NULL) {
        ngx_free(p);
        if (d) {
            closedir(d);
        }
        return;
    }
    while ((de = readdir(d)) != NULL && n < NGX_HTTP_SWITCHBOARD_PEERS) {
        pid = ngx_atoi((u_char *) de->d_name, ngx_strlen(de->d_name));
        if (pid <= 0 || pid == ngx_pid) {
            continue;
        }
        ngx_memzero(&p[n], sizeof(ngx_http_switchboard_peer_t));
        p[n].pid = (ngx_pid_t) pid;
        p[n].addr.sun_family = AF_UNIX;
        ngx_snprintf((u_char *) p[n].addr.sun_path,
                     sizeof(p[n].addr.sun_path), "%s/%P%Z",
                     ngx_http_switchboard_dir, p[n].pid);
        p[n].len = sizeof(struct sockaddr_un);
        for (i = 0; i < nold; i++) {
            if (old[i].pid == p[n].pid) {
                p[n].rescan = old[i].rescan;
            }
        }
        n++;
    }
    closedir(d);
    ngx_free(old);
    ngx_http_switchboard_peers = p;
    ngx_http_switchboard_npeers = n;
    ngx_http_switchboard_dir_seen = sb.st_mtim;
    ngx_http_switchboard_scanned = ngx_time();
}


/* In each worker: its socket, bound under its pid, read on the loop. */
ngx_int_t
ngx_http_switchboard_wake_listen(ngx_cycle_t *cycle, ngx_str_t *store)
{
    ngx_http_switchboard_nlisteners = 0;
    ngx_http_switchboard_event_init(&ngx_http_switchboard_retry,
                                    ngx_http_switchboard_wake_retry, NULL,
                                    cycle->log, 1);
    if (ngx_process == NGX_PROCESS_SINGLE) {
        return NGX_OK;
    }

    ngx_snprintf(ngx_http_switchboard_dir, sizeof(ngx_http_switchboard_dir),
                 "%V/wake%Z", store);
    ngx_memzero(&ngx_http_switchboard_self, sizeof(struct sockaddr_un));
    ngx_http_switchboard_self.sun_family = AF_UNIX;
    ngx_snprintf((u_char *) ngx_http_switchboard_self.sun_path,
                 sizeof(ngx_http_switchboard_self.sun_path), "%s/%P%Z",
                 ngx_http_switchboard_dir, ngx_pid);

    ngx_http_switchboard_sock = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (ngx_http_switchboard_sock == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      "switchboard: wake-up socket() failed");
        return NGX_ERROR;
    }
    (void) unlink(ngx_http_switchboard_self.sun_path);    /* a pid reused */
    if (bind(ngx_http_switchboard_sock,
             (struct sockaddr *) &ngx_http_switchboard_self,
             sizeof(struct sockaddr_un)) == -1
        || ngx_nonblocking(ngx_http_switchboard_sock) == -1
        || fcntl(ngx_http_switchboard_sock, F_SETFD, FD_CLOEXEC) == -1)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      "switchboard: cannot bind the wake-up socket \"%s\"",
                      ngx_http_switchboard_self.sun_path);
        return NGX_ERROR;
    }
    ngx_http_switchboard_peers_scan(cycle->log);
    return ngx_add_channel_event(cycle, ngx_http_switchboard_sock,
                                 NGX_READ_EVENT,
                                 ngx_http_switchboard_wake_read);
}


/* An exiting worker takes its socket's file with it. */
void
ngx_http_switchboard_wake_exit(void)
{
    if (ngx_http_switchboard_sock != -1) {
        (void) unlink(ngx_http_switchboard_self.sun_path);
        ngx_http_switchboard_sock = -1;  /* closed with the connection */
    }
}


static ngx_int_t
ngx_http_switchboard_wake_send(ngx_http_switchboard_peer_t *peer, u_char *buf,
    size_t len)
{
    ngx_err_t  err;

    if (sendto(ngx_http_switchboard_sock, buf, len, 0,
               (struct sockaddr *) &peer->addr, peer->len) != -1)
    {
        return NGX_OK;
    }
    err = ngx_socket_errno;
    if (err == NGX_ECONNREFUSED || err == NGX_ENOENT) {
        /* no one there: a worker killed before it could remove its file;
         * a live one's socket is never refused */
        if (kill(peer->pid, 0) == -1 && ngx_errno == ESRCH) {
            (void) unlink(peer->addr.sun_path);
        }
        peer->pid = 0;
        return NGX_DECLINED;
    }
    if (err != NGX_EAGAIN && err != ENOBUFS) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, err,
                      "switchboard: wake-up sendto(\"%s\") failed",
                      peer->addr.sun_path);
    }
    return NGX_ERROR;
}


/* buf to every peer; a full socket earns it a rescan */
static void
ngx_http_switchboard_wake_all(u_char *buf, size_t len)
{
    ngx_http_switchboard_peer_t  *peer;
    ngx_uint_t                    i;

    for (i = 0; i < ngx_http_switchboard_npeers; i++) {
        peer = &ngx_http_switchboard_peers[i];
        if (peer->pid
            && ngx_http_switchboard_wake_send(peer, buf, len) == NGX_ERROR)
        {
            peer->rescan = 1;
            ngx_http_switchboard_rescan = 1;
        }
    }
}


static void
ngx_http_switchboard_wake_done(void)
{
    if (ngx_http_switchboard_rescan && !ngx_http_switchboard_retry.timer_set)
    {
        ngx_add_timer(&ngx_http_switchboard_retry, 10);
    }
}


/* Keys go in datagrams of whole lines. An exiting worker sends too: the
 * commands it still answers are news for the new generation's polls. */
void
ngx_http_switchboard_wake_broadcast(sb_moved_t *moved)
{
    u_char  buf[NGX_HTTP_SWITCHBOARD_DGRAM], *p;
    size_t  i, start, len;

    if (ngx_http_switchboard_sock == -1 || moved->n == 0) {
        return;
    }
    ngx_http_switchboard_peers_scan(ngx_cycle->log);

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
        ngx_http_switchboard_wake_all(buf, p - buf);
    }
    ngx_http_switchboard_wake_done();
}


/* One line to every other worker (a timer moved earlier: "T"). */
void
ngx_http_switchboard_wake_send_line(const char *line)
{
    u_char  buf[64];
    size_t  len = ngx_strlen(line);

    if (ngx_http_switchboard_sock == -1 || len + 1 > sizeof(buf)) {
        return;
    }
    ngx_http_switchboard_peers_scan(ngx_cycle->log);
    ngx_memcpy(buf, line, len);
    buf[len] = '\n';
    ngx_http_switchboard_wake_all(buf, len + 1);
    ngx_http_switchboard_wake_done();
}


static void
ngx_http_switchboard_wake_retry(ngx_event_t *ev)
{
    ngx_http_switchboard_peer_t  *peer;
    ngx_uint_t                    i;

    ngx_http_switchboard_rescan = 0;
    for (i = 0; i < ngx_http_switchboard_npeers; i++) {
        peer = &ngx_http_switchboard_peers[i];
        if (peer->rescan && peer->pid) {
            if (ngx_http_switchboard_wake_send(peer, (u_char *) "*", 1)
                != NGX_ERROR)
            {
                peer->rescan = 0;
            } else {
                ngx_http_switchboard_rescan = 1;
            }
        }
    }
    if (ngx_http_switchboard_rescan && !ngx_terminate) {
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
