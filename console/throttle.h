// SPDX-License-Identifier: MIT
/*
 * Failed logins slowed down per client address (throttle.c): after each failure the
 * address must wait before its next attempt, 1 s doubling up to THROTTLE_MAX_MS; a
 * success forgets it. A fixed table; when it is full the oldest entry goes.
 */
#ifndef RHEINHUB_CONSOLE_THROTTLE_H
#define RHEINHUB_CONSOLE_THROTTLE_H

#include <stdint.h>

#define THROTTLE_SLOTS 1024
#define THROTTLE_FIRST_MS 1000
#define THROTTLE_MAX_MS 60000

struct throttle;

struct throttle *throttle_new(void);
void throttle_free(struct throttle *t);

/* 0 when addr may try now, else the milliseconds it must still wait. now_ms: monotonic. */
int64_t throttle_wait_ms(struct throttle *t, const char *addr, int64_t now_ms);

void throttle_failed(struct throttle *t, const char *addr, int64_t now_ms);
void throttle_succeeded(struct throttle *t, const char *addr);

#endif
