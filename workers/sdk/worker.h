// SPDX-License-Identifier: MIT
/*
 * The worker SDK: what every rheinhub worker needs to read its events from Redis
 * Streams through its consumer group, at least once, with retries and dead letters.
 *
 * A worker kind (e.g. "storage") is a consumer group on every event stream its route
 * covers. The hub creates the groups and publishes the route as JSON in the key
 * <prefix>route:<kind>; the SDK follows it (routes change on the hub's SIGHUP), reads
 * first its own pending entries (id 0), then new ones (>), splits each entry into its
 * events (one, or 2 to 64 written together) and decodes their envelopes (an entry
 * that does not split or decode goes to the dead-letter stream whole, as "poison"),
 * skips events outside the route's municipality and subject patterns (unseen), hands
 * batches of events to the worker's callback, and acknowledges an entry once all its
 * events are done. An entry with a failed event stays pending and comes back whole
 * after worker.retry_ms, its other events included (at least once); after
 * worker.max_deliveries each failed event goes to the dead-letter stream with the
 * entry's history, and the entry is acknowledged. Entries a dead consumer left
 * pending are claimed (XAUTOCLAIM) the same way.
 *
 * Protocol details for workers in other languages: docs/workers.md.
 */
#ifndef RHEINHUB_WORKER_H
#define RHEINHUB_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>
#include <msgpack.h>

#include "config.h"
#include "envelope.h"

#define WORKER_ERROR_MAX 160

struct worker_event {
    const char *stream;        /* the stream key, NUL-terminated */
    const char *entry_id;      /* the id of the stream entry holding the event, NUL-terminated */
    /*
     * The event's place in its entry, from 0 (always 0 in an entry of one event). The
     * events of an entry the route takes are handed in order, all in one batch call,
     * so (stream, entry_id) changes only between entries. An event the route skips is
     * not handed and leaves a gap: the first handed event of an entry may have an
     * index above 0.
     */
    unsigned entry_index;
    const char *raw;           /* this event's msgpack envelope, as stored in the entry */
    size_t raw_len;
    struct envelope_view env;  /* decoded; strings point into raw storage, not terminated */
    unsigned deliveries;       /* 1 on the first delivery */
    /* Set by the callback: */
    bool failed;               /* not done: try again later */
    char error[WORKER_ERROR_MAX]; /* why, kept in the dead letter's history */
};

struct worker;

struct worker_def {
    const char *kind;          /* consumer group name; also the config section */
    /* After the configuration is read and Redis is reachable. Non-zero stops. */
    int (*start)(struct worker *w, void *data);
    /*
     * A batch of events. Return 0 when handled: an entry whose events are all unmarked
     * (or skipped by the route) is acknowledged; an entry with an event marked failed
     * comes back whole, every event of it again. Return a negative errno when nothing
     * could be done (a database away): nothing is acknowledged, the worker reports
     * itself unhealthy, and the same entries come back after a backoff.
     *
     * A batch holds whole entries, never part of one: at most worker.batch_max events
     * (worker_set_batch_max), cut before an entry that would take it past that, except
     * an entry of more events than batch_max, which comes alone in a batch of its own.
     */
    int (*batch)(struct worker *w, void *data, struct worker_event *events, size_t n);
    /*
     * Each turn of the loop, at least every worker.block_ms (timers, flushing), also
     * while the Redis link is down. A negative errno marks the worker unhealthy until a
     * tick returns 0 again.
     */
    int (*tick)(struct worker *w, void *data);
    /*
     * Once, before exit (after the last batch was acknowledged); not when start failed
     * or the worker was stopped before Redis was reached (start never ran).
     */
    void (*stop)(struct worker *w, void *data);
    void *data;
};

/*
 * The whole life of a worker process: parses its arguments
 *   -c FILE       hub.yaml (the same file the hub uses; required)
 *   -i N          instance number (default: $RHEINHUB_WORKER_INSTANCE, else 1)
 *   --check       check the configuration and exit
 * connects to Redis, runs until SIGTERM/SIGINT or end of standard input (the hub's
 * supervisor holds a pipe there), and returns the process exit status.
 */
int worker_main(const struct worker_def *def, int argc, char **argv);

const struct hub_config *worker_config(const struct worker *w);
/*
 * The worker's own synchronous Redis connection, for extra commands in callbacks;
 * NULL while the link is down (only tick can see that). Borrowed: never free it.
 */
redisContext *worker_redis(struct worker *w);
/* "<hostname>-<instance>": stable across restarts on one host. */
const char *worker_consumer(const struct worker *w);
/* Reported in the worker's status key and so in the hub's /metrics. */
void worker_set_health(struct worker *w, bool healthy, const char *detail);
/*
 * Reads at most n entries per stream at a time from now on, and hands at most n events
 * per batch (see batch above), instead of worker.batch_max: for a worker kind with a
 * batch size of its own (storage.batch_max). n is clamped to 1..10000.
 */
void worker_set_batch_max(struct worker *w, int n);
/*
 * No read before ms milliseconds from now (a longer wait already set stays): lets new
 * entries gather into one larger batch. Stopping and ticks are not held up.
 */
void worker_delay_read(struct worker *w, int ms);
/*
 * In a batch callback: whether the read that brought the batch got fewer entries than
 * it asked for from each of its streams, so that they held nothing more then. A worker
 * that lets entries gather (worker_delay_read) waits only after such a read; the
 * number of events in a batch does not tell, since an entry holds one or several.
 */
bool worker_read_drained(const struct worker *w);
/* Ends the run loop after the current batch (as SIGTERM does). */
void worker_request_stop(struct worker *w);

#endif
