// SPDX-License-Identifier: MIT
/*
 * Unit tests of the alerting engine with a fake clock: each condition kind (levels
 * with hysteresis, severity levels, durations, rates, equality, silence), the
 * lifecycle (acknowledgement, clearing, a new alert after a clear), escalation,
 * re-notification, redelivered and stale events, and the state written to and read
 * back from its JSON form (a restart).
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

#include "engine.h"
#include "envelope.h"
#include "rules.h"
#include "state.h"
#include "times.h"

#define MIN (60 * NS_PER_S)

static int64_t t0;       /* 2026-11-26T06:00:00Z */
static int event_no;

struct fixture {
    struct rules rules;
    struct engine *e;
    const char *type;    /* of the events fed */
};

static struct fixture *setup(const char *yaml, const char *type)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    if (!t0)
        assert_int_equal(times_parse("2026-11-26T06:00:00Z", 20, &t0), 0);
    if (rules_load_buffer(&f->rules, "test.yaml", yaml, strlen(yaml), stderr) != 0)
        fail_msg("rules do not load:\n%s", yaml);
    assert_non_null(f->e = engine_new(&f->rules));
    f->type = type;
    return f;
}

static void teardown_fixture(struct fixture *f)
{
    engine_free(f->e);
    rules_free(&f->rules);
    free(f);
}

/* Feeds one event of subject with data (JSON) at time at (event time = receive time = now). */
static void feed_at(struct fixture *f, const char *subject, int64_t at, int64_t received,
                    const char *json)
{
    json_t *j = json_loads(json, 0, NULL);
    msgpack_sbuffer buf;
    msgpack_packer pk;
    msgpack_unpacked u;
    char time[TIMES_TEXT_MAX], id[32];
    struct engine_event ev;

    assert_non_null(j);
    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    assert_int_equal(envelope_pack_json(&pk, j), 0);
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, NULL), MSGPACK_UNPACK_SUCCESS);
    times_format_ms(at, time);
    snprintf(id, sizeof(id), "ev-%d", ++event_no);
    ev = (struct engine_event){.id = id, .type = f->type, .subject = subject,
                               .municipality = "linz", .time = time, .time_ns = at,
                               .received_ns = received, .data = &u.data};
    assert_int_equal(engine_event(f->e, &ev, received), 0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
    json_decref(j);
}

static void feed(struct fixture *f, const char *subject, int64_t at, const char *json)
{
    feed_at(f, subject, at, at, json);
}

static void feed_value(struct fixture *f, const char *subject, int64_t at, double value)
{
    char json[64];

    snprintf(json, sizeof(json), "{\"value\":%g,\"unit\":\"cm\"}", value);
    feed(f, subject, at, json);
}

static void tick(struct fixture *f, int64_t now, bool detect)
{
    assert_int_equal(engine_tick(f->e, now, detect), 0);
}

/* The changes since the last call, and clears them. */
static size_t take(struct fixture *f, struct engine_change *out, size_t max)
{
    size_t n;
    const struct engine_change *c = engine_changes(f->e, &n);

    assert_true(n <= max);
    if (n)
        memcpy(out, c, n * sizeof(*c));
    engine_changes_clear(f->e);
    engine_dirty_clear(f->e);
    return n;
}

static void expect_none(struct fixture *f, const char *when)
{
    struct engine_change c[4];
    size_t n = take(f, c, 4);

    if (n)
        fail_msg("%s: expected no change, got %zu, the first %s (%s)", when, n,
                 engine_reason_name(c[0].reason), alert_state_name(c[0].alert.state));
}

static void expect_one(struct fixture *f, enum engine_reason reason, struct engine_change *out,
                       const char *when)
{
    struct engine_change c[4];
    size_t n = take(f, c, 4);

    if (n != 1 || c[0].reason != reason)
        fail_msg("%s: expected one change %s, got %zu (the first %s)", when,
                 engine_reason_name(reason), n, n ? engine_reason_name(c[0].reason) : "-");
    if (out)
        *out = c[0];
}

static const char flood[] = "rules:\n"
                            "  - name: rhine-flood\n"
                            "    type: sensor.waterlevel\n"
                            "    field: value\n"
                            "    where: {unit: cm}\n"
                            "    above: 650\n"
                            "    clear: 620\n"
                            "    severity: warning\n"
                            "    levels: [{above: 800, severity: critical}]\n"
                            "    message: \"{subject}: water level {value} cm ≥ {threshold} cm\"\n";

/* ------------------------------------------------------------------------------------------ */

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

