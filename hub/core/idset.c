// SPDX-License-Identifier: MIT
/*
 * The recent-id set: keys are reduced to 128-bit XXH3 hashes, kept in an open
 * addressing table (linear probing, backward-shift deletion, load at most 1/2) and
 * in a ring that records insertion order for eviction. Memory is fixed at creation:
 * 16 bytes per ring slot and 16 bytes per table slot.
 */
#include "idset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

struct key {
    uint64_t hi, lo; /* hi == 0 && lo == 0 marks an empty table slot */
};

struct idset {
    struct key *table;
    size_t mask;  /* table size - 1, a power of two */
    struct key *ring;
    size_t capacity, head, count; /* ring: oldest at head */
};

struct idset *idset_new(size_t capacity)
{
    struct idset *set;
    size_t size = 16;

    if (capacity < 16)
        capacity = 16;
    while (size < capacity * 2)
        size *= 2;
    if (!(set = calloc(1, sizeof(*set))))
        return NULL;
    set->table = calloc(size, sizeof(*set->table));
    set->ring = calloc(capacity, sizeof(*set->ring));
    if (!set->table || !set->ring) {
        idset_free(set);
        errno = ENOMEM;
        return NULL;
    }
    set->mask = size - 1;
    set->capacity = capacity;
    return set;
}

void idset_free(struct idset *set)
{
    if (!set)
        return;
    free(set->table);
    free(set->ring);
    free(set);
}

size_t idset_size(const struct idset *set)
{
    return set->count;
}

static int key_empty(const struct key *k)
{
    return k->hi == 0 && k->lo == 0;
}

static int key_eq(const struct key *a, const struct key *b)
{
    return a->hi == b->hi && a->lo == b->lo;
}

/* Returns the slot holding k, or the empty slot where it would go. */
static size_t find_slot(const struct idset *set, const struct key *k)
{
    size_t i = (size_t)k->lo & set->mask;
    while (!key_empty(&set->table[i]) && !key_eq(&set->table[i], k))
        i = (i + 1) & set->mask;
    return i;
}

/* Removes k from the table, shifting later members of its probe run back. */
static void table_remove(struct idset *set, const struct key *k)
{
    size_t i = find_slot(set, k), j = i;

    if (key_empty(&set->table[i]))
        return;
    for (;;) {
        size_t home;
        set->table[i].hi = set->table[i].lo = 0;
        do {
            j = (j + 1) & set->mask;
            if (key_empty(&set->table[j]))
                return;
            home = (size_t)set->table[j].lo & set->mask;
            /* Keep j where it is when its home lies cyclically in (i, j]. */
        } while (i <= j ? (i < home && home <= j) : (i < home || home <= j));
        set->table[i] = set->table[j];
        i = j;
    }
}

/* Adds the key of hash h; true when it was new. */
static bool add_hash(struct idset *set, XXH128_hash_t h)
{
    struct key k = {h.high64, h.low64 | (h.high64 == 0)};
    size_t slot = find_slot(set, &k);

    if (!key_empty(&set->table[slot]))
        return false;
    if (set->count == set->capacity) {
        table_remove(set, &set->ring[set->head]);
        set->head = (set->head + 1) % set->capacity;
        set->count--;
        slot = find_slot(set, &k);
    }
    set->table[slot] = k;
    set->ring[(set->head + set->count) % set->capacity] = k;
    set->count++;
    return true;
}

bool idset_add(struct idset *set, const char *id, size_t n)
{
    return add_hash(set, XXH3_128bits(id, n));
}

bool idset_add_event(struct idset *set, const char *source, size_t source_len, const char *id,
                     size_t id_len)
{
    XXH3_state_t state;

    XXH3_INITSTATE(&state);
    XXH3_128bits_reset(&state);
    XXH3_128bits_update(&state, source, source_len);
    XXH3_128bits_update(&state, "", 1);
    XXH3_128bits_update(&state, id, id_len);
    return add_hash(set, XXH3_128bits_digest(&state));
}
