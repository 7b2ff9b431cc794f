// SPDX-License-Identifier: MIT
/*
 * The events of one stream entry (worker_entry.c). An entry holds one event (fields
 * id and env, one envelope) or, written by a hub under load, 2 to 64 (fields n, ids
 * and env, env being the n envelopes back to back: a msgpack stream of n maps).
 * Reading the fields and splitting and decoding env; the rest of an entry's life
 * (route, callback, acknowledgement) is worker_batch.c's.
 */
#ifndef RHEINHUB_WORKER_ENTRY_H
#define RHEINHUB_WORKER_ENTRY_H

#include <stddef.h>

#include <hiredis/hiredis.h>
#include <msgpack.h>

#include "worker.h"

/* Events of one entry at most: the hub writes 2 to this many under one n. */
#define WORKER_ENTRY_EVENTS_MAX 64

/* The env field of an entry's flat [field, value, ...] array, or NULL. Borrowed. */
const redisReply *worker_entry_env(const redisReply *fields);

/*
 * Splits the entry with the given fields (a flat [field, value, ...] array) into its
 * events: events[0 .. result) get raw, raw_len, env and entry_index, every other
 * member zeroed. events has room for WORKER_ENTRY_EVENTS_MAX. The decoded objects are
 * allocated in zone and the strings point into fields: both are the caller's and
 * must outlive events.
 *
 * Returns the number of events, 1 to WORKER_ENTRY_EVENTS_MAX, or -EINVAL when the
 * entry is poison, with a NUL-terminated reason for the dead letter in why: no env
 * field; n present but not a decimal count from 1 to WORKER_ENTRY_EVENTS_MAX; env
 * holding other than n envelopes back to back (exactly one when there is no n);
 * an envelope that does not decode. The ids field is not read: every envelope carries
 * its own id.
 */
int worker_entry_split(const redisReply *fields, msgpack_zone *zone, struct worker_event *events,
                       char *why, size_t why_size);

#endif
