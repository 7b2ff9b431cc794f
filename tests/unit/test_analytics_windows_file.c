// SPDX-License-Identifier: MIT
/*
 * Unit tests of the analytics windows file: defaults, rules (exact names and globs,
 * first match wins), every error with its file and line, and the categorical fields
 * taken from the shipped schemas. Argument: the source tree (for schemas/ and the
 * shipped deploy/local/analytics-windows.yaml).
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

#include "windows_file.h"

static const char *source_root = ".";
static char schemas[1024];

/* Loads text as a windows file; the error text goes to errors (caller frees). */
static int load_text(struct windows_file *wf, const char *text, char **errors)
{
    char path[] = "/tmp/rheinhub-windows-XXXXXX";
    int fd = mkstemp(path), r;
    size_t len = 0;
    FILE *err = open_memstream(errors, &len);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    r = windows_file_load(wf, path, err);
    fclose(err);
    unlink(path);
    /* the messages name the file: take the name out so that tests compare the rest */
    for (char *p; (p = strstr(*errors, path));)
        memmove(p, p + strlen(path), strlen(p + strlen(path)) + 1);
    return r;
}

static void analytics_windows_defaults(void **state)
{
    struct windows_file wf;
    struct windows_type t;

    windows_file_defaults(&wf);
    assert_int_equal(windows_file_resolve(&wf, "sensor.waterlevel", schemas, &t), 0);
    assert_int_equal(t.n_windows, 4);
    assert_string_equal(t.window_text[0], "1m");
    assert_string_equal(t.window_text[1], "15m");
    assert_string_equal(t.window_text[2], "1h");
    assert_string_equal(t.window_text[3], "1d");
    /* from the schema: unit (const "cm") is counted; trend (integer enum) is a number */
    assert_true(windows_type_is_categorical(&t, "unit", 4));
    assert_false(windows_type_is_categorical(&t, "trend", 5));
    assert_false(windows_type_is_categorical(&t, "fw", 2)); /* free text */
    assert_int_equal(windows_file_resolve(&wf, "citizen.report", schemas, &t), 0);
    assert_true(windows_type_is_categorical(&t, "service_code", 12));
    assert_true(windows_type_is_categorical(&t, "status", 6));
    assert_false(windows_type_is_categorical(&t, "description", 11));
    assert_int_equal(windows_file_resolve(&wf, "sensor.parking", schemas, &t), 0);
    assert_true(windows_type_is_categorical(&t, "status", 6));
    assert_int_equal(t.n_categorical, 1);
    /* a type without a schema: no categorical fields, default windows */
    assert_int_equal(windows_file_resolve(&wf, "sensor.unknown", schemas, &t), 0);
    assert_int_equal(t.n_categorical, 0);
    assert_int_equal(t.n_windows, 4);
    assert_int_equal(windows_file_resolve(&wf, "waterlevel", schemas, &t), -EINVAL);
    assert_int_equal(windows_file_resolve(&wf, "sensor.", schemas, &t), -EINVAL);
}

static void analytics_windows_rules(void **state)
{
    struct windows_file wf;
    struct windows_type t;
    char *errors = NULL;

    assert_int_equal(load_text(&wf,
                               "# comment\n"
                               "default: [1h, 5m]\n"
                               "types:\n"
                               "  sensor.waterlevel:\n"
                               "    windows: [60m, 15m, 1d]\n"
                               "    ignore: [battery]\n"
                               "  \"sensor.*\":\n"
                               "    count: [fw]\n"
                               "  citizen.feedback:\n"
                               "    windows: [1d]\n"
                               "    count: [topic]\n",
                               &errors),
                     0);
    assert_string_equal(errors, "");
    free(errors);
    /* ascending, canonical names */
    assert_int_equal(windows_file_resolve(&wf, "sensor.waterlevel", schemas, &t), 0);
    assert_int_equal(t.n_windows, 3);
    assert_string_equal(t.window_text[0], "15m");
    assert_string_equal(t.window_text[1], "1h");
    assert_string_equal(t.window_text[2], "1d");
    assert_true(windows_type_is_ignored(&t, "battery", 7));
    /* the first match wins: the glob does not add fw to the waterlevel */
    assert_false(windows_type_is_categorical(&t, "fw", 2));
    /* a glob without windows: the default windows, its counted field */
    assert_int_equal(windows_file_resolve(&wf, "sensor.soil", schemas, &t), 0);
    assert_int_equal(t.n_windows, 2);
    assert_string_equal(t.window_text[0], "5m");
    assert_string_equal(t.window_text[1], "1h");
    assert_true(windows_type_is_categorical(&t, "fw", 2));
    assert_int_equal(windows_file_resolve(&wf, "citizen.feedback", schemas, &t), 0);
    assert_true(windows_type_is_categorical(&t, "topic", 5));
    assert_int_equal(windows_file_resolve(&wf, "service.transit", schemas, &t), 0);
    assert_int_equal(t.n_windows, 2);
    assert_true(windows_type_is_categorical(&t, "status", 6));
}

