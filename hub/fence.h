// SPDX-License-Identifier: MIT
/*
 * Fencing of lost Redis connections. A connection the hub gave up on (no reply in
 * time, a reset) may still hold commands Redis has not read yet: a server paused by
 * DEBUG SLEEP or SIGSTOP reads them when it wakes. Before a new connection sends any
 * data, it kills the lost ones by client id and local address, so that the check
 * behind every re-send (is this id in the stream?) stays true afterwards.
 */
#ifndef RHEINHUB_FENCE_H
#define RHEINHUB_FENCE_H

#include <stddef.h>

#include <hiredis/async.h>

#define FENCE_MAX 8

struct fence_conn {
    long long id;
    char addr[64];
};

/* Embedded in its owner; zero-initialised is empty. */
struct fence {
    struct fence_conn conns[FENCE_MAX];
    int n;
};

/*
 * Remembers a lost connection (its CLIENT ID and local address "ip:port"). When the
 * list is full the oldest is forgotten, with a warning. id <= 0 is ignored.
 */
void fence_remember(struct fence *f, long long id, const char *addr);

/* Writes the local address of socket fd as "ip:port" ("[ip]:port" for IPv6) into buf. */
void fence_local_addr(int fd, char *buf, size_t len);

/*
 * Pipelines CLIENT KILL for every remembered connection on ac; each one Redis answers
 * is forgotten, the others are tried again on the next connection. f must outlive ac
 * (the replies refer to it).
 */
void fence_kill_all(struct fence *f, redisAsyncContext *ac);

#endif
