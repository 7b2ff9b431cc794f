// SPDX-License-Identifier: MIT
/*
 * Unit tests of the sources' mapping files and device rules: loading with FILE:LINE
 * errors, rule lookup by device id and DevEUI, subjects, and each way a field is made
 * (path, scale and offset, value maps, constants, optional), with the reason and
 * detail of each kind of payload that does not map.
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
#include <unistd.h>

#include "mapping.h"
#include "source_file.h"

static const char good_file[] =
    "server:\n"
    "  host: 127.0.0.1\n"
    "  username: linz-sensors@ttn\n"
    "  client_id: it\n"
    "municipality: linz\n"
    "devices:\n"
    "  - device: \"pegel-*\"\n"
    "    type: sensor.waterlevel\n"
    "    radio: true\n"
    "    fields:\n"
    "      value: sensor.level_mm\n"
    "      unit: {const: cm}\n"
    "      battery: {from: battery_pct, scale: 0.01, optional: true}\n"
    "  - device: \"A84041*\"\n"
    "    municipality: kaiserslautern\n"
    "    type: sensor.parking\n"
    "    subject: \"bay-{dev_eui}\"\n"
    "    fields:\n"
    "      status: {from: occupied, map: {\"true\": occupied, \"false\": free, \"2\": closed}}\n"
    "      total: {from: spaces, offset: 1, scale: 2}\n";

/* Writes text to a temporary file; returns its path (static buffer). */
static const char *write_file(const char *text)
{
    static char path[64];
    FILE *f;
    int fd;

    strcpy(path, "/tmp/test_mapping.XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads text as kind; returns the result and the error text (caller frees). */
static int load(const char *text, enum source_kind kind, struct source_file *sf, char **errors)
{
    const char *path = write_file(text);
    size_t len = 0;
    FILE *err = open_memstream(errors, &len);
    int r;

    assert_non_null(err);
    r = source_file_load(sf, kind, path, err);
    fclose(err);
    unlink(path);
    return r;
}

static void mapping_file_loads(void **state)
{
    struct source_file sf;
    char *errors = NULL;

    assert_int_equal(load(good_file, SOURCE_TTN, &sf, &errors), 0);
    assert_string_equal(errors, "");
    assert_int_equal(sf.n_rules, 2);
    assert_string_equal(sf.server.topics[0], "v3/linz-sensors@ttn/devices/+/up");
    assert_int_equal(sf.server.port, 8883);
    assert_true(sf.server.tls);
    assert_string_equal(sf.rules[0].municipality, "linz");
    assert_string_equal(sf.rules[0].subject, "{device}");
    assert_int_equal(sf.rules[0].line, 7);
    assert_string_equal(sf.rules[1].municipality, "kaiserslautern");
    assert_int_equal(sf.rules[1].fields[0].n_enums, 3);
    source_file_close(&sf);
    free(errors);
}

static void mapping_file_errors_name_the_line(void **state)
{
    static const char bad[] =
        "server:\n"
        "  host: 127.0.0.1\n"
        "  port: 0\n"
        "  client_id: it\n"
        "  colour: blue\n"
        "municipality: linz\n"
        "devices:\n"
        "  - device: \"x-*\"\n"
        "    type: sensor.waterlevel\n"
        "    fields:\n"
        "      value: {from: a, const: 1}\n"
        "      unit: {from: u, scale: x}\n"
        "      time: t\n"
        "  - device: \"y-*\"\n"
        "    type: waterlevel\n"
        "    fields: {value: v}\n"
        "stations: []\n";
    struct source_file sf;
    char *errors = NULL;

    assert_int_equal(load(bad, SOURCE_TTN, &sf, &errors), -7);
    assert_non_null(strstr(errors, ":3: server.port must be between 1 and 65535, not 0\n"));
    assert_non_null(strstr(errors, ":5: unknown key 'colour' in section 'server'\n"));
    assert_non_null(strstr(errors, ":11: fields.value needs exactly one of from and const\n"));
    assert_non_null(strstr(errors, ":12: fields.unit.scale must be a number\n"));
    assert_non_null(strstr(errors, ":13: time is the uplink's time: it cannot be mapped\n"));
    assert_non_null(strstr(errors, ":14: type must be <category>.<type>, e.g. sensor.waterlevel, "
                               "not \"waterlevel\"\n"));
    assert_non_null(strstr(errors, ":17: unknown section 'stations' (a ttn file has server, "
                               "http, municipality, devices)\n"));
    free(errors);
}

/* Null as YAML's core schema spells it, the same in every loader (yaml_loader.h): a
 * section left null keeps its defaults; a quoted "null" is a string, not null. */
static void mapping_file_null_spellings(void **state)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    struct source_file sf;
    char text[sizeof(good_file) + 32], *errors = NULL;

    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
        snprintf(text, sizeof(text), "http: %s\n%s", nulls[i], good_file);
        if (load(text, SOURCE_TTN, &sf, &errors) != 0)
            fail_msg("http: %s: %s", nulls[i], errors);
        assert_string_equal(sf.http.bind, "127.0.0.1");
        assert_int_equal(sf.http.port, 0);
        source_file_close(&sf);
        free(errors);
    }
    snprintf(text, sizeof(text), "http: \"null\"\n%s", good_file);
    assert_int_equal(load(text, SOURCE_TTN, &sf, &errors), -1);
    assert_non_null(strstr(errors, ":1: section 'http' must be a mapping of keys\n"));
    free(errors);
    assert_int_equal(load("NULL\n", SOURCE_TTN, &sf, &errors), -1);
    assert_non_null(strstr(errors, ":1: the file is empty\n"));
    free(errors);
}

