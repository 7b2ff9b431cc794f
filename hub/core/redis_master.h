// SPDX-License-Identifier: MIT
/*
 * Where the Redis master is, for the hub and every worker. Without redis.sentinels it
 * is redis.host:redis.port. With them, every Sentinel is asked
 * (SENTINEL MASTER <redis.master_name>) and the answer of the newest configuration
 * (the highest config epoch) is followed, so that after a failover every client finds
 * the promoted replica even while a Sentinel that has not heard of it names the old
 * master. A link is only used once ROLE says "master" on it: a demoted master must
 * never receive writes.
 */
#ifndef RHEINHUB_REDIS_MASTER_H
#define RHEINHUB_REDIS_MASTER_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "config.h"

#define REDIS_MASTER_HOST_MAX 64
#define REDIS_MASTER_WHY_MAX 256

struct redis_master {
    char host[REDIS_MASTER_HOST_MAX];
    int port;
    unsigned next_sentinel; /* where the next search begins: the last that answered */
};

/* True when cfg names Sentinels (then redis.host/port are not used). */
bool redis_master_via_sentinel(const struct hub_config *cfg);

/*
 * Finds the master: fills m->host and m->port. With Sentinels this blocks for a
 * connect and a reply per Sentinel (at most timeout_ms each). Returns 0, or
 * -EHOSTUNREACH with the reasons in why (no Sentinel answered, or none knows
 * redis.master_name).
 */
int redis_master_find(const struct hub_config *cfg, struct redis_master *m, int timeout_ms,
                      char why[REDIS_MASTER_WHY_MAX]);

/*
 * Asks ROLE on a connected synchronous context. Returns 0 when it is the master,
 * -EROFS when it is a replica (or a Sentinel), -EIO when the command failed (why says
 * which). After -EROFS the next redis_master_find starts with another Sentinel.
 */
int redis_master_check(redisContext *c, struct redis_master *m, char why[REDIS_MASTER_WHY_MAX]);

/* Interprets a ROLE reply the same way (for asynchronous links). */
int redis_master_check_reply(const redisReply *reply, struct redis_master *m,
                             char why[REDIS_MASTER_WHY_MAX]);

/*
 * A synchronous link to the master, for the workers, the sources and the console:
 * finds it (redis_master_find), connects within timeout_ms, sets timeout_ms as the
 * read timeout, sends AUTH when redis.password is set, and checks ROLE. Returns the
 * context (the caller frees it), or NULL with the reason in why.
 */
redisContext *redis_master_connect(const struct hub_config *cfg, struct redis_master *m,
                                   int timeout_ms, char why[REDIS_MASTER_WHY_MAX]);

/*
 * The master the last Sentinel named could not be reached (refused, timed out, no
 * answer to the handshake): the next redis_master_find starts with the next Sentinel,
 * so that one that names a dead master (it has not seen the failover) is not the only
 * one asked.
 */
void redis_master_skip(struct redis_master *m);

/* True for an error reply that means the server is no longer the master (READONLY...). */
bool redis_master_lost(const char *error);

#endif
