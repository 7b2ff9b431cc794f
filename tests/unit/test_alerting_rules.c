// SPDX-License-Identifier: MIT
/*
 * Unit tests of the alerting rules file: the shipped demo rules, every refusal with
 * its FILE:LINE, durations, and matching by globs and data fields.
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
#include "rules.h"
#include "times.h"

static const char *source_root;

static void rules_shipped_demo(void **state)
{
    char path[1024];
    struct rules r;
    const struct rule *rhine, *silent, *light, *bin, *danger;

    (void)state;
    snprintf(path, sizeof(path), "%s/deploy/local/alerting-rules.yaml", source_root);
    assert_int_equal(rules_load(&r, path, stderr), 0);
    assert_int_equal(r.n, 5);
    assert_non_null(rhine = rules_find(&r, "rhine-flood"));
    assert_int_equal(rhine->kind, RULE_ABOVE);
    assert_true(rhine->raise == 650 && rhine->clear == 620);
    assert_int_equal(rhine->severity, SEVERITY_WARNING);
    assert_int_equal(rhine->n_levels, 1);
    assert_true(rhine->levels[0].at == 800);
    assert_int_equal(rhine->levels[0].severity, SEVERITY_CRITICAL);
    assert_string_equal(rhine->type, "sensor.waterlevel");
    assert_non_null(silent = rules_find(&r, "sensor-silent"));
    assert_int_equal(silent->kind, RULE_SILENCE);
    assert_int_equal(silent->silence_ns, 30 * 60 * NS_PER_S);
    assert_int_equal(silent->severity, SEVERITY_WARNING);
    assert_string_equal(silent->type, "sensor.*");
    assert_non_null(light = rules_find(&r, "streetlight-fault"));
    assert_int_equal(light->kind, RULE_EQUALS);
    assert_string_equal(light->equals.s, "fault");
    assert_string_equal(light->field, "status");
    assert_int_equal(light->severity, SEVERITY_INFO);
    assert_non_null(bin = rules_find(&r, "wastebin-full"));
    assert_true(bin->raise == 0.9 && bin->clear == 0.5);
    assert_int_equal(bin->for_ns, 10 * 60 * NS_PER_S);
    assert_non_null(danger = rules_find(&r, "citizen-danger"));
    assert_string_equal(danger->equals.s, "danger");
    assert_string_equal(danger->field, "service_code");
    assert_string_equal(danger->until.path, "status");
    assert_string_equal(danger->until.equals.s, "closed");
    assert_int_equal(danger->severity, SEVERITY_WARNING);
    rules_free(&r);
}

static void rules_defaults(void **state)
{
    struct rules r;
    char errors[1024];
    const struct rule *x;

    (void)state;
    assert_int_equal(load_rules(&r,
                          "rules:\n  - {name: x, type: sensor.soil, field: moisture, "
                          "below: 10}\n",
                          errors, sizeof(errors)),
                     0);
    x = &r.rules[0];
    assert_string_equal(x->municipality, "*");
    assert_string_equal(x->subject, "*");
    assert_int_equal(x->severity, SEVERITY_WARNING);
    assert_true(x->clear == 10); /* no hysteresis unless asked for */
    assert_int_equal(x->line, 2);
    assert_true(x->message[0] != '\0');
    rules_free(&r);
    assert_int_equal(load_rules(&r, "rules:\n", errors, sizeof(errors)), 0);
    assert_int_equal(r.n, 0);
    rules_free(&r);
    /* null as every loader spells it (yaml_loader.h); a quoted "null" is a string */
    assert_int_equal(load_rules(&r, "rules: Null\n", errors, sizeof(errors)), 0);
    assert_int_equal(r.n, 0);
    rules_free(&r);
    refused("rules: \"NULL\"\n", "rules.yaml:1: rules must be a list");
}

