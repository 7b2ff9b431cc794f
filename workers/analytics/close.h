// SPDX-License-Identifier: MIT
/* Closing windows and publishing their aggregates (close.c). */
#ifndef RHEINHUB_ANALYTICS_CLOSE_H
#define RHEINHUB_ANALYTICS_CLOSE_H

#include "instance.h"

/* The aggregate id of a window: XXH3-128 of its names and start, 32 hex digits. */
void close_aggregate_id(char out[ANALYTICS_ID_HEX + 1], const struct acc *acc);
/* Closes every window whose end + lateness has passed. 0, or a negative errno. */
int close_due(struct analytics *a);
/* MQTT: takes PUBACKs (and drops those items from the outbox), publishes what waits. */
void close_pump(struct analytics *a);

#endif
