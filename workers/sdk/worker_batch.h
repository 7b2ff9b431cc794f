// SPDX-License-Identifier: MIT
/*
 * Reading a worker's entries and handing them to its callback (worker_batch.c): the
 * top of the SDK's layers below worker.c's loop.
 */
#ifndef RHEINHUB_WORKER_BATCH_H
#define RHEINHUB_WORKER_BATCH_H

struct worker;

/*
 * One XREADGROUP over the ready streams (blocking at most block_ms when every stream
 * reads new entries), and the entries it returned handled.
 */
void worker_read(struct worker *w, int block_ms);

/* One XAUTOCLAIM round over the ready streams, and the entries it returned handled. */
void worker_claim(struct worker *w);

#endif
