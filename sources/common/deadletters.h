// SPDX-License-Identifier: MIT
/*
 * A source's dead letters: input it cannot turn into an event goes to the hub's
 * dead-letter stream (<prefix>deadletter) with the hub's fields (topic, reason,
 * detail, payload: the first 256 bytes as received, size, time) and the source's
 * name (source). One synchronous XADD each: they are rare. When Redis is away the
 * entry is logged and counted as a failure, and the source goes on.
 */
#ifndef RHEINHUB_DEADLETTERS_H
#define RHEINHUB_DEADLETTERS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "redis_master.h"
#include "source_metrics.h"
#include "source_reason.h"

#define DEADLETTER_PAYLOAD_MAX 256

struct deadletters {
    struct redisContext *c;   /* NULL while not connected */
    const struct hub_config *cfg; /* borrowed: outlives d */
    struct redis_master master;   /* where the link goes (directly, or through Sentinel) */
    char key[128];
    char maxlen[24];
    const char *source;
    struct source_metrics *m;
    int64_t next_connect_ms;  /* no new connection attempt before this (monotonic) */
    pthread_mutex_t lock;
};

void deadletters_init(struct deadletters *d, const struct hub_config *cfg, const char *source,
                      struct source_metrics *m);
void deadletters_close(struct deadletters *d);

/*
 * Writes one entry and counts it under reason. topic is where the input came from (the
 * network server's topic, or the URL). payload[0..len) is borrowed. Returns 0, or
 * -ENOTCONN / -EIO when it could not be written (then counted as a failure).
 */
int deadletters_add(struct deadletters *d, enum source_reason reason, const char *topic,
                    const char *detail, const void *payload, size_t len);

#endif
