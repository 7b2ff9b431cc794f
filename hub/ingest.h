// SPDX-License-Identifier: MIT
/*
 * The per-event path: topic and JSON parse, bounds, CloudEvents unwrapping, the
 * schema check, the canonical envelope and its id, then one queued XADD. Anything
 * rejected becomes a dead-letter entry with its reason.
 */
#ifndef RHEINHUB_INGEST_H
#define RHEINHUB_INGEST_H

#include <stddef.h>

#include <jansson.h>
#include <msgpack.h>

#include "config.h"
#include "idset.h"
#include "json_arena.h"
#include "metrics.h"
#include "redis_out.h"
#include "reject.h"
#include "topic.h"

#define INGEST_DETAIL_MAX 512

/*
 * The schema seam: checks the payload (data) of an event of topic->event_type.
 * Returns 0 when valid, else a reject reason (REJECT_UNKNOWN_TYPE, REJECT_SCHEMA)
 * with a readable detail written to detail.
 */
typedef int (*ingest_check_cb)(void *data, const struct topic *topic, const json_t *payload,
                               char detail[INGEST_DETAIL_MAX]);

struct ingest {
    const struct hub_config *cfg;
    struct metrics *m;
    struct redis_out *out;
    struct idset *seen;
    msgpack_sbuffer buf;
    struct json_arena arena; /* the payload's JSON values, freed at once after each */
    char source_prefix[272]; /* "mqtt://<authority>/", authority up to 255 */
    size_t source_prefix_len;
    char key_prefix[96];     /* "<stream prefix>events:" */
    size_t key_prefix_len;
    ingest_check_cb check;
    void *check_data;
    /* The start's recent events whose source names another broker (ingest_recent_event). */
    unsigned long long other_broker;
    char other_authority[64]; /* the first such broker's name, cut to fit */
    bool other_broker_told;
};

/*
 * The schema check of the catalog (hub/core/catalog.h), as an ingest_check_cb:
 * data is the catalog. An event type without a schema is REJECT_UNKNOWN_TYPE; a
 * payload the schema refuses is REJECT_SCHEMA with its first errors in detail.
 */
int ingest_catalog_check(void *data, const struct topic *topic, const json_t *payload,
                         char detail[INGEST_DETAIL_MAX]);

/* Returns 0, or -ENOMEM. cfg, m and out are borrowed. */
int ingest_init(struct ingest *ing, const struct hub_config *cfg, struct metrics *m,
                struct redis_out *out);
void ingest_close(struct ingest *ing);

/*
 * An event among the newest of a stream, read from Redis at the start: from now on a
 * duplicate of it is dropped. A source in the hub's own form, mqtt://<broker>/<topic>,
 * that names another broker than this hub does is counted: the broker's address (or
 * mqtt.source) changed since that event was written.
 */
void ingest_recent_event(struct ingest *ing, const char *source, size_t source_len, const char *id,
                         size_t id_len);

/*
 * The recent events are read: once per process, when some named another broker, a
 * warning says that what the broker sends again now is not known as written, and how
 * to keep the old name.
 */
void ingest_recent_done(struct ingest *ing);

/* Takes one inbound message; payload is borrowed for the call only. */
void ingest_message(struct ingest *ing, const char *topic, const void *payload, size_t len);

/*
 * Returns the nesting depth of the JSON text, stopping early once it exceeds limit
 * (then the result is limit + 1). Brackets inside strings do not count.
 */
int ingest_json_depth(const char *text, size_t len, int limit);

#endif
