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

#include "gauge.h"

/* Reads path into the gauges it names; a missing file is no error. Returns 0 or -errno. */
int gauge_state_load(const char *path, struct gauge *g, int n);

/* Writes every gauge's newest measurement to path. Returns 0 or -errno. */
int gauge_state_save(const char *path, struct gauge *g, int n);

#endif
