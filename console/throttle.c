// SPDX-License-Identifier: MIT
/*
 * Login throttle (throttle.h). Entries are looked up linearly: THROTTLE_SLOTS short
 * strings are compared in microseconds, and only login requests ever do it. The
 * thread of the API's POST requests (web.c) is its only user, so it has no lock.
 */
#include "throttle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char addr[64];    /* "" = free */
    int failures;
    int64_t until_ms; /* next attempt allowed from here */
    int64_t last_ms;
};

struct throttle {
    struct entry e[THROTTLE_SLOTS];
};

struct throttle *throttle_new(void)
{
    return calloc(1, sizeof(struct throttle));
}

void throttle_free(struct throttle *t)
{
    free(t);
}

static struct entry *find(struct throttle *t, const char *addr)
{
    for (size_t i = 0; i < THROTTLE_SLOTS; i++)
        if (t->e[i].addr[0] && strcmp(t->e[i].addr, addr) == 0)
            return &t->e[i];
    return NULL;
}

int64_t throttle_wait_ms(struct throttle *t, const char *addr, int64_t now_ms)
{
    struct entry *e = find(t, addr);

    return e && e->until_ms > now_ms ? e->until_ms - now_ms : 0;
}

void throttle_failed(struct throttle *t, const char *addr, int64_t now_ms)
{
    struct entry *e = find(t, addr), *oldest = &t->e[0];
    int64_t delay = THROTTLE_FIRST_MS;

    if (!e) {
        for (size_t i = 0; i < THROTTLE_SLOTS && !e; i++) {
            if (!t->e[i].addr[0])
                e = &t->e[i];
            else if (t->e[i].last_ms < oldest->last_ms)
                oldest = &t->e[i];
        }
        if (!e)
            e = oldest;
        memset(e, 0, sizeof(*e));
        snprintf(e->addr, sizeof(e->addr), "%s", addr);
    }
    e->failures++;
    for (int i = 1; i < e->failures && delay < THROTTLE_MAX_MS; i++)
        delay *= 2;
    if (delay > THROTTLE_MAX_MS)
        delay = THROTTLE_MAX_MS;
    e->until_ms = now_ms + delay;
    e->last_ms = now_ms;
}

void throttle_succeeded(struct throttle *t, const char *addr)
{
    struct entry *e = find(t, addr);

    if (e)
        memset(e, 0, sizeof(*e));
}
