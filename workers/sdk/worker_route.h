// SPDX-License-Identifier: MIT
/*
 * A worker kind's route as the hub publishes it in <prefix>route:<kind>: the event
 * streams the kind's consumer group reads, and the municipality and subject patterns
 * (fnmatch(3) globs) an event must match to be handed to the worker. Parsing and
 * matching only; following the key in Redis is worker.c's job.
 */
#ifndef RHEINHUB_WORKER_ROUTE_H
#define RHEINHUB_WORKER_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#define WORKER_ROUTE_STREAMS_MAX 128
#define WORKER_ROUTE_PATTERNS_MAX 16
#define WORKER_ROUTE_NAME_MAX 256    /* a stream key, with its terminating NUL */
#define WORKER_ROUTE_PATTERN_MAX 128 /* a glob, with its terminating NUL */
#define WORKER_ROUTE_TEXT_MAX 65536  /* longer route JSON is refused */

struct worker_route {
    char kind[64];
    long long version; /* 0 when the route carries none */
    char streams[WORKER_ROUTE_STREAMS_MAX][WORKER_ROUTE_NAME_MAX];
    size_t n_streams;
    char municipalities[WORKER_ROUTE_PATTERNS_MAX][WORKER_ROUTE_PATTERN_MAX];
    size_t n_municipalities; /* 0: every municipality */
    char subjects[WORKER_ROUTE_PATTERNS_MAX][WORKER_ROUTE_PATTERN_MAX];
    size_t n_subjects;       /* 0: every subject */
};

/*
 * Parses the route JSON text[0..len) into *out:
 *   {"kind":"storage","streams":["rheinhub:events:sensor.waterlevel"],
 *    "municipalities":["*"],"subjects":["*"],"version":3}
 * "streams" is required (it may be empty); the pattern lists may be absent or empty,
 * which matches everything; "kind", when present, must equal kind; unknown members
 * are ignored, so that the hub may add some. A stream listed twice is kept once.
 * Returns 0, or -EINVAL with the reason in why (why_size bytes, may be 0).
 */
int worker_route_parse(struct worker_route *out, const char *text, size_t len, const char *kind,
                       char *why, size_t why_size);

/*
 * Whether an event of this municipality and subject (not NUL-terminated, as they
 * are in a decoded envelope) matches the route's patterns. An empty pattern list
 * matches everything; otherwise a value containing a NUL byte or longer than 1024
 * bytes matches no pattern.
 */
bool worker_route_match(const struct worker_route *route, const char *municipality,
                        size_t municipality_len, const char *subject, size_t subject_len);

/* Whether stream is one of the route's streams. */
bool worker_route_has_stream(const struct worker_route *route, const char *stream);

#endif
