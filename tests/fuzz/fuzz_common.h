// SPDX-License-Identifier: MIT
/*
 * What the fuzz targets share: how a violation is reported (fuzz_fail); the check after
 * each validation, that quiet validation (max_errors 0) and recording validation agree
 * and that every recorded error is well formed (a violation aborts, which libFuzzer
 * reports as a crash); and a contract schema compiled from its file, for the targets
 * that check their output against one.
 */
#ifndef RHEINHUB_FUZZ_COMMON_H
#define RHEINHUB_FUZZ_COMMON_H

#include <errno.h> /* program_invocation_short_name */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

#define FUZZ_ERRORS_MAX 8

/* Says which property an input violated ("fuzz_NAME: what: detail") and aborts, which
 * libFuzzer reports as a crash and keeps the input of. detail may be NULL. */
static inline void fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s%s%s\n", program_invocation_short_name, what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static inline void fuzz_check_validation(const struct schema *s, const json_t *v)
{
    struct schema_error errors[FUZZ_ERRORS_MAX];
    int quiet = schema_validate(s, v, NULL, 0);
    int full = schema_validate(s, v, errors, FUZZ_ERRORS_MAX);

    if (quiet < 0 || quiet > 1 || full < 0 || full > FUZZ_ERRORS_MAX || (quiet == 0) != (full == 0)) {
        fprintf(stderr, "quiet validation gives %d, recording gives %d\n", quiet, full);
        abort();
    }
    for (int i = 0; i < full; i++) {
        const struct schema_error *e = &errors[i];

        if (strnlen(e->pointer, SCHEMA_POINTER_MAX) == SCHEMA_POINTER_MAX ||
            strnlen(e->keyword, SCHEMA_KEYWORD_MAX) == SCHEMA_KEYWORD_MAX ||
            strnlen(e->message, SCHEMA_MESSAGE_MAX) == SCHEMA_MESSAGE_MAX ||
            (e->pointer[0] != '\0' && e->pointer[0] != '/') || e->keyword[0] == '\0' ||
            e->message[0] == '\0') {
            fprintf(stderr, "malformed error %d: [%.*s] [%.*s] [%.*s]\n", i, SCHEMA_POINTER_MAX,
                    e->pointer, SCHEMA_KEYWORD_MAX, e->keyword, SCHEMA_MESSAGE_MAX, e->message);
            abort();
        }
    }
}

/*
 * The schema in the file at path, compiled with a registry that stays for the whole run
 * (as the schema must); exits with the reason when it does not compile.
 */
static inline struct schema *fuzz_schema_file(const char *path)
{
    static struct schema_registry *registry;
    struct schema *s = NULL;
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    char err[512];

    if (!registry)
        registry = schema_registry_new();
    if (!registry || !doc || !(s = schema_compile(registry, doc, path, err, sizeof(err)))) {
        fprintf(stderr, "%s: %s\n", path, doc ? err : jerr.text);
        exit(1);
    }
    json_decref(doc);
    return s;
}

#endif
