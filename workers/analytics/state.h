// SPDX-License-Identifier: MIT
/*
 * The analytics worker's state in Redis (state.c): the lock that keeps it to one
 * process, loading, the per-batch transaction, pruning the applied records, the
 * status fields.
 */
#ifndef RHEINHUB_ANALYTICS_STATE_H
#define RHEINHUB_ANALYTICS_STATE_H

#include "instance.h"

int state_lock(struct analytics *a);
int state_lock_refresh(struct analytics *a);
void state_unlock(struct analytics *a);
int state_load(struct analytics *a);
/* Empties the in-memory state (the maps stay). */
void state_clear(struct analytics *a);
/* Empties the series cache (before windows are freed). */
void state_series_clear(struct analytics *a);
/* Frees the counters of m and empties it. */
void state_counters_clear(struct strmap *m);
int state_persist_batch(struct analytics *a);
int state_prune_applied(struct analytics *a);
void state_write_status(struct analytics *a);

#endif
