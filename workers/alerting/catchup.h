// SPDX-License-Identifier: MIT
/*
 * Whether a consumer group has caught up with the streams of its route (catchup.c):
 * the alerting worker watches silence and durations only from then on, so that a
 * subject whose events are still in the backlog is not taken for silent.
 */
#ifndef RHEINHUB_ALERTING_CATCHUP_H
#define RHEINHUB_ALERTING_CATCHUP_H

#include <hiredis/hiredis.h>

/*
 * Whether group has been handed everything in the streams that the route at
 * route_key names and holds nothing pending. Returns 1 (caught up, or no such stream
 * or group yet), 0 (behind, or no route yet), or -ENOTCONN when Redis does not
 * answer.
 */
int catchup_check(redisContext *c, const char *route_key, const char *group);

#endif
