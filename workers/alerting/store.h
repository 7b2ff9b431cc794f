// SPDX-License-Identifier: MIT
/*
 * The alerting worker's Redis side, on the worker's synchronous hiredis link:
 *
 *   <prefix>alerting:tracks   hash: "<m>/<rule>/<subject>" -> the track's JSON (state.h)
 *   <prefix>alerting:outbox   hash: "<m>/<rule>/<subject>" -> the newest change number
 *                             whose MQTT publication the broker has not confirmed yet
 *   <prefix>alerting:stats    hash: counters (events, stale, raised, ..., acks_invalid)
 *   <prefix>events:rheinhub.alert   stream: one envelope per alert state change
 *
 * One commit writes the dirty tracks, the changes' envelopes and the outbox entries in
 * one MULTI/EXEC, so that either all of a batch's effects are in Redis or none is.
 */
#ifndef RHEINHUB_ALERTING_STORE_H
#define RHEINHUB_ALERTING_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "engine.h"

#define STORE_KEY_MAX 320

struct store_keys {
    char tracks[STORE_KEY_MAX];
    char outbox[STORE_KEY_MAX];
    char stats[STORE_KEY_MAX];
    char stream[STORE_KEY_MAX];
};

void store_keys_init(struct store_keys *k, const char *prefix);

/*
 * Loads every track into the engine and marks what the outbox holds as unpublished
 * (published_seq = 0; every other track's published_seq = seq). Tracks of rules no
 * longer in the file are left in Redis and counted in *dropped. Returns 0, -EIO
 * (Redis refused a command; logged) or -ENOTCONN (the link failed).
 */
int store_load(redisContext *c, const struct store_keys *k, struct engine *e, size_t *dropped,
               const char *component);

/*
 * Writes, in one MULTI/EXEC: HDEL outbox for the done tracks (whose newest change the
 * broker confirmed), HDEL tracks and outbox for the gone tracks (forgotten: forget.h),
 * HSET tracks for the given tracks, XADD of each change's envelope (receivedtime =
 * now_ns), HSET outbox for the given tracks with unconfirmed changes (every track of a
 * change must be among the given ones). On success the given tracks are marked stored
 * and not dirty. Returns 0, -ENOMEM, -EIO or -ENOTCONN; on failure nothing was written.
 */
int store_commit(redisContext *c, const struct store_keys *k, struct track *const *tracks,
                 size_t n_tracks, const struct engine_change *changes, size_t n_changes,
                 struct track *const *done, size_t n_done, struct track *const *gone,
                 size_t n_gone, int64_t now_ns, const char *component);

/* HSET stats name value: a gauge (the tracks held), not a counter. */
int store_stats_set(redisContext *c, const struct store_keys *k, const char *name,
                    uint64_t value);

/* HINCRBY stats for each name with a non-zero delta. */
int store_stats_add(redisContext *c, const struct store_keys *k, const char *const *names,
                    const uint64_t *deltas, size_t n);

#endif
