// SPDX-License-Identifier: MIT
/*
 * The compiler of JSON Schema draft-07 documents into schema_node graphs
 * (schema_tree.h). The registry of other documents is schema_registry.c, the index
 * of identifiers schema_ids.c, validation schema_validate.c.
 *
 * Compiling walks the document without recursion: each subschema becomes a node
 * when it is first reached (from its parent, from "definitions", or as a $ref
 * target) and is put on a work queue; processing a node parses its keywords and
 * reaches its children. A node is keyed by its JSON value and the base URI in
 * effect around it, so "#" and other recursive references reuse the node being
 * compiled instead of recursing. $ref targets are found by schema_ref.c; last,
 * schema_cycles.c rejects a schema that would apply itself without end.
 */
#include "schema.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_compiler.h"
#include "schema_ids.h"
#include "schema_tree.h"
#include "schema_uri.h"

void schema_fail(struct compiler *c, const char *where, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (c->err[0])
        return; /* the first error is the one reported */
    n = snprintf(c->err, c->err_size, "%s: ", where[0] ? where : "#");
    if (n < 0 || (size_t)n >= c->err_size)
        return;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->err_size - (size_t)n, fmt, ap);
    va_end(ap);
}

void schema_fail_nomem(struct compiler *c)
{
    snprintf(c->err, c->err_size, "out of memory");
}

/* where + "/" + key with "~" and "/" escaped (RFC 6901). Returns NULL when out of memory. */
static char *where_child(const char *where, const char *key, size_t len)
{
    size_t n = strlen(where), o;
    char *s = malloc(n + 2 * len + 2);

    if (!s)
        return NULL;
    memcpy(s, where, n);
    o = n;
    s[o++] = '/';
    for (size_t i = 0; i < len; i++) {
        if (key[i] == '~' || key[i] == '/') {
            s[o++] = '~';
            s[o++] = key[i] == '~' ? '0' : '1';
        } else {
            s[o++] = key[i] ? key[i] : '0';
        }
    }
    s[o] = '\0';
    return s;
}

