// SPDX-License-Identifier: MIT
/*
 * The compiled form of a JSON Schema, shared by the compiler (schema.c) and the
 * validator (schema_validate.c) and by nothing else. One schema_node per subschema
 * (per JSON value in schema position that is reachable from the root, its
 * definitions or a $ref); $ref is resolved to the target node, so the tree is a
 * graph that may have cycles through keywords that consume instance data
 * (properties, items, ...), never through in-place ones (see schema.c).
 *
 * Nodes borrow every json_t they point at (enum and const values, limits, names)
 * from the schema documents, which the compiled schema and the registry keep alive.
 */
#ifndef RHEINHUB_SCHEMA_TREE_H
#define RHEINHUB_SCHEMA_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "schema.h"
#include "schema_format.h"
#include "schema_regex.h"

/* Nesting of subschemas applied to one instance before validation gives up. */
#define SCHEMA_DEPTH_MAX 256
/*
 * Subschema applications per validation before it gives up (recursive $ref fanning
 * out through anyOf and the like). The fuzzers build with a smaller one, to stay fast.
 */
#ifndef SCHEMA_STEPS_MAX
#define SCHEMA_STEPS_MAX (1L << 22)
#endif

/* The "type" keyword's names, as bits. */
#define SCHEMA_TYPE_MAP(X)                                                                         \
    X(NULL, "null")                                                                                \
    X(BOOLEAN, "boolean")                                                                          \
    X(OBJECT, "object")                                                                            \
    X(ARRAY, "array")                                                                              \
    X(NUMBER, "number")                                                                            \
    X(STRING, "string")                                                                            \
    X(INTEGER, "integer")

enum schema_type_index {
#define SCHEMA_TYPE_INDEX(name, text) SCHEMA_TYPE_INDEX_##name,
    SCHEMA_TYPE_MAP(SCHEMA_TYPE_INDEX)
#undef SCHEMA_TYPE_INDEX
        SCHEMA_TYPE_COUNT
};

enum node_kind {
    NODE_TRUE,   /* the schema true: everything is valid */
    NODE_FALSE,  /* the schema false: nothing is */
    NODE_REF,    /* {"$ref": ...}: only ref applies (draft-07 ignores siblings) */
    NODE_SCHEMA, /* an object with keywords */
};

/* Which groups of keywords a node has, so that the validator skips the others. */
enum node_has {
    HAS_NUMBER = 1 << 0,
    HAS_STRING = 1 << 1,
    HAS_ARRAY = 1 << 2,
    HAS_OBJECT = 1 << 3,
    HAS_COMBINE = 1 << 4, /* allOf, anyOf, oneOf, not, if */
};

#define SCHEMA_UNLIMITED (-1LL)

struct schema_node;

struct schema_node_list {
    struct schema_node **v;
    size_t n;
};

struct schema_prop {
    const char *name; /* borrowed key of the schema's "properties" object */
    size_t len;
    struct schema_node *node;
};

struct schema_pattern_prop {
    struct schema_regex *re;
    struct schema_node *node;
};

struct schema_dependency {
    const char *name;
    size_t len;
    struct schema_node *node; /* the schema form, or NULL */
    const json_t *required;   /* the array form: property names, or NULL */
};

struct schema_node {
    enum node_kind kind;
    unsigned has;            /* enum node_has */
    size_t index;            /* position in the schema's node list */
    char *where;             /* the node's location, e.g. "#/properties/a", for messages */
    struct schema_node *ref; /* NODE_REF */

    unsigned types; /* 1 << enum schema_type_index; 0: any type */
    const json_t *enum_values;
    const json_t *const_value;

    /* numbers: the schema's values, NULL when absent */
    const json_t *minimum, *maximum, *exclusive_minimum, *exclusive_maximum, *multiple_of;

    /* strings */
    long long min_length, max_length; /* in code points; SCHEMA_UNLIMITED when absent */
    struct schema_regex *pattern;
    enum schema_format format;

    /* arrays */
    struct schema_node *items;         /* "items" as one schema */
    struct schema_node_list item_list; /* "items" as an array of schemas */
    bool items_is_list;
    struct schema_node *additional_items;
    struct schema_node *contains;
    long long min_items, max_items;
    bool unique_items;

    /* objects */
    struct schema_prop *props; /* sorted by name (bytes, then length) */
    size_t n_props;
    struct schema_pattern_prop *pattern_props;
    size_t n_pattern_props;
    struct schema_node *additional_properties;
    struct schema_node *property_names;
    const json_t *required; /* array of strings */
    struct schema_dependency *deps;
    size_t n_deps;
    long long min_properties, max_properties;

    /* in place */
    struct schema_node_list all_of, any_of, one_of;
    struct schema_node *not_schema, *if_schema, *then_schema, *else_schema;
};

struct schema {
    struct schema_node *root;
    struct schema_node **nodes; /* every node, owned */
    size_t n_nodes;
    json_t *doc; /* a reference to the compiled document */
};

#endif
