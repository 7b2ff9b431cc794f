// SPDX-License-Identifier: MIT
/*
 * The console's one clock (clock.c): milliseconds of CLOCK_MONOTONIC, for idle
 * sessions, the login throttle and the board's resynchronisation after a reconnect.
 */
#ifndef RHEINHUB_CONSOLE_CLOCK_H
#define RHEINHUB_CONSOLE_CLOCK_H

#include <stdint.h>

/* Milliseconds since an arbitrary point; never goes back. */
int64_t clock_now_ms(void);

#endif
