// SPDX-License-Identifier: MIT
/*
 * What the console reads from the storage database (history.c), through the storage
 * worker's own query layer (store_query), so that SQLite and PostgreSQL both work and
 * the console never writes: an alert's history, the values of its subject around it
 * with the rule's levels, and 24 hours of hourly aggregates for the sparklines.
 */
#ifndef RHEINHUB_CONSOLE_HISTORY_H
#define RHEINHUB_CONSOLE_HISTORY_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "rules.h"

#define HISTORY_ROWS_MAX 5000   /* rows one query reads at most */

struct history {
    const struct hub_config *cfg;
    char sqlite_path[1024];
    const struct rules *rules;  /* the alert rules, for their levels; may be empty */
};

/*
 * The detail of the alert id on topic (<m>/alerts/<rule>/<subject>): {"changes":[...],
 * "values":[{"time","v"}...], "field", "levels":[{"at","severity"}], "clear", "kind"}.
 * Returns 0 with *out owned by the caller, -ENOENT when the database holds no change
 * of it, or another negative errno with err saying why.
 */
int history_alert(const struct history *h, const char *topic, const char *id, json_t **out,
                  char *err, size_t err_size);

/*
 * The last 24 hours of type's hourly aggregates: {"<m>/<subject>": [{"start","stats"}...]}
 * oldest first. Returns 0 with *out owned by the caller, or a negative errno.
 */
int history_series(const struct history *h, const char *type, json_t **out, char *err,
                   size_t err_size);

/*
 * Whether the database can be read now: opens it as every read does (there, at the
 * schema version this console reads) and closes it. Returns 0, or a negative errno
 * with err saying why.
 */
int history_check(const struct history *h, char *err, size_t err_size);

#endif
