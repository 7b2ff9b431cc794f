// SPDX-License-Identifier: MIT
/*
 * The official JSON-Schema-Test-Suite (draft7) through the validator
 * (hub/core/schema.c). Every case of tests/draft7/NAME.json is required to pass, and of
 * tests/draft7/optional/format/ the formats the validator asserts; the other
 * optional files are run and reported only. Each case is validated twice, quietly
 * (max_errors 0) and recording errors, and both answers must agree.
 *
 * Usage: test_schema_suite SUITE_DIR
 *   SUITE_DIR    the suite's top folder (with tests/ and remotes/)
 * The draft-07 meta-schema comes from the registry itself (built in), as for every
 * user; tests/integration/test_validate_suite.py runs the same cases through the
 * `rheinhub validate` command.
 * Prints passed/total per file; exits 1 when a required case fails, 77 (skipped)
 * when the suite is not installed.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "schema.h"

#define ERRORS_MAX 8

static const char *const required_formats[] = {
    "date-time.json", "date.json", "time.json", "email.json",
    "uri.json",       "ipv4.json", "ipv6.json", "hostname.json",
};

struct totals {
    int passed, total;
};

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of the *.json files in dir; NULL when dir cannot be read. */
static char **json_files(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;

    *n = 0;
    if (!d)
        return NULL;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        char **more;

        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        if (!(more = realloc(names, (*n + 1) * sizeof(*names))))
            abort();
        names = more;
        if (!(names[(*n)++] = strdup(e->d_name)))
            abort();
    }
    closedir(d);
    qsort(names, *n, sizeof(*names), compare_names);
    return names;
}

/*
 * Runs the suite file at path. Adds its figures to *t and prints them under label;
 * prints each failing case when required. Returns the number of failed cases.
 */
static int run_file(struct schema_registry *reg, const char *path, const char *label, bool required,
                    struct totals *t)
{
    json_error_t jerr;
    json_t *groups = json_load_file(path, 0, &jerr), *group;
    int passed = 0, total = 0;
    size_t gi;

    /* optional/bignum.json has integers beyond 64 bits: read them as reals. */
    if (!groups)
        groups = json_load_file(path, JSON_DECODE_INT_AS_REAL, &jerr);
    if (!json_is_array(groups)) {
        printf("  %-44s cannot read: %s\n", label, jerr.text);
        json_decref(groups);
        return 1;
    }
    json_array_foreach(groups, gi, group) {
        const char *gdesc = json_string_value(json_object_get(group, "description"));
        json_t *tests = json_object_get(group, "tests"), *tc;
        char err[512];
        struct schema *s =
            schema_compile(reg, json_object_get(group, "schema"), NULL, err, sizeof(err));
        size_t ti;

        json_array_foreach(tests, ti, tc) {
            const char *tdesc = json_string_value(json_object_get(tc, "description"));
            bool expected = json_is_true(json_object_get(tc, "valid"));
            json_t *data = json_object_get(tc, "data");
            struct schema_error errors[ERRORS_MAX];
            int quiet = 0, full = 0;
            char why[700] = "";

            total++;
            if (!s) {
                snprintf(why, sizeof(why), "schema does not compile: %s", err);
            } else {
                quiet = schema_validate(s, data, NULL, 0);
                full = schema_validate(s, data, errors, ERRORS_MAX);
                if ((quiet == 0) != (full == 0))
                    snprintf(why, sizeof(why), "quiet and recording validation disagree (%d, %d)",
                             quiet, full);
                else if ((quiet == 0) != expected)
                    snprintf(why, sizeof(why), "expected %s, got %s%s%s%s%s%s",
                             expected ? "valid" : "invalid", quiet ? "invalid: " : "valid",
                             quiet ? errors[0].pointer : "", quiet ? " " : "",
                             quiet ? errors[0].keyword : "", quiet ? ": " : "",
                             quiet ? errors[0].message : "");
            }
            if (why[0] == '\0') {
                passed++;
            } else if (required) {
                printf("FAIL %s: %s / %s: %s\n", label, gdesc, tdesc, why);
            }
        }
        schema_free(s);
    }
    json_decref(groups);
    printf("  %-44s %4d/%-4d%s\n", label, passed, total,
           passed == total ? ""
           : required      ? "  FAILED"
                           : "  (optional)");
    t->passed += passed;
    t->total += total;
    return total - passed;
}

/* Runs every file of suite_dir/tests/draft7/sub; required decides per file name. */
static int run_folder(struct schema_registry *reg, const char *suite, const char *sub,
                      bool (*required)(const char *name), struct totals *req, struct totals *opt)
{
    char dir[4096], path[4400], label[256];
    size_t n;
    char **names;
    int failed = 0;

    snprintf(dir, sizeof(dir), "%s/tests/draft7%s", suite, sub);
    if (!(names = json_files(dir, &n)))
        return -1;
    for (size_t i = 0; i < n; i++) {
        bool r = required(names[i]);

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        snprintf(label, sizeof(label), "draft7%s/%s", sub, names[i]);
        if (run_file(reg, path, label, r, r ? req : opt) > 0 && r)
            failed++;
        free(names[i]);
    }
    free(names);
    return failed;
}

static bool always(const char *name)
{
    return true;
}

static bool never(const char *name)
{
    return false;
}

static bool required_format(const char *name)
{
    for (size_t i = 0; i < sizeof(required_formats) / sizeof(required_formats[0]); i++)
        if (strcmp(name, required_formats[i]) == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    struct schema_registry *reg;
    struct totals req = {0}, opt = {0};
    char remotes[4096];

    if (argc != 2) {
        fprintf(stderr, "usage: %s SUITE_DIR\n", argv[0]);
        return 2;
    }
    snprintf(remotes, sizeof(remotes), "%s/remotes/", argv[1]);
    if (!(reg = schema_registry_new()) ||
        schema_registry_map(reg, "http://localhost:1234/", remotes) < 0) {
        fprintf(stderr, "cannot set up the registry\n");
        return 2;
    }
    printf("JSON-Schema-Test-Suite %s, draft7:\n", argv[1]);
    if (run_folder(reg, argv[1], "", always, &req, &opt) < 0) {
        printf("no suite at %s: skipped\n", argv[1]);
        schema_registry_free(reg);
        return 77;
    }
    run_folder(reg, argv[1], "/optional", never, &req, &opt);
    run_folder(reg, argv[1], "/optional/format", required_format, &req, &opt);
    printf("required: %d/%d passed; optional (not required): %d/%d passed\n", req.passed, req.total,
           opt.passed, opt.total);
    schema_registry_free(reg);
    return req.passed == req.total ? 0 : 1;
}
