// SPDX-License-Identifier: MIT
/*
 * Unit tests of the alerting engine's conditions with a fake clock: levels with
 * hysteresis, severity levels, where and a missing field, durations, rates, equality
 * and silence. The lifecycle is in test_alerting_lifecycle.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerting_engine_fixture.h"

/* Oscillating between the clear and raise levels: one alert, no flapping. */
static void engine_hysteresis_one_alert(void **state)
{
    struct fixture *f = setup(flood, "sensor.waterlevel");
    const double levels[] = {700, 640, 660, 625, 690, 621, 651, 649, 700, 630};
    struct engine_change c;
    char first_id[ALERT_ID_MAX];

    (void)state;
    feed_value(f, "pegel-1", t0, 600);
    expect_none(f, "600 cm, below the level");
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        feed_value(f, "pegel-1", t0 + (int64_t)(i + 1) * MIN, levels[i]);
        if (i == 0) {
            expect_one(f, ENGINE_RAISED, &c, "700 cm");
            assert_int_equal(c.alert.state, ALERT_ACTIVE);
            assert_int_equal(c.alert.severity, SEVERITY_WARNING);
            assert_int_equal(c.alert.value.kind, VALUE_INT);
            assert_int_equal(c.alert.value.i, 700);
            assert_int_equal(c.alert.threshold.i, 650);
            assert_string_equal(c.alert.message, "pegel-1: water level 700 cm ≥ 650 cm");
            snprintf(first_id, sizeof(first_id), "%s", c.alert.id);
        } else {
            expect_none(f, "between 620 and 700 cm");
        }
    }
    /* The one alert is updated by the repeats: latest value, same id. */
    {
        struct track *t = engine_track(f->e, "linz/rhine-flood/pegel-1");
        assert_non_null(t);
        assert_string_equal(t->alert->id, first_id);
        assert_int_equal(t->alert->value.i, 630);
        assert_true(t->alert->updated_ns > t->alert->raised_ns);
    }
    feed_value(f, "pegel-1", t0 + 20 * MIN, 619);
    expect_one(f, ENGINE_CLEARED, &c, "619 cm, below the clear level");
    assert_int_equal(c.alert.state, ALERT_CLEARED);
    assert_int_equal(c.alert.value.i, 619);
    assert_true(c.alert.cleared_ns > 0);
    assert_string_equal(c.alert.id, first_id);
    assert_int_equal(engine_stats(f->e)->changes[ENGINE_RAISED], 1);
    teardown_fixture(f);
}

/* A level above the raise level makes the open alert critical; it does not go back. */
static void engine_levels_raise_severity(void **state)
{
    struct fixture *f = setup(flood, "sensor.waterlevel");
    struct engine_change c;

    (void)state;
    feed_value(f, "pegel-2", t0, 700);
    expect_one(f, ENGINE_RAISED, &c, "700 cm");
    feed_value(f, "pegel-2", t0 + MIN, 820);
    expect_one(f, ENGINE_SEVERITY, &c, "820 cm");
    assert_int_equal(c.alert.severity, SEVERITY_CRITICAL);
    assert_int_equal(c.alert.threshold.i, 800);
    assert_string_equal(c.alert.message, "pegel-2: water level 820 cm ≥ 800 cm");
    feed_value(f, "pegel-2", t0 + 2 * MIN, 700);
    expect_none(f, "back to 700 cm");
    assert_int_equal(engine_track(f->e, "linz/rhine-flood/pegel-2")->alert->severity,
                     SEVERITY_CRITICAL);
    /* Straight to critical when the first reading is past the level. */
    feed_value(f, "pegel-3", t0, 900);
    expect_one(f, ENGINE_RAISED, &c, "900 cm at once");
    assert_int_equal(c.alert.severity, SEVERITY_CRITICAL);
    teardown_fixture(f);
}

/* The levels are inclusive (≥ above, ≤ below); clearing needs a value past the clear level. */
static const char low_flow[] = "rules:\n"
                               "  - name: low-flow\n"
                               "    type: sensor.waterlevel\n"
                               "    field: value\n"
                               "    below: 20\n"
                               "    clear: 30\n"
                               "    levels: [{below: 10, severity: critical}]\n";