static size_t hash_ptr(const void *p)
{
    size_t h = (size_t)p;

    h ^= h >> 17;
    h *= (size_t)0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

static struct memo_slot *memo_find(struct compiler *c, const json_t *json, const char *outer)
{
    for (size_t i = hash_ptr(json) & c->memo_mask;; i = (i + 1) & c->memo_mask) {
        struct memo_slot *m = &c->memo[i];

        if (!m->json || (m->json == json && strcmp(m->outer_base, outer) == 0))
            return m;
    }
}

static int memo_grow(struct compiler *c)
{
    struct memo_slot *old = c->memo;
    size_t old_size = c->memo ? c->memo_mask + 1 : 0, size = old_size ? old_size * 2 : 64;

    if (!(c->memo = calloc(size, sizeof(*c->memo)))) {
        c->memo = old;
        return -ENOMEM;
    }
    c->memo_mask = size - 1;
    for (size_t i = 0; i < old_size; i++)
        if (old[i].json)
            *memo_find(c, old[i].json, old[i].outer_base) = old[i];
    free(old);
    return 0;
}

/*
 * The node for the subschema json, with outer the base URI around it and where its
 * location: the known one, or a new one queued for processing. Returns NULL (with
 * the error set) when json is not a schema or memory runs out.
 */
struct schema_node *schema_get_node(struct compiler *c, json_t *json, const char *outer,
                                    const char *where)
{
    struct schema_node *node, **nodes;
    struct memo_slot *m;
    struct work *w;

    if (!json_is_object(json) && !json_is_boolean(json)) {
        schema_fail(c, where, "a schema must be an object or a boolean");
        return NULL;
    }
    if ((c->memo_n + 1) * 2 > (c->memo ? c->memo_mask + 1 : 0) && memo_grow(c) < 0)
        goto nomem;
    m = memo_find(c, json, outer);
    if (m->json)
        return m->node;
    if (schema_grow((void **)&c->work, &c->work_cap, c->work_n, sizeof(*c->work)) < 0 ||
        !(nodes = realloc(c->s->nodes, (c->s->n_nodes + 1) * sizeof(*nodes))))
        goto nomem;
    c->s->nodes = nodes;
    if (!(node = calloc(1, sizeof(*node))))
        goto nomem;
    if (!(node->where = strdup(where))) {
        free(node);
        goto nomem;
    }
    node->kind = json_is_true(json) ? NODE_TRUE : json_is_false(json) ? NODE_FALSE : NODE_SCHEMA;
    node->index = c->s->n_nodes;
    node->min_length = node->min_items = node->min_properties = SCHEMA_UNLIMITED;
    node->max_length = node->max_items = node->max_properties = SCHEMA_UNLIMITED;
    nodes[c->s->n_nodes++] = node;

    w = &c->work[c->work_n];
    if (!(w->outer_base = strdup(outer)))
        goto nomem; /* the node is owned by the schema already */
    w->node = node;
    w->json = json;
    c->work_n++;
    *m = (struct memo_slot){json, w->outer_base, node};
    c->memo_n++;
    return node;

nomem:
    schema_fail_nomem(c);
    return NULL;
}

/* The node for the subschema at json, found under keyword (and key, if any) of where. */
static struct schema_node *child(struct compiler *c, json_t *json, const char *base,
                                 const char *where, const char *keyword, const char *key,
                                 size_t key_len)
{
    char *w1 = where_child(where, keyword, strlen(keyword)), *w2 = NULL;
    struct schema_node *node = NULL;

    if (w1 && key)
        w2 = where_child(w1, key, key_len);
    if (!w1 || (key && !w2))
        schema_fail_nomem(c);
    else
        node = schema_get_node(c, json, base, key ? w2 : w1);
    free(w1);
    free(w2);
    return node;
}

static struct schema_node *child_index(struct compiler *c, json_t *json, const char *base,
                                       const char *where, const char *keyword, size_t i)
{
    char key[24];

    snprintf(key, sizeof(key), "%zu", i);
    return child(c, json, base, where, keyword, key, strlen(key));
}

/* Parses a list of schemas (allOf, anyOf, oneOf, items). Returns 0 or -1. */
static int schema_list(struct compiler *c, json_t *v, const char *base, const char *where,
                       const char *kw, struct schema_node_list *out)
{
    json_t *item;
    size_t i;

    if (!json_is_array(v) || json_array_size(v) == 0) {
        schema_fail(c, where, "%s must be a non-empty array of schemas", kw);
        return -1;
    }
    if (!(out->v = calloc(json_array_size(v), sizeof(*out->v)))) {
        schema_fail_nomem(c);
        return -1;
    }
    json_array_foreach(v, i, item) {
        if (!(out->v[i] = child_index(c, item, base, where, kw, i)))
            return -1;
        out->n = i + 1;
    }
    return 0;
}

/* A non-negative integer (2.0 counts as 2). Returns 0 or -1. */
static int count_value(struct compiler *c, const json_t *v, const char *where, const char *kw,
                       long long *out)
{
    double d;

    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = json_integer_value(v);
        return 0;
    }
    d = json_is_real(v) ? json_real_value(v) : -1;
    if (d >= 0 && d == floor(d)) {
        *out = d < 9.2e18 ? (long long)d : LLONG_MAX;
        return 0;
    }
    schema_fail(c, where, "%s must be a non-negative integer", kw);
    return -1;
}

static int type_names(struct compiler *c, const json_t *v, const char *where, unsigned *types)
{
    static const char *const names[] = {
#define SCHEMA_TYPE_TEXT(name, text) text,
        SCHEMA_TYPE_MAP(SCHEMA_TYPE_TEXT)
#undef SCHEMA_TYPE_TEXT
    };
    const json_t *item;
    size_t i, n = json_is_array(v) ? json_array_size(v) : 1;

    for (i = 0; i < n; i++) {
        unsigned t;

        item = json_is_array(v) ? json_array_get(v, i) : v;
        for (t = 0; t < SCHEMA_TYPE_COUNT; t++)
            if (json_is_string(item) && strcmp(json_string_value(item), names[t]) == 0)
                break;
        if (t == SCHEMA_TYPE_COUNT) {
            schema_fail(c, where,
                 "type must be a type name (null, boolean, object, array, number, string, "
                 "integer) or a non-empty array of them");
            return -1;
        }
        *types |= 1u << t;
    }
    if (n == 0) {
        schema_fail(c, where, "type must not be an empty array");
        return -1;
    }
    return 0;
}

static int compare_props(const void *a, const void *b)
{
    const struct schema_prop *x = a, *y = b;
    int r = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);

    return r ? r : (x->len > y->len) - (x->len < y->len);
}

static int object_props(struct compiler *c, json_t *v, const char *base, const char *where,
                        struct schema_node *node)
{
    const char *key;
    size_t len;
    json_t *sub;

