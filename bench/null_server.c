/*
 * The load generator's ceiling: a server that does no work at all.
 *
 * It answers every request with "+OK\r\n" (a request is counted at each line that starts
 * with '*' or, for inline commands, at each newline outside a multibulk), from one epoll
 * thread, with one read and one write per ready socket, the writes after all the reads of a
 * round as Redis does them: the least any RESP server can do per request. redis-benchmark against it shows the most requests per second this machine
 * can generate; when Redis already runs close to that, no server can show a bigger ratio
 * here, whatever its own cost per request. Not a Redis server: replies are not correct.
 *
 *     gcc -O2 -o /tmp/null_server bench/null_server.c && /tmp/null_server 7999 &
 *     redis-benchmark -p 7999 -t set,get -n 1000000 -c 50 -P 16 -q
 *
 * Only for parsing redis-benchmark's own requests (keys and values without '*' at a line
 * start).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#define MAX_EVENTS 256
#define BUF 65536

struct conn {
    int fd;
    int at_line_start;
    int in_multibulk_lines; /* lines left in the current multibulk request */
    int expect_count;       /* next line is the count after '*' */
    size_t owed;            /* replies to write at the end of this round */
};

static char out[BUF * 4];

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 7999;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) || listen(lfd, 511)) {
        perror("listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event events[MAX_EVENTS];
    struct conn *owing[MAX_EVENTS];
    static char buf[BUF];
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        int nowing = 0;
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (!c) {
                int fd = accept(lfd, NULL, NULL);
                if (fd < 0) continue;
                fcntl(fd, F_SETFL, O_NONBLOCK);
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c = calloc(1, sizeof *c);
                c->fd = fd;
                c->at_line_start = 1;
                struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                continue;
            }
            ssize_t r = read(c->fd, buf, sizeof buf);
            if (r <= 0) {
                close(c->fd);
                free(c);
                continue;
            }
            /* Count whole requests: a multibulk "*N" is 1 + 2N lines. */
            size_t replies = 0;
            for (ssize_t k = 0; k < r; k++) {
                char ch = buf[k];
                if (c->at_line_start && c->in_multibulk_lines == 0 && ch == '*') {
                    c->expect_count = 1;
                    c->in_multibulk_lines = -1;
                } else if (c->expect_count && ch >= '0' && ch <= '9') {
                    if (c->in_multibulk_lines < 0) c->in_multibulk_lines = 0;
                    c->in_multibulk_lines = c->in_multibulk_lines * 10 + (ch - '0');
                }
                if (ch == '\n') {
                    if (c->expect_count) {
                        c->expect_count = 0;
                        c->in_multibulk_lines *= 2;
                        if (c->in_multibulk_lines == 0) replies++;
                    } else if (c->in_multibulk_lines > 0) {
                        if (--c->in_multibulk_lines == 0) replies++;
                    } else {
                        replies++; /* inline command */
                    }
                    c->at_line_start = 1;
                } else {
                    c->at_line_start = 0;
                }
            }
            if (replies) {
                c->owed = replies;
                owing[nowing++] = c;
            }
        }
        for (int i = 0; i < nowing; i++) {
            struct conn *c = owing[i];
            size_t len = 0;
            for (size_t k = 0; k < c->owed && len + 5 <= sizeof out; k++) {
                memcpy(out + len, "+OK\r\n", 5);
                len += 5;
            }
            ssize_t w = write(c->fd, out, len);
            (void)w;
            c->owed = 0;
        }
    }
}
