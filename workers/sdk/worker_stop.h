// SPDX-License-Identifier: MIT
/*
 * What stops a worker and how it waits: SIGTERM/SIGINT, the end of the supervisor's
 * pipe on standard input, worker_request_stop; the monotonic clock; sleeps that end
 * early when one of those arrives. The lowest layer of the worker process.
 */
#ifndef RHEINHUB_WORKER_STOP_H
#define RHEINHUB_WORKER_STOP_H

#include <stdbool.h>
#include <stdint.h>

struct worker;

/* Monotonic clock, ms. */
int64_t worker_now_ms(void);

/*
 * Installs the SIGTERM/SIGINT handlers (no SA_RESTART, so that a sleep ends at once),
 * ignores SIGPIPE, and notes whether stdin is the supervisor's pipe.
 */
void worker_stop_init(struct worker *w);

/* Reads and drops what the supervisor wrote; a stop at end of file. Never blocks. */
void worker_stop_check(struct worker *w);

/* Whether a stop was asked for (signal, end of stdin, worker_request_stop). */
bool worker_stopping(const struct worker *w);

/* The signal that asked for the stop, or 0. */
int worker_stop_signal(void);

/* Sleeps up to ms (at most a quarter second); a signal or input on stdin ends it early. */
void worker_wait_ms(struct worker *w, int64_t ms);

#endif
