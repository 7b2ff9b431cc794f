// SPDX-License-Identifier: MIT
/*
 * A worker's health and its status hash <prefix>worker:<kind>:<consumer> (state,
 * detail, counters, pid), which the hub reads for /metrics.
 */
#ifndef RHEINHUB_WORKER_HEALTH_H
#define RHEINHUB_WORKER_HEALTH_H

struct worker;

/* Marks a read or a batch failed as a whole: unhealthy, and back off before the next. */
void worker_batch_failed(struct worker *w, const char *detail);
/* A batch succeeded: the backoff and the batch error end. */
void worker_batch_succeeded(struct worker *w);

/* HSET of the status hash and PEXPIRE of it, in one round trip. */
void worker_status_write(struct worker *w);
/* Deletes the status key: a worker that stopped on purpose reports nothing. */
void worker_status_remove(struct worker *w);

#endif