    if (!json_is_object(v)) {
        schema_fail(c, where, "properties must be an object of schemas");
        return -1;
    }
    if (json_object_size(v) && !(node->props = calloc(json_object_size(v), sizeof(*node->props)))) {
        schema_fail_nomem(c);
        return -1;
    }
    json_object_keylen_foreach(v, key, len, sub) {
        struct schema_prop *p = &node->props[node->n_props];

        if (!(p->node = child(c, sub, base, where, "properties", key, len)))
            return -1;
        p->name = key;
        p->len = len;
        node->n_props++;
    }
    if (node->n_props > 1)
        qsort(node->props, node->n_props, sizeof(*node->props), compare_props);
    return 0;
}

static int pattern_props(struct compiler *c, json_t *v, const char *base, const char *where,
                         struct schema_node *node)
{
    const char *key;
    size_t len;
    json_t *sub;

    if (!json_is_object(v)) {
        schema_fail(c, where, "patternProperties must be an object of schemas");
        return -1;
    }
    if (json_object_size(v) &&
        !(node->pattern_props = calloc(json_object_size(v), sizeof(*node->pattern_props)))) {
        schema_fail_nomem(c);
        return -1;
    }
    json_object_keylen_foreach(v, key, len, sub) {
        struct schema_pattern_prop *p = &node->pattern_props[node->n_pattern_props];
        char why[200];

        if (!(p->re = schema_regex_new(key, len, why, sizeof(why)))) {
            char *w = where_child(where, "patternProperties", 17);

            schema_fail(c, w ? w : where, "invalid regular expression \"%s\": %s", key, why);
            free(w);
            return -1;
        }
        node->n_pattern_props++;
        if (!(p->node = child(c, sub, base, where, "patternProperties", key, len)))
            return -1;
    }
    return 0;
}

static int dependencies(struct compiler *c, json_t *v, const char *base, const char *where,
                        struct schema_node *node)
{
    const char *key;
    size_t len;
    json_t *sub;

    if (!json_is_object(v)) {
        schema_fail(c, where, "dependencies must be an object");
        return -1;
    }
    if (json_object_size(v) && !(node->deps = calloc(json_object_size(v), sizeof(*node->deps)))) {
        schema_fail_nomem(c);
        return -1;
    }
    json_object_keylen_foreach(v, key, len, sub) {
        struct schema_dependency *d = &node->deps[node->n_deps];
        json_t *name;
        size_t i;

        d->name = key;
        d->len = len;
        if (json_is_array(sub)) {
            json_array_foreach(sub, i, name) {
                if (!json_is_string(name)) {
                    char *w = where_child(where, "dependencies", 12);

                    schema_fail(c, w ? w : where,
                         "dependency \"%s\" must be a schema or an array "
                         "of property names",
                         key);
                    free(w);
                    return -1;
                }
            }
            d->required = sub;
        } else if (!(d->node = child(c, sub, base, where, "dependencies", key, len))) {
            return -1;
        }
        node->n_deps++;
    }
    return 0;
}

static int definitions(struct compiler *c, json_t *v, const char *base, const char *where)
{
    const char *key;
    size_t len;
    json_t *sub;

    if (!json_is_object(v)) {
        schema_fail(c, where, "definitions must be an object of schemas");
        return -1;
    }
    json_object_keylen_foreach(v, key, len, sub) {
        if (!child(c, sub, base, where, "definitions", key, len))
            return -1;
    }
    return 0;
}

/* One numeric limit keyword. Returns 0 or -1. */
static int number_value(struct compiler *c, json_t *v, const char *where, const char *kw,
                        const json_t **out)
{
    if (!json_is_number(v)) {
        schema_fail(c, where, "%s must be a number", kw);
        return -1;
    }
    *out = v;
    return 0;
}

/*
 * Parses the keywords of the object json into node. Keywords this validator does not
 * know are ignored, as draft-07 says; known ones of the wrong type are errors.
 */
