// SPDX-License-Identifier: MIT
/*
 * The engine's own state, kept by engine_table.c and shared with engine.c and forget.c
 * (which takes tracks out of it); nothing else includes this header.
 */
#ifndef RHEINHUB_ALERTING_ENGINE_TABLE_H
#define RHEINHUB_ALERTING_ENGINE_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

struct engine {
    const struct rules *rules;
    struct track **buckets;
    size_t n_buckets;          /* a power of two */
    struct track **all;        /* every track, in the order made */
    size_t n_tracks, cap_tracks;
    struct engine_change *changes;
    size_t n_changes, cap_changes;
    struct track **dirty;
    size_t n_dirty, cap_dirty;
    struct engine_stats stats;
    int64_t clock_ns;          /* the latest now given to the engine; 0 before any */
    size_t forget_next;        /* forget.c: where the next look for quiet tracks starts */
};

/* Grows *arr (of elem bytes each) to hold one more than n. Returns 0, or -ENOMEM. */
int engine_reserve(void **arr, size_t *cap, size_t n, size_t elem);

/*
 * The track of rule r and an event's municipality and subject, made when missing. NULL
 * with errno EINVAL when a part is empty, too long or holds a '/', or ENOMEM.
 */
struct track *engine_track_get(struct engine *e, const struct rule *r, const char *municipality,
                               const char *subject);

/* Frees a track taken out of the engine (or NULL). */
void engine_track_free(struct track *t);

/* The hash chain of key: an index into e->buckets. */
size_t engine_bucket(const struct engine *e, const char *key);

#endif
