// SPDX-License-Identifier: MIT
/*
 * rheinhub-alerting as a worker process: the worker SDK's callbacks around the engine,
 * the Redis store and the MQTT link. The command line, which loads the configuration
 * and the rules first, is main.c.
 */
#ifndef RHEINHUB_ALERTING_WORKER_H
#define RHEINHUB_ALERTING_WORKER_H

#include "rules.h"

/*
 * Runs the worker with the rules loaded from rules_file (named in the log), under the
 * worker SDK's command line (docs/alerting.md; without -c it prints the usage). Takes
 * the rules over and frees them. Returns the exit status.
 */
int alerting_worker_run(struct rules *rules, const char *rules_file, int argc, char **argv);

#endif
