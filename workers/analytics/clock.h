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

#endif
