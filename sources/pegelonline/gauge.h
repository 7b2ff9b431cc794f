// SPDX-License-Identifier: MIT
/*
 * One PEGELONLINE gauge as the source polls it: the water level's current
 * measurement every api.interval_s, the measurements of the last api.backfill at
 * the start and after every failure (to fill the gap), HTTP validators for
 * conditional requests, the error backoff, and the newest measurement published,
 * so that none is published twice.
 */
#ifndef RHEINHUB_GAUGE_H
#define RHEINHUB_GAUGE_H

#include <stdbool.h>
#include <stdint.h>

#include "fetch.h"
#include "source.h"

struct gauge {
    const struct station *st;
    int index;                  /* in the metrics' stations */
    bool busy;                  /* a request is running */
    bool backfill;              /* the next request is the measurements of api.backfill */
    struct fetch req;
    int64_t due_ms;             /* next request (monotonic ms) */
    int failures;               /* in a row */
    int last_dead_letter;       /* reason dead-lettered in this run of failures, or -1 */
    char etag[FETCH_VALIDATOR_MAX];
    char last_modified[FETCH_VALIDATOR_MAX];
    int64_t newest_s;           /* newest measurement published: UTC seconds ... */
    int64_t newest_ns;          /* ... and fraction; 0/0: none */
    bool dirty;                 /* newest changed since the state file was written */
    int64_t future_s;           /* newest measurement dead-lettered as ahead of our clock: */
    int64_t future_ns;          /* UTC seconds and fraction; 0/0: none */
};

/* The URL of the gauge's next request, for api.base_url. */
void gauge_url(const struct gauge *g, const struct source *s, char *out, size_t size);

/*
 * Handles the end of the gauge's request at now_ms: publishes the new measurements,
 * dead-letters what cannot be read, updates the metrics, and sets when to ask again.
 */
void gauge_finish(struct gauge *g, struct source *s, int64_t now_ms);

#endif
