// SPDX-License-Identifier: MIT
/*
 * Unit tests of the alerting engine's alert lifecycle with a fake clock:
 * acknowledgement, escalation, re-notification, redelivered events, the state written
 * to and read back from its JSON form (a restart), a removed rule's state, many
 * subjects, and every text at its maximum.
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
#include "envelope.h"

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
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/pegel-1", NULL, "Bauhof", t0), -ENOENT);
    feed_value(f, "pegel-1", t0, 700);
    expect_one(f, ENGINE_RAISED, NULL, "700 cm");
    assert_int_equal(
        engine_ack(f->e, "linz/rhine-flood/pegel-1", NULL, "Bauhof Bereitschaft", t0 + MIN), 0);
    expect_one(f, ENGINE_ACKNOWLEDGED, &c, "the ack");
    assert_int_equal(c.alert.state, ALERT_ACKNOWLEDGED);
    assert_string_equal(c.alert.acked_by, "Bauhof Bereitschaft");
    assert_int_equal(c.alert.updated_ns, t0 + MIN);
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/pegel-1", NULL, "someone", t0 + 2 * MIN),
                     -EALREADY);
    expect_none(f, "a second ack");
    /* Acknowledged: no escalation, no reminders. */
    tick(f, t0 + 60 * MIN, true);
    expect_none(f, "an hour later, acknowledged");
    feed_value(f, "pegel-1", t0 + 61 * MIN, 600);
    expect_one(f, ENGINE_CLEARED, &c, "600 cm");
    assert_string_equal(c.alert.acked_by, "Bauhof Bereitschaft");
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/pegel-1", NULL, "late", t0 + 62 * MIN),
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

/*
 * An ack that names an alert (alert_id) takes that alert only: the id of an alert that
 * has cleared does not acknowledge the next alert of that track; the next one's does.
 */
static void engine_ack_names_its_alert(void **state)
{
    struct fixture *f = setup(lifecycle, "sensor.waterlevel");
    struct engine_change c;
    char first[ALERT_ID_MAX], second[ALERT_ID_MAX];
    const char *key = "linz/rhine-flood/pegel-1";

    (void)state;
    assert_int_equal(engine_ack(f->e, key, "linz:rhine-flood:pegel-1:1", "Bauhof", t0), -ENOENT);
    feed_value(f, "pegel-1", t0, 700);
    expect_one(f, ENGINE_RAISED, &c, "700 cm");
    memcpy(first, c.alert.id, sizeof(first));
    feed_value(f, "pegel-1", t0 + MIN, 600);
    expect_one(f, ENGINE_CLEARED, NULL, "600 cm");
    /* The first alert, cleared, named: not active any more. */
    assert_int_equal(engine_ack(f->e, key, first, "Bauhof", t0 + 2 * MIN), -EALREADY);
    feed_value(f, "pegel-1", t0 + 3 * MIN, 710);
    expect_one(f, ENGINE_RAISED, &c, "710 cm, the next alert");
    memcpy(second, c.alert.id, sizeof(second));
    assert_string_not_equal(first, second);
    assert_int_equal(engine_ack(f->e, key, first, "Bauhof", t0 + 4 * MIN), -ESTALE);
    expect_none(f, "an ack of the first alert");
    assert_int_equal(engine_track(f->e, key)->alert->state, ALERT_ACTIVE);
    assert_string_equal(engine_track(f->e, key)->alert->acked_by, "");
    assert_int_equal(engine_ack(f->e, key, second, "Leitstelle", t0 + 5 * MIN), 0);
    expect_one(f, ENGINE_ACKNOWLEDGED, &c, "an ack of the second alert");
    assert_string_equal(c.alert.id, second);
    assert_string_equal(c.alert.acked_by, "Leitstelle");
    /* Named or not, an acknowledged alert is not acknowledged again. */
    assert_int_equal(engine_ack(f->e, key, second, "late", t0 + 6 * MIN), -EALREADY);
    assert_int_equal(engine_ack(f->e, key, first, "late", t0 + 6 * MIN), -ESTALE);
    assert_int_equal(engine_ack(f->e, key, "", "late", t0 + 6 * MIN), -EALREADY);
    expect_none(f, "late acks");
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
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/pegel-1", NULL, "Bauhof", t0 + 9 * MIN),
                     0);
    {
        struct engine_change two[2];
        assert_int_equal(take(f, two, 2), 2);
    }
    tick(f, t0 + 40 * MIN, true);
    expect_none(f, "acknowledged in time");
    teardown_fixture(f);
}

/*
 * The clock steps back an hour while an alert is active: escalation and reminders still
 * come after their interval of elapsed time, not an hour late; published times never go
 * back.
 */
