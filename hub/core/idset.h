// SPDX-License-Identifier: MIT
/*
 * A bounded set of recently seen event ids, to drop redelivered and bridged
 * duplicates before they reach Redis. It remembers the last `capacity` ids; the
 * oldest is forgotten first. Storage downstream still ignores duplicates by id, so
 * forgetting only costs a write, never correctness.
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

size_t idset_size(const struct idset *set);

#endif
