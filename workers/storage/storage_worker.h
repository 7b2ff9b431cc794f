// SPDX-License-Identifier: MIT
/*
 * rheinhub-storage as a worker: the consumer group "storage" on every stream of its
 * route, each batch one transaction, acknowledged (by the SDK) after the commit.
 */
#ifndef RHEINHUB_STORAGE_WORKER_H
#define RHEINHUB_STORAGE_WORKER_H

/* The worker process: arguments as worker_main takes them. Returns the exit status. */
int storage_worker_main(int argc, char **argv);

#endif
