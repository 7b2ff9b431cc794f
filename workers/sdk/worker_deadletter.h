// SPDX-License-Identifier: MIT
/*
 * Dead letters from workers: one entry in the hub's dead-letter stream per stream
 * entry a worker gives up on, with the hub's fields (topic, reason, detail, payload,
 * size, time) and the worker's (stream, entry, group, consumer, deliveries, history).
 */
#ifndef RHEINHUB_WORKER_DEADLETTER_H
#define RHEINHUB_WORKER_DEADLETTER_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#define WORKER_DEADLETTER_PAYLOAD_MAX 256

#define WORKER_DEADLETTER_REASON_MAP(X)                                                            \
    X(POISON, "poison")               /* not a valid envelope, or no env field */                  \
    X(WORKER_FAILED, "worker_failed") /* failed worker.max_deliveries times */

enum worker_deadletter_reason {
#define X(name, text) WORKER_DEADLETTER_##name,
    WORKER_DEADLETTER_REASON_MAP(X)
#undef X
};

struct worker_deadletter {
    enum worker_deadletter_reason reason;
    const char *topic;    /* the envelope's source; "" when undecodable */
    const char *detail;
    const char *payload;  /* the env field as stored (only the first 256 bytes are kept) */
    size_t payload_len;
    const char *stream;
    const char *entry_id;
    const char *group;
    const char *consumer;
    unsigned deliveries;
    const char *history;  /* a JSON array of error strings */
};

const char *worker_deadletter_reason_name(enum worker_deadletter_reason reason);

/*
 * XADD key MAXLEN ~ maxlen * <fields of dl> on c. Returns 0; -EIO when Redis answered
 * with an error; -ENOTCONN when the link failed (c->err is set; the entry may or may
 * not have been written).
 */
int worker_deadletter_add(redisContext *c, const char *key, long maxlen,
                          const struct worker_deadletter *dl);

#endif
