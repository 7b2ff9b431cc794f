// SPDX-License-Identifier: MIT
/*
 * A bounded set of recently seen events, to drop redelivered and bridged duplicates
 * before they reach Redis. An event is known by its source and id together (CloudEvents
 * make the pair unique, not the id alone). It remembers the last `capacity` events; the
 * oldest is forgotten first. Storage downstream still ignores duplicates by (time, id),
 * so forgetting only costs a write, never correctness.
 */
#ifndef RHEINHUB_IDSET_H
#define RHEINHUB_IDSET_H

#include <stdbool.h>
#include <stddef.h>

struct idset;

/* Returns a new set for up to capacity ids (at least 16), or NULL with errno set. */
struct idset *idset_new(size_t capacity);
void idset_free(struct idset *set);

/*
 * Adds the id of n bytes. Returns true when it was new, false when it is already in
 * the set (a duplicate). Adding to a full set forgets the oldest id.
 */
bool idset_add(struct idset *set, const char *id, size_t n);

/*
 * Adds the event of source and id (source_len and id_len bytes, neither holding NUL, as
 * the hub's envelopes are made): the key is that of idset_add for the bytes source, one
 * NUL, id. Returns true when it was new, false for a duplicate.
 */
bool idset_add_event(struct idset *set, const char *source, size_t source_len, const char *id,
                     size_t id_len);

size_t idset_size(const struct idset *set);

#endif