static void mapping_pegelonline_file(void **state)
{
    static const char text[] =
        "api: {interval_s: 60, state_file: state}\n"
        "municipality: linz\n"
        "stations:\n"
        "  - {station: ANDERNACH, subject: pegel-andernach}\n"
        "  - {station: \"a/b\", subject: x}\n"
        "  - {station: BONN, subject: \"bad subject\"}\n"
        "  - {station: \"KOBLENZ\\tMOSEL\", subject: pegel-koblenz}\n";
    struct source_file sf;
    char *errors = NULL;

    assert_int_equal(load(text, SOURCE_PEGELONLINE, &sf, &errors), -3);
    assert_non_null(strstr(errors, ":5: a station needs station: its PEGELONLINE UUID or name"));
    assert_non_null(strstr(errors, ":6: subject must match [A-Za-z0-9._-]{1,128}"));
    /* a tab would split the state file's line of the station */
    assert_non_null(strstr(errors, ":7: a station needs station:"));
    free(errors);
}

/* A key given twice in a field, a value map or a station is an error with its line. */
static void mapping_file_duplicate_keys(void **state)
{
    static const char ttn[] =
        "server: {host: 127.0.0.1, username: a@ttn, client_id: it}\n"
        "municipality: linz\n"
        "devices:\n"
        "  - device: \"x-*\"\n"
        "    type: sensor.wastebin\n"
        "    fields:\n"
        "      fill: {from: a, from: b}\n"
        "      fw: {const: \"1.0\", const: \"2.0\"}\n"
        "      status: {from: s, map: {\"0\": ok, 0: full}}\n";
    static const char pegel[] =
        "municipality: linz\n"
        "stations:\n"
        "  - {station: BONN, subject: pegel-bonn, station: KOBLENZ}\n";
    struct source_file sf;
    char *errors = NULL;

    assert_int_equal(load(ttn, SOURCE_TTN, &sf, &errors), -3);
    assert_non_null(strstr(errors, ":7: fields.fill: from is set twice\n"));
    assert_non_null(strstr(errors, ":8: fields.fw: const is set twice\n"));
    assert_non_null(strstr(errors, ":9: fields.status.map: \"0\" is listed twice\n"));
    free(errors);
    assert_int_equal(load(pegel, SOURCE_PEGELONLINE, &sf, &errors), -1);
    assert_non_null(strstr(errors, ":3: station is set twice in a station\n"));
    free(errors);
}