static void engine_levels_at_their_boundaries(void **state)
{
    struct fixture *f = setup(flood, "sensor.waterlevel");
    struct engine_change c;

    (void)state;
    feed_value(f, "pegel-1", t0, 649);
    expect_none(f, "649 cm, below the level");
    feed_value(f, "pegel-1", t0 + MIN, 650);
    expect_one(f, ENGINE_RAISED, &c, "650 cm, at the level");
    feed_value(f, "pegel-1", t0 + 2 * MIN, 800);
    expect_one(f, ENGINE_SEVERITY, &c, "800 cm, at the critical level");
    assert_int_equal(c.alert.severity, SEVERITY_CRITICAL);
    feed_value(f, "pegel-1", t0 + 3 * MIN, 620);
    expect_none(f, "620 cm, at the clear level");
    feed_value(f, "pegel-1", t0 + 4 * MIN, 619);
    expect_one(f, ENGINE_CLEARED, &c, "619 cm, below the clear level");
    teardown_fixture(f);

    f = setup(low_flow, "sensor.waterlevel");
    feed_value(f, "pegel-1", t0, 21);
    expect_none(f, "21, above the level");
    feed_value(f, "pegel-1", t0 + MIN, 20);
    expect_one(f, ENGINE_RAISED, &c, "20, at the level");
    assert_int_equal(c.alert.severity, SEVERITY_WARNING);
    feed_value(f, "pegel-1", t0 + 2 * MIN, 10);
    expect_one(f, ENGINE_SEVERITY, &c, "10, at the critical level");
    feed_value(f, "pegel-1", t0 + 3 * MIN, 30);
    expect_none(f, "30, at the clear level");
    feed_value(f, "pegel-1", t0 + 4 * MIN, 31);
    expect_one(f, ENGINE_CLEARED, &c, "31, above the clear level");
    teardown_fixture(f);
}

/* where: an event of another unit is not the rule's; a missing field is counted. */
static void engine_where_and_missing_field(void **state)
{
    struct fixture *f = setup(flood, "sensor.waterlevel");

    (void)state;
    feed(f, "pegel-4", t0, "{\"value\":900,\"unit\":\"m\"}");
    expect_none(f, "unit m");
    assert_null(engine_track(f->e, "linz/rhine-flood/pegel-4"));
    feed(f, "pegel-4", t0 + MIN, "{\"unit\":\"cm\",\"trend\":1}");
    expect_none(f, "no value");
    assert_int_equal(engine_stats(f->e)->no_value, 1);
    f->type = "sensor.soil";
    feed_value(f, "pegel-5", t0, 900);
    expect_none(f, "another type");
    teardown_fixture(f);
}

static const char wastebin[] = "rules:\n"
                               "  - name: wastebin-full\n"
                               "    type: sensor.wastebin\n"
                               "    field: fill\n"
                               "    above: 0.9\n"
                               "    clear: 0.5\n"
                               "    for: 10m\n"
                               "    severity: info\n";

/* for: the level must hold 10 minutes; the clock raises it, a dip resets it. */
static void engine_duration(void **state)
{
    struct fixture *f = setup(wastebin, "sensor.wastebin");
    struct engine_change c;

    (void)state;
    feed(f, "bin-1", t0, "{\"fill\":0.95}");
    expect_none(f, "0.95 at once");
    tick(f, t0 + 5 * MIN, true);
    expect_none(f, "after 5 minutes");
    feed(f, "bin-1", t0 + 6 * MIN, "{\"fill\":0.97}");
    expect_none(f, "0.97 after 6 minutes");
    tick(f, t0 + 10 * MIN - 1, true);
    expect_none(f, "just before 10 minutes");
    tick(f, t0 + 10 * MIN, false);
    expect_none(f, "10 minutes while behind on events");
    tick(f, t0 + 10 * MIN, true);
    expect_one(f, ENGINE_RAISED, &c, "10 minutes");
    assert_int_equal(c.alert.severity, SEVERITY_INFO);
    assert_true(c.alert.value.kind == VALUE_REAL && c.alert.value.d == 0.97);
    tick(f, t0 + 20 * MIN, true);
    expect_none(f, "later ticks");
    feed(f, "bin-1", t0 + 21 * MIN, "{\"fill\":0.6}");
    expect_none(f, "0.6, above the clear level");
    feed(f, "bin-1", t0 + 22 * MIN, "{\"fill\":0.4}");
    expect_one(f, ENGINE_CLEARED, NULL, "0.4");

    /* A dip below the raise level starts the 10 minutes again. */
    feed(f, "bin-2", t0, "{\"fill\":0.95}");
    feed(f, "bin-2", t0 + 5 * MIN, "{\"fill\":0.85}");
    feed(f, "bin-2", t0 + 6 * MIN, "{\"fill\":0.95}");
    tick(f, t0 + 12 * MIN, true);
    expect_none(f, "12 minutes, 6 of them above the level");
    /* A later event past the duration raises it without the clock. */
    feed(f, "bin-2", t0 + 16 * MIN, "{\"fill\":0.96}");
    expect_one(f, ENGINE_RAISED, NULL, "16 minutes, 10 of them above the level");
    teardown_fixture(f);
}

