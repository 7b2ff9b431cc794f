// SPDX-License-Identifier: MIT
/*
 * Unit tests of a rule's until option (until.h): its parsing and refusals with their
 * FILE:LINE, and the engine clearing an alert when its subject says it is done.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerting_engine_fixture.h"

#define RULE_HEAD "rules:\n  - name: x\n    type: a\n    field: f\n"

/* The until of the first rule of text, which must load. */
static struct rule_until until_of(const char *text)
{
    struct rules r;
    char errors[1024];
    struct rule_until u;

    assert_int_equal(load_rules(&r, text, errors, sizeof(errors)), 0);
    u = r.rules[0].until;
    rules_free(&r);
    return u;
}

/* until takes text, a number or true/false, as equals does; every kind but silence. */
static void until_parsed(void **state)
{
    struct rule_until u;

    (void)state;
    u = until_of(RULE_HEAD "    equals: danger\n"
                           "    until: {field: status, equals: closed}\n");
    assert_string_equal(u.path, "status");
    assert_int_equal(u.equals.kind, VALUE_STR);
    assert_string_equal(u.equals.s, "closed");
    u = until_of(RULE_HEAD "    above: 1\n"
                           "    until: {field: state.code, equals: 3}\n");
    assert_string_equal(u.path, "state.code");
    assert_int_equal(u.equals.kind, VALUE_INT);
    assert_int_equal(u.equals.i, 3);
    u = until_of(RULE_HEAD "    below: 1\n    rate: 1h\n"
                           "    until:\n      field: done\n      equals: true\n");
    assert_int_equal(u.equals.kind, VALUE_BOOL);
    assert_true(u.equals.b);
    /* a quoted "3" is text, as in equals */
    u = until_of(RULE_HEAD "    equals: 1\n    until: {field: g, equals: \"3\"}\n");
    assert_int_equal(u.equals.kind, VALUE_STR);
    /* without until, nothing is set */
    u = until_of(RULE_HEAD "    equals: 1\n");
    assert_string_equal(u.path, "");
}

static void until_refusals_name_the_line(void **state)
{
    (void)state;
    refused("rules:\n  - name: x\n    type: a\n    silence: 1m\n"
            "    until: {field: status, equals: closed}\n",
            "rules.yaml:5: rule 'x': silence takes no until");
    refused(RULE_HEAD "    equals: danger\n    until: closed\n",
            "rules.yaml:6: until must be a mapping such as {field: status, equals: closed}");
    refused(RULE_HEAD "    equals: danger\n    until: {field: status, equals: closed, "
                      "colour: red}\n",
            "rules.yaml:6: until: unknown key 'colour' (it takes field and equals)");
    refused(RULE_HEAD "    equals: danger\n    until: {equals: closed}\n",
            "rules.yaml:6: until needs a field");
    refused(RULE_HEAD "    equals: danger\n    until: {field: status}\n",
            "rules.yaml:6: until needs equals");
    refused(RULE_HEAD "    equals: danger\n    until:\n      field: status\n"
                      "      equals: [closed]\n",
            "rules.yaml:8: until's equals must be a string, a number or true/false");
    refused(RULE_HEAD "    equals: danger\n    until:\n      field: status..x\n"
                      "      equals: closed\n",
            "rules.yaml:7: until: field is a data field name");
    refused(RULE_HEAD "    equals: danger\n    until:\n      field: [status]\n"
                      "      equals: closed\n",
            "rules.yaml:7: until: field is a data field name");
    refused(RULE_HEAD "    equals: danger\n    until:\n      field: status\n"
                      "      field: state\n      equals: closed\n",
            "rules.yaml:8: until: field is set twice");
    refused(RULE_HEAD "    equals: danger\n    until: {field: status, equals: closed}\n"
                      "    until: {field: status, equals: done}\n",
            "rules.yaml:7: until is set twice");
}

static const char danger[] = "rules:\n"
                             "  - name: citizen-danger\n"
                             "    type: citizen.report\n"
                             "    field: service_code\n"
                             "    equals: danger\n"
                             "    until: {field: status, equals: closed}\n";