/* http.bind is an IP literal: --check refuses what the source would refuse at start. */
static void mapping_file_http_bind_is_an_address(void **state)
{
    static const char bad[] = "http: {bind: localhost, port: 9103}\n"
                              "municipality: linz\n"
                              "stations: [{station: BONN, subject: pegel-bonn}]\n";
    static const char good[] = "http: {bind: \"::1\", port: 9103}\n"
                               "municipality: linz\n"
                               "stations: [{station: BONN, subject: pegel-bonn}]\n";
    struct source_file sf;
    char *errors = NULL;

    assert_int_equal(load(bad, SOURCE_PEGELONLINE, &sf, &errors), -1);
    assert_non_null(
        strstr(errors, ":1: http.bind must be an IPv4 or IPv6 address (no host names)\n"));
    free(errors);
    assert_int_equal(load(good, SOURCE_PEGELONLINE, &sf, &errors), 0);
    assert_string_equal(errors, "");
    assert_string_equal(sf.http.bind, "::1");
    source_file_close(&sf);
    free(errors);
}

/* server.topics are subscribed as they are: one libmosquitto refuses is never read. */
static void mapping_file_topics_are_filters(void **state)
{
    static const char text[] =
        "server:\n"
        "  host: 127.0.0.1\n"
        "  client_id: it\n"
        "  topics: [\"v3/app@ttn/devices/+/up\", \"v3/app@ttn/devices/#/up\"]\n"
        "municipality: linz\n"
        "devices:\n"
        "  - {device: \"x-*\", type: sensor.soil, fields: {moisture: m}}\n";
    struct source_file sf;
    char *errors = NULL;

    (void)state;
    assert_int_equal(load(text, SOURCE_TTN, &sf, &errors), -1);
    assert_non_null(strstr(errors, ":4: server.topics: \"v3/app@ttn/devices/#/up\" is not an "
                                   "MQTT topic filter ('+' and '#' stand alone in a level, '#' "
                                   "last)\n"));
    free(errors);
}

/* A relative path too long once the file's folder is put in front is an error, not cut. */
static void mapping_relative_path_too_long(void **state)
{
    char text[1300], name[1021];
    struct source_file sf;
    char *errors = NULL;

    (void)state;
    memset(name, 's', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(text, sizeof(text), "municipality: linz\napi:\n  state_file: %s\n"
             "stations: [{station: BONN, subject: pegel-bonn}]\n", name);
    assert_int_equal(load(text, SOURCE_PEGELONLINE, &sf, &errors), -1);
    assert_non_null(strstr(errors, ":3: api.state_file: the path taken from this file's folder "
                                   "is longer than 1023 bytes\n"));
    free(errors);
}

/* api.backfill is pasted into the request's URL: only an ISO 8601 period goes there. */
static void mapping_pegelonline_backfill_is_a_period(void **state)
{
    static const char *const good[] = {"P1D", "PT12H", "P1DT6H", "P2W", "PT90M", "P1Y2M3DT4H5M6S"};
    static const char *const bad[] = {"P", "PT", "P1X", "P1D&start=x", "P1D T1H", "P-1D",
                                      "PT1D", "P1H", "P1D#", "P1DT", "P1M1Y", "P 1D", ""};
    char text[256];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct source_file sf;
        char *errors = NULL;

        snprintf(text, sizeof(text), "api: {backfill: \"%s\"}\nmunicipality: linz\n"
                 "stations: [{station: BONN, subject: pegel-bonn}]\n", good[i]);
        if (load(text, SOURCE_PEGELONLINE, &sf, &errors) != 0)
            fail_msg("backfill %s refused: %s", good[i], errors);
        source_file_close(&sf);
        free(errors);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct source_file sf;
        char *errors = NULL;

        snprintf(text, sizeof(text), "api: {backfill: \"%s\"}\nmunicipality: linz\n"
                 "stations: [{station: BONN, subject: pegel-bonn}]\n", bad[i]);
        if (load(text, SOURCE_PEGELONLINE, &sf, &errors) != -1 ||
            !strstr(errors, ":1: api.backfill must be an ISO 8601 period such as P1D or PT12H"))
            fail_msg("backfill %s: %s", bad[i], errors);
        free(errors);
    }
}

static json_t *decoded(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);

    assert_non_null(v);
    return v;
}

static void mapping_find_by_device_or_eui(void **state)
{
    struct source_file sf;
    char *errors = NULL;

    assert_int_equal(load(good_file, SOURCE_TTN, &sf, &errors), 0);
    free(errors);
    assert_ptr_equal(mapping_find(&sf, "pegel-linz-1", NULL), &sf.rules[0]);
    assert_ptr_equal(mapping_find(&sf, "parken 4", "a840410001812f3c"), &sf.rules[1]);
    assert_null(mapping_find(&sf, "bin-1", "70B3D57ED0061A2B"));
    source_file_close(&sf);
}

