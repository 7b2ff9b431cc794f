// SPDX-License-Identifier: MIT
/*
 * The hub's way into Redis: a bounded queue of entries (events for their type's
 * stream, dead letters), sent as pipelined XADDs over one hiredis async link with a
 * cap on commands in flight. The link is watched by a liveness deadline and
 * re-established with backoff; entries whose reply was lost with the link are
 * re-sent so that none is lost and none is written twice.
 */
#ifndef RHEINHUB_REDIS_OUT_H
#define RHEINHUB_REDIS_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/async.h>
#include <uv.h>

#include "config.h"
#include "metrics.h"
#include "reject.h"

struct redis_out;

struct redis_out_cbs {
    /* Entries left the queue: the owner may resume its input. */
    void (*progress)(void *data);
    /* An event (its envelope's source and id) among the newest of a stream (borrowed). */
    void (*recent_event)(void *data, const char *source, size_t source_len, const char *id,
                         size_t id_len);
    /* Once, after the first connection has read the recent ids: input may start. */
    void (*ready)(void *data);
    /*
     * Each time a link is up, before anything else is sent on it: commands the owner
     * pipelines here (through redis_out_command) run before any event of this link.
     */
    void (*link_up)(void *data);
};

/* Called once, from the last close callback, after redis_out_drain or _abort. */
typedef void (*redis_out_closed_cb)(void *data);

/*
 * Creates the writer and starts connecting. With journal.dir set it opens the crash
 * journal and takes over what an earlier run left in it (sent first, as in doubt).
 * cfg, m and cbs are borrowed and must outlive it. Returns NULL with errno set.
 */
struct redis_out *redis_out_new(uv_loop_t *loop, const struct hub_config *cfg, struct metrics *m,
                                const struct redis_out_cbs *cbs, void *data);

/* Frees a writer whose closed callback has run (or that never started). */
void redis_out_free(struct redis_out *out);

/*
 * Queues an event for stream key: fields id and env (the msgpack envelope). topic is
 * kept for the dead-letter entry should Redis refuse the event for good. All
 * arguments are copied. Returns 0, or -ENOMEM.
 */
int redis_out_add_event(struct redis_out *out, const char *key, const char *id, const char *env,
                        size_t env_len, const char *topic);

/*
 * Queues a dead-letter entry: the topic, the reason, a readable detail, and the first
 * bytes of the payload with its full size. All arguments are copied. Returns 0, or
 * -ENOMEM.
 */
int redis_out_add_deadletter(struct redis_out *out, const char *topic, enum reject_reason reason,
                             const char *detail, const void *payload, size_t payload_len);

/*
 * Sends one command on the current link, outside the event queue (setup, stream
 * upkeep). cb gets the reply, or NULL when the link went first. Returns 0, or
 * -ENOTCONN when no link is up (cb is then never called).
 */
int redis_out_command(struct redis_out *out, redisCallbackFn *cb, void *privdata, int argc,
                      const char **argv, const size_t *argvlen);

/*
 * Writes the crash journal's buffer (journal.h): 0 when every event added so far is in
 * the journal's file (or there is no journal) and may be acknowledged to the broker,
 * else a negative errno.
 */
int redis_out_journal_flush(struct redis_out *out);

/* The journal is at its size bound or cannot be written: stop taking input. */
bool redis_out_journal_full(const struct redis_out *out);

/* Entries waiting to be sent (what backpressure compares with ingest.queue_max). */
size_t redis_out_queued(const struct redis_out *out);
/* Entries not yet confirmed by Redis: queued, in flight and in doubt. */
size_t redis_out_pending(const struct redis_out *out);
void redis_out_gauges(const struct redis_out *out, struct metrics_gauges *g);
bool redis_out_ready(const struct redis_out *out);
/*
 * The error reply Redis refuses writes with now (maxmemory, an append-only file it
 * cannot write, loading), or NULL while it takes them: set by a transient error reply,
 * cleared by the next write that succeeds. Borrowed from out.
 */
const char *redis_out_refusing(const struct redis_out *out);

/*
 * Finishes: keeps sending until every entry is confirmed, then closes the link and
 * calls closed. New entries may still be added meanwhile.
 */
void redis_out_drain(struct redis_out *out, redis_out_closed_cb closed, void *data);

/*
 * Ends the drain at once: what Redis has not confirmed goes to shutdown.spool_file
 * (logged with its count), then the link closes. When the spool cannot be written
 * (a full disk): final gives the entries up (logged; with the crash journal on, its
 * events stay in it and every abort is final); otherwise nothing changes, the drain
 * goes on, and the result is that negative errno: call again later. Returns 0 once
 * closing.
 */
int redis_out_abort(struct redis_out *out, bool final);

#endif
