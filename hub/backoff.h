// SPDX-License-Identifier: MIT
/*
 * Reconnect and retry delays: doubling from a minimum to a cap, with +-20 % jitter so
 * that many hubs (or one hub's links) do not come back in step.
 */
#ifndef RHEINHUB_BACKOFF_H
#define RHEINHUB_BACKOFF_H

/*
 * Returns the next delay in ms: *ms (min when 0) with jitter, and doubles *ms up to
 * max for the call after. Reset *ms to 0 after a success.
 */
unsigned backoff_next(unsigned *ms, unsigned min, unsigned max);

#endif
