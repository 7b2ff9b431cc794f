// SPDX-License-Identifier: MIT
/*
 * Reads the event ids of the newest entries of every event stream, so that a hub
 * that starts again knows what it already wrote. The broker redelivers, after a
 * restart, QoS 1 messages whose acknowledgement it did not receive before the old
 * connection ended (a connection closed with unread data is reset, and a reset can
 * discard acknowledgements still in flight); with these ids they are dropped as
 * duplicates instead of being written twice.
 */
#ifndef RHEINHUB_RECENT_IDS_H
#define RHEINHUB_RECENT_IDS_H

#include <stddef.h>

#include <hiredis/async.h>

/* One id; borrowed for the call. */
typedef void (*recent_ids_id_cb)(void *data, const char *id, size_t len);
/* The end: 0 when every stream was read, or -ECONNRESET when the link went first. */
typedef void (*recent_ids_done_cb)(void *data, int status, size_t ids, size_t streams);

/*
 * Scans ac for stream keys matching pattern and reads the ids of each one's newest
 * per_stream events (whole entries: a few more when an entry holds several). Exactly one done call follows a 0 return.
 * Returns 0, or -ENOMEM.
 */
int recent_ids_load(redisAsyncContext *ac, const char *pattern, unsigned per_stream,
                    recent_ids_id_cb on_id, recent_ids_done_cb on_done, void *data);

#endif
