// SPDX-License-Identifier: MIT
/*
 * The `rheinhub validate` command. The schema is compiled once with its file:// URI
 * as base, and its folder is mapped in the registry, so that a $ref to a sibling
 * file ("unit.schema.json#/definitions/cm") resolves to that file; nothing outside
 * the folder is read, nothing is fetched from the network.
 */
#include "validate_cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "schema.h"

/* Errors shown per invalid instance. */
#define VALIDATE_ERRORS_MAX 20

static void usage(FILE *out)
{
    fprintf(out, "usage: rheinhub validate SCHEMA.json [INSTANCE.json...]\n"
                 "Checks each instance (standard input when none is given, or for \"-\")\n"
                 "against the JSON Schema (draft-07). Exit status: 0 all valid, 1 some\n"
                 "invalid, 2 bad schema or unreadable input.\n");
}

/* "file://" and the absolute path, percent-encoded where RFC 3986 asks. */
static char *file_uri(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path), o = 7;
    char *uri = malloc(7 + 3 * n + 1);

    if (!uri)
        return NULL;
    memcpy(uri, "file://", 7);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~/", c)) {
            uri[o++] = (char)c;
        } else {
            uri[o++] = '%';
            uri[o++] = hex[c >> 4];
            uri[o++] = hex[c & 15];
        }
    }
    uri[o] = '\0';
    return uri;
}

/* Why a file could not be read as JSON: where, when the text is at fault. */
static void report_json_error(const char *name, const json_error_t *jerr)
{
    if (jerr->line > 0)
        fprintf(stderr, "rheinhub validate: %s: line %d, column %d: %s\n", name, jerr->line,
                jerr->column, jerr->text);
    else
        fprintf(stderr, "rheinhub validate: %s\n", jerr->text);
}

/*
 * Compiles the schema file at path into *out, with reg mapping its folder. Returns 0,
 * or prints why and returns -1.
 */
static int load_schema(struct schema_registry *reg, const char *path, struct schema **out)
{
    char abs[PATH_MAX], err[512], *slash, *base = NULL, *dir_uri = NULL;
    json_error_t jerr;
    json_t *doc = NULL;
    int rc = -1;

    if (!realpath(path, abs)) {
        fprintf(stderr, "rheinhub validate: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!(doc = json_load_file(abs, JSON_DECODE_ANY, &jerr))) {
        report_json_error(path, &jerr);
        return -1;
    }
    if (!(base = file_uri(abs)) || !(dir_uri = strdup(base)))
        goto nomem;
    /* The folder, with its trailing "/", in both forms. */
    slash = strrchr(abs, '/');
    slash[1] = '\0';
    strrchr(dir_uri, '/')[1] = '\0';
    if (schema_registry_map(reg, dir_uri, abs) < 0)
        goto nomem;
    if (!(*out = schema_compile(reg, doc, base, err, sizeof(err)))) {
        fprintf(stderr, "rheinhub validate: %s: invalid schema: %s\n", path, err);
        goto out;
    }
    rc = 0;
    goto out;

nomem:
    fprintf(stderr, "rheinhub validate: out of memory\n");
out:
    free(base);
    free(dir_uri);
    json_decref(doc);
    return rc;
}

/* Validates one instance file ("-": standard input). Returns 0, 1 or 2 as the command. */
static int check_instance(const struct schema *schema, const char *path)
{
    struct schema_error errors[VALIDATE_ERRORS_MAX];
    bool from_stdin = strcmp(path, "-") == 0;
    const char *name = from_stdin ? "stdin" : path;
    json_error_t jerr;
    json_t *doc;
    int n;

    doc = from_stdin ? json_loadf(stdin, JSON_DECODE_ANY, &jerr)
                     : json_load_file(path, JSON_DECODE_ANY, &jerr);
    if (!doc) {
        report_json_error(name, &jerr);
        return 2;
    }
    n = schema_validate(schema, doc, errors, VALIDATE_ERRORS_MAX);
    json_decref(doc);
    if (n == 0) {
        printf("%s: valid\n", name);
        return 0;
    }
    printf("%s: invalid\n", name);
    for (int i = 0; i < n; i++)
        printf("  %s: %s: %s\n", errors[i].pointer[0] ? errors[i].pointer : "(root)",
               errors[i].keyword, errors[i].message);
    if (n == VALIDATE_ERRORS_MAX)
        printf("  (stopped after %d errors)\n", VALIDATE_ERRORS_MAX);
    return 1;
}

int validate_main(int argc, char **argv)
{
    struct schema_registry *reg;
    struct schema *schema = NULL;
    int status = 0;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (!(reg = schema_registry_new())) {
        fprintf(stderr, "rheinhub validate: out of memory\n");
        return 2;
    }
    if (load_schema(reg, argv[1], &schema) < 0) {
        schema_registry_free(reg);
        return 2;
    }
    if (argc == 2) {
        status = check_instance(schema, "-");
    } else {
        for (int i = 2; i < argc; i++) {
            int rc = check_instance(schema, argv[i]);

            if (rc > status)
                status = rc;
        }
    }
    fflush(stdout);
    schema_free(schema);
    schema_registry_free(reg);
    return status;
}
