// SPDX-License-Identifier: MIT
/*
 * The integrator's view of rejected events (deadletters.c): the newest entries of the
 * hub's dead-letter stream, read by the console with a short synchronous Redis
 * request (the browser never talks to Redis).
 */
#ifndef RHEINHUB_CONSOLE_DEADLETTERS_H
#define RHEINHUB_CONSOLE_DEADLETTERS_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"

#define DEADLETTERS_SCAN 2000     /* newest entries looked at per request */
#define DEADLETTERS_MAX 200       /* entries returned at most */
#define DEADLETTERS_PAYLOAD 256   /* bytes of each payload shown */
#define DEADLETTERS_TIMEOUT_MS 2000

/*
 * Up to limit (<= DEADLETTERS_MAX) newest entries whose topic starts with prefix
 * ("" for all), newest first: [{"id","time","topic","reason","detail","payload",
 * "size"}]. Returns 0 with *out owned by the caller, or a negative errno with err.
 */
int deadletters_read(const struct hub_config *cfg, const char *prefix, int limit, json_t **out,
                     char *err, size_t err_size);

#endif
