// SPDX-License-Identifier: MIT
/*
 * The newest measurement published per gauge, kept in api.state_file across restarts
 * so that a restart publishes only what is new: one line per station,
 * "<station>\t<UTC seconds>\t<ns>". Written atomically (temporary file, fsync,
 * rename) and only when our broker has acknowledged every event published, so the
 * file never claims more than was delivered.
 */
#ifndef RHEINHUB_GAUGE_STATE_H
#define RHEINHUB_GAUGE_STATE_H

#include <stdint.h>

#include "gauge.h"

/*
 * Reads path into the gauges it names; a missing file is no error. A line whose time no
 * measurement can have (not two numbers, a fraction outside 0..999999999, before year 0,
 * more than MEASUREMENT_FUTURE_MAX_S ahead of now_s, our clock in UTC seconds) is logged
 * and left out: a damaged or hand-edited file must hide no measurement. Returns 0 or
 * -errno.
 */
int gauge_state_load(const char *path, struct gauge *g, int n, int64_t now_s);

/* Writes every gauge's newest measurement to path. Returns 0 or -errno (the caller logs it). */
int gauge_state_save(const char *path, struct gauge *g, int n);

#endif
