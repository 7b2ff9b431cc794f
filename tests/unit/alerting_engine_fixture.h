// SPDX-License-Identifier: MIT
/*
 * The alerting engine tests' fixture (alerting_engine_fixture.c), and the rules file
 * loaded from text for the rules tests. Include after
 * <cmocka.h>.
 */
#ifndef RHEINHUB_TESTS_ALERTING_ENGINE_FIXTURE_H
#define RHEINHUB_TESTS_ALERTING_ENGINE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "rules.h"
#include "state.h"
#include "times.h"

#define MIN (60 * NS_PER_S)

extern int64_t t0;   /* 2026-11-26T06:00:00Z, set by the first setup() */
extern int event_no; /* the number in the last fed event's id; lower it to redeliver */

struct fixture {
    struct rules rules;
    struct engine *e;
    const char *type; /* of the events fed */
};

struct fixture *setup(const char *yaml, const char *type);
void teardown_fixture(struct fixture *f);
/* Feeds one event of subject in municipality m with id and data (JSON): event time at,
 * receive time (and now) received. */
void feed_event(struct fixture *f, const char *m, const char *subject, const char *id, int64_t at,
                int64_t received, const char *json);
/* The same in linz with the next id "ev-<n>"; feed: received = at. */
void feed_at(struct fixture *f, const char *subject, int64_t at, int64_t received,
             const char *json);
void feed(struct fixture *f, const char *subject, int64_t at, const char *json);
void feed_value(struct fixture *f, const char *subject, int64_t at, double value);
void tick(struct fixture *f, int64_t now, bool detect);
/* The changes since the last call, and clears them. */
size_t take(struct fixture *f, struct engine_change *out, size_t max);
void expect_none(struct fixture *f, const char *when);
void expect_one(struct fixture *f, enum engine_reason reason, struct engine_change *out,
                const char *when);

/* Loads yaml as "rules.yaml"; returns the result, and the error stream's text in errors. */
int load_rules(struct rules *r, const char *yaml, char *errors, size_t size);
/* yaml must be refused with a message containing want (e.g. "rules.yaml:4: ..."). */
void refused(const char *yaml, const char *want);

/* The rhine-flood rule: above 650 cm, clear at 620, critical above 800. */
extern const char flood[];
/* sensor-silent: any sensor.* subject silent for 30 minutes. */
extern const char silence[];

#endif
