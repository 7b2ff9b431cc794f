// SPDX-License-Identifier: MIT
/*
 * Stream upkeep: every redis.trim_interval_ms the hub looks at each event stream's
 * consumer groups, trims what every group has acknowledged (XTRIM MINID, from the
 * oldest pending or last delivered id over all groups: MAXLEN would drop entries
 * no group has read, PITFALLS.md), applies the memory cap redis.stream_maxlen
 * (counting what it drops), and keeps the figures /metrics shows: length, and per
 * group lag, pending and the age of the oldest pending entry; and the status the
 * workers report.
 */
#ifndef RHEINHUB_STREAMS_H
#define RHEINHUB_STREAMS_H

#include <stdio.h>

#include <uv.h>

#include "catalog.h"
#include "config.h"
#include "redis_out.h"

struct streams;

/* cfg, out and *cat (which the hub may swap on reload) are borrowed. */
struct streams *streams_new(uv_loop_t *loop, const struct hub_config *cfg, struct redis_out *out,
                            struct catalog *const *cat);
/* Stops the timer; the memory goes when the loop has closed it (and any round ends). */
void streams_close(struct streams *s);

/* Prometheus text for the stream, group and worker figures of the last round. */
void streams_render(const struct streams *s, FILE *out);

/* Worker consumers that reported unhealthy in the last round (for /healthz). */
int streams_unhealthy_consumers(const struct streams *s);

/* Writes a JSON object of the unhealthy consumers of the last round: key -> the worker's
 * reason ("detail" of its status hash). {} before the first round. */
void streams_render_unhealthy(const struct streams *s, FILE *out);

#endif