static const char silence[] = "rules:\n"
                              "  - name: sensor-silent\n"
                              "    type: \"sensor.*\"\n"
                              "    silence: 30m\n";

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

static const char lifecycle[] = "rules:\n"
                                "  - name: rhine-flood\n"
                                "    type: sensor.waterlevel\n"
                                "    field: value\n"
                                "    above: 650\n"
                                "    clear: 620\n"
                                "    severity: info\n"
                                "    escalate: 10m\n"
                                "    renotify: 25m\n";

/* active -> acknowledged -> cleared; acks that do not apply are refused. */
static void engine_acknowledgement(void **state)
{
    struct fixture *f = setup(lifecycle, "sensor.waterlevel");
    struct engine_change c;

    (void)state;
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/pegel-1", "Bauhof", t0), -ENOENT);
    feed_value(f, "pegel-1", t0, 700);
    expect_one(f, ENGINE_RAISED, NULL, "700 cm");
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/pegel-1", "Bauhof Bereitschaft",
                                t0 + MIN), 0);
    expect_one(f, ENGINE_ACKNOWLEDGED, &c, "the ack");
    assert_int_equal(c.alert.state, ALERT_ACKNOWLEDGED);
    assert_string_equal(c.alert.acked_by, "Bauhof Bereitschaft");
    assert_int_equal(c.alert.updated_ns, t0 + MIN);
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/pegel-1", "someone", t0 + 2 * MIN),
                     -EALREADY);
    expect_none(f, "a second ack");
    /* Acknowledged: no escalation, no reminders. */
    tick(f, t0 + 60 * MIN, true);
    expect_none(f, "an hour later, acknowledged");
    feed_value(f, "pegel-1", t0 + 61 * MIN, 600);
    expect_one(f, ENGINE_CLEARED, &c, "600 cm");
    assert_string_equal(c.alert.acked_by, "Bauhof Bereitschaft");
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/pegel-1", "late", t0 + 62 * MIN),
                     -EALREADY);
    /* A new alert after the clear is a new alert: another id, not acknowledged. */
    feed_value(f, "pegel-1", t0 + 70 * MIN, 660);
    expect_one(f, ENGINE_RAISED, &c, "660 cm again");
    assert_int_equal(c.alert.acked_by[0], '\0');
    assert_int_equal(c.alert.cleared_ns, 0);
    assert_true(strstr(c.alert.id, "linz:rhine-flood:pegel-1:") == c.alert.id);
    assert_int_equal(c.seq, 4);
    teardown_fixture(f);
}

/* escalate: info -> warning -> critical while nobody acknowledges. */
static void engine_escalation(void **state)
{
    struct fixture *f = setup(lifecycle, "sensor.waterlevel");
    struct engine_change c;

    (void)state;
    feed_value(f, "pegel-1", t0, 700);
    expect_one(f, ENGINE_RAISED, &c, "700 cm");
    assert_int_equal(c.alert.severity, SEVERITY_INFO);
    tick(f, t0 + 10 * MIN - 1, true);
    expect_none(f, "just before 10 minutes");
    tick(f, t0 + 10 * MIN, false); /* escalation needs no events: it runs while behind too */
    expect_one(f, ENGINE_ESCALATED, &c, "10 minutes");
    assert_int_equal(c.alert.severity, SEVERITY_WARNING);
    assert_int_equal(c.alert.state, ALERT_ACTIVE);
    tick(f, t0 + 20 * MIN, true);
    expect_one(f, ENGINE_ESCALATED, &c, "20 minutes");
    assert_int_equal(c.alert.severity, SEVERITY_CRITICAL);
    tick(f, t0 + 30 * MIN, true);
    expect_none(f, "critical is the top");
    teardown_fixture(f);

    /* An acknowledgement in time stops it. */
    f = setup(lifecycle, "sensor.waterlevel");
    feed_value(f, "pegel-1", t0, 700);
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/pegel-1", "Bauhof", t0 + 9 * MIN), 0);
    {
        struct engine_change two[2];
        assert_int_equal(take(f, two, 2), 2);
    }
    tick(f, t0 + 40 * MIN, true);
    expect_none(f, "acknowledged in time");
    teardown_fixture(f);
}

