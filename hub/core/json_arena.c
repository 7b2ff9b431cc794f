// SPDX-License-Identifier: MIT
/* The per-thread jansson arena (json_arena.h). */
#include "json_arena.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#define ALIGN 16

static _Thread_local struct json_arena *active;

static void *arena_malloc(size_t n)
{
    struct json_arena *a = active;
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);

    if (a && need <= a->size - a->used) {
        void *p = a->buf + a->used;
        a->used += need;
        return p;
    }
    if (a)
        a->spilled++;
    return malloc(n);
}

static int in_arena(const struct json_arena *a, const void *p)
{
    return a && (uintptr_t)p >= (uintptr_t)a->buf && (uintptr_t)p < (uintptr_t)a->buf + a->size;
}

void json_arena_free(void *p)
{
    if (!in_arena(active, p))
        free(p);
}

void json_arena_release(json_t *v)
{
    if (!active || active->spilled)
        json_decref(v);
}

void json_arena_install(void)
{
    json_set_alloc_funcs(arena_malloc, json_arena_free);
}

int json_arena_init(struct json_arena *a)
{
    a->used = a->spilled = 0;
    a->size = JSON_ARENA_BYTES;
    if (!(a->buf = aligned_alloc(ALIGN, a->size)))
        return -ENOMEM;
    return 0;
}

void json_arena_close(struct json_arena *a)
{
    free(a->buf);
    a->buf = NULL;
    a->size = a->used = a->spilled = 0;
}

void json_arena_begin(struct json_arena *a)
{
    a->used = a->spilled = 0;
    active = a;
}

void json_arena_end(void)
{
    if (active)
        active->used = 0;
    active = NULL;
}
