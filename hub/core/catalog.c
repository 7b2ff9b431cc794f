// SPDX-License-Identifier: MIT
/*
 * Catalog loading. The registry maps the project's $id prefix to the folder, so that
 * schemas may $ref each other without any network; the draft-07 metaschema is built
 * into every registry (schema_registry.c). Types are kept sorted for a binary search
 * on the hot path.
 */
#include "catalog.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "topic.h"

#define SCHEMA_SUFFIX ".schema.json"

struct catalog_entry {
    char event_type[TOPIC_EVENT_TYPE_MAX + 1];
    struct schema *schema;
};

struct catalog {
    struct schema_registry *reg;
    struct catalog_entry entries[CATALOG_TYPES_MAX];
    size_t n;
};

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct catalog_entry *)a)->event_type,
                  ((const struct catalog_entry *)b)->event_type);
}

void catalog_free(struct catalog *cat)
{
    if (!cat)
        return;
    for (size_t i = 0; i < cat->n; i++)
        schema_free(cat->entries[i].schema);
    schema_registry_free(cat->reg);
    free(cat);
}

/* [a-z][a-z0-9_]* of at most TOPIC_TYPE_MAX: what a topic's type level may be. */
static bool type_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > TOPIC_TYPE_MAX || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static bool load_one(struct catalog *cat, const char *dir, const char *category,
                     const char *file, FILE *err)
{
    char path[4096], uri[4096], reason[512];
    size_t n = strlen(file) - strlen(SCHEMA_SUFFIX);
    struct catalog_entry *e;
    json_error_t jerr;
    json_t *doc;

    snprintf(path, sizeof(path), "%s/%s/%s", dir, category, file);
    if (!type_name_ok(file, n)) {
        fprintf(err, "%s: the file name must be <type>.schema.json with type [a-z][a-z0-9_]*\n",
                path);
        return false;
    }
    if (cat->n == CATALOG_TYPES_MAX) {
        fprintf(err, "%s: more than %d event types\n", path, CATALOG_TYPES_MAX);
        return false;
    }
    if (!(doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr))) {
        fprintf(err, "%s:%d: %s\n", path, jerr.line, jerr.text);
        return false;
    }
    snprintf(uri, sizeof(uri), "%s%s/%s", CATALOG_ID_PREFIX, category, file);
    e = &cat->entries[cat->n];
    snprintf(e->event_type, sizeof(e->event_type), "%s.%.*s", category, (int)n, file);
    if (schema_registry_add(cat->reg, uri, doc) < 0 ||
        !(e->schema = schema_compile(cat->reg, doc, uri, reason, sizeof(reason)))) {
        if (!e->schema)
            fprintf(err, "%s: %s\n", path, reason);
        else
            fprintf(err, "%s: cannot register the schema\n", path);
        json_decref(doc);
        return false;
    }
    json_decref(doc);
    cat->n++;
    return true;
}

struct catalog *catalog_load(const char *dir, FILE *err)
{
    static const char *const categories[] = {"sensor", "service", "citizen"};
    struct catalog *cat = calloc(1, sizeof(*cat));
    char path[4096];
    bool ok = true;

    if (!cat || !(cat->reg = schema_registry_new())) {
        free(cat);
        errno = ENOMEM;
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/", dir);
    schema_registry_map(cat->reg, CATALOG_ID_PREFIX, path);
    for (size_t c = 0; c < sizeof(categories) / sizeof(categories[0]); c++) {
        struct dirent **names;
        int count;

        snprintf(path, sizeof(path), "%s/%s", dir, categories[c]);
        count = scandir(path, &names, NULL, alphasort);
        if (count < 0) {
            if (errno != ENOENT) {
                fprintf(err, "%s: %s\n", path, strerror(errno));
                ok = false;
            }
            continue;
        }
        for (int i = 0; i < count; i++) {
            const char *name = names[i]->d_name;
            size_t len = strlen(name);
            if (len > strlen(SCHEMA_SUFFIX) &&
                strcmp(name + len - strlen(SCHEMA_SUFFIX), SCHEMA_SUFFIX) == 0)
                ok &= load_one(cat, dir, categories[c], name, err);
            free(names[i]);
        }
        free(names);
    }
    if (ok && cat->n == 0) {
        fprintf(err, "%s: no schemas found (expected <category>/<type>.schema.json)\n", dir);
        ok = false;
    }
    if (!ok) {
        catalog_free(cat);
        errno = EINVAL;
        return NULL;
    }
    qsort(cat->entries, cat->n, sizeof(cat->entries[0]), entry_cmp);
    return cat;
}

const struct schema *catalog_find(const struct catalog *cat, const char *event_type)
{
    size_t lo = 0, hi = cat->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(event_type, cat->entries[mid].event_type);
        if (c == 0)
            return cat->entries[mid].schema;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t catalog_size(const struct catalog *cat)
{
    return cat->n;
}

const char *catalog_type(const struct catalog *cat, size_t i)
{
    return cat->entries[i].event_type;
}