static void mapping_subject_templates(void **state)
{
    struct source_file sf;
    char *errors = NULL, out[129];

    assert_int_equal(load(good_file, SOURCE_TTN, &sf, &errors), 0);
    free(errors);
    assert_int_equal(mapping_subject(&sf.rules[0], "pegel-linz-1", "70B3", out, sizeof(out)), 0);
    assert_string_equal(out, "pegel-linz-1");
    assert_int_equal(mapping_subject(&sf.rules[1], "Parken 4", "a84041", out, sizeof(out)), 0);
    assert_string_equal(out, "bay-a84041");
    assert_int_equal(mapping_subject(&sf.rules[0], "Parken 4", NULL, out, sizeof(out)), -EINVAL);
    source_file_close(&sf);
}

/* Applies rule i of the good file to payload; returns the data as compact JSON or the
 * reason's name and detail. */
static char *apply(int i, const char *payload, const struct radio *radio)
{
    struct source_file sf;
    char *errors = NULL, *out, detail[MAPPING_DETAIL_MAX];
    enum source_reason reason;
    json_t *in, *data;

    assert_int_equal(load(good_file, SOURCE_TTN, &sf, &errors), 0);
    free(errors);
    in = decoded(payload);
    data = mapping_apply(&sf.rules[i], in, "2026-11-26T06:00:00Z", radio, &reason, detail);
    if (data) {
        out = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    } else {
        out = malloc(strlen(detail) + 32);
        sprintf(out, "%s: %s", source_reason_name(reason), detail);
    }
    json_decref(data);
    json_decref(in);
    source_file_close(&sf);
    return out;
}

static void expect_apply(int i, const char *payload, const struct radio *radio,
                         const char *expected)
{
    char *got = apply(i, payload, radio);

    assert_string_equal(got, expected);
    free(got);
}

static void mapping_fields(void **state)
{
    struct radio radio = {.have = true, .have_snr = true, .rssi = -97, .snr = 6.5};
    struct radio no_snr = {.have = true, .rssi = -101};

    expect_apply(0, "{\"sensor\":{\"level_mm\":702},\"battery_pct\":87}", &radio,
                 "{\"time\":\"2026-11-26T06:00:00Z\",\"value\":702,\"unit\":\"cm\","
                 "\"battery\":0.87,\"rssi\":-97,\"snr\":6.5}");
    expect_apply(0, "{\"sensor\":{\"level_mm\":412.5}}", &no_snr,
                 "{\"time\":\"2026-11-26T06:00:00Z\",\"value\":412.5,\"unit\":\"cm\","
                 "\"rssi\":-101}");
    expect_apply(1, "{\"occupied\":true,\"spaces\":10}", NULL,
                 "{\"time\":\"2026-11-26T06:00:00Z\",\"status\":\"occupied\",\"total\":21}");
    expect_apply(1, "{\"occupied\":2,\"spaces\":0}", NULL,
                 "{\"time\":\"2026-11-26T06:00:00Z\",\"status\":\"closed\",\"total\":1}");
}

#define AE9 "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4" /* 9 "ä" */
#define AE10 AE9 "\xc3\xa4"

static void mapping_payloads_that_do_not_map(void **state)
{
    expect_apply(0, "{\"battery_pct\":87}", NULL,
                 "missing_field: value: the payload has no sensor.level_mm");
    expect_apply(0, "{\"sensor\":{\"level_mm\":{\"a\":1}}}", NULL,
                 "bad_field_type: value: sensor.level_mm is an object, not a single value");
    expect_apply(0, "{\"sensor\":{\"level_mm\":1},\"battery_pct\":\"87\"}", NULL,
                 "bad_field_type: battery: battery_pct is a string, not a number");
    expect_apply(1, "{\"occupied\":\"maybe\",\"spaces\":1}", NULL,
                 "unmapped_value: status: occupied is \"maybe\", which its map does not list");
    expect_apply(1, "{\"occupied\":[true],\"spaces\":1}", NULL,
                 "bad_field_type: status: occupied is an array, not a value of its map");
    /* The value is quoted up to 60 bytes, cut at a whole character: "x" and 29 of its 30
     * "ä" (the 30th would end at byte 61). */
    expect_apply(1, "{\"occupied\":\"x" AE10 AE10 AE10 "\",\"spaces\":1}", NULL,
                 "unmapped_value: status: occupied is \"x" AE10 AE10 AE9
                 "\", which its map does not list");
}

