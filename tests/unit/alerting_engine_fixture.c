// SPDX-License-Identifier: MIT
/*
 * The alerting engine tests' fixture (alerting_engine_fixture.h): an engine with
 * rules from a YAML text, events fed at a fake time, and checks of the changes the
 * engine reports.
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

int64_t t0;
int event_no;

struct fixture *setup(const char *yaml, const char *type)
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

void teardown_fixture(struct fixture *f)
{
    engine_free(f->e);
    rules_free(&f->rules);
    free(f);
}

/*
 * Feeds one event of subject in municipality m with id and data (JSON): event time at,
 * receive time (and now) received.
 */
void feed_event(struct fixture *f, const char *m, const char *subject, const char *id, int64_t at,
                int64_t received, const char *json)
{
    json_t *j = json_loads(json, 0, NULL);
    msgpack_sbuffer buf;
    msgpack_packer pk;
    msgpack_unpacked u;
    char time[TIMES_TEXT_MAX];
    struct engine_event ev;

    assert_non_null(j);
    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    assert_int_equal(envelope_pack_json(&pk, j), 0);
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, NULL), MSGPACK_UNPACK_SUCCESS);
    times_format_ms(at, time);
    ev = (struct engine_event){.id = id,
                               .type = f->type,
                               .subject = subject,
                               .municipality = m,
                               .time = time,
                               .time_ns = at,
                               .received_ns = received,
                               .data = &u.data};
    assert_int_equal(engine_event(f->e, &ev, received), 0);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
    json_decref(j);
}

/* Feeds one event of subject with data (JSON) at time at (event time = receive time = now). */
void feed_at(struct fixture *f, const char *subject, int64_t at, int64_t received, const char *json)
{
    char id[32];

    snprintf(id, sizeof(id), "ev-%d", ++event_no);
    feed_event(f, "linz", subject, id, at, received, json);
}

void feed(struct fixture *f, const char *subject, int64_t at, const char *json)
{
    feed_at(f, subject, at, at, json);
}

void feed_value(struct fixture *f, const char *subject, int64_t at, double value)
{
    char json[64];

    snprintf(json, sizeof(json), "{\"value\":%g,\"unit\":\"cm\"}", value);
    feed(f, subject, at, json);
}

void tick(struct fixture *f, int64_t now, bool detect)
{
    assert_int_equal(engine_tick(f->e, now, detect), 0);
}

/* The changes since the last call, and clears them. */
size_t take(struct fixture *f, struct engine_change *out, size_t max)
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

void expect_none(struct fixture *f, const char *when)
{
    struct engine_change c[4];
    size_t n = take(f, c, 4);

    if (n)
        fail_msg("%s: expected no change, got %zu, the first %s (%s)", when, n,
                 engine_reason_name(c[0].reason), alert_state_name(c[0].alert.state));
}

void expect_one(struct fixture *f, enum engine_reason reason, struct engine_change *out,
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

const char flood[] = "rules:\n"
                     "  - name: rhine-flood\n"
                     "    type: sensor.waterlevel\n"
                     "    field: value\n"
                     "    where: {unit: cm}\n"
                     "    above: 650\n"
                     "    clear: 620\n"
                     "    severity: warning\n"
                     "    levels: [{above: 800, severity: critical}]\n"
                     "    message: \"{subject}: water level {value} cm ≥ {threshold} cm\"\n";

const char silence[] = "rules:\n"
                       "  - name: sensor-silent\n"
                       "    type: \"sensor.*\"\n"
                       "    silence: 30m\n";

/* alerting_engine_fixture.h */
int load_rules(struct rules *r, const char *yaml, char *errors, size_t size)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&buf, &len);
    int ret;

    assert_non_null(err);
    ret = rules_load_buffer(r, "rules.yaml", yaml, strlen(yaml), err);
    fclose(err);
    snprintf(errors, size, "%s", buf ? buf : "");
    free(buf);
    return ret;
}

/* alerting_engine_fixture.h */
void refused(const char *yaml, const char *want)
{
    struct rules r;
    char errors[4096];
    int ret = load_rules(&r, yaml, errors, sizeof(errors));

    if (ret >= 0)
        fail_msg("accepted (%d), expected \"%s\":\n%s", ret, want, yaml);
    if (!strstr(errors, want))
        fail_msg("expected \"%s\" in the errors, got:\n%s", want, errors);
}
