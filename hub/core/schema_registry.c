// SPDX-License-Identifier: MIT
/*
 * The schema registry: the documents a $ref may name outside the schema being
 * compiled. It holds documents added by URI, folders that stand for a URI prefix
 * (loaded on first use), and, built in, the draft-07 meta-schema under
 * http://json-schema.org/draft-07/schema (the text of
 * schemas/meta/draft-07.schema.json, compiled into the library).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "schema_ids.h"
#include "schema_meta.h"
#include "schema_uri.h"

struct folder_map {
    char *prefix;
    char *dir;
};

struct schema_registry {
    struct folder_map *maps;
    size_t n_maps;
    json_t **docs; /* references held */
    size_t n_docs;
    struct id_index ids;
};

struct schema_registry *schema_registry_new(void)
{
    struct schema_registry *reg = calloc(1, sizeof(*reg));
    json_error_t jerr;
    json_t *meta;
    int rc;

    if (!reg) {
        errno = ENOMEM;
        return NULL;
    }
    /* The draft's own meta-schema, known without a file or a network (built in). */
    if (!(meta = json_loads(schema_meta_draft07, 0, &jerr))) {
        schema_registry_free(reg);
        errno = ENOMEM; /* the text is ours and valid: only memory can fail here */
        return NULL;
    }
    rc = schema_registry_add(reg, SCHEMA_META_DRAFT07_URI, meta);
    json_decref(meta);
    if (rc < 0) {
        schema_registry_free(reg);
        errno = -rc;
        return NULL;
    }
    return reg;
}

const struct id_entry *schema_registry_find(const struct schema_registry *reg, const char *uri)
{
    return reg ? schema_ids_find(&reg->ids, uri) : NULL;
}

void schema_registry_free(struct schema_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n_maps; i++) {
        free(reg->maps[i].prefix);
        free(reg->maps[i].dir);
    }
    free(reg->maps);
    for (size_t i = 0; i < reg->n_docs; i++)
        json_decref(reg->docs[i]);
    free(reg->docs);
    schema_ids_close(&reg->ids);
    free(reg);
}

int schema_registry_map(struct schema_registry *reg, const char *prefix, const char *dir)
{
    struct folder_map *maps = realloc(reg->maps, (reg->n_maps + 1) * sizeof(*maps));

    if (!maps)
        return -ENOMEM;
    reg->maps = maps;
    maps[reg->n_maps].prefix = strdup(prefix);
    maps[reg->n_maps].dir = strdup(dir);
    if (!maps[reg->n_maps].prefix || !maps[reg->n_maps].dir) {
        free(maps[reg->n_maps].prefix);
        free(maps[reg->n_maps].dir);
        return -ENOMEM;
    }
    reg->n_maps++;
    return 0;
}

int schema_registry_add(struct schema_registry *reg, const char *uri, json_t *doc)
{
    char *key;
    json_t **docs;
    int rc;

    if (!doc)
        return -EINVAL;
    if (!(key = strndup(uri, schema_uri_strip_fragment(uri))))
        return -ENOMEM;
    if (schema_ids_find(&reg->ids, key)) {
        free(key);
        return -EEXIST;
    }
    if (!(docs = realloc(reg->docs, (reg->n_docs + 1) * sizeof(*docs)))) {
        free(key);
        return -ENOMEM;
    }
    reg->docs = docs;
    docs[reg->n_docs++] = json_incref(doc);
    rc = schema_ids_index_document(&reg->ids, doc, key, key);
    free(key);
    return rc;
}

int schema_registry_load(struct schema_registry *reg, const char *uri, char *err, size_t err_size)
{
    const struct folder_map *map = NULL;
    char *rest = NULL, *path = NULL;
    size_t rest_n, plen = 0;
    json_error_t jerr;
    json_t *doc;
    int rc;

    for (size_t i = 0; reg && i < reg->n_maps; i++) {
        size_t n = strlen(reg->maps[i].prefix);

        if (strncmp(uri, reg->maps[i].prefix, n) == 0 && (!map || n > plen)) {
            map = &reg->maps[i];
            plen = n;
        }
    }
    if (!map)
        return -ENOENT;
    if (!(rest = schema_uri_decode(uri + plen, strlen(uri + plen), &rest_n)))
        return -ENOMEM;
    /* Stay inside the folder: no NUL, no query, no ".." segment. */
    if (strlen(rest) != rest_n || strchr(rest, '?') || strcmp(rest, "..") == 0 ||
        strncmp(rest, "../", 3) == 0 || strstr(rest, "/../") ||
        (rest_n >= 3 && strcmp(rest + rest_n - 3, "/..") == 0)) {
        snprintf(err, err_size, "\"%s\" leaves the folder it is mapped to", uri);
        free(rest);
        return -EINVAL;
    }
    if (asprintf(&path, "%s%s", map->dir, rest) < 0) {
        free(rest);
        return -ENOMEM;
    }
    free(rest);
    if (!(doc = json_load_file(path, JSON_DECODE_ANY, &jerr))) {
        snprintf(err, err_size, "cannot load \"%s\" from %s: %s", uri, path, jerr.text);
        free(path);
        return -EINVAL;
    }
    free(path);
    rc = schema_registry_add(reg, uri, doc);
    json_decref(doc);
    if (rc < 0)
        snprintf(err, err_size, "cannot add \"%s\": %s", uri, strerror(-rc));
    return rc;
}
