// SPDX-License-Identifier: MIT
/* Fencing of lost Redis connections: remember them, kill them on the next link. */
#include "fence.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>

#include "log.h"

struct fence_kill {
    struct fence *f;
    long long id;
};

void fence_remember(struct fence *f, long long id, const char *addr)
{
    if (id <= 0)
        return;
    if (f->n == FENCE_MAX) {
        log_warn("redis", "too many lost connections to fence; forgetting client %lld",
                 f->conns[0].id);
        memmove(&f->conns[0], &f->conns[1], sizeof(f->conns[0]) * (FENCE_MAX - 1));
        f->n--;
    }
    f->conns[f->n].id = id;
    snprintf(f->conns[f->n].addr, sizeof(f->conns[0].addr), "%s", addr);
    f->n++;
}

void fence_local_addr(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";

    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%d", host, ntohs(sin->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%d", host, ntohs(sin6->sin6_port));
    }
}

static void forget(struct fence *f, long long id)
{
    for (int i = 0; i < f->n; i++) {
        if (f->conns[i].id == id) {
            memmove(&f->conns[i], &f->conns[i + 1],
                    sizeof(f->conns[0]) * (size_t)(f->n - i - 1));
            f->n--;
            return;
        }
    }
}

/* hiredis calls this exactly once per command: with NULL when the link went first. */
static void on_kill(redisAsyncContext *ac, void *r, void *privdata)
{
    struct fence_kill *k = privdata;

    (void)ac;
    if (r)
        forget(k->f, k->id); /* answered: killed, or already gone */
    free(k);
}

void fence_kill_all(struct fence *f, redisAsyncContext *ac)
{
    for (int i = 0; i < f->n; i++) {
        struct fence_kill *k = malloc(sizeof(*k));
        char id[24];

        if (!k) {
            log_error("redis", "out of memory fencing client %lld; trying on the next link",
                      f->conns[i].id);
            continue;
        }
        k->f = f;
        k->id = f->conns[i].id;
        snprintf(id, sizeof(id), "%lld", k->id);
        if (redisAsyncCommand(ac, on_kill, k, "CLIENT KILL ID %s ADDR %s", id,
                              f->conns[i].addr) != REDIS_OK)
            free(k);
    }
}