static void rules_refusals_name_the_line(void **state)
{
    (void)state;
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    above: 1\n    clear: 2\n",
            "rules.yaml:6: rule 'x': clear (2) must be at or below above (1)");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    below: 5\n    clear: 2\n",
            "rules.yaml:6: rule 'x': clear (2) must be at or above below (5)");
    refused("rules:\n  - name: Flood\n    type: a\n    silence: 1m\n",
            "rules.yaml:2: a rule name is");
    refused("rules:\n  - name: x\n    type: a\n    silence: 30 minutes\n",
            "rules.yaml:4: silence must be a duration");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n",
            "rules.yaml:2: rule 'x' needs exactly one condition");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    above: 1\n    equals: 2\n",
            "rules.yaml:2: rule 'x' needs exactly one condition: above, below, equals or "
            "silence (it has 2)");
    refused("rules:\n  - name: x\n    type: a\n    above: 1\n",
            "rules.yaml:2: rule 'x' needs a field");
    refused("rules:\n  - name: x\n    field: f\n    above: 1\n",
            "rules.yaml:2: rule 'x' needs a type");
    refused("rules:\n  - type: a\n    field: f\n    above: 1\n",
            "rules.yaml:2: a rule needs a name");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    above: lots\n",
            "rules.yaml:5: above must be a number, not \"lots\"");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    above: 1\n    colour: red\n",
            "rules.yaml:6: unknown key 'colour' in a rule");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    above: 1\n    severity: high\n",
            "rules.yaml:6: severity must be info, warning or critical");
    refused("rules:\n  - name: x\n    type: a\n    silence: 1m\n    field: f\n",
            "rules.yaml:5: rule 'x': silence takes no field");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    equals: fault\n    clear: 1\n",
            "rules.yaml:6: rule 'x': equals takes no clear");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    above: 1\n"
            "    message: \"{subject} {colour}\"\n",
            "rules.yaml:6: rule 'x': message: unknown field {colour}");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    above: 1\n"
            "    message: \"{subject\"\n",
            "rules.yaml:6: rule 'x': message: a '{' without its '}'");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    above: 650\n"
            "    levels:\n      - {above: 600, severity: critical}\n",
            "rules.yaml:7: rule 'x': level 600 must be above 650");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    above: 650\n"
            "    levels:\n      - {above: 800, severity: info}\n",
            "rules.yaml:7: rule 'x': level 800 must raise the severity above warning");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    above: 650\n"
            "    levels:\n      - {below: 800, severity: critical}\n",
            "rules.yaml:7: a level of a rule with 'above' uses 'above'");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    above: 1\n    severity: critical\n"
            "    escalate: 1h\n",
            "rules.yaml:7: rule 'x': escalate needs a severity below critical");
    refused("rules:\n  - name: x\n    type: a\n    silence: 1m\n  - name: x\n    type: b\n"
            "    silence: 1m\n",
            "rules.yaml:5: rule 'x' is defined twice (first at line 2)");
    refused("rules:\n  - name: x\n    type: a\n    field: f..g\n    above: 1\n",
            "rules.yaml:4: field is a data field name");
    refused("rules:\n  - name: x\n    type: a\n    field: f\n    above: 1\n    rate: 0s\n",
            "rules.yaml:6: rate must be a duration");
    refused("rules:\n  - name: x\n    type: \"\"\n    silence: 1m\n",
            "rules.yaml:3: type must not be empty");
    refused("alerts:\n  - name: x\n", "rules.yaml:1: unknown key 'alerts'");
    refused("rules: {name: x}\n", "rules.yaml:1: rules must be a list");
    refused("rules:\n  - name: x\n    type: a\n   silence: 1m\n", "rules.yaml:4: ");
    refused("", "rules.yaml:1: the rules file is empty");
}

/* A key given twice inside a rule's where or a level is an error, as in the rule itself. */
static void rules_duplicate_nested_keys(void **state)
{
    (void)state;
    refused("rules:\n"
            "  - name: r\n"
            "    type: sensor.waterlevel\n"
            "    where: {unit: cm, unit: m}\n"
            "    field: value\n"
            "    above: 650\n",
            "rules.yaml:4: where: unit is set twice");
    refused("rules:\n"
            "  - name: r\n"
            "    type: sensor.waterlevel\n"
            "    field: value\n"
            "    above: 650\n"
            "    levels:\n"
            "      - {above: 800, severity: critical, severity: info}\n",
            "rules.yaml:7: a level's severity is set twice");
}