static int process(struct compiler *c, struct schema_node *node, json_t *json, const char *outer)
{
    const char *where = node->where, *kw;
    json_t *ref = json_object_get(json, "$ref"), *v;
    struct schema_node **slot;
    char *base;
    int rc = 0;

    if (ref) {
        if (!json_is_string(ref)) {
            schema_fail(c, where, "$ref must be a string");
            return -1;
        }
        node->kind = NODE_REF;
        return (node->ref = schema_resolve_ref(c, json_string_value(ref), outer, where)) ? 0 : -1;
    }
    if ((v = json_object_get(json, "$id")) && !json_is_string(v)) {
        schema_fail(c, where, "$id must be a string");
        return -1;
    }
    if (!(base = schema_inner_base(json, outer))) {
        schema_fail_nomem(c);
        return -1;
    }
    json_object_foreach(json, kw, v) {
        slot = NULL;
        if (strcmp(kw, "type") == 0) {
            rc = type_names(c, v, where, &node->types);
        } else if (strcmp(kw, "enum") == 0) {
            if (!json_is_array(v)) {
                schema_fail(c, where, "enum must be an array");
                rc = -1;
            }
            node->enum_values = v;
        } else if (strcmp(kw, "const") == 0) {
            node->const_value = v;
        } else if (strcmp(kw, "minimum") == 0) {
            rc = number_value(c, v, where, kw, &node->minimum);
            node->has |= HAS_NUMBER;
        } else if (strcmp(kw, "maximum") == 0) {
            rc = number_value(c, v, where, kw, &node->maximum);
            node->has |= HAS_NUMBER;
        } else if (strcmp(kw, "exclusiveMinimum") == 0) {
            rc = number_value(c, v, where, kw, &node->exclusive_minimum);
            node->has |= HAS_NUMBER;
        } else if (strcmp(kw, "exclusiveMaximum") == 0) {
            rc = number_value(c, v, where, kw, &node->exclusive_maximum);
            node->has |= HAS_NUMBER;
        } else if (strcmp(kw, "multipleOf") == 0) {
            if ((rc = number_value(c, v, where, kw, &node->multiple_of)) == 0 &&
                json_number_value(v) <= 0) {
                schema_fail(c, where, "multipleOf must be greater than 0");
                rc = -1;
            }
            node->has |= HAS_NUMBER;
        } else if (strcmp(kw, "minLength") == 0) {
            rc = count_value(c, v, where, kw, &node->min_length);
            node->has |= HAS_STRING;
        } else if (strcmp(kw, "maxLength") == 0) {
            rc = count_value(c, v, where, kw, &node->max_length);
            node->has |= HAS_STRING;
        } else if (strcmp(kw, "pattern") == 0) {
            char why[200];

            if (!json_is_string(v)) {
                schema_fail(c, where, "pattern must be a string");
                rc = -1;
            } else if (!(node->pattern = schema_regex_new(
                             json_string_value(v), json_string_length(v), why, sizeof(why)))) {
                schema_fail(c, where, "pattern: invalid regular expression \"%s\": %s",
                     json_string_value(v), why);
                rc = -1;
            }
            node->has |= HAS_STRING;
        } else if (strcmp(kw, "format") == 0) {
            if (!json_is_string(v)) {
                schema_fail(c, where, "format must be a string");
                rc = -1;
            } else if ((node->format = schema_format_find(json_string_value(v)))) {
                node->has |= HAS_STRING;
            }
        } else if (strcmp(kw, "items") == 0) {
            if (json_is_array(v)) {
                node->items_is_list = true;
                if (json_array_size(v) > 0)
                    rc = schema_list(c, v, base, where, kw, &node->item_list);
            } else {
                slot = &node->items;
            }
            node->has |= HAS_ARRAY;
        } else if (strcmp(kw, "additionalItems") == 0) {
            slot = &node->additional_items;
            node->has |= HAS_ARRAY;
        } else if (strcmp(kw, "contains") == 0) {
            slot = &node->contains;
            node->has |= HAS_ARRAY;
        } else if (strcmp(kw, "minItems") == 0) {
            rc = count_value(c, v, where, kw, &node->min_items);
            node->has |= HAS_ARRAY;
        } else if (strcmp(kw, "maxItems") == 0) {
            rc = count_value(c, v, where, kw, &node->max_items);
            node->has |= HAS_ARRAY;
        } else if (strcmp(kw, "uniqueItems") == 0) {
            if (!json_is_boolean(v)) {
                schema_fail(c, where, "uniqueItems must be a boolean");
                rc = -1;
            }
            node->unique_items = json_is_true(v);
            node->has |= HAS_ARRAY;
        } else if (strcmp(kw, "properties") == 0) {
            rc = object_props(c, v, base, where, node);
            node->has |= HAS_OBJECT;
        } else if (strcmp(kw, "patternProperties") == 0) {
            rc = pattern_props(c, v, base, where, node);
            node->has |= HAS_OBJECT;
        } else if (strcmp(kw, "additionalProperties") == 0) {
            slot = &node->additional_properties;
            node->has |= HAS_OBJECT;
        } else if (strcmp(kw, "propertyNames") == 0) {
            slot = &node->property_names;
            node->has |= HAS_OBJECT;
        } else if (strcmp(kw, "required") == 0) {
            json_t *name;
            size_t i;

            if (!json_is_array(v)) {
                schema_fail(c, where, "required must be an array of property names");
                rc = -1;
            } else {
                json_array_foreach(v, i, name) {
                    if (!json_is_string(name)) {
                        schema_fail(c, where, "required must be an array of property names");
                        rc = -1;
                        break;
                    }
                }
            }
            node->required = v;
            node->has |= HAS_OBJECT;
        } else if (strcmp(kw, "dependencies") == 0) {
            rc = dependencies(c, v, base, where, node);
            node->has |= HAS_OBJECT;
        } else if (strcmp(kw, "minProperties") == 0) {
            rc = count_value(c, v, where, kw, &node->min_properties);
            node->has |= HAS_OBJECT;
        } else if (strcmp(kw, "maxProperties") == 0) {
            rc = count_value(c, v, where, kw, &node->max_properties);
            node->has |= HAS_OBJECT;
        } else if (strcmp(kw, "allOf") == 0) {
            rc = schema_list(c, v, base, where, kw, &node->all_of);
            node->has |= HAS_COMBINE;
        } else if (strcmp(kw, "anyOf") == 0) {
            rc = schema_list(c, v, base, where, kw, &node->any_of);
            node->has |= HAS_COMBINE;
        } else if (strcmp(kw, "oneOf") == 0) {
            rc = schema_list(c, v, base, where, kw, &node->one_of);
            node->has |= HAS_COMBINE;
        } else if (strcmp(kw, "not") == 0) {
            slot = &node->not_schema;
            node->has |= HAS_COMBINE;
        } else if (strcmp(kw, "if") == 0) {
            slot = &node->if_schema;
            node->has |= HAS_COMBINE;
        } else if (strcmp(kw, "then") == 0) {
            slot = &node->then_schema;
        } else if (strcmp(kw, "else") == 0) {
            slot = &node->else_schema;
        } else if (strcmp(kw, "definitions") == 0) {
            rc = definitions(c, v, base, where);
        }
        if (rc == 0 && slot && !(*slot = child(c, v, base, where, kw, NULL, 0)))
            rc = -1;
        if (rc < 0)
            break;
    }
    free(base);
    return rc;
}

