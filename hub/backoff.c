// SPDX-License-Identifier: MIT
/* Doubling delays with jitter (backoff.h). */
#include "backoff.h"

#include <stdlib.h>

unsigned backoff_next(unsigned *ms, unsigned min, unsigned max)
{
    unsigned base = *ms ? *ms : min;
    unsigned jitter = base / 5;

    *ms = base * 2 > max ? max : base * 2;
    return base - jitter + (jitter ? (unsigned)rand() % (2 * jitter + 1) : 0);
}
