/* Held long-polls for the benchmark: opens N keep-alive connections, each
 * sending one agent poll that the server holds, then waits for a signal
 * (a line on stdin) before closing them, so the caller can measure the
 * workers' memory while they are held. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>


int
main(int argc, char **argv)
{
    struct sockaddr_in  sa;
    struct rlimit       rl;
    int                 port, n, i, *fds;
    char                req[2048], line[16];
    size_t              len;

    if (argc != 4) {
        fprintf(stderr, "usage: polls PORT AGENT_TOKEN N\n");
        return 2;
    }
    port = atoi(argv[1]);
    n = atoi(argv[3]);
    /* as many descriptors as the hard limit allows (run several when one
     * process may not hold them all) */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max < (rlim_t) n + 16) {
        fprintf(stderr, "polls: %d connections need a higher RLIMIT_NOFILE\n",
                n);
        return 1;
    }
    rl.rlim_cur = rl.rlim_max;
    (void) setrlimit(RLIMIT_NOFILE, &rl);
    fds = calloc((size_t) n, sizeof(int));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short) port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = (size_t) snprintf(req, sizeof(req), "GET /agent/events?cursor=0 "
                            "HTTP/1.1\r\nHost: localhost\r\n"
                            "Authorization: Bearer %s\r\n\r\n", argv[2]);

    for (i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0
            || connect(fds[i], (struct sockaddr *) &sa, sizeof(sa)) != 0
            || write(fds[i], req, len) != (ssize_t) len)
        {
            fprintf(stderr, "connection %d: %s\n", i, strerror(errno));
            return 1;
        }
        if (i % 1000 == 999) {
            usleep(20000);          /* let the workers take them in */
        }
    }
    printf("held %d\n", n);
    fflush(stdout);
    if (fgets(line, sizeof(line), stdin) == NULL) {
        /* the caller went: close all the same */
    }
    for (i = 0; i < n; i++) {
        close(fds[i]);
    }
    return 0;
}
