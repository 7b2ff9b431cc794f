// SPDX-License-Identifier: MIT
/*
 * Internal to the schema compiler: its state, shared by schema.c (the work queue and
 * the keywords), schema_ref.c ($ref resolution) and schema_cycles.c (the check for
 * schemas that apply themselves without end). Not for use outside hub/core/schema*.c.
 */
#ifndef RHEINHUB_SCHEMA_COMPILER_H
#define RHEINHUB_SCHEMA_COMPILER_H

#include <stddef.h>

#include <jansson.h>

#include "schema.h"
#include "schema_ids.h"
#include "schema_tree.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A node reached but not yet processed, or one known: keyed by (json, outer_base). */
struct memo_slot {
    json_t *json;
    const char *outer_base; /* owned by the work item of the node */
    struct schema_node *node;
};

struct work {
    struct schema_node *node;
    json_t *json;
    char *outer_base;
};

struct compiler {
    struct schema_registry *reg; /* may be NULL */
    struct schema *s;
    struct id_index local; /* identifiers of the compiled document */
    struct memo_slot *memo;
    size_t memo_mask, memo_n;
    struct work *work;
    size_t work_head, work_n, work_cap;
    char *err;
    size_t err_size;
};

/* Records the first error, at location where (a JSON pointer; "" for the root). */
__attribute__((format(printf, 3, 4))) void schema_fail(struct compiler *c, const char *where,
                                                       const char *fmt, ...);
void schema_fail_nomem(struct compiler *c);

/*
 * The node for the subschema json, with outer the base URI around it and where its
 * location: the known one, or a new one queued for processing. Returns NULL (with
 * the error set) when json is not a schema or memory runs out.
 */
struct schema_node *schema_get_node(struct compiler *c, json_t *json, const char *outer,
                                    const char *where);

/*
 * Resolves the $ref text ref, found at where with base URI base, to its node
 * (through the document's identifiers, then the registry). NULL with the error set.
 */
struct schema_node *schema_resolve_ref(struct compiler *c, const char *ref, const char *base,
                                       const char *where);

/*
 * Rejects a cycle of in-place subschemas: a schema that applies itself to the same
 * value without end. Returns 0 or -1 with the error set.
 */
int schema_check_cycles(struct compiler *c);

#endif
