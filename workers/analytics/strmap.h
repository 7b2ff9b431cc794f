// SPDX-License-Identifier: MIT
/*
 * A hash map from strings to pointers: the analytics worker's open windows by key,
 * event types by name, applied entries and the outbox. The map copies its keys, or
 * borrows them (strmap_put_borrowed); the values are the caller's.
 */
#ifndef RHEINHUB_ANALYTICS_STRMAP_H
#define RHEINHUB_ANALYTICS_STRMAP_H

#include <stddef.h>

struct strmap;

/* A new, empty map, or NULL (ENOMEM). */
struct strmap *strmap_new(void);
/* Frees the map and its keys, not the values. Accepts NULL. */
void strmap_free(struct strmap *m);

/* The value of key[0..n), or NULL. */
void *strmap_get(const struct strmap *m, const char *key, size_t n);
/* Sets key[0..n) to value (not NULL), replacing an old value. Returns 0, or -ENOMEM. */
int strmap_put(struct strmap *m, const char *key, size_t n, void *value);
/*
 * As strmap_put, but the map keeps the pointer key instead of a copy (no bytes for the
 * key per entry): key[0..n), NUL-terminated at n, must stay as it is until the entry is
 * removed or the map freed. Put again with strmap_put_borrowed, an entry that borrows
 * takes the new key (one that holds a copy keeps it). For keys that live in their value,
 * as a window's.
 */
int strmap_put_borrowed(struct strmap *m, const char *key, size_t n, void *value);
/* Removes key[0..n); returns its value, or NULL when it was not there. */
void *strmap_remove(struct strmap *m, const char *key, size_t n);
size_t strmap_size(const struct strmap *m);

/*
 * Calls fn for every entry, in no particular order. fn may remove the entry it is
 * given (only that one); a non-zero return stops the walk and is returned.
 */
int strmap_each(struct strmap *m, int (*fn)(const char *key, void *value, void *data), void *data);

#endif