/* renotify: the active alert is published again every interval, not more. */
static void engine_renotify(void **state)
{
    struct fixture *f = setup("rules:\n"
                              "  - {name: flood, type: sensor.waterlevel, field: value,\n"
                              "     above: 650, renotify: 1h}\n",
                              "sensor.waterlevel");
    struct engine_change c;

    (void)state;
    feed_value(f, "pegel-1", t0, 700);
    expect_one(f, ENGINE_RAISED, NULL, "700 cm");
    tick(f, t0 + 59 * MIN, true);
    expect_none(f, "59 minutes");
    tick(f, t0 + 60 * MIN, true);
    expect_one(f, ENGINE_RENOTIFIED, &c, "an hour");
    assert_int_equal(c.alert.state, ALERT_ACTIVE);
    assert_int_equal(c.seq, 2);
    tick(f, t0 + 119 * MIN, true);
    expect_none(f, "119 minutes");
    tick(f, t0 + 120 * MIN, true);
    expect_one(f, ENGINE_RENOTIFIED, NULL, "two hours");
    assert_int_equal(engine_ack(f->e, "linz/flood/pegel-1", "x", t0 + 121 * MIN), 0);
    take(f, &c, 1);
    tick(f, t0 + 300 * MIN, true);
    expect_none(f, "acknowledged: no more reminders");
    teardown_fixture(f);
}

/* The same event again, or an older one, changes nothing. */
static void engine_redelivery_is_a_no_op(void **state)
{
    struct fixture *f = setup(flood, "sensor.waterlevel");
    struct track *t;

    (void)state;
    feed_value(f, "pegel-1", t0, 700);
    expect_one(f, ENGINE_RAISED, NULL, "700 cm");
    feed_value(f, "pegel-1", t0 + MIN, 600);
    expect_one(f, ENGINE_CLEARED, NULL, "600 cm");
    /* The raising event delivered again (its time is older than the last): nothing. */
    event_no -= 2;
    feed_value(f, "pegel-1", t0, 700);
    expect_none(f, "the first event again");
    feed_value(f, "pegel-1", t0 + MIN, 600);
    expect_none(f, "the second event again");
    assert_int_equal(engine_stats(f->e)->stale, 2);
    t = engine_track(f->e, "linz/rhine-flood/pegel-1");
    assert_int_equal(t->alert->state, ALERT_CLEARED);
    assert_int_equal(t->seq, 2);
    teardown_fixture(f);
}

/* Everything a restart needs survives the JSON form. */
static void engine_state_survives_a_restart(void **state)
{
    static const char yaml[] = "rules:\n"
                               "  - {name: rhine-flood, type: sensor.waterlevel, field: value,\n"
                               "     above: 650, clear: 620, escalate: 30m}\n"
                               "  - {name: rhine-rising, type: sensor.waterlevel, field: value,\n"
                               "     rate: 1h, above: 30, clear: 10}\n"
                               "  - {name: sensor-silent, type: \"sensor.*\", silence: 30m}\n"
                               "  - {name: bin, type: sensor.waterlevel, field: value,\n"
                               "     above: 400, for: 30m}\n";
    struct fixture *f = setup(yaml, "sensor.waterlevel"), *g;
    struct track *const *tracks;
    struct engine_change c[8];
    size_t n;
    char first_id[ALERT_ID_MAX];

    (void)state;
    feed_value(f, "pegel-1", t0, 500);
    feed_value(f, "pegel-1", t0 + 20 * MIN, 700); /* flood raised, +200 rising raised */
    /* bin holds since t0, for 20 of its 30 minutes. */
    assert_int_equal(take(f, c, 8), 2);
    snprintf(first_id, sizeof(first_id), "%s", engine_track(f->e, "linz/rhine-flood/pegel-1")->alert->id);

    /* The restart: every track to JSON and into a new engine. */
    g = setup(yaml, "sensor.waterlevel");
    tracks = engine_tracks(f->e, &n);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char why[160], *text = state_track_dumps(tracks[i], &len);
        assert_non_null(text);
        if (state_track_load(g->e, text, len, why, sizeof(why)) != 0)
            fail_msg("%s does not load: %s\n%s", tracks[i]->key, why, text);
        free(text);
    }
    {
        struct track *a = engine_track(f->e, "linz/rhine-rising/pegel-1");
        struct track *b = engine_track(g->e, "linz/rhine-rising/pegel-1");
        assert_non_null(b);
        assert_int_equal(a->n_samples, b->n_samples);
        assert_int_equal(a->seq, b->seq);
        assert_int_equal(a->time_ns, b->time_ns);
        assert_int_equal(a->seen_ns, b->seen_ns);
        assert_string_equal(a->alert->id, b->alert->id);
        assert_int_equal(a->alert->raised_ns, b->alert->raised_ns);
        b = engine_track(g->e, "linz/bin/pegel-1");
        assert_true(b->pending && b->holds);
        assert_int_equal(b->pending_ns, t0);
    }
    /* The last event again after the restart: a no-op. */
    feed_value(g, "pegel-1", t0 + 20 * MIN, 700);
    expect_none(g, "a redelivery after the restart");
    /* A repeat updates the same alert. */
    feed_value(g, "pegel-1", t0 + 25 * MIN, 720);
    take(g, c, 8);
    assert_string_equal(engine_track(g->e, "linz/rhine-flood/pegel-1")->alert->id, first_id);
    /* The acknowledgement still works; escalation counts from the first raise. */
    assert_int_equal(engine_ack(g->e, "linz/rhine-flood/pegel-1", "Bauhof", t0 + 26 * MIN), 0);
    expect_one(g, ENGINE_ACKNOWLEDGED, &c[0], "the ack after the restart");
    assert_string_equal(c[0].alert.id, first_id);
    /* The duration runs on from before the restart; silence for every subject seen. */
    tick(g, t0 + 55 * MIN, true);
    n = take(g, c, 8);
    assert_int_equal(n, 2);
    assert_int_equal(c[0].reason, ENGINE_RAISED);
    assert_int_equal(c[1].reason, ENGINE_RAISED);
    assert_string_equal(c[0].alert.rule, "sensor-silent");
    assert_string_equal(c[1].alert.rule, "bin");
    teardown_fixture(f);
    teardown_fixture(g);
}