static void engine_intervals_across_a_clock_step_back(void **state)
{
    struct fixture *f = setup(lifecycle, "sensor.waterlevel");
    struct engine_change c;
    int64_t back = 60 * MIN; /* clock time = elapsed time - back, after the step */

    (void)state;
    feed_value(f, "pegel-1", t0, 700);
    expect_one(f, ENGINE_RAISED, NULL, "700 cm");
    tick(f, t0 + 5 * MIN, true);
    expect_none(f, "5 minutes");
    /* The step, at once after that tick (the engine notices it at its next tick: an
     * interval comes late by at most the time between two ticks). */
    tick(f, t0 + 5 * MIN - back, true);
    expect_none(f, "right after the step");
    tick(f, t0 + 6 * MIN - back, true);
    expect_none(f, "6 minutes");
    tick(f, t0 + 10 * MIN - back - 1, true);
    expect_none(f, "just before 10 minutes");
    tick(f, t0 + 10 * MIN - back, true);
    expect_one(f, ENGINE_ESCALATED, &c, "10 minutes after the raise, the step included");
    assert_int_equal(c.alert.severity, SEVERITY_WARNING);
    assert_true(c.alert.updated_ns > t0);
    tick(f, t0 + 20 * MIN - back, true);
    expect_one(f, ENGINE_ESCALATED, &c, "20 minutes");
    assert_int_equal(c.alert.severity, SEVERITY_CRITICAL);
    tick(f, t0 + 45 * MIN - back - 1, true);
    expect_none(f, "just before 25 minutes after the last publication");
    tick(f, t0 + 45 * MIN - back, true);
    expect_one(f, ENGINE_RENOTIFIED, &c, "25 minutes after the last publication");
    assert_true(c.alert.updated_ns > t0);
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
    assert_int_equal(engine_ack(f->e, "linz/flood/pegel-1", NULL, "x", t0 + 121 * MIN), 0);
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
    snprintf(first_id, sizeof(first_id), "%s",
             engine_track(f->e, "linz/rhine-flood/pegel-1")->alert->id);

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
    assert_int_equal(engine_ack(g->e, "linz/rhine-flood/pegel-1", NULL, "Bauhof", t0 + 26 * MIN),
                     0);
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
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/g4999", NULL, "x", t0 + MIN), 0);
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/g4999", NULL, "x", t0 + MIN), -EALREADY);
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/g4998", NULL, "x", t0 + MIN), -ENOENT);
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/g5000", NULL, "x", t0 + MIN), -ENOENT);
    free(c);
    teardown_fixture(f);
}

/*
 * A backlog applied at one instant (a batch after an outage): every change of an alert
 * is published a millisecond after the one before at least, so that subscribers who
 * tell changes apart by (id, state, updated_at) see each, and an alert raised again
 * after its clear is a new alert with a new id.
 */
static void engine_changes_at_one_instant(void **state)
{
    struct fixture *f = setup(flood, "sensor.waterlevel");
    const int64_t batch = t0 + 180 * MIN; /* the worker's clock for the whole batch */
    const char *json[] = {"{\"value\":700,\"unit\":\"cm\"}", "{\"value\":820,\"unit\":\"cm\"}",
                          "{\"value\":600,\"unit\":\"cm\"}", "{\"value\":700,\"unit\":\"cm\"}"};
    const enum engine_reason want[] = {ENGINE_RAISED, ENGINE_SEVERITY, ENGINE_CLEARED,
                                       ENGINE_RAISED};
    struct engine_change c[4];

    (void)state;
    for (int i = 0; i < 4; i++) {
        feed_at(f, "pegel-1", t0 + i * 30 * MIN, batch, json[i]);
        expect_one(f, want[i], &c[i], json[i]);
    }
    for (int i = 1; i < 4; i++)
        if (c[i].alert.updated_ns / NS_PER_MS <= c[i - 1].alert.updated_ns / NS_PER_MS)
            fail_msg("change %d (%s) at %lld ms, not after change %d at %lld ms", i,
                     engine_reason_name(c[i].reason),
                     (long long)(c[i].alert.updated_ns / NS_PER_MS), i - 1,
                     (long long)(c[i - 1].alert.updated_ns / NS_PER_MS));
    assert_string_equal(c[0].alert.id, c[2].alert.id);
    if (strcmp(c[3].alert.id, c[0].alert.id) == 0)
        fail_msg("the alert raised again has the id of the one cleared: %s", c[3].alert.id);
    assert_true(c[3].alert.raised_ns > c[2].alert.cleared_ns);
    teardown_fixture(f);
}

/* n copies of the text u, concatenated into out. */
static char *repeat(char *out, const char *u, size_t n)
{
    size_t len = strlen(u);

    for (size_t i = 0; i < n; i++)
        memcpy(out + i * len, u, len);
    out[n * len] = '\0';
    return out;
}

/*
 * Every text at its maximum through the engine and a restart: a municipality and a rule
 * of 63 characters, a subject of 128 (a key of 256), event ids of 256 and more (cut to
 * 256), a message of 1000 four-byte characters and acked_by of 128. The track and its
 * alert keep them whole, the changes carry them, and the state reads back the same.
 */
