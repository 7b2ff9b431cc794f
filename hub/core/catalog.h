// SPDX-License-Identifier: MIT
/*
 * The schema catalog: one compiled JSON Schema per event type, loaded from a folder
 * laid out as <dir>/<category>/<type>.schema.json (schemas/ in the project). The
 * hub checks every event against its type's schema; workers may use it too.
 */
#ifndef RHEINHUB_CATALOG_H
#define RHEINHUB_CATALOG_H

#include <stdio.h>

#include "schema.h"

/* $id prefix of the project's schemas; it resolves to the catalog's folder. */
#define CATALOG_ID_PREFIX "https://schemas.rheinhub.linz-am-rhein.de/"
#define CATALOG_TYPES_MAX 256

struct catalog;

/*
 * Loads and compiles every <dir>/<category>/<type>.schema.json (category sensor,
 * service or citizen). Each problem is written to err as "FILE: message" (JSON
 * syntax errors with their line); loading goes on, so that one run reports all.
 * Returns the catalog, or NULL when anything failed (errno EINVAL) or memory ran
 * out (ENOMEM).
 */
struct catalog *catalog_load(const char *dir, FILE *err);
void catalog_free(struct catalog *cat);

/* The schema of event_type ("sensor.waterlevel"), or NULL when there is none. */
const struct schema *catalog_find(const struct catalog *cat, const char *event_type);

/* Number of event types, and their names (sorted) for messages. */
size_t catalog_size(const struct catalog *cat);
const char *catalog_type(const struct catalog *cat, size_t i);

#endif