static void rules_reports_every_error(void **state)
{
    struct rules r;
    char errors[4096];

    (void)state;
    assert_int_equal(load_rules(&r,
                          "rules:\n"
                          "  - {name: a, type: x, field: f, above: 1, clear: 2}\n"
                          "  - {name: b, type: x, silence: forever}\n"
                          "  - {name: c, type: x, silence: 1m}\n",
                          errors, sizeof(errors)),
                     -2);
    assert_non_null(strstr(errors, "rules.yaml:2:"));
    assert_non_null(strstr(errors, "rules.yaml:3:"));
    assert_int_equal(r.n, 0);
}

static void rules_missing_file(void **state)
{
    struct rules r;
    char *buf = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&buf, &len);

    (void)state;
    assert_int_equal(rules_load(&r, "/nonexistent/rules.yaml", err), -ENOENT);
    fclose(err);
    assert_non_null(strstr(buf, "/nonexistent/rules.yaml: cannot open the rules file"));
    free(buf);
}

static void rules_durations(void **state)
{
    int64_t ns;
    char text[32];

    (void)state;
    assert_int_equal(times_duration_parse("30m", &ns), 0);
    assert_int_equal(ns, 1800 * NS_PER_S);
    assert_int_equal(times_duration_parse("1h30m", &ns), 0);
    assert_int_equal(ns, 5400 * NS_PER_S);
    assert_int_equal(times_duration_parse("500ms", &ns), 0);
    assert_int_equal(ns, 500 * NS_PER_MS);
    assert_int_equal(times_duration_parse("2d", &ns), 0);
    assert_int_equal(ns, 2 * 86400 * NS_PER_S);
    assert_int_equal(times_duration_parse("1m5ms", &ns), 0);
    assert_int_equal(ns, 60 * NS_PER_S + 5 * NS_PER_MS);
    assert_int_equal(times_duration_parse("", &ns), -EINVAL);
    assert_int_equal(times_duration_parse("10", &ns), -EINVAL);
    assert_int_equal(times_duration_parse("m", &ns), -EINVAL);
    assert_int_equal(times_duration_parse("0s", &ns), -EINVAL);
    assert_int_equal(times_duration_parse("10 m", &ns), -EINVAL);
    assert_int_equal(times_duration_parse("10min", &ns), -EINVAL);
    assert_int_equal(times_duration_parse("366d", &ns), -EINVAL);
    assert_int_equal(times_duration_parse("99999999999999999999s", &ns), -EINVAL);
    times_duration_format(5400 * NS_PER_S, text, sizeof(text));
    assert_string_equal(text, "1h30m");
    times_duration_format(1800 * NS_PER_S, text, sizeof(text));
    assert_string_equal(text, "30m");
    times_duration_format(1500 * NS_PER_MS, text, sizeof(text));
    assert_string_equal(text, "1s500ms");
}

/* A msgpack map from JSON text, kept in *buf and *u. */
static const msgpack_object *data_of(const char *json, msgpack_sbuffer *buf, msgpack_unpacked *u)
{
    json_t *j = json_loads(json, 0, NULL);
    msgpack_packer pk;

    assert_non_null(j);
    msgpack_sbuffer_init(buf);
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    assert_int_equal(envelope_pack_json(&pk, j), 0);
    json_decref(j);
    msgpack_unpacked_init(u);
    assert_int_equal(msgpack_unpack_next(u, buf->data, buf->size, NULL), MSGPACK_UNPACK_SUCCESS);
    return &u->data;
}

