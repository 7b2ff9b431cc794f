// SPDX-License-Identifier: MIT
/*
 * The ingest tests' fixture (ingest_fixture.c): a fake Redis writer that records what
 * the ingest path hands it, a fixture with a default configuration, and the checks
 * the ingest test programs share. Include after <cmocka.h>.
 */
#ifndef RHEINHUB_TESTS_INGEST_FIXTURE_H
#define RHEINHUB_TESTS_INGEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "envelope.h"
#include "ingest.h"

#define RECORD_MAX 16

struct recorded_event {
    char *key, *id, *env, *topic;
    size_t env_len;
};

struct recorded_deadletter {
    char *topic, *detail, *payload;
    enum reject_reason reason;
    size_t payload_len;
};

/* What the fake writer recorded since the last rec_clear(). */
struct record {
    struct recorded_event events[RECORD_MAX];
    struct recorded_deadletter deadletters[RECORD_MAX];
    int n_events, n_deadletters;
    int fail; /* non-zero: the fake answers -ENOMEM */
};

extern struct record rec;

/* The writer the ingest path is given; only its address matters. */
extern int fake_writer;
#define FAKE_OUT ((struct redis_out *)(void *)&fake_writer)

struct fixture {
    struct hub_config cfg;
    struct metrics m;
    struct ingest ing;
};

/* What an accepted event is expected to carry. */
struct expected_event {
    const char *key, *id, *source, *type, *subject, *time, *municipality, *category, *data;
};

#define TOPIC "bonn/sensor/waterlevel/gauge-1"
#define TIME "2024-05-01T12:00:00.123+02:00"
#define WHY_TIME "time must be a string: an RFC 3339 date-time of at most 63 bytes"

/* A NUL-terminated copy of n bytes; fails the test when out of memory. */
char *copy_bytes(const void *p, size_t n);
/* Frees and forgets what the fake writer recorded. */
void rec_clear(void);
/* cmocka setup/teardown: a fixture with config_defaults() and an ingest state. */
int setup(void **state);
int teardown(void **state);
/* Re-creates the ingest state after a change of configuration read at init. */
void reinit(struct fixture *f);
/* Ingests payload from a buffer of exactly its size, so that over-reads are caught. */
void ingest_bytes(struct fixture *f, const char *topic, const void *payload, size_t len);
void ingest_text(struct fixture *f, const char *topic, const char *payload);
uint64_t now_ns(void); /* CLOCK_REALTIME in nanoseconds */
/* The sum of every reject reason's counter. */
uint64_t rejected_total(const struct metrics *m);
/* Fails, printing both, unless the decoded string equals expected. */
void assert_view_str(struct envelope_str s, const char *expected);
/* Fails unless v equals the JSON text expected_text. */
void assert_json_text(const json_t *v, const char *expected_text);
/* Exactly one event and no dead letter were recorded; checks its envelope. */
void expect_event(const struct fixture *f, const char *topic, const struct expected_event *x,
                  uint64_t before, uint64_t after);
/* Exactly one dead letter with this reason (and detail unless NULL), topic and
 * whole payload, and no event; the reason counted once. */
void expect_deadletter(const struct fixture *f, const char *topic, const void *payload, size_t len,
                       enum reject_reason reason, const char *detail);
/* Ingests payload and expects one dead letter for it; then clears the record. */
void expect_rejected(struct fixture *f, const char *topic, const char *payload,
                     enum reject_reason reason, const char *detail);

#endif
