// SPDX-License-Identifier: MIT
/*
 * Internal to the schema compiler (schema.c) and the registry (schema_registry.c):
 * the index of identifiers (URIs of documents, $id and plain-name fragments) that
 * $ref is resolved against, and the registry calls the compiler needs. Not for use
 * outside hub/core/schema*.c.
 */
#ifndef RHEINHUB_SCHEMA_IDS_H
#define RHEINHUB_SCHEMA_IDS_H

#include <stddef.h>

#include <jansson.h>

#include "schema.h"

/* One identifier: a URI (a document, an $id, or an $id's plain-name fragment). */
struct id_entry {
    char *uri;        /* absolute where the document has a base; the lookup key */
    json_t *json;     /* borrowed: the subschema it names */
    char *outer_base; /* the base URI in effect around json (before its own $id) */
    char *where;      /* prefix of locations inside it, e.g. "http://x/y.json" or "" */
};

struct id_index {
    struct id_entry *v;
    size_t n, cap;
};

/* Keywords whose value is one schema, an object of schemas, an array of schemas. */
extern const char *const schema_keywords_one[];
extern const size_t schema_keywords_one_n;
extern const char *const schema_keywords_map[];
extern const size_t schema_keywords_map_n;
extern const char *const schema_keywords_list[];
extern const size_t schema_keywords_list_n;

/* Grows *v (of *cap elements of size) to hold at least n + 1. Returns 0 or -ENOMEM. */
int schema_grow(void **v, size_t *cap, size_t n, size_t size);

/* The entry for uri (absolute, as indexed), or NULL. */
const struct id_entry *schema_ids_find(const struct id_index *ix, const char *uri);
/* Frees what the index holds (not the documents) and empties it. */
void schema_ids_close(struct id_index *ix);
/*
 * Indexes the document doc retrieved from uri (no fragment; "" for none): the
 * document itself and every identifier inside it. Returns 0 or -ENOMEM.
 */
int schema_ids_index_document(struct id_index *ix, json_t *doc, const char *uri,
                              const char *where);

/*
 * The base URI inside s (an object in schema position) given the one around it:
 * changed by a string $id unless $ref makes draft-07 ignore it. Returns a new string,
 * or NULL when out of memory.
 */
char *schema_inner_base(const json_t *s, const char *outer);

/* The registry's entry for uri, or NULL. reg may be NULL. */
const struct id_entry *schema_registry_find(const struct schema_registry *reg, const char *uri);
/*
 * Loads the document at uri (no fragment) from the folder mapped to the longest
 * prefix of uri and adds it to the registry. Returns 0, -ENOENT when no mapping
 * applies, or another negative errno with the reason in err.
 */
int schema_registry_load(struct schema_registry *reg, const char *uri, char *err,
                         size_t err_size);

#endif
