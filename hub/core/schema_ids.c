// SPDX-License-Identifier: MIT
/*
 * The index of identifiers a $ref is resolved against: every document by its URI,
 * and inside it every $id (and plain-name fragment "#foo") with the base URI around
 * it. Used for the document being compiled (schema.c) and for the registry's
 * documents (schema_registry.c).
 */
#include "schema_ids.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "schema_uri.h"

/* Schema nesting the identifier index walks before it gives up. */
#define INDEX_DEPTH_MAX 4096

int schema_grow(void **v, size_t *cap, size_t n, size_t size)
{
    void *nv;
    size_t ncap;

    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    if (!(nv = realloc(*v, ncap * size)))
        return -ENOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

const struct id_entry *schema_ids_find(const struct id_index *ix, const char *uri)
{
    for (size_t i = 0; i < ix->n; i++)
        if (strcmp(ix->v[i].uri, uri) == 0)
            return &ix->v[i];
    return NULL;
}

/* Adds uri -> json unless uri is known already (the first one wins). */
static int ids_add(struct id_index *ix, const char *uri, json_t *json, const char *outer_base,
                   const char *where)
{
    struct id_entry *e;

    if (schema_ids_find(ix, uri))
        return 0;
    if (schema_grow((void **)&ix->v, &ix->cap, ix->n, sizeof(*ix->v)) < 0)
        return -ENOMEM;
    e = &ix->v[ix->n];
    e->json = json;
    e->uri = strdup(uri);
    e->outer_base = strdup(outer_base);
    e->where = strdup(where);
    if (!e->uri || !e->outer_base || !e->where) {
        free(e->uri);
        free(e->outer_base);
        free(e->where);
        return -ENOMEM;
    }
    ix->n++;
    return 0;
}

void schema_ids_close(struct id_index *ix)
{
    for (size_t i = 0; i < ix->n; i++) {
        free(ix->v[i].uri);
        free(ix->v[i].outer_base);
        free(ix->v[i].where);
    }
    free(ix->v);
    memset(ix, 0, sizeof(*ix));
}

const char *const schema_keywords_one[] = {
    "additionalItems",
    "additionalProperties",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
};
/* dependencies: where not an array. */
const char *const schema_keywords_map[] = {
    "properties",
    "patternProperties",
    "definitions",
    "dependencies",
};
/* items: or one schema. */
const char *const schema_keywords_list[] = {"allOf", "anyOf", "oneOf", "items"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const size_t schema_keywords_one_n = COUNT(schema_keywords_one);
const size_t schema_keywords_map_n = COUNT(schema_keywords_map);
const size_t schema_keywords_list_n = COUNT(schema_keywords_list);

char *schema_inner_base(const json_t *s, const char *outer)
{
    const json_t *id = json_object_get(s, "$id");
    char *abs;

    if (!json_is_string(id) || json_object_get(s, "$ref") || json_string_value(id)[0] == '#')
        return strdup(outer);
    if (!(abs = schema_uri_resolve(outer, json_string_value(id))))
        return NULL;
    abs[schema_uri_strip_fragment(abs)] = '\0';
    return abs;
}

/*
 * Records the identifiers ($id, and plain-name fragments) in s and below it, s
 * being in schema position with outer the base URI around it. Values of unknown
 * keywords, enum and const are not schemas: their $id are not identifiers.
 */
static int index_walk(struct id_index *ix, json_t *s, const char *outer, const char *where,
                      int depth)
{
    const json_t *id;
    char *base, *abs = NULL;
    int rc = 0;

    if (!json_is_object(s) || depth > INDEX_DEPTH_MAX)
        return 0;
    id = json_object_get(s, "$id");
    if (json_is_string(id) && !json_object_get(s, "$ref")) {
        size_t k;

        if (!(abs = schema_uri_resolve(outer, json_string_value(id))))
            return -ENOMEM;
        k = schema_uri_strip_fragment(abs);
        if (abs[k] == '#' && abs[k + 1] != '\0' && abs[k + 1] != '/')
            rc = ids_add(ix, abs, s, outer, where);
        if (rc == 0 && json_string_value(id)[0] != '#') {
            abs[k] = '\0';
            rc = ids_add(ix, abs, s, outer, abs);
        }
        free(abs);
        if (rc < 0)
            return rc;
    }
    if (!(base = schema_inner_base(s, outer)))
        return -ENOMEM;
    for (size_t i = 0; rc == 0 && i < schema_keywords_one_n; i++)
        rc = index_walk(ix, json_object_get(s, schema_keywords_one[i]), base, where, depth + 1);
    for (size_t i = 0; rc == 0 && i < schema_keywords_map_n; i++) {
        json_t *map = json_object_get(s, schema_keywords_map[i]), *v;
        const char *key;

        if (json_is_object(map))
            json_object_foreach(map, key, v) {
                if ((rc = index_walk(ix, v, base, where, depth + 1)) < 0)
                    break;
            }
    }
    for (size_t i = 0; rc == 0 && i < schema_keywords_list_n; i++) {
        json_t *list = json_object_get(s, schema_keywords_list[i]), *v;
        size_t j;

        if (json_is_array(list))
            json_array_foreach(list, j, v) {
                if ((rc = index_walk(ix, v, base, where, depth + 1)) < 0)
                    break;
            }
        else
            rc = index_walk(ix, list, base, where, depth + 1);
    }
    free(base);
    return rc;
}

int schema_ids_index_document(struct id_index *ix, json_t *doc, const char *uri,
                              const char *where)
{
    int rc = ids_add(ix, uri, doc, uri, where);

    return rc < 0 ? rc : index_walk(ix, doc, uri, where, 0);
}
