// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the hub's path for a payload. The input is parsed as JSON (as
 * the hub parses an MQTT payload) and validated against every shipped schema (each
 * *.schema.json under schemas/) and the fuzzing schemas in tests/fuzz/schemas/,
 * which use the keywords the shipped ones do not.
 *
 * The folders searched are RHEINHUB_FUZZ_SCHEMAS (colon-separated) when set, else
 * those under FUZZ_REPO, the repository the target was built from.
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_common.h"
#include "schema.h"

#ifndef FUZZ_REPO
#define FUZZ_REPO "."
#endif

#define SCHEMAS_MAX 256

static struct schema_registry *registry;
static struct schema *schemas[SCHEMAS_MAX];
static size_t n_schemas;
static char *paths[SCHEMAS_MAX];
static size_t n_paths;

static int collect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    size_t n = strlen(path);

    if (type == FTW_F && n > 12 && strcmp(path + n - 12, ".schema.json") == 0 &&
        n_paths < SCHEMAS_MAX)
        paths[n_paths++] = strdup(path);
    return 0;
}

/* Registers the schema file under its $id, so that schemas may refer to each other. */
static void register_file(const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_DECODE_ANY, &jerr);
    const char *id = json_string_value(json_object_get(doc, "$id"));

    if (!doc) {
        fprintf(stderr, "%s: %s\n", path, jerr.text);
        exit(1);
    }
    if (id)
        schema_registry_add(registry, id, doc); /* -EEXIST for a duplicate: ignored */
    json_decref(doc);
}

static void compile_file(const char *path)
{
    char err[512], uri[4200];
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_DECODE_ANY, &jerr);

    snprintf(uri, sizeof(uri), "file://%s", path);
    if (!doc || !(schemas[n_schemas] = schema_compile(registry, doc, uri, err, sizeof(err)))) {
        fprintf(stderr, "%s: %s\n", path, doc ? err : jerr.text);
        exit(1);
    }
    n_schemas++;
    json_decref(doc);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *env = getenv("RHEINHUB_FUZZ_SCHEMAS");
    char *dirs = strdup(env ? env : FUZZ_REPO "/schemas:" FUZZ_REPO "/tests/fuzz/schemas");
    char *save = NULL;

    registry = schema_registry_new();
    for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char real[4096];

        if (realpath(dir, real))
            nftw(real, collect, 16, FTW_PHYS);
    }
    free(dirs);
    for (size_t i = 0; i < n_paths; i++)
        register_file(paths[i]);
    for (size_t i = 0; i < n_paths; i++) {
        compile_file(paths[i]);
        free(paths[i]);
    }
    if (n_schemas == 0) {
        fprintf(stderr, "fuzz_validate: no *.schema.json found\n");
        exit(1);
    }
    fprintf(stderr, "fuzz_validate: %zu schemas\n", n_schemas);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

    if (!v)
        return 0;
    for (size_t i = 0; i < n_schemas; i++)
        fuzz_check_validation(schemas[i], v);
    json_decref(v);
    return 0;
}