static const char rising[] = "rules:\n"
                             "  - name: rhine-rising\n"
                             "    type: sensor.waterlevel\n"
                             "    field: value\n"
                             "    rate: 1h\n"
                             "    above: 30\n"
                             "    clear: 10\n"
                             "    message: \"{subject}: +{value} cm in {duration}\"\n";

/* rate: the change over the window, with its own clear level. */
static void engine_rate(void **state)
{
    struct fixture *f = setup(rising, "sensor.waterlevel");
    struct engine_change c;

    (void)state;
    feed_value(f, "pegel-1", t0, 500);
    feed_value(f, "pegel-1", t0 + 20 * MIN, 510);
    expect_none(f, "+10 cm in 20 minutes");
    feed_value(f, "pegel-1", t0 + 40 * MIN, 540);
    expect_one(f, ENGINE_RAISED, &c, "+40 cm in 40 minutes");
    assert_int_equal(c.alert.value.i, 40);
    assert_int_equal(c.alert.threshold.i, 30);
    assert_string_equal(c.alert.message, "pegel-1: +40 cm in 1h");
    /* 70 min: the window starts at 10 min, so the reference is 510 (at 20 min): +35. */
    feed_value(f, "pegel-1", t0 + 70 * MIN, 545);
    expect_none(f, "+35 cm");
    /* 100 min: reference 540 (at 40 min): +8 cm, below the clear level. */
    feed_value(f, "pegel-1", t0 + 100 * MIN, 548);
    expect_one(f, ENGINE_CLEARED, &c, "+8 cm");
    assert_int_equal(c.alert.value.i, 8);
    /* Falling levels do not raise a rising rule. */
    feed_value(f, "pegel-1", t0 + 110 * MIN, 400);
    expect_none(f, "falling");
    teardown_fixture(f);
}

/* Event times at both ends of int64 ns: the rate window's arithmetic does not overflow. */
static void engine_rate_at_the_ends_of_time(void **state)
{
    struct fixture *f = setup(rising, "sensor.waterlevel");
    int64_t first = INT64_MIN + 1; /* 1677-09-21T00:12:43.145224193Z */

    (void)state;
    feed_at(f, "pegel-1", first, t0, "{\"value\":500}");
    feed_at(f, "pegel-1", first + 20 * MIN, t0, "{\"value\":510}");
    expect_none(f, "+10 cm in 20 minutes");
    feed_at(f, "pegel-1", first + 40 * MIN, t0, "{\"value\":540}");
    expect_one(f, ENGINE_RAISED, NULL, "+40 cm in 40 minutes");
    feed_at(f, "pegel-1", INT64_MAX, t0, "{\"value\":900}");
    expect_one(f, ENGINE_CLEARED, NULL, "centuries later: no reference in the window");
    teardown_fixture(f);
}

/*
 * A rate track's samples grow as its window fills (4, 8, 16, 32, 40), never past
 * ENGINE_RATE_SAMPLES, and the rate stays right through the growth: events one step
 * (1/32 of the hour) apart, each 1 cm higher, are all kept, and once the window is
 * full it holds 33 of them and reads +32 cm.
 */
