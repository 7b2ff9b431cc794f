// SPDX-License-Identifier: MIT
/*
 * Unit tests of forgetting quiet tracks (forget.h) with a fake clock: tracks quiet for
 * longer than forget_after go, those with an open alert, of a silence rule, with an
 * unconfirmed publication or a recent event stay; the look is bounded; a forgotten
 * subject that sends again starts a new track.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "alerting_engine_fixture.h"
#include "forget.h"

#define DAY (86400 * NS_PER_S)
#define AFTER (30 * DAY)
#define PICK_MAX 64

/* rhine-flood and sensor-silent, both for sensor.waterlevel events. */
static const char both[] = "rules:\n"
                           "  - name: rhine-flood\n"
                           "    type: sensor.waterlevel\n"
                           "    field: value\n"
                           "    above: 650\n"
                           "    clear: 620\n"
                           "  - name: sensor-silent\n"
                           "    type: \"sensor.*\"\n"
                           "    silence: 30m\n";

/* The broker confirmed every publication: nothing waits in the outbox. */
static void confirm_all(struct fixture *f)
{
    size_t n;
    struct track *const *tracks = engine_tracks(f->e, &n);

    for (size_t i = 0; i < n; i++)
        tracks[i]->published_seq = tracks[i]->seq;
}

static size_t pick_all(struct fixture *f, int64_t now, struct track **out)
{
    size_t n;

    engine_tracks(f->e, &n);
    return forget_pick(f->e, now, AFTER, n, out, PICK_MAX);
}

static bool picked(struct track *const *out, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(out[i]->key, key) == 0)
            return true;
    return false;
}

static void forget_quiet_tracks_go(void **state)
{
    struct fixture *f = setup(both, "sensor.waterlevel");
    struct track *out[PICK_MAX];
    struct engine_change c;
    size_t n, before;
    char old_id[ALERT_ID_MAX];

    (void)state;
    feed_value(f, "cleared", t0, 700);
    expect_one(f, ENGINE_RAISED, &c, "cleared: 700 cm");
    snprintf(old_id, sizeof(old_id), "%s", c.alert.id);
    feed_value(f, "cleared", t0 + MIN, 600);
    expect_one(f, ENGINE_CLEARED, NULL, "cleared: 600 cm");
    feed_value(f, "quiet", t0, 600);
    expect_none(f, "quiet: 600 cm");
    feed_value(f, "active", t0, 700);
    expect_one(f, ENGINE_RAISED, NULL, "active: 700 cm");
    feed_value(f, "acked", t0, 700);
    expect_one(f, ENGINE_RAISED, NULL, "acked: 700 cm");
    assert_int_equal(engine_ack(f->e, "linz/rhine-flood/acked", NULL, "Bauhof", t0 + MIN), 0);
    expect_one(f, ENGINE_ACKNOWLEDGED, NULL, "acked: the ack");
    feed_value(f, "recent", t0, 600);
    feed_value(f, "recent", t0 + 20 * DAY, 600);
    expect_none(f, "recent: 600 cm");
    confirm_all(f);
    feed_value(f, "unconfirmed", t0, 700);
    feed_value(f, "unconfirmed", t0 + MIN, 600);
    {
        struct engine_change cs[4];
        assert_int_equal(take(f, cs, 4), 2); /* raised, cleared: neither confirmed */
    }
    engine_tracks(f->e, &before);
    assert_int_equal(before, 12);

    /* Not yet: a day short of forget_after since the last clear. */
    n = pick_all(f, t0 + MIN + AFTER - DAY, out);
    assert_int_equal(n, 0);
    /* Off: never. */
    assert_int_equal(forget_pick(f->e, t0 + 400 * DAY, 0, before, out, PICK_MAX), 0);

    n = pick_all(f, t0 + MIN + AFTER, out);
    assert_int_equal(n, 2);
    assert_true(picked(out, n, "linz/rhine-flood/cleared"));
    assert_true(picked(out, n, "linz/rhine-flood/quiet"));
    forget_tracks(f->e, out, n);
    assert_int_equal(engine_stats(f->e)->forgotten, 2);
    engine_tracks(f->e, &n);
    assert_int_equal(n, before - 2);
    assert_null(engine_track(f->e, "linz/rhine-flood/cleared"));
    assert_null(engine_track(f->e, "linz/rhine-flood/quiet"));
    /* Kept: an open alert (active, acknowledged), a silence rule, an unconfirmed
     * publication, a recent event. */
    assert_non_null(engine_track(f->e, "linz/rhine-flood/active"));
    assert_non_null(engine_track(f->e, "linz/rhine-flood/acked"));
    assert_non_null(engine_track(f->e, "linz/sensor-silent/cleared"));
    assert_non_null(engine_track(f->e, "linz/sensor-silent/quiet"));
    assert_non_null(engine_track(f->e, "linz/rhine-flood/unconfirmed"));
    assert_non_null(engine_track(f->e, "linz/rhine-flood/recent"));
    assert_int_equal(pick_all(f, t0 + MIN + AFTER, out), 0);

    /* The recent one goes once it, too, has been quiet for forget_after. */
    n = pick_all(f, t0 + 50 * DAY, out);
    assert_int_equal(n, 1);
    assert_string_equal(out[0]->key, "linz/rhine-flood/recent");
    forget_tracks(f->e, out, n);
    assert_null(engine_track(f->e, "linz/rhine-flood/recent"));

    /* A forgotten subject that sends again starts a new track and a new alert. */
    feed_value(f, "cleared", t0 + 60 * DAY, 700);
    expect_one(f, ENGINE_RAISED, &c, "cleared: 700 cm again");
    assert_int_equal(c.seq, 1);
    assert_string_not_equal(c.alert.id, old_id);
    assert_int_equal(engine_track(f->e, "linz/rhine-flood/cleared")->seq, 1);
    teardown_fixture(f);
}