static void engine_texts_at_their_maximum(void **state)
{
    static const char clef[] = "\xf0\x9d\x84\x9e"; /* U+1D11E, four bytes */
    char yaml[1024], rule[64], m[64], subject[TOPIC_SUBJECT_MAX + 1], id[EVENT_ID_MAX + 45],
        by[4 * (ALERT_BY_CHARS + 2) + 1], s[64 * 4 + 1], json[512], key[ENGINE_KEY_MAX],
        field[16 * 8 + 1];
    struct fixture *f, *g;
    struct engine_change c;
    struct track *t;
    struct alert full;
    char *before, *after, *ja, *jb, why[160];
    size_t len;

    (void)state;
    repeat(rule, "r", 63);
    repeat(m, "m", 63);
    repeat(subject, "s", TOPIC_SUBJECT_MAX);
    repeat(field, "{data.s}", 16); /* 16 x 63 characters: cut to 1000 */
    snprintf(yaml, sizeof(yaml),
             "rules:\n  - {name: %s, type: sensor.waterlevel, field: value, above: 650,\n"
             "     clear: 620, message: \"%s\"}\n",
             rule, field);
    f = setup(yaml, "sensor.waterlevel");
    snprintf(json, sizeof(json), "{\"value\":700,\"s\":\"%s\"}", repeat(s, clef, 63));
    feed_event(f, m, subject, repeat(id, "i", EVENT_ID_MAX), t0, t0, json);
    expect_one(f, ENGINE_RAISED, &c, "the first event");
    assert_int_equal(strlen(c.alert.message), TEMPLATE_MESSAGE_MAX - 1);
    assert_string_equal(c.alert.event_id, id);
    assert_string_equal(c.alert.subject, subject);
    assert_string_equal(c.alert.municipality, m);
    assert_string_equal(c.alert.rule, rule);
    snprintf(key, sizeof(key), "%s/%s/%s", m, rule, subject);
    assert_int_equal(strlen(key),
                     TOPIC_MUNICIPALITY_MAX + 1 + RULE_NAME_MAX - 1 + 1 + TOPIC_SUBJECT_MAX);
    assert_non_null(t = engine_track(f->e, key));
    assert_string_equal(t->key, key);
    assert_string_equal(t->municipality, m);
    assert_string_equal(t->subject, subject);
    assert_string_equal(t->ev.event_id, id);
    assert_string_equal(t->alert->message, c.alert.message);

    /* A longer id is cut to 256 bytes, in the track and in its open alert. */
    feed_event(f, m, subject, repeat(id, "j", EVENT_ID_MAX + 44), t0 + MIN, t0 + MIN, json);
    expect_none(f, "a repeat");
    id[EVENT_ID_MAX] = '\0';
    assert_string_equal(t->ev.event_id, id);
    assert_string_equal(t->alert->ev.event_id, id);

    assert_int_equal(engine_ack(f->e, key, NULL, repeat(by, clef, ALERT_BY_CHARS + 2), t0 + MIN),
                     0);
    expect_one(f, ENGINE_ACKNOWLEDGED, &c, "the ack");
    by[4 * ALERT_BY_CHARS] = '\0';
    assert_string_equal(c.alert.acked_by, by);
    assert_string_equal(t->alert->acked_by, by);
    assert_string_equal(c.alert.event_id, id);
    assert_int_equal(strlen(c.alert.message), TEMPLATE_MESSAGE_MAX - 1);

    /* The restart: the same state, byte for byte, and the same alert JSON. */
    g = setup(yaml, "sensor.waterlevel");
    assert_non_null(before = state_track_dumps(t, &len));
    if (state_track_load(g->e, before, len, why, sizeof(why)) != 0)
        fail_msg("does not load: %s", why);
    assert_non_null(after = state_track_dumps(engine_track(g->e, key), NULL));
    assert_string_equal(before, after);
    alert_pack_unpack(engine_track(g->e, key)->alert, &full);
    assert_non_null(ja = alert_dumps(&c.alert, NULL));
    assert_non_null(jb = alert_dumps(&full, NULL));
    assert_string_equal(ja, jb);
    free(ja);
    free(jb);
    free(before);
    free(after);
    teardown_fixture(g);
    teardown_fixture(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(engine_acknowledgement),
        cmocka_unit_test(engine_ack_names_its_alert),
        cmocka_unit_test(engine_escalation),
        cmocka_unit_test(engine_renotify),
        cmocka_unit_test(engine_intervals_across_a_clock_step_back),
        cmocka_unit_test(engine_redelivery_is_a_no_op),
        cmocka_unit_test(engine_changes_at_one_instant),
        cmocka_unit_test(engine_state_survives_a_restart),
        cmocka_unit_test(engine_state_of_a_removed_rule),
        cmocka_unit_test(engine_many_subjects),
        cmocka_unit_test(engine_texts_at_their_maximum),
    };

    return cmocka_run_group_tests_name("alerting_lifecycle", tests, NULL, NULL);
}
