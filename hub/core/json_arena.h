// SPDX-License-Identifier: MIT
/*
 * A per-thread bump allocator for jansson while one message is handled: a TTN uplink
 * is some sixty JSON values and a dozen hash tables, each a malloc and a free, which
 * cost as much as the parsing itself; an event's payload in the hub a dozen or more
 * (the object, its hash table, each key and value, the lexer's buffers). While an arena is active on a thread, jansson's
 * allocations on that thread come from it (malloc when it is full) and its frees of
 * arena memory do nothing; json_arena_end makes it empty again. Every JSON value made
 * while the arena is active must be released before json_arena_end.
 */
#ifndef RHEINHUB_JSON_ARENA_H
#define RHEINHUB_JSON_ARENA_H

#include <stddef.h>

#include <jansson.h>

#define JSON_ARENA_BYTES (256u << 10)

struct json_arena {
    char *buf;
    size_t size;
    size_t used;
    size_t spilled; /* allocations that went to malloc since json_arena_begin */
};

/* Installs the allocator in jansson (once; JSON made before it was malloc's and is
 * freed with free()). */
void json_arena_install(void);

/* Allocates the arena's buffer. Returns 0 or -ENOMEM. */
int json_arena_init(struct json_arena *a);
void json_arena_close(struct json_arena *a);

/* Makes a the calling thread's arena; json_arena_end empties it and deactivates it. */
void json_arena_begin(struct json_arena *a);
void json_arena_end(void);

/*
 * Releases v (json_decref), a value made whole while the thread's arena is active and
 * held by nothing else: when none of the arena's allocations went to malloc, v lies
 * wholly in the arena and json_arena_end frees it in one step, so the walk over its
 * members is skipped.
 */
void json_arena_release(json_t *v);

/* Frees what jansson allocated (json_dumps's text): arena memory or malloc'd. */
void json_arena_free(void *p);

#endif
