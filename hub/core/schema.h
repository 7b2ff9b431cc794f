// SPDX-License-Identifier: MIT
/*
 * JSON Schema draft-07 validation on jansson values. A schema document is compiled
 * once into a tree (keywords parsed, regular expressions compiled, $ref resolved
 * to their targets); validating an instance walks that tree and allocates nothing
 * beyond what jansson itself needs.
 *
 * Documents referenced by absolute URI ($ref to another document, or $id'd
 * subschemas) are looked up in a schema_registry: documents added to it by URI, and
 * folders that stand for a URI prefix (e.g. http://localhost:1234/ -> a local
 * folder). Nothing is ever fetched from the network.
 */
#ifndef RHEINHUB_SCHEMA_H
#define RHEINHUB_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define SCHEMA_POINTER_MAX 256
#define SCHEMA_KEYWORD_MAX 32
#define SCHEMA_MESSAGE_MAX 256

/* One validation error. */
struct schema_error {
    char pointer[SCHEMA_POINTER_MAX];  /* JSON pointer into the instance, "" for the root */
    char keyword[SCHEMA_KEYWORD_MAX];  /* the failing keyword, e.g. "required", "maximum" */
    char message[SCHEMA_MESSAGE_MAX];  /* readable, e.g. "value 900 is above the maximum 800" */
};

struct schema_registry;
struct schema;

/* Returns a new, empty registry, or NULL with errno set. */
struct schema_registry *schema_registry_new(void);
/* Frees the registry and every document and compiled schema it holds. */
void schema_registry_free(struct schema_registry *reg);

/*
 * Makes every URI starting with prefix resolve to the file at dir + the rest of the
 * URI (e.g. "http://localhost:1234/" -> "/usr/share/json-schema-test-suite/remotes/").
 * Returns 0, or a negative errno.
 */
int schema_registry_map(struct schema_registry *reg, const char *prefix, const char *dir);

/*
 * Adds a document under uri (its $id, if any, is registered too). The registry takes
 * a reference of doc. Returns 0, or a negative errno.
 */
int schema_registry_add(struct schema_registry *reg, const char *uri, json_t *doc);

/*
 * Compiles doc (a schema: an object or a boolean) with base URI base_uri (may be
 * NULL), resolving every $ref through reg (which must outlive the result).
 * Returns the schema, or NULL with a readable reason (with the JSON pointer of the
 * offending place in the schema) written to err.
 */
struct schema *schema_compile(struct schema_registry *reg, json_t *doc, const char *base_uri,
                              char *err, size_t err_size);

/* Frees a compiled schema. Accepts NULL. */
void schema_free(struct schema *s);

/*
 * Validates instance against s. Returns the number of errors found (0: valid),
 * stopping after max_errors; the first min(n, max_errors) are written to errors
 * (which may be NULL when max_errors is 0: then only validity is decided, fastest).
 */
int schema_validate(const struct schema *s, const json_t *instance, struct schema_error *errors,
                    int max_errors);

#endif