static void analytics_windows_errors(void **state)
{
    static const struct {
        const char *text;
        const char *errors;
    } cases[] = {
        {"default: [1w]\n", ":1: a window is a count 1..99999 and a unit s, m, h or d, e.g. 15m\n"},
        {"default: [32d]\n",
         ":1: a window is a count 1..99999 and a unit s, m, h or d, e.g. 15m (at most 31d)\n"},
        {"default: 15m\n", ":1: windows must be a list, e.g. [15m, 1h, 1d]\n"},
        {"default: []\n", ":1: the list of windows is empty\n"},
        {"default: [1h, 60m]\n", ":1: window 60m is listed twice (as the same length)\n"},
        {"default: [1m, 2m, 3m, 4m, 5m, 6m, 7m, 8m, 9m]\n", ":1: at most 8 windows per type\n"},
        {"defaults: [1h]\n", ":1: unknown key defaults (known: default, types)\n"},
        {"types:\n  sensor.soil:\n    window: [1h]\n",
         ":3: unknown key window under type sensor.soil (known: windows, count, ignore)\n"},
        {"types:\n  sensor.soil:\n    windows: [1h]\n  sensor.soil:\n    windows: [1d]\n",
         ":4: type sensor.soil is listed twice (first on line 2)\n"},
        {"types:\n  sensor.soil:\n    count: [Moisture]\n",
         ":3: count: a field name matches [a-z][a-z0-9_]{0,62}\n"},
        {"types:\n  sensor.soil:\n    ignore: battery\n",
         ":3: ignore must be a list of field names\n"},
        {"types: [sensor.soil]\n",
         ":1: types must be a mapping from a type (or glob) to its settings\n"},
        {"types:\n  sensor.soil: [1h]\n", ":2: type sensor.soil: expected keys windows, count, ignore\n"},
        {"- 1h\n", ":1: expected a mapping with the keys default and types\n"},
        {"default: [1h\n",
         ":2: did not find expected ',' or ']' while parsing a flow sequence\n"},
        /* several problems: every one is reported */
        {"default: [0m]\ntypes:\n  sensor.a:\n    windows: [x]\n    foo: 1\n",
         ":1: a window is a count 1..99999 and a unit s, m, h or d, e.g. 15m\n"
         ":4: a window is a count 1..99999 and a unit s, m, h or d, e.g. 15m\n"
         ":5: unknown key foo under type sensor.a (known: windows, count, ignore)\n"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct windows_file wf;
        char *errors = NULL;
        int r = load_text(&wf, cases[i].text, &errors);

        if (r >= 0 || strcmp(errors, cases[i].errors) != 0)
            fail_msg("case %zu:\n%s\nreturned %d with errors\n%s\nexpected\n%s", i,
                     cases[i].text, r, errors, cases[i].errors);
        free(errors);
    }
}

/* A key given twice is an error, not its last (or, for count, both) of the values. */
static void analytics_windows_duplicate_keys(void **state)
{
    static const struct {
        const char *text;
        const char *errors;
    } cases[] = {
        {"default: [1h]\ndefault: [1d]\n", ":2: default is set twice\n"},
        {"types:\n  a.b: {windows: [1h]}\ntypes:\n  c.d: {windows: [1d]}\n",
         ":3: types is set twice\n"},
        {"types:\n  sensor.soil:\n    windows: [1h]\n    windows: [1d]\n",
         ":4: windows is set twice under type sensor.soil\n"},
        {"types:\n  sensor.soil:\n    count: [a]\n    ignore: [b]\n    count: [c]\n",
         ":5: count is set twice under type sensor.soil\n"},
        {"types:\n  sensor.soil:\n    ignore: [a]\n    ignore: [b]\n",
         ":4: ignore is set twice under type sensor.soil\n"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct windows_file wf;
        char *errors = NULL;
        int r = load_text(&wf, cases[i].text, &errors);

        if (r >= 0 || strcmp(errors, cases[i].errors) != 0)
            fail_msg("case %zu:\n%s\nreturned %d with errors\n%s\nexpected\n%s", i,
                     cases[i].text, r, errors, cases[i].errors);
        free(errors);
    }
}

static void analytics_windows_empty_and_missing(void **state)
{
    struct windows_file wf;
    char *errors = NULL;
    FILE *err;
    size_t len = 0;

    assert_int_equal(load_text(&wf, "", &errors), 0);
    free(errors);
    assert_int_equal(wf.n_defaults, 4);
    assert_int_equal(load_text(&wf, "types:\n", &errors), 0);
    free(errors);
    /* null as every loader spells it (yaml_loader.h) */
    assert_int_equal(load_text(&wf, "types: NULL\n", &errors), 0);
    free(errors);
    assert_int_equal(load_text(&wf, "~\n", &errors), 0);
    free(errors);
    assert_int_equal(wf.n_defaults, 4);
    err = open_memstream(&errors, &len);
    assert_true(windows_file_load(&wf, "/nonexistent/windows.yaml", err) < 0);
    fclose(err);
    assert_non_null(strstr(errors, "/nonexistent/windows.yaml: cannot open the windows file"));
    free(errors);
}

static void analytics_windows_shipped_file(void **state)
{
    char path[1024];
    struct windows_file wf;
    struct windows_type t;

    snprintf(path, sizeof(path), "%s/deploy/local/analytics-windows.yaml", source_root);
    assert_int_equal(windows_file_load(&wf, path, stderr), 0);
    /* levels per gauge per 15 minutes, reports per category per day */
    assert_int_equal(windows_file_resolve(&wf, "sensor.waterlevel", schemas, &t), 0);
    assert_string_equal(t.window_text[1], "15m");
    assert_int_equal(windows_file_resolve(&wf, "citizen.report", schemas, &t), 0);
    assert_string_equal(t.window_text[t.n_windows - 1], "1d");
    assert_true(windows_type_is_categorical(&t, "service_code", 12));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(analytics_windows_defaults),
        cmocka_unit_test(analytics_windows_rules),
        cmocka_unit_test(analytics_windows_errors),
        cmocka_unit_test(analytics_windows_duplicate_keys),
        cmocka_unit_test(analytics_windows_empty_and_missing),
        cmocka_unit_test(analytics_windows_shipped_file),
    };

    if (argc > 1)
        source_root = argv[1];
    snprintf(schemas, sizeof(schemas), "%s/schemas", source_root);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
