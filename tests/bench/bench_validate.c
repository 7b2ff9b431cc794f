// SPDX-License-Identifier: MIT
/*
 * Validations per second of the JSON Schema validator: for each shipped event
 * schema (schemas/<category>/<type>.schema.json) with a valid example
 * (schemas/examples/<category>.<type>/valid-*.json, the first by name), the example
 * is validated against the compiled schema for about half a second, quietly
 * (max_errors 0, as to decide validity) and recording errors (max_errors 8); then
 * the same with the JSON text parsed each time, as the hub does per message. An
 * invalid example (the first invalid-*.json) is timed too, recording its errors.
 *
 * Usage: rheinhub-bench-validate [SCHEMAS_DIR]   (default: the source tree's schemas/)
 * Build without sanitizers for meaningful figures.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "schema.h"

#ifndef RHEINHUB_SCHEMAS_DIR
#define RHEINHUB_SCHEMAS_DIR "schemas"
#endif

#define RUN_SECONDS 0.5

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The first file in dir (by name) starting with prefix, into out. Returns 0 or -1. */
static int first_file(const char *dir, const char *prefix, char *out, size_t size)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort), rc = -1;

    for (int i = 0; i < n; i++) {
        if (rc < 0 && strncmp(names[i]->d_name, prefix, strlen(prefix)) == 0) {
            snprintf(out, size, "%s/%s", dir, names[i]->d_name);
            rc = 0;
        }
        free(names[i]);
    }
    if (n >= 0)
        free(names);
    return rc;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)n + 1);
    if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        text = NULL;
    }
    fclose(f);
    return text;
}

/* Validations per second of doc (or of text, parsed each time when doc is NULL). */
static double rate(const struct schema *s, const json_t *doc, const char *text, int max_errors,
                   int *result)
{
    struct schema_error errors[8];
    long n = 0, batch = 1000;
    double start = now(), elapsed;

    do {
        for (long i = 0; i < batch; i++) {
            json_t *v = doc ? (json_t *)doc : json_loads(text, 0, NULL);

            *result = schema_validate(s, v, max_errors ? errors : NULL, max_errors);
            if (!doc)
                json_decref(v);
        }
        n += batch;
        elapsed = now() - start;
    } while (elapsed < RUN_SECONDS);
    return (double)n / elapsed;
}

static void bench(struct schema_registry *reg, const char *dir, const char *category,
                  const char *type)
{
    char path[4096], example[4096], bad[4096], examples[4096], err[512];
    json_t *doc, *instance, *invalid = NULL;
    struct schema *s;
    char *text;
    int r1, r2, r3, r4 = 0;
    double quiet, full, parsed, wrong = 0;

    snprintf(path, sizeof(path), "%s/%s/%s.schema.json", dir, category, type);
    snprintf(examples, sizeof(examples), "%s/examples/%s.%s", dir, category, type);
    if (first_file(examples, "valid-", example, sizeof(example)) < 0)
        return;
    if (!(doc = json_load_file(path, 0, NULL)) ||
        !(s = schema_compile(reg, doc, NULL, err, sizeof(err)))) {
        printf("%-22s cannot compile: %s\n", type, doc ? err : "unreadable");
        json_decref(doc);
        return;
    }
    json_decref(doc);
    instance = json_load_file(example, 0, NULL);
    text = read_text(example);
    if (first_file(examples, "invalid-", bad, sizeof(bad)) == 0)
        invalid = json_load_file(bad, 0, NULL);
    if (!instance || !text) {
        printf("%s.%s: cannot read %s\n", category, type, example);
    } else {
        quiet = rate(s, instance, NULL, 0, &r1);
        full = rate(s, instance, NULL, 8, &r2);
        parsed = rate(s, NULL, text, 0, &r3);
        if (invalid)
            wrong = rate(s, invalid, NULL, 8, &r4);
        snprintf(path, sizeof(path), "%s.%s", category, type);
        printf("%-20s %11.0f %11.0f %11.0f %11.0f  %s%s\n", path, quiet, full, parsed, wrong,
               r1 || r2 || r3 ? "EXAMPLE INVALID " : "", strrchr(example, '/') + 1);
    }
    json_decref(instance);
    json_decref(invalid);
    free(text);
    schema_free(s);
}

int main(int argc, char **argv)
{
    static const char *const categories[] = {"sensor", "service", "citizen"};
    const char *dir = argc > 1 ? argv[1] : RHEINHUB_SCHEMAS_DIR;
    struct schema_registry *reg = schema_registry_new();

    printf("validations per second (one core); columns: valid example quietly, recording "
           "errors,\nparsed from text each time, first invalid example recording errors\n");
    printf("%-20s %11s %11s %11s %11s  %s\n", "type", "quiet", "recording", "parse+valid",
           "invalid", "example");
    for (size_t c = 0; c < sizeof(categories) / sizeof(categories[0]); c++) {
        char sub[4096];
        struct dirent **names;
        int n;

        snprintf(sub, sizeof(sub), "%s/%s", dir, categories[c]);
        n = scandir(sub, &names, NULL, alphasort);
        for (int i = 0; i < n; i++) {
            size_t len = strlen(names[i]->d_name);

            if (len > 12 && strcmp(names[i]->d_name + len - 12, ".schema.json") == 0) {
                names[i]->d_name[len - 12] = '\0';
                bench(reg, dir, categories[c], names[i]->d_name);
            }
            free(names[i]);
        }
        if (n >= 0)
            free(names);
    }
    schema_registry_free(reg);
    return 0;
}