static void rules_match(void **state)
{
    struct rules r;
    char errors[1024];
    const struct rule *x;
    msgpack_sbuffer buf;
    msgpack_unpacked u;
    const msgpack_object *d;

    (void)state;
    assert_int_equal(load_rules(&r,
                          "rules:\n"
                          "  - name: x\n"
                          "    municipality: \"[lk]*\"\n"
                          "    type: \"sensor.*\"\n"
                          "    subject: \"pegel-?\"\n"
                          "    where: {unit: cm, meta.ok: true, level: 2}\n"
                          "    field: value\n"
                          "    above: 1\n",
                          errors, sizeof(errors)),
                     0);
    x = &r.rules[0];
    assert_int_equal(x->n_where, 3);
    d = data_of("{\"unit\":\"cm\",\"meta\":{\"ok\":true},\"level\":2.0}", &buf, &u);
    assert_true(rule_matches(x, "linz", "sensor.waterlevel", "pegel-1", d));
    assert_true(rule_matches(x, "kaiserslautern", "sensor.soil", "pegel-9", d));
    assert_false(rule_matches(x, "mainz", "sensor.waterlevel", "pegel-1", d));
    assert_false(rule_matches(x, "linz", "service.streetlight", "pegel-1", d));
    assert_false(rule_matches(x, "linz", "sensor.waterlevel", "pegel-10", d));
    assert_false(rule_matches(x, "linz", "sensor.waterlevel", "pegel-1", NULL));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
    d = data_of("{\"unit\":\"cm\",\"meta\":{\"ok\":false},\"level\":2}", &buf, &u);
    assert_false(rule_matches(x, "linz", "sensor.waterlevel", "pegel-1", d));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
    d = data_of("{\"unit\":\"cm\",\"meta\":{\"ok\":true},\"level\":\"2\"}", &buf, &u);
    assert_false(rule_matches(x, "linz", "sensor.waterlevel", "pegel-1", d)); /* "2" is text */
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
    rules_free(&r);
}

/* A pattern without a special character matches only itself, "*" every string (no
 * flags: '/' and a leading '.' are ordinary), and the rest as fnmatch decides. */
static void rules_match_literal_and_star(void **state)
{
    struct rules r;
    char errors[1024];
    const struct rule *x;
    msgpack_sbuffer buf;
    msgpack_unpacked u;
    const msgpack_object *d;

    (void)state;
    assert_int_equal(load_rules(&r,
                          "rules:\n"
                          "  - name: x\n"
                          "    type: sensor.waterlevel\n"
                          "    subject: \"g\\\\-1\"\n"
                          "    field: value\n"
                          "    above: 1\n",
                          errors, sizeof(errors)),
                     0);
    x = &r.rules[0];
    assert_string_equal(x->municipality, "*");
    d = data_of("{\"value\":2}", &buf, &u);
    assert_true(rule_matches(x, "linz", "sensor.waterlevel", "g-1", d));
    assert_true(rule_matches(x, ".a/b", "sensor.waterlevel", "g-1", d));
    assert_true(rule_matches(x, "", "sensor.waterlevel", "g-1", d));
    assert_false(rule_matches(x, "linz", "sensor.waterlevel2", "g-1", d));
    assert_false(rule_matches(x, "linz", "sensor.waterleve", "g-1", d));
    assert_false(rule_matches(x, "linz", "Sensor.waterlevel", "g-1", d));
    assert_false(rule_matches(x, "linz", "sensor.waterlevel", "g\\-1", d));
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
    rules_free(&r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_shipped_demo),
        cmocka_unit_test(rules_defaults),
        cmocka_unit_test(rules_refusals_name_the_line),
        cmocka_unit_test(rules_duplicate_nested_keys),
        cmocka_unit_test(rules_reports_every_error),
        cmocka_unit_test(rules_missing_file),
        cmocka_unit_test(rules_durations),
        cmocka_unit_test(rules_match),
        cmocka_unit_test(rules_match_literal_and_star),
    };

    source_root = argc > 1 ? argv[1] : ".";
    return cmocka_run_group_tests_name("alerting_rules", tests, NULL, NULL);
}
