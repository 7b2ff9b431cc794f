// SPDX-License-Identifier: MIT
/*
 * Several events of one stream in one entry (schemas/envelope.md, "Where it is"):
 *
 *   XADD <key> * n <count> ids <msgpack array of the ids> env <the envelopes, concatenated>
 *
 * Redis spends most of its time per entry, not per byte (the consumer groups' pending
 * lists, the append-only file's records), so the hub gathers the events a loop turn
 * took for one stream into as few entries as it may (redis.entry_events_max).
 */
#ifndef RHEINHUB_ENTRY_PACK_H
#define RHEINHUB_ENTRY_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out_item.h"

/*
 * Moves from src into pack the head of src, an event, and after it the events of the
 * same stream among the next entries of src, until pack holds max or scan entries of
 * src were looked at. The order of both lists is kept.
 */
void entry_pack_take(struct out_list *src, struct out_list *pack, size_t max, size_t scan);

/*
 * The XADD of the events of pack (two or more, of one stream), RESP-encoded in a new
 * allocation of *len bytes. NULL when out of memory.
 */
char *entry_pack_command(const struct out_list *pack, size_t *len);

/*
 * Whether the queued items wait up to a linger (redis.entry_linger_ms, linger_ns > 0)
 * for the next loop turns to add to their entries: under load and short of a full
 * entry. Under load is two or more queued, or one queued less than a linger after the
 * last entry went out (since_sent_ns ago); a lone event after a quiet spell goes at once.
 */
bool entry_pack_lingers(size_t queued, size_t events_max, uint64_t since_sent_ns,
                        uint64_t linger_ns);

#endif
