// SPDX-License-Identifier: MIT
/*
 * Forgetting quiet subjects (forget.c): the worker remembers, per topic it publishes
 * retained, the end of the last window it closed there, and once that end is older
 * than analytics.forget_after and no window of that topic is open, it removes the
 * retained aggregate from the broker (an empty retained publish) and then the record.
 */
#ifndef RHEINHUB_ANALYTICS_FORGET_H
#define RHEINHUB_ANALYTICS_FORGET_H

#include "instance.h"

/* The forget state of a, with its Redis key. 0, or -ENOMEM. */
int forget_init(struct analytics *a);
/* Frees a->forget; accepts a worker that never started. */
void forget_close(struct analytics *a);

/*
 * Appends to c's pipeline (inside the close's MULTI) the HSET that records acc's end
 * as the last published window of its topic. 0, or -EIO when hiredis cannot append.
 */
int forget_append_published(struct analytics *a, redisContext *c, const struct acc *acc);

/* A PUBACK that is no outbox item's: perhaps an empty retained publish of ours. */
void forget_acked(struct analytics *a, int mid);

/*
 * Each tick (now_ms: the monotonic clock): deletes the records of acknowledged
 * removals, and every analytics.check_interval_ms looks at the next records (bounded)
 * and publishes the removal of those that are due. Errors are logged; what failed is
 * tried again later.
 */
void forget_tick(struct analytics *a, int64_t now_ms);

#endif
