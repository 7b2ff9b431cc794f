// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: schema compilation, which `rheinhub validate` exposes to any
 * file it is given. The input is parsed as JSON and compiled as a schema (with a
 * registry that maps http://fuzz.example/ to tests/fuzz/schemas/, so that remote
 * $refs load files); when it compiles, a fixed set of instances and the input
 * itself are validated against it.
 */
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

static const char *const instance_texts[] = {
    "null",
    "true",
    "0",
    "-1",
    "1.5",
    "1e308",
    "9223372036854775807",
    "\"\"",
    "\"abc\"",
    "\"2026-11-26T06:00:00.5+01:00\"",
    "\"joe@example.org\"",
    "\"\\u00e4\\ud83d\\udc32 \\u2028\"",
    "[]",
    "[1, \"a\", null, [1], {\"a\": 1.0}, 1.0]",
    "{}",
    "{\"a\": 1, \"b\": \"x\", \"c\": [true, {\"d\": null}], \"~/\": {}}",
    "{\"time\": \"2026-11-26T06:00:00Z\", \"value\": 412, \"unit\": \"cm\", \"trend\": 1}",
    "[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]",
    "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}}}}}",
};

#define N_INSTANCES (sizeof(instance_texts) / sizeof(instance_texts[0]))

static json_t *instances[N_INSTANCES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    for (size_t i = 0; i < N_INSTANCES; i++) {
        json_error_t jerr;

        if (!(instances[i] = json_loads(instance_texts[i], JSON_DECODE_ANY, &jerr))) {
            fprintf(stderr, "fuzz_schema: instance %zu: %s\n", i, jerr.text);
            exit(1);
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct schema_registry *reg;
    struct schema *s;
    json_error_t jerr;
    char err[512];
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);

    if (!doc)
        return 0;
    reg = schema_registry_new();
    schema_registry_map(reg, "http://fuzz.example/", FUZZ_REPO "/tests/fuzz/schemas/");
    err[0] = 'x';
    if (!(s = schema_compile(reg, doc, "http://fuzz.example/input.json", err, sizeof(err)))) {
        /* A rejected schema says why. */
        if (strnlen(err, sizeof(err)) == sizeof(err) || err[0] == '\0')
            abort();
    } else {
        for (size_t i = 0; i < N_INSTANCES; i++)
            fuzz_check_validation(s, instances[i]);
        fuzz_check_validation(s, doc);
        schema_free(s);
    }
    schema_registry_free(reg);
    json_decref(doc);
    return 0;
}