/* A track whose rule left the file is dropped on load, and said so. */
static void engine_state_of_a_removed_rule(void **state)
{
    struct fixture *f = setup(flood, "sensor.waterlevel"), *g;
    struct track *const *tracks;
    size_t n, len;
    char why[160], *text;

    (void)state;
    feed_value(f, "pegel-1", t0, 700);
    tracks = engine_tracks(f->e, &n);
    text = state_track_dumps(tracks[0], &len);
    g = setup(silence, "sensor.waterlevel");
    assert_int_equal(state_track_load(g->e, text, len, why, sizeof(why)), -ENOENT);
    assert_int_equal(state_track_load(g->e, "{\"m\":1}", 7, why, sizeof(why)), -EINVAL);
    assert_int_equal(state_track_load(g->e, "nonsense", 8, why, sizeof(why)), -EINVAL);
    free(text);
    teardown_fixture(f);
    teardown_fixture(g);
}

/* Thousands of subjects: every track is found again (the table grows as they come). */
static void engine_many_subjects(void **state)
{
    struct fixture *f = setup(flood, "sensor.waterlevel");
    struct engine_change *c = calloc(8, sizeof(*c));
    size_t n;

    (void)state;
    assert_non_null(c);
    for (int i = 0; i < 5000; i++) {
        char subject[32];
        snprintf(subject, sizeof(subject), "g%d", i);
        feed_value(f, subject, t0, i % 2 ? 700 : 600);
        n = take(f, c, 8);
        assert_int_equal(n, (size_t)(i % 2));
    }
    engine_tracks(f->e, &n);
    assert_int_equal(n, 5000);
    for (int i = 0; i < 5000; i++) {
        char key[64];
        snprintf(key, sizeof(key), "linz/rhine-flood/g%d", i);
        struct track *t = engine_track(f->e, key);
        if (!t || strcmp(t->key, key) != 0)
            fail_msg("%s not found", key);
    }
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/g4999", "x", t0 + MIN), 0);
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/g4999", "x", t0 + MIN), -EALREADY);
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/g4998", "x", t0 + MIN), -ENOENT);
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/g5000", "x", t0 + MIN), -ENOENT);
    free(c);
    teardown_fixture(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(engine_hysteresis_one_alert),
        cmocka_unit_test(engine_levels_raise_severity),
        cmocka_unit_test(engine_where_and_missing_field),
        cmocka_unit_test(engine_duration),
        cmocka_unit_test(engine_rate),
        cmocka_unit_test(engine_rate_falling),
        cmocka_unit_test(engine_equality),
        cmocka_unit_test(engine_silence),
        cmocka_unit_test(engine_acknowledgement),
        cmocka_unit_test(engine_escalation),
        cmocka_unit_test(engine_renotify),
        cmocka_unit_test(engine_redelivery_is_a_no_op),
        cmocka_unit_test(engine_state_survives_a_restart),
        cmocka_unit_test(engine_state_of_a_removed_rule),
        cmocka_unit_test(engine_many_subjects),
    };

    return cmocka_run_group_tests_name("alerting_engine", tests, NULL, NULL);
}