/* Each look covers at most scan tracks and goes on where the last ended. */
static void forget_look_is_bounded(void **state)
{
    struct fixture *f = setup(both, "sensor.waterlevel");
    struct track *out[PICK_MAX];
    char subject[32];
    size_t n, total = 0, looks = 0;

    (void)state;
    for (int i = 0; i < 20; i++) {
        snprintf(subject, sizeof(subject), "gauge-%d", i);
        feed_value(f, subject, t0, 600);
    }
    expect_none(f, "20 gauges at 600 cm");
    /* A change not yet taken by the caller: nothing is picked. */
    feed_value(f, "gauge-0", t0 + MIN, 700);
    assert_int_equal(forget_pick(f->e, t0 + 100 * DAY, AFTER, 40, out, PICK_MAX), 0);
    expect_one(f, ENGINE_RAISED, NULL, "gauge-0: 700 cm");
    feed_value(f, "gauge-0", t0 + 2 * MIN, 600);
    expect_one(f, ENGINE_CLEARED, NULL, "gauge-0: 600 cm");
    confirm_all(f);
    /* Made in pairs, flood then silence. The next look starts where the last ended,
     * the tracks taken out before that point not counted. */
    n = forget_pick(f->e, t0 + 100 * DAY, AFTER, 4, out, 3);
    assert_int_equal(n, 2);
    assert_string_equal(out[0]->key, "linz/rhine-flood/gauge-0");
    assert_string_equal(out[1]->key, "linz/rhine-flood/gauge-1");
    forget_tracks(f->e, out, n);
    n = forget_pick(f->e, t0 + 100 * DAY, AFTER, 2, out, 3);
    assert_int_equal(n, 1);
    assert_string_equal(out[0]->key, "linz/rhine-flood/gauge-2");
    forget_tracks(f->e, out, n);
    total = 3;
    /* The other 34 tracks, 7 looked at each time, at most 3 taken. */
    while ((n = forget_pick(f->e, t0 + 100 * DAY, AFTER, 7, out, 3)) > 0 || looks < 12) {
        assert_true(n <= 3);
        forget_tracks(f->e, out, n);
        total += n;
        looks++;
        assert_true(looks < 40);
    }
    assert_int_equal(total, 20);
    engine_tracks(f->e, &n);
    assert_int_equal(n, 20); /* the silence rule's */
    for (int i = 0; i < 20; i++) {
        char key[64];
        snprintf(key, sizeof(key), "linz/rhine-flood/gauge-%d", i);
        assert_null(engine_track(f->e, key));
        snprintf(key, sizeof(key), "linz/sensor-silent/gauge-%d", i);
        assert_non_null(engine_track(f->e, key));
    }
    teardown_fixture(f);
}

/*
 * A picked track that ever had an alert keeps it retained on the broker: it is set
 * apart until the removal of its newest change is confirmed; a later change makes it
 * retained again. A track never alerted goes at once.
 */
static void forget_retained_alert_first(void **state)
{
    struct fixture *f = setup(both, "sensor.waterlevel");
    struct track *out[PICK_MAX], *retained[PICK_MAX], *t;
    size_t n, n_retained;

    (void)state;
    feed_value(f, "cleared", t0, 700);
    expect_one(f, ENGINE_RAISED, NULL, "cleared: 700 cm");
    feed_value(f, "cleared", t0 + MIN, 600);
    expect_one(f, ENGINE_CLEARED, NULL, "cleared: 600 cm");
    feed_value(f, "quiet", t0, 600);
    expect_none(f, "quiet: 600 cm");
    confirm_all(f);
    t = engine_track(f->e, "linz/rhine-flood/cleared");
    assert_true(forget_retained(t));
    assert_false(forget_retained(engine_track(f->e, "linz/rhine-flood/quiet")));

    n = pick_all(f, t0 + MIN + AFTER, out);
    assert_int_equal(n, 2);
    n = forget_split(out, n, retained, &n_retained);
    assert_int_equal(n, 1);
    assert_string_equal(out[0]->key, "linz/rhine-flood/quiet");
    assert_int_equal(n_retained, 1);
    assert_ptr_equal(retained[0], t);

    /* A removal confirmed for an older change does not count. */
    t->unretained_seq = t->seq - 1;
    assert_true(forget_retained(t));
    t->unretained_seq = t->seq;
    assert_false(forget_retained(t));
    n = pick_all(f, t0 + MIN + AFTER, out);
    n = forget_split(out, n, retained, &n_retained);
    assert_int_equal(n, 2);
    assert_int_equal(n_retained, 0);

    /* Raised again before it was forgotten: retained again, until that is removed. */
    feed_value(f, "cleared", t0 + 2 * MIN, 700);
    expect_one(f, ENGINE_RAISED, NULL, "cleared: 700 cm again");
    assert_true(forget_retained(t));
    teardown_fixture(f);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forget_quiet_tracks_go),
        cmocka_unit_test(forget_look_is_bounded),
        cmocka_unit_test(forget_retained_alert_first),
    };

    (void)argc;
    (void)argv;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
