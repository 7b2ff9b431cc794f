// SPDX-License-Identifier: MIT
/*
 * rheinhub-analytics (docs/analytics.md): tumbling windows per event type, by event
 * time, with an allowed lateness; per (type, subject) and per (municipality, type)
 * roll-up ("_all") statistics; on close a retained MQTT publish and an aggregate
 * envelope on <prefix>events:rheinhub.aggregate. Open windows, the entries already
 * counted and the unpublished aggregates live in Redis, so that a restart neither
 * loses nor double-counts anything.
 *
 * The worker's parts, one file each, each using only those below it: analytics.c
 * (life cycle, counting events), close.c (closing windows, publishing), state.c (the
 * state in Redis), outbox.c (aggregates waiting for their PUBACK), clock.c and
 * crash.c (the event-time clock, the test crash points). The state they share is
 * struct analytics, in instance.h.
 */
#ifndef RHEINHUB_ANALYTICS_H
#define RHEINHUB_ANALYTICS_H

/* Runs the worker through the SDK's worker_main (argv as rheinhub-analytics got it);
 * returns its exit status. */
int analytics_main(int argc, char **argv);

#endif
