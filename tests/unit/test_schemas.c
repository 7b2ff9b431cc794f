// SPDX-License-Identifier: MIT
/*
 * Unit tests of the shipped contract in schemas/ (DESIGN.md, "Payloads"): every
 * schema is a draft-07 document whose $id is its place under the schema URI prefix;
 * asyncapi.yaml refers to every schema and each of its $ref resolves, file and JSON
 * pointer; every payload in schemas/examples/<type>/ is valid or invalid, by the
 * project's own validator, as its name (valid-*, invalid-*) says; and asyncapi.yaml's
 * message examples match their payload schemas.
 *
 * Argument: the schemas folder (meson passes the source tree's). meta/ holds the
 * draft-07 meta-schema, which is not part of the contract and is not walked, but
 * every shipped schema is checked against it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <yaml.h>

#include "doc_pointer.h"
#include "schema.h"

#define URI_PREFIX "https://schemas.rheinhub.linz-am-rhein.de/"
#define META_URI "http://json-schema.org/draft-07/schema"
#define DRAFT7 "http://json-schema.org/draft-07/schema#"
#define MAX_FILES 256
#define MAX_ERRORS 8
/* What each event type (and alert, ack, aggregate) must show at least. */
#define MIN_VALID 3
#define MIN_INVALID 4

static const char *schemas_dir;

/* A list of owned strings. */
struct names {
    char *v[MAX_FILES];
    int n;
};

struct contract {
    yaml_document_t api;     /* asyncapi.yaml */
    struct names schemas;    /* schema files, relative to schemas_dir, sorted */
    struct names referenced; /* real paths of the files asyncapi.yaml refers to */
    int file_refs;           /* $ref to a file (with or without fragment) */
    int local_refs;          /* $ref within asyncapi.yaml */
    struct names bad_refs;   /* why each $ref that does not resolve does not */
};

static void names_add(struct names *l, const char *s)
{
    assert_true(l->n < MAX_FILES);
    l->v[l->n] = strdup(s);
    assert_non_null(l->v[l->n]);
    l->n++;
}

static bool names_has(const struct names *l, const char *s)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