static void engine_rate_samples_grow(void **state)
{
    struct fixture *f = setup(rising, "sensor.waterlevel");
    struct track *t;
    struct engine_change c[4];
    int caps[5] = {0}, n_caps = 0;

    (void)state;
    feed_value(f, "pegel-1", t0, 100);
    assert_non_null(t = engine_track(f->e, "linz/rhine-rising/pegel-1"));
    assert_int_equal(t->cap_samples, 4);
    for (int i = 1; i <= 100; i++) {
        feed_value(f, "pegel-1", t0 + i * (MIN * 15 / 8), 100 + i);
        take(f, c, 4);
        assert_true(t->n_samples <= t->cap_samples);
        assert_true(t->cap_samples <= ENGINE_RATE_SAMPLES);
        if (n_caps == 0 || caps[n_caps - 1] != t->cap_samples) {
            assert_true(n_caps < 5);
            caps[n_caps++] = t->cap_samples;
        }
    }
    assert_int_equal(n_caps, 5);
    assert_int_equal(caps[0], 4);
    assert_int_equal(caps[1], 8);
    assert_int_equal(caps[2], 16);
    assert_int_equal(caps[3], 32);
    assert_int_equal(caps[4], ENGINE_RATE_SAMPLES);
    assert_int_equal(t->tested.kind, VALUE_INT);
    assert_int_equal(t->n_samples, ENGINE_RATE_STEPS + 1);
    assert_int_equal(t->tested.i, ENGINE_RATE_STEPS);
    teardown_fixture(f);
}

/* A falling rate with below. */
static void engine_rate_falling(void **state)
{
    struct fixture *f = setup("rules:\n"
                              "  - {name: soil-drying, type: sensor.soil, field: moisture,\n"
                              "     rate: 2h, below: -10, clear: -2}\n",
                              "sensor.soil");
    struct engine_change c;

    (void)state;
    feed(f, "tree-1", t0, "{\"moisture\":40.5}");
    feed(f, "tree-1", t0 + 60 * MIN, "{\"moisture\":35}");
    expect_none(f, "-5.5 in an hour");
    feed(f, "tree-1", t0 + 90 * MIN, "{\"moisture\":30}");
    expect_one(f, ENGINE_RAISED, &c, "-10.5 in 90 minutes");
    assert_true(c.alert.value.kind == VALUE_REAL && c.alert.value.d == -10.5);
    teardown_fixture(f);
}

static const char equality[] = "rules:\n"
                               "  - name: streetlight-fault\n"
                               "    type: service.streetlight\n"
                               "    field: status\n"
                               "    equals: fault\n"
                               "    severity: info\n"
                               "    message: \"Street light {subject}: fault {data.fault_code}\"\n"
                               "  - name: citizen-danger\n"
                               "    type: citizen.report\n"
                               "    field: service_code\n"
                               "    equals: danger\n";

/* equals: a string field; clears on any other value. */
static void engine_equality(void **state)
{
    struct fixture *f = setup(equality, "service.streetlight");
    struct engine_change c;

    (void)state;
    feed(f, "lamp-7", t0, "{\"status\":\"ok\"}");
    expect_none(f, "ok");
    feed(f, "lamp-7", t0 + MIN, "{\"status\":\"fault\",\"fault_code\":\"LAMP_FAILURE\"}");
    expect_one(f, ENGINE_RAISED, &c, "fault");
    assert_string_equal(c.alert.value.s, "fault");
    assert_string_equal(c.alert.threshold.s, "fault");
    assert_int_equal(c.alert.severity, SEVERITY_INFO);
    assert_string_equal(c.alert.message, "Street light lamp-7: fault LAMP_FAILURE");
    feed(f, "lamp-7", t0 + 2 * MIN, "{\"status\":\"fault\",\"fault_code\":\"E042\"}");
    expect_none(f, "fault again");
    feed(f, "lamp-7", t0 + 3 * MIN, "{\"status\":\"off\"}");
    expect_one(f, ENGINE_CLEARED, &c, "off");
    assert_string_equal(c.alert.value.s, "off");

    f->type = "citizen.report";
    feed(f, "r-1", t0, "{\"service_code\":\"pothole\",\"description\":\"x\"}");
    expect_none(f, "a pothole");
    feed(f, "r-2", t0, "{\"service_code\":\"danger\",\"description\":\"x\"}");
    expect_one(f, ENGINE_RAISED, &c, "danger");
    assert_int_equal(c.alert.severity, SEVERITY_WARNING);
    teardown_fixture(f);
}