/* A number that scale and offset take beyond a double's range has no JSON form: a
 * dead letter naming the field and its value, not "out of memory". */
static void mapping_scaled_out_of_range(void **state)
{
    expect_apply(1, "{\"occupied\":true,\"spaces\":1e308}", NULL,
                 "schema: total: spaces is 1e+308, which scale 2 and offset 1 take beyond the "
                 "range of a number");
    expect_apply(1, "{\"occupied\":true,\"spaces\":-1.5e308}", NULL,
                 "schema: total: spaces is -1.5e+308, which scale 2 and offset 1 take beyond the "
                 "range of a number");
}

/* A map keyed by a decimal ("0.1") matches the payload's 0.1: the key text of a real is
 * its shortest form that reads back as the same number, not 17 digits
 * ("0.10000000000000001"). */
static void mapping_map_keyed_by_decimals(void **state)
{
    static const char file[] =
        "server: {host: 127.0.0.1, username: linz-sensors@ttn, client_id: it}\n"
        "municipality: linz\n"
        "devices:\n"
        "  - device: \"*\"\n"
        "    type: sensor.soil\n"
        "    fields:\n"
        "      level: {from: gain, map: {\"0.1\": low, \"0.3\": mid, \"2.5\": high,\n"
        "                               \"1e+100\": huge}}\n";
    static const struct {
        const char *payload, *level;
    } cases[] = {{"{\"gain\":0.1}", "low"}, {"{\"gain\":0.3}", "mid"},
                 {"{\"gain\":2.5}", "high"}, {"{\"gain\":1e100}", "huge"}};
    struct source_file sf;
    char *errors = NULL, detail[MAPPING_DETAIL_MAX];
    enum source_reason reason;

    assert_int_equal(load(file, SOURCE_TTN, &sf, &errors), 0);
    free(errors);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *in = decoded(cases[i].payload);
        json_t *data = mapping_apply(&sf.rules[0], in, "2026-11-26T06:00:00Z", NULL, &reason,
                                     detail);
        if (!data)
            fail_msg("%s: %s: %s", cases[i].payload, source_reason_name(reason), detail);
        assert_string_equal(json_string_value(json_object_get(data, "level")), cases[i].level);
        json_decref(data);
        json_decref(in);
    }
    source_file_close(&sf);
}

static void mapping_lookup_paths(void **state)
{
    json_t *v = decoded("{\"a\":{\"b\":[10,{\"c\":3}]}}");

    assert_int_equal(json_integer_value(mapping_lookup(v, "a.b.0")), 10);
    assert_int_equal(json_integer_value(mapping_lookup(v, "a.b.1.c")), 3);
    assert_null(mapping_lookup(v, "a.b.2"));
    assert_null(mapping_lookup(v, "a.x"));
    assert_null(mapping_lookup(v, "a..b"));
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mapping_file_loads),
        cmocka_unit_test(mapping_file_errors_name_the_line),
        cmocka_unit_test(mapping_file_null_spellings),
        cmocka_unit_test(mapping_pegelonline_file),
        cmocka_unit_test(mapping_file_duplicate_keys),
        cmocka_unit_test(mapping_file_http_bind_is_an_address),
        cmocka_unit_test(mapping_file_topics_are_filters),
        cmocka_unit_test(mapping_pegelonline_backfill_is_a_period),
        cmocka_unit_test(mapping_relative_path_too_long),
        cmocka_unit_test(mapping_find_by_device_or_eui),
        cmocka_unit_test(mapping_subject_templates),
        cmocka_unit_test(mapping_fields),
        cmocka_unit_test(mapping_payloads_that_do_not_map),
        cmocka_unit_test(mapping_scaled_out_of_range),
        cmocka_unit_test(mapping_map_keyed_by_decimals),
        cmocka_unit_test(mapping_lookup_paths),
    };
    return cmocka_run_group_tests_name("mapping", tests, NULL, NULL);
}
