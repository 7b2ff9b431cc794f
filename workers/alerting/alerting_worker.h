// SPDX-License-Identifier: MIT
/*
 * rheinhub-alerting as a worker process: the worker SDK's callbacks around the engine,
 * the Redis store and the MQTT link, and the command line (`--check` also checks the
 * rules file).
 */
#ifndef RHEINHUB_ALERTING_WORKER_H
#define RHEINHUB_ALERTING_WORKER_H

/* The process: see docs/alerting.md. Returns the exit status. */
int alerting_worker_main(int argc, char **argv);

#endif