/* silence: raised by the clock, for subjects that stop entirely; the next event clears. */
static void engine_silence(void **state)
{
    struct fixture *f = setup(silence, "sensor.waterlevel");
    struct engine_change c;

    (void)state;
    feed_value(f, "quiet", t0, 500);
    feed_value(f, "chatty", t0, 500);
    for (int m = 5; m < 30; m += 5)
        feed_value(f, "chatty", t0 + m * MIN, 500);
    tick(f, t0 + 30 * MIN - 1, true);
    expect_none(f, "29:59 after the last event");
    tick(f, t0 + 30 * MIN, false);
    expect_none(f, "30 minutes while behind on the streams");
    tick(f, t0 + 30 * MIN, true);
    expect_one(f, ENGINE_RAISED, &c, "30 minutes of silence");
    assert_string_equal(c.track->subject, "quiet");
    assert_int_equal(c.alert.value.i, 1800);
    assert_int_equal(c.alert.threshold.i, 1800);
    assert_string_equal(c.alert.type, "sensor.waterlevel");
    assert_true(c.alert.event_id[0] && c.alert.event_time[0]);
    tick(f, t0 + 45 * MIN, true);
    expect_none(f, "still silent: one alert");
    feed_value(f, "quiet", t0 + 50 * MIN, 500);
    expect_one(f, ENGINE_CLEARED, &c, "an event again");
    assert_int_equal(c.alert.value.i, 3000); /* the silence lasted 50 minutes */
    teardown_fixture(f);
}

/*
 * A device whose clock went back (reset by a power cut) goes on reporting: its events
 * are older than the last one applied, and they arrive. It is not silent; when it was,
 * its next event ends the silence; a redelivered event changes nothing.
 */
static void engine_silence_of_a_clock_set_back(void **state)
{
    struct fixture *f = setup(silence, "sensor.waterlevel");
    const int64_t day = 24 * 60 * MIN, back = t0 - day;
    struct engine_change c;

    (void)state;
    feed_at(f, "pegel", t0, t0, "{\"value\":500,\"unit\":\"cm\"}");
    for (int m = 5; m <= 40; m += 5)
        feed_at(f, "pegel", back + m * MIN, t0 + m * MIN, "{\"value\":500,\"unit\":\"cm\"}");
    tick(f, t0 + 45 * MIN, true);
    expect_none(f, "45 minutes on, the last event 5 minutes ago (its clock a day back)");
    tick(f, t0 + 70 * MIN, true);
    expect_one(f, ENGINE_RAISED, &c, "30 minutes after the last event");
    feed_at(f, "pegel", back + 41 * MIN, t0 + 75 * MIN, "{\"value\":500,\"unit\":\"cm\"}");
    expect_one(f, ENGINE_CLEARED, &c, "an event again, its clock still a day back");
    assert_int_equal(c.alert.value.i, 35 * 60);
    event_no--;
    feed_at(f, "pegel", back + 41 * MIN, t0 + 75 * MIN, "{\"value\":500,\"unit\":\"cm\"}");
    expect_none(f, "the same event delivered again");
    tick(f, t0 + 80 * MIN, true);
    expect_none(f, "5 minutes after the last event");
    teardown_fixture(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(engine_hysteresis_one_alert),
        cmocka_unit_test(engine_levels_raise_severity),
        cmocka_unit_test(engine_levels_at_their_boundaries),
        cmocka_unit_test(engine_where_and_missing_field),
        cmocka_unit_test(engine_duration),
        cmocka_unit_test(engine_rate),
        cmocka_unit_test(engine_rate_falling),
        cmocka_unit_test(engine_rate_at_the_ends_of_time),
        cmocka_unit_test(engine_rate_samples_grow),
        cmocka_unit_test(engine_equality),
        cmocka_unit_test(engine_silence),
        cmocka_unit_test(engine_silence_of_a_clock_set_back),
    };

    return cmocka_run_group_tests_name("alerting_engine", tests, NULL, NULL);
}