/* A danger report raises; an update still open keeps it; the closed update clears it. */
static void until_clears_the_alert(void **state)
{
    struct fixture *f = setup(danger, "citizen.report");
    struct engine_change c;
    struct track *t;

    (void)state;
    feed(f, "r-1", t0, "{\"service_code\":\"danger\",\"status\":\"open\"}");
    expect_one(f, ENGINE_RAISED, &c, "a danger report");
    feed(f, "r-1", t0 + MIN, "{\"service_code\":\"danger\",\"status\":\"open\",\"x\":1}");
    expect_none(f, "an update still open");
    feed(f, "r-1", t0 + 2 * MIN, "{\"service_code\":\"danger\",\"status\":\"closed\"}");
    expect_one(f, ENGINE_CLEARED, &c, "the closed update");
    assert_int_equal(c.alert.state, ALERT_CLEARED);
    assert_string_equal(c.alert.value.s, "danger");
    assert_non_null(t = engine_track(f->e, "linz/citizen-danger/r-1"));
    assert_false(t->holds);
    feed(f, "r-1", t0 + 3 * MIN, "{\"service_code\":\"danger\",\"status\":\"closed\"}");
    expect_none(f, "closed again");
    tick(f, t0 + 60 * MIN, true);
    expect_none(f, "the clock after the clear");
    /* A report closed before it ever raised raises nothing. */
    feed(f, "r-2", t0, "{\"service_code\":\"danger\",\"status\":\"closed\"}");
    expect_none(f, "a danger report closed at once");
    /* Another status, or until's value in another field, is not the end. */
    feed(f, "r-3", t0, "{\"service_code\":\"danger\",\"status\":\"in_progress\"}");
    expect_one(f, ENGINE_RAISED, NULL, "in progress");
    feed(f, "r-3", t0 + MIN, "{\"service_code\":\"danger\",\"note\":\"closed\"}");
    expect_none(f, "closed in another field");
    /* An acknowledged alert clears too. */
    assert_int_equal(engine_ack(f->e, "linz/citizen-danger/r-3", NULL, "op", t0 + 2 * MIN), 0);
    expect_one(f, ENGINE_ACKNOWLEDGED, NULL, "the ack");
    feed(f, "r-3", t0 + 3 * MIN, "{\"service_code\":\"danger\",\"status\":\"closed\"}");
    expect_one(f, ENGINE_CLEARED, NULL, "closed after the ack");
    teardown_fixture(f);
}

/* A for that is waiting is cancelled by until, and until works on a level rule too. */
static void until_cancels_for(void **state)
{
    struct fixture *f = setup("rules:\n"
                              "  - name: bin\n"
                              "    type: sensor.wastebin\n"
                              "    field: fill\n"
                              "    above: 0.9\n"
                              "    for: 10m\n"
                              "    until: {field: removed, equals: true}\n",
                              "sensor.wastebin");
    struct engine_change c;

    (void)state;
    feed(f, "bin-1", t0, "{\"fill\":0.95}");
    feed(f, "bin-1", t0 + 5 * MIN, "{\"fill\":0.95,\"removed\":true}");
    tick(f, t0 + 20 * MIN, true);
    expect_none(f, "for cancelled by until");
    /* A level rule's open alert clears on until, its field still above. */
    feed(f, "bin-2", t0, "{\"fill\":0.95}");
    tick(f, t0 + 10 * MIN, true);
    expect_one(f, ENGINE_RAISED, NULL, "10 minutes above");
    feed(f, "bin-2", t0 + 11 * MIN, "{\"fill\":0.96,\"removed\":false}");
    expect_none(f, "removed false");
    feed(f, "bin-2", t0 + 12 * MIN, "{\"fill\":0.97,\"removed\":true}");
    expect_one(f, ENGINE_CLEARED, &c, "removed");
    assert_true(c.alert.value.kind == VALUE_REAL && c.alert.value.d == 0.97); /* this event's */
    teardown_fixture(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(until_parsed),
        cmocka_unit_test(until_refusals_name_the_line),
        cmocka_unit_test(until_clears_the_alert),
        cmocka_unit_test(until_cancels_for),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
