// SPDX-License-Identifier: MIT
/*
 * Reads the source and id of the events of the newest entries of every event stream,
 * so that a hub that starts again knows what it already wrote. The broker redelivers,
 * after a restart, QoS 1 messages whose acknowledgement it did not receive before the
 * old connection ended (a connection closed with unread data is reset, and a reset can
 * discard acknowledgements still in flight); with these events they are dropped as
 * duplicates instead of being written twice.
 */
#ifndef RHEINHUB_RECENT_IDS_H
#define RHEINHUB_RECENT_IDS_H

#include <stddef.h>

#include <hiredis/async.h>

/* One event: its envelope's source and id, of source_len and id_len bytes; borrowed
 * for the call. */
typedef void (*recent_ids_event_cb)(void *data, const char *source, size_t source_len,
                                    const char *id, size_t id_len);
/* The end: 0 when every stream was read, or -ECONNRESET when the link went first. */
typedef void (*recent_ids_done_cb)(void *data, int status, size_t ids, size_t streams);

/*
 * Scans ac for stream keys matching pattern and reads the source and id of each one's
 * newest per_stream events (whole entries: a few more when an entry holds several). An
 * envelope that is not a map with string source and id is passed over. Exactly one done
 * call follows a 0 return. Returns 0, or -ENOMEM.
 */
int recent_ids_load(redisAsyncContext *ac, const char *pattern, unsigned per_stream,
                    recent_ids_event_cb on_event, recent_ids_done_cb on_done, void *data);

#endif
