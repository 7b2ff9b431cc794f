// SPDX-License-Identifier: MIT
/*
 * The console's monotonic clock (clock.h), in one place for every thread: the wall
 * clock may jump (NTP, an operator), which must neither end sessions nor sweep the
 * board early.
 */
#include "clock.h"

#include <time.h>

int64_t clock_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
