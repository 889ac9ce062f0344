/* Latency probe for the benchmark: the time from a visitor's POST to the
 * answer of the agent's held long-poll (both on keep-alive connections),
 * and one 4 KB O_DSYNC write of the same disk, so the two compare. */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


static int
connect_to(int port)
{
    struct sockaddr_in  sa;
    int                 fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short) port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
        perror("connect");
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}


/* Reads one whole HTTP answer (Content-Length) into buf. */
static int
read_answer(int fd, char *buf, size_t cap)
{
    size_t   n = 0;
    ssize_t  r;
    char    *end, *cl;
    long     body;

    for ( ;; ) {
        r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0) {
            return -1;
        }
        n += (size_t) r;
        buf[n] = '\0';
        end = strstr(buf, "\r\n\r\n");
        cl = strcasestr(buf, "Content-Length:");
        if (end && cl) {
            body = strtol(cl + 15, NULL, 10);
            if ((size_t) (end + 4 - buf) + (size_t) body <= n) {
                return 0;
            }
        }
    }
}


/* p50 of n O_DSYNC writes of 4 KB over 16 blocks of a file in dir */
static double
dsync_p50(const char *dir, int n)
{
    char     path[512], block[4096];
    double  *t = calloc((size_t) n, sizeof(double)), p50, t0;
    int      fd, i;

    snprintf(path, sizeof(path), "%s/dsync.probe", dir);
    fd = open(path, O_CREAT | O_WRONLY | O_DSYNC, 0600);
    if (fd < 0 || t == NULL) {
        perror(path);
        exit(1);
    }
    memset(block, 'x', sizeof(block));
    for (i = 0; i < 16; i++) {            /* the blocks exist first */
        (void) pwrite(fd, block, sizeof(block), (off_t) i * 4096);
    }
    for (i = 0; i < n; i++) {
        t0 = now();
        if (pwrite(fd, block, sizeof(block), (off_t) (i % 16) * 4096) < 0) {
            perror("pwrite");
            exit(1);
        }
        t[i] = now() - t0;
    }
    close(fd);
    unlink(path);
    qsort(t, (size_t) n, sizeof(double), cmp);
    p50 = t[n / 2];
    free(t);
    return p50;
}


int
main(int argc, char **argv)
{
    int      port, n, i, poll_fd, post_fd;
    char     req[4096], body[64], buf[65536], *cur;
    double  *lat, t0, p50, p99, dsync;
    long     cursor = 0;

    if (argc != 6) {
        fprintf(stderr, "usage: latency PORT AGENT_TOKEN VISITOR_TOKEN N "
                "DIR\n");
        return 2;
    }
    port = atoi(argv[1]);
    n = atoi(argv[4]);
    lat = calloc((size_t) n, sizeof(double));
    poll_fd = connect_to(port);
    post_fd = connect_to(port);

    for (i = 0; i < n; i++) {
        snprintf(req, sizeof(req), "GET /agent/events?cursor=%ld HTTP/1.1\r\n"
                 "Host: localhost\r\nAuthorization: Bearer %s\r\n\r\n",
                 cursor, argv[2]);
        if (write(poll_fd, req, strlen(req)) < 0) {
            return 1;
        }
        usleep(5000);                     /* the poll is held by now */
        snprintf(body, sizeof(body), "{\"text\":\"ping %d\"}", i);
        snprintf(req, sizeof(req), "POST /visitor/messages HTTP/1.1\r\n"
                 "Host: localhost\r\nAuthorization: Bearer %s\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                 "\r\n%s", argv[3], strlen(body), body);
        t0 = now();
        if (write(post_fd, req, strlen(req)) < 0
            || read_answer(poll_fd, buf, sizeof(buf)) != 0)
        {
            fprintf(stderr, "no answer\n");
            return 1;
        }
        lat[i] = now() - t0;
        cur = strstr(buf, "\"cursor\":");
        cursor = cur ? strtol(cur + 9, NULL, 10) : cursor;
        if (read_answer(post_fd, buf, sizeof(buf)) != 0) {
            return 1;
        }
    }
    qsort(lat, (size_t) n, sizeof(double), cmp);
    p50 = lat[n / 2];
    p99 = lat[n * 99 / 100];
    dsync = dsync_p50(argv[5], 500);
    printf("visitor message -> agent poll answer: p50 %.0f us, p99 %.0f us "
           "(%d samples)\n4 KB O_DSYNC write of the same disk: p50 %.0f us\n"
           "poll answer p50 / O_DSYNC p50: %.1f\n", p50 * 1e6, p99 * 1e6, n,
           dsync * 1e6, p50 / dsync);
    return 0;
}
