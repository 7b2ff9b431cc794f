// SPDX-License-Identifier: MIT
/*
 * The analytics worker's clock for windows and lateness: the wall clock, or, as a test
 * aid, an RFC 3339 date-time read from RHEINHUB_ANALYTICS_CLOCK_FILE at each call.
 */
#ifndef RHEINHUB_ANALYTICS_CLOCK_H
#define RHEINHUB_ANALYTICS_CLOCK_H

#include <stdint.h>

#include "instance.h"

/* Now in ns since the epoch; never earlier than an earlier reading (a->now_ns). */
int64_t clock_now(struct analytics *a);

/*
 * Takes the clock of the last close from Redis (a->clock_key, written with every close)
 * as the earliest reading, so that a new process whose host clock runs behind it (set
 * back while the worker was down) does not open a window that was closed and
 * published. Returns 0 (also when the key is missing or does not parse: logged), or
 * -EIO when Redis did not answer.
 */
int clock_restore(struct analytics *a);

#endif