static void node_free(struct schema_node *node)
{
    free(node->where);
    free(node->item_list.v);
    free(node->all_of.v);
    free(node->any_of.v);
    free(node->one_of.v);
    free(node->props);
    for (size_t i = 0; i < node->n_pattern_props; i++)
        schema_regex_free(node->pattern_props[i].re);
    free(node->pattern_props);
    free(node->deps);
    schema_regex_free(node->pattern);
    free(node);
}

void schema_free(struct schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_nodes; i++)
        node_free(s->nodes[i]);
    free(s->nodes);
    json_decref(s->doc);
    free(s);
}

struct schema *schema_compile(struct schema_registry *reg, json_t *doc, const char *base_uri,
                              char *err, size_t err_size)
{
    char scratch[8];
    struct compiler c = {
        .reg = reg,
        .err = err_size ? err : scratch,
        .err_size = err_size ? err_size : sizeof(scratch),
    };
    char *base =
        strndup(base_uri ? base_uri : "", base_uri ? schema_uri_strip_fragment(base_uri) : 0);
    int rc = -1;

    c.err[0] = '\0';
    if (!base || !(c.s = calloc(1, sizeof(*c.s)))) {
        schema_fail_nomem(&c);
        goto out;
    }
    if (!doc) {
        schema_fail(&c, "#", "no schema");
        goto out;
    }
    c.s->doc = json_incref(doc);
    if (schema_ids_index_document(&c.local, doc, base, "") < 0) {
        schema_fail_nomem(&c);
        goto out;
    }
    if (!(c.s->root = schema_get_node(&c, doc, base, "#")))
        goto out;
    while (c.work_head < c.work_n) {
        struct work w = c.work[c.work_head++];

        if (w.node->kind == NODE_SCHEMA && process(&c, w.node, w.json, w.outer_base) < 0)
            goto out;
    }
    rc = schema_check_cycles(&c);

out:
    for (size_t i = 0; i < c.work_n; i++)
        free(c.work[i].outer_base);
    free(c.work);
    free(c.memo);
    schema_ids_close(&c.local);
    free(base);
    if (rc < 0) {
        schema_free(c.s);
        errno = EINVAL;
        return NULL;
    }
    return c.s;
}
