// SPDX-License-Identifier: MIT
/*
 * What the console says about itself (probe.c): /healthz for whoever checks that it
 * works (systemd, a load balancer, an operator with curl) and /metrics for Prometheus.
 * Neither needs a login, and neither says anything secret: states, counts, no names.
 */
#ifndef RHEINHUB_CONSOLE_PROBE_H
#define RHEINHUB_CONSOLE_PROBE_H

#include <stdio.h>

#include "api.h"
#include "console.h"

/*
 * /healthz: {"status":"ok"|"degraded","broker":"up"|"down","database":"ok"|
 * "unreadable","accounts":"ok"|"unreadable","streams":N,"sessions":N}, 200 when the
 * console's own MQTT session is connected, the storage database can be read and the
 * account registry too; else 503. It opens the database as a read does, so it may wait
 * as long as one (a locked SQLite file, a slow PostgreSQL server): run it on a lane.
 */
void probe_health(struct console *c, struct api_reply *reply);

/* /metrics (counters.h) into out: atomics and two short locks, no waiting. */
void probe_metrics(struct console *c, FILE *out);

#endif