static void names_clear(struct names *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds a formatted line to l. */
__attribute__((format(printf, 2, 3))) static void names_addf(struct names *l, const char *fmt, ...)
{
    char line[PATH_MAX + 512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    names_add(l, line);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Appends every *.schema.json under schemas_dir/rel (but examples/ and meta/) to l. */
static void find_schemas(struct names *l, const char *rel)
{
    char dir[PATH_MAX], sub[PATH_MAX];
    struct dirent *e;
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/%s", schemas_dir, rel);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d))) {
        struct stat st;
        char full[PATH_MAX];

        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        snprintf(full, sizeof(full), "%s/%s", schemas_dir, sub);
        assert_int_equal(stat(full, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            if (*rel == '\0' &&
                (strcmp(e->d_name, "examples") == 0 || strcmp(e->d_name, "meta") == 0))
                continue;
            find_schemas(l, sub);
        } else if (ends_with(e->d_name, ".schema.json")) {
            names_add(l, sub);
        }
    }
    closedir(d);
}

/* Checks one $ref of asyncapi.yaml: a pointer into it ("#/..."), or a file relative
 * to it with an optional pointer fragment. Records the files it names. */
static void check_ref(struct contract *c, const char *ref, size_t line)
{
    char file[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
    const char *hash = strchr(ref, '#');
    const char *fragment = hash ? hash + 1 : "";
    size_t n = hash ? (size_t)(hash - ref) : strlen(ref);
    json_error_t jerr;
    json_t *doc;

    if (n == 0) {
        c->local_refs++;
        if (!doc_yaml_at(&c->api, fragment))
            names_addf(&c->bad_refs, "asyncapi.yaml:%zu: $ref %s: no such place in asyncapi.yaml",
                       line, ref);
        return;
    }
    c->file_refs++;
    if (n >= sizeof(file) || strstr(ref, "://") || ref[0] == '/') {
        names_addf(&c->bad_refs, "asyncapi.yaml:%zu: $ref %s: not a file relative to schemas/",
                   line, ref);
        return;
    }
    memcpy(file, ref, n);
    file[n] = '\0';
    snprintf(path, sizeof(path), "%s/%s", schemas_dir, file);
    if (!realpath(path, real)) {
        names_addf(&c->bad_refs, "asyncapi.yaml:%zu: $ref %s: %s: %s", line, ref, path,
                   strerror(errno));
        return;
    }
    doc = json_load_file(real, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        names_addf(&c->bad_refs, "asyncapi.yaml:%zu: $ref %s: %s:%d: %s", line, ref, real,
                   jerr.line, jerr.text);
        return;
    }
    if (!doc_json_at(doc, fragment))
        names_addf(&c->bad_refs, "asyncapi.yaml:%zu: $ref %s: no %s in %s", line, ref, fragment,
                   file);
    else if (!names_has(&c->referenced, real))
        names_add(&c->referenced, real);
    json_decref(doc);
}

/* Checks every "$ref" under node. */
static void walk_refs(struct contract *c, yaml_node_t *node)
{
    yaml_document_t *doc = &c->api;

    if (!node)
        return;
    if (node->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *i = node->data.sequence.items.start;
             i < node->data.sequence.items.top; i++)
            walk_refs(c, yaml_document_get_node(doc, *i));
    } else if (node->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
             p++) {
            yaml_node_t *value = yaml_document_get_node(doc, p->value);
            const char *k = doc_yaml_scalar(yaml_document_get_node(doc, p->key));

            if (k && strcmp(k, "$ref") == 0) {
                const char *ref = doc_yaml_scalar(value);
                if (ref)
                    check_ref(c, ref, value->start_mark.line + 1);
                else
                    names_addf(&c->bad_refs, "asyncapi.yaml:%zu: $ref is not a string",
                               value->start_mark.line + 1);
            } else {
                walk_refs(c, value);
            }
        }
    }
}

static int setup(void **state)
{
    struct contract *c = calloc(1, sizeof(*c));
    char path[PATH_MAX];
    yaml_parser_t parser;
    FILE *f;
    int ok;

    if (!c)
        return -1;
    snprintf(path, sizeof(path), "%s/asyncapi.yaml", schemas_dir);
    f = fopen(path, "rb");
    if (!f) {
        print_error("%s: %s\n", path, strerror(errno));
        free(c);
        return -1;
    }
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    ok = yaml_parser_load(&parser, &c->api) && yaml_document_get_root_node(&c->api);
    if (!ok)
        print_error("%s:%zu: %s\n", path, parser.problem_mark.line + 1,
                    parser.problem ? parser.problem : "empty document");
    yaml_parser_delete(&parser);
    fclose(f);
    if (!ok) {
        free(c);
        return -1;
    }
    walk_refs(c, yaml_document_get_root_node(&c->api));
    find_schemas(&c->schemas, "");
    qsort(c->schemas.v, (size_t)c->schemas.n, sizeof(c->schemas.v[0]), compare_names);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct contract *c = *state;

    yaml_document_delete(&c->api);
    names_clear(&c->schemas);
    names_clear(&c->referenced);
    names_clear(&c->bad_refs);
    free(c);
    return 0;
}

/* Loads schemas_dir/rel as JSON; fails the test when it is not. */
static json_t *load_json(const char *rel)
{
    char path[PATH_MAX];
    json_error_t jerr;
    json_t *doc;

    snprintf(path, sizeof(path), "%s/%s", schemas_dir, rel);
    doc = json_load_file(path, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!doc)
        print_error("%s:%d:%d: %s\n", rel, jerr.line, jerr.column, jerr.text);
    assert_non_null(doc);
    return doc;
}

/* A registry where the schema URI prefix is the schemas folder; the draft-07
 * meta-schema is built into every registry. */
static struct schema_registry *registry(void)
{
    struct schema_registry *reg = schema_registry_new();
    char dir[PATH_MAX];

    assert_non_null(reg);
    snprintf(dir, sizeof(dir), "%s/", schemas_dir);
    assert_int_equal(schema_registry_map(reg, URI_PREFIX, dir), 0);
    return reg;
}

/* Compiles schemas_dir/rel with its $id as base. Returns the schema, whose document
 * *doc must outlive it; or NULL, saying why, with *doc freed and NULL. */
static struct schema *compile(struct schema_registry *reg, const char *rel, json_t **doc)
{
    char err[512] = "";
    struct schema *s;

    *doc = load_json(rel);
    s = schema_compile(reg, *doc, json_string_value(json_object_get(*doc, "$id")), err,
                       sizeof(err));
    if (!s) {
        print_error("%s: does not compile: %s\n", rel, err);
        json_decref(*doc);
        *doc = NULL;
    }
    return s;
}

static void print_errors(const char *what, const struct schema_error *e, int n)
{
    for (int i = 0; i < n && i < MAX_ERRORS; i++)
        print_message("  %s: \"%s\" %s: %s\n", what, e[i].pointer, e[i].keyword, e[i].message);
}

/* Every $ref of asyncapi.yaml resolves: local pointers, files and their fragments. */
static void schemas_asyncapi_refs_resolve(void **state)
{
    struct contract *c = *state;

    for (int i = 0; i < c->bad_refs.n; i++)
        print_error("%s\n", c->bad_refs.v[i]);
    print_message("asyncapi.yaml: %d $ref to files, %d within, %d not resolved\n", c->file_refs,
                  c->local_refs, c->bad_refs.n);
    assert_int_equal(c->bad_refs.n, 0);
    /* One payload per event type, at least, and the components they share. */
    assert_true(c->file_refs >= 13);
    assert_true(c->local_refs >= 13);
}

/* Every schema file is named by asyncapi.yaml, and says what it is: draft-07, with
 * an $id that is its own place under the URI prefix. */
static void schemas_all_referenced(void **state)
{
    struct contract *c = *state;
    int bad = 0;

    assert_true(c->schemas.n >= 13);
    for (int i = 0; i < c->schemas.n; i++) {
        const char *rel = c->schemas.v[i];
        char path[PATH_MAX], real[PATH_MAX], id[PATH_MAX];
        json_t *doc = load_json(rel);
        const char *sid = json_string_value(json_object_get(doc, "$id"));
        const char *draft = json_string_value(json_object_get(doc, "$schema"));

        snprintf(path, sizeof(path), "%s/%s", schemas_dir, rel);
        assert_non_null(realpath(path, real));
        snprintf(id, sizeof(id), "%s%s", URI_PREFIX, rel);
        if (!names_has(&c->referenced, real)) {
            print_error("%s: not referenced by asyncapi.yaml\n", rel);
            bad++;
        }
        if (!sid || strcmp(sid, id) != 0) {
            print_error("%s: $id is %s, expected %s\n", rel, sid ? sid : "missing", id);
            bad++;
        }
        if (!draft || strcmp(draft, DRAFT7) != 0) {
            print_error("%s: $schema is %s, expected %s\n", rel, draft ? draft : "missing", DRAFT7);
            bad++;
        }
        json_decref(doc);
    }
    assert_int_equal(bad, 0);
}

/* Each shipped schema is itself valid against the draft-07 meta-schema. */
static void schemas_match_metaschema(void **state)
{
    struct contract *c = *state;
    struct schema_error errors[MAX_ERRORS];
    struct schema_registry *reg;
    struct schema *meta;
    json_t *meta_doc;
    struct stat st;
    char path[PATH_MAX];
    int bad = 0;

    snprintf(path, sizeof(path), "%s/meta/draft-07.schema.json", schemas_dir);
    if (stat(path, &st) != 0)
        skip();
    reg = registry();
    meta = compile(reg, "meta/draft-07.schema.json", &meta_doc);
    assert_non_null(meta);
    for (int i = 0; i < c->schemas.n; i++) {
        json_t *doc = load_json(c->schemas.v[i]);
        int n = schema_validate(meta, doc, errors, MAX_ERRORS);

        if (n != 0) {
            print_error("%s: %d error(s) against the draft-07 meta-schema\n", c->schemas.v[i], n);
            print_errors(c->schemas.v[i], errors, n);
            bad++;
        }
        json_decref(doc);
    }
    schema_free(meta);
    json_decref(meta_doc);
    schema_registry_free(reg);
    assert_int_equal(bad, 0);
}

/* The schema file of an examples folder: "sensor.waterlevel" -> sensor/waterlevel,
 * "alert" -> alert. */
static void schema_of(const char *folder, char *rel, size_t size)
{
    char *dot;

    snprintf(rel, size, "%s.schema.json", folder);
    dot = strchr(rel, '.');
    if (dot && dot < rel + strlen(folder))
        *dot = '/';
}

/* Checks the examples of one folder against their schema. Returns the mismatches. */
static int check_examples(struct schema_registry *reg, const char *folder)
{
    char rel[PATH_MAX], dir[PATH_MAX];
    struct schema_error errors[MAX_ERRORS];
    struct names files = {0};
    int valid = 0, invalid = 0, bad = 0;
    struct dirent *e;
    struct schema *s;
    json_t *doc;
    DIR *d;

    schema_of(folder, rel, sizeof(rel));
    if (!(s = compile(reg, rel, &doc)))
        return 1;
    snprintf(dir, sizeof(dir), "%s/examples/%s", schemas_dir, folder);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            names_add(&files, e->d_name);
    closedir(d);
    qsort(files.v, (size_t)files.n, sizeof(files.v[0]), compare_names);

    for (int i = 0; i < files.n; i++) {
        const char *name = files.v[i];
        bool want_valid = starts_with(name, "valid-");
        char ex[PATH_MAX];
        json_t *instance;
        int n;

        if (!(want_valid || starts_with(name, "invalid-")) || !ends_with(name, ".json")) {
            print_error("examples/%s/%s: name is neither valid-*.json nor invalid-*.json\n", folder,
                        name);
            bad++;
            continue;
        }
        snprintf(ex, sizeof(ex), "examples/%s/%s", folder, name);
        instance = load_json(ex);
        n = schema_validate(s, instance, errors, MAX_ERRORS);
        if (want_valid) {
            valid++;
            if (n != 0) {
                print_error("%s: %d error(s), expected valid\n", ex, n);
                print_errors(name, errors, n);
                bad++;
            }
        } else {
            invalid++;
            if (n == 0) {
                print_error("%s: valid, expected invalid\n", ex);
                bad++;
            } else {
                /* The reason, to compare with the name. */
                print_errors(ex, errors, n);
            }
        }
        json_decref(instance);
    }
    /* The schema's own "examples" are valid too. */
    for (size_t i = 0; i < json_array_size(json_object_get(doc, "examples")); i++) {
        int n = schema_validate(s, json_array_get(json_object_get(doc, "examples"), i), errors,
                                MAX_ERRORS);
        if (n != 0) {
            print_error("%s: examples[%zu]: %d error(s), expected valid\n", rel, i, n);
            print_errors(rel, errors, n);
            bad++;
        }
    }
    if (valid < MIN_VALID || invalid < MIN_INVALID) {
        print_error("examples/%s: %d valid and %d invalid, expected at least %d and %d\n", folder,
                    valid, invalid, MIN_VALID, MIN_INVALID);
        bad++;
    }
    print_message("examples/%s: %d valid, %d invalid, %d not as named\n", folder, valid, invalid,
                  bad);
    names_clear(&files);
    schema_free(s);
    json_decref(doc);
    return bad;
}

/* Every schema has an examples folder, and every example is what its name says. */
static void schemas_examples_as_named(void **state)
{
    struct contract *c = *state;
    struct schema_registry *reg = registry();
    int bad = 0;

    for (int i = 0; i < c->schemas.n; i++) {
        char folder[PATH_MAX], path[PATH_MAX];
        struct stat st;
        char *slash;

        snprintf(folder, sizeof(folder), "%s", c->schemas.v[i]);
        folder[strlen(folder) - strlen(".schema.json")] = '\0';
        slash = strchr(folder, '/');
        if (slash)
            *slash = '.';
        snprintf(path, sizeof(path), "%s/examples/%s", schemas_dir, folder);
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            print_error("%s: no examples in examples/%s/\n", c->schemas.v[i], folder);
            bad++;
            continue;
        }
        bad += check_examples(reg, folder);
    }
    schema_registry_free(reg);
    assert_int_equal(bad, 0);
}

/* The examples of asyncapi.yaml's messages match the schema file of their payload. */
static void schemas_asyncapi_examples_valid(void **state)
{
    struct contract *c = *state;
    yaml_document_t *doc = &c->api;
    yaml_node_t *messages = doc_yaml_at(doc, "/components/messages");
    struct schema_registry *reg = registry();
    struct schema_error errors[MAX_ERRORS];
    int checked = 0, bad = 0;

    assert_non_null(messages);
    assert_int_equal(messages->type, YAML_MAPPING_NODE);
    for (yaml_node_pair_t *p = messages->data.mapping.pairs.start;
         p < messages->data.mapping.pairs.top; p++) {
        const char *name = doc_yaml_scalar(yaml_document_get_node(doc, p->key));
        yaml_node_t *msg = yaml_document_get_node(doc, p->value);
        const char *ref =
            doc_yaml_scalar(doc_yaml_get(doc, doc_yaml_get(doc, msg, "payload"), "$ref"));
        yaml_node_t *examples = doc_yaml_get(doc, msg, "examples");
        struct schema *s;
        json_t *schema_doc;

        if (!ref || strchr(ref, '#') || !examples || examples->type != YAML_SEQUENCE_NODE)
            continue;
        if (!(s = compile(reg, starts_with(ref, "./") ? ref + 2 : ref, &schema_doc))) {
            bad++;
            continue;
        }
        for (yaml_node_item_t *i = examples->data.sequence.items.start;
             i < examples->data.sequence.items.top; i++) {
            json_t *payload = doc_yaml_to_json(
                doc, doc_yaml_get(doc, yaml_document_get_node(doc, *i), "payload"));
            int n;

            assert_non_null(payload);
            n = schema_validate(s, payload, errors, MAX_ERRORS);
            if (n != 0) {
                print_error("asyncapi.yaml: message %s: an example does not match %s\n", name, ref);
                print_errors(name, errors, n);
                bad++;
            }
            checked++;
            json_decref(payload);
        }
        schema_free(s);
        json_decref(schema_doc);
    }
    schema_registry_free(reg);
    print_message("asyncapi.yaml: %d message examples checked\n", checked);
    assert_int_equal(bad, 0);
    assert_true(checked >= 13);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schemas_asyncapi_refs_resolve),
        cmocka_unit_test(schemas_all_referenced),
        cmocka_unit_test(schemas_match_metaschema),
        cmocka_unit_test(schemas_examples_as_named),
        cmocka_unit_test(schemas_asyncapi_examples_valid),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: %s SCHEMAS_DIR\n", argv[0]);
        return 2;
    }
    schemas_dir = argv[1];
    return cmocka_run_group_tests_name("schemas", tests, setup, teardown);
}
