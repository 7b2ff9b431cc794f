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
/*
 * A read answered and what it brought was handled: when nothing of it failed as a whole
 * since failures_before (w->batch_failures as the read began), an earlier failure is
 * over, as after a batch that succeeds. The first read after a failure reads the
 * worker's own pending entries, where a failed batch's entries would be: a read that
 * finds none has nothing left failing, and claims and health must not wait for new
 * entries to make a batch succeed.
 */
void worker_read_settled(struct worker *w, unsigned long long failures_before);

/* HSET of the status hash and PEXPIRE of it, in one round trip. */
void worker_status_write(struct worker *w);
/* Deletes the status key: a worker that stopped on purpose reports nothing. */
void worker_status_remove(struct worker *w);

#endif
