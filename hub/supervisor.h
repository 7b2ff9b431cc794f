// SPDX-License-Identifier: MIT
/*
 * The supervisor: starts the worker processes hub.yaml lists (workers[].command,
 * instances), with the hub's configuration file, captures their output into the
 * hub's log with a prefix, and gives each a standard-input pipe so that it ends when
 * the hub dies. A worker that exits is restarted with exponential backoff, reset
 * after a healthy run; after repeated quick failures it is given up on and reported
 * as failed, and the rest keep running.
 */
#ifndef RHEINHUB_SUPERVISOR_H
#define RHEINHUB_SUPERVISOR_H

#include <stdbool.h>
#include <stdio.h>

#include <uv.h>

#include "config.h"

struct supervisor;

typedef void (*supervisor_stopped_cb)(void *data);

/* config_path is passed to each worker as "-c <path>" (made absolute here). */
struct supervisor *supervisor_new(uv_loop_t *loop, const char *config_path);

/*
 * Brings the running workers in line with cfg: starts new kinds and instances,
 * restarts those whose command, arguments or route changed, stops removed ones.
 * The first call starts everything.
 */
void supervisor_apply(struct supervisor *sv, const struct hub_config *cfg);

/* SIGTERM to every worker, SIGKILL after timeout_ms; then stopped (once). */
void supervisor_stop(struct supervisor *sv, unsigned timeout_ms, supervisor_stopped_cb stopped,
                     void *data);

/* Frees a stopped supervisor. */
void supervisor_free(struct supervisor *sv);

/* Workers given up on (for /healthz). */
int supervisor_failed(const struct supervisor *sv);

/* /healthz detail: a JSON object of worker instance name to state. */
void supervisor_render_health(const struct supervisor *sv, FILE *out);
void supervisor_render_metrics(const struct supervisor *sv, FILE *out);

#endif
