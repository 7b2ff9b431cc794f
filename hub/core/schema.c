// SPDX-License-Identifier: MIT
/*
 * The schema registry and the compiler of JSON Schema draft-07 documents into
 * schema_node graphs (schema_tree.h); validation is in schema_validate.c.
 *
 * Compiling walks the document without recursion: each subschema becomes a node
 * when it is first reached (from its parent, from "definitions", or as a $ref
 * target) and is put on a work queue; processing a node parses its keywords and
 * reaches its children. A node is keyed by its JSON value and the base URI in
 * effect around it, so "#" and other recursive references reuse the node being
 * compiled instead of recursing. $ref targets are found by resolving the reference
 * against the base URI ($id, RFC 3986) and looking the document part up in the
 * identifiers of the compiled document, then in the registry, then in the
 * registry's folder mappings (loading the file). The fragment is a JSON pointer
 * (percent-decoded, then ~1 and ~0 unescaped) or a plain name ("#foo" from an $id).
 *
 * Last, a schema that would apply itself to the same instance without end
 * ({"$ref": "#"}, {"anyOf": [{"$ref": "#"}]}, ...) is rejected: the graph of
 * in-place keywords ($ref, allOf, anyOf, oneOf, not, if, then, else, schema
 * dependencies) must be acyclic. Cycles through properties, items and the other
 * keywords that descend into the instance are fine: the instance is finite.
 */
#include "schema.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_tree.h"
#include "schema_uri.h"

/* Schema nesting the identifier index walks before it gives up. */
#define INDEX_DEPTH_MAX 4096

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

__attribute__((format(printf, 1, 2))) static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *s;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(s = malloc((size_t)n + 1)))
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static char *str_ndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Grows *v (of *cap elements of size) to hold at least n + 1. Returns 0 or -ENOMEM. */
static int grow(void **v, size_t *cap, size_t n, size_t size)
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

/* ---- identifiers ------------------------------------------------------------------ */

static const struct id_entry *ids_find(const struct id_index *ix, const char *uri)
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

    if (ids_find(ix, uri))
        return 0;
    if (grow((void **)&ix->v, &ix->cap, ix->n, sizeof(*ix->v)) < 0)
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

static void ids_close(struct id_index *ix)
{
    for (size_t i = 0; i < ix->n; i++) {
        free(ix->v[i].uri);
        free(ix->v[i].outer_base);
        free(ix->v[i].where);
    }
    free(ix->v);
    memset(ix, 0, sizeof(*ix));
}

/* Keywords whose value is one schema. */
static const char *const schema_keywords[] = {
    "additionalItems",
    "additionalProperties",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
};
/* Keywords whose value is an object of schemas (dependencies: where not an array). */
static const char *const schema_map_keywords[] = {
    "properties",
    "patternProperties",
    "definitions",
    "dependencies",
};
/* Keywords whose value is an array of schemas (items: or one schema). */
static const char *const schema_list_keywords[] = {"allOf", "anyOf", "oneOf", "items"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The base URI inside s (an object in schema position) given the one around it:
 * changed by a string $id unless $ref makes draft-07 ignore it. Returns a new string,
 * or NULL when out of memory.
 */
static char *inner_base(const json_t *s, const char *outer)
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
    if (!(base = inner_base(s, outer)))
        return -ENOMEM;
    for (size_t i = 0; rc == 0 && i < COUNT(schema_keywords); i++)
        rc = index_walk(ix, json_object_get(s, schema_keywords[i]), base, where, depth + 1);
    for (size_t i = 0; rc == 0 && i < COUNT(schema_map_keywords); i++) {
        json_t *map = json_object_get(s, schema_map_keywords[i]), *v;
        const char *key;

        if (json_is_object(map))
            json_object_foreach(map, key, v) {
                if ((rc = index_walk(ix, v, base, where, depth + 1)) < 0)
                    break;
            }
    }
    for (size_t i = 0; rc == 0 && i < COUNT(schema_list_keywords); i++) {
        json_t *list = json_object_get(s, schema_list_keywords[i]), *v;
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

/* Indexes the document doc retrieved from uri (no fragment; "" for none). */
static int index_document(struct id_index *ix, json_t *doc, const char *uri, const char *where)
{
    int rc = ids_add(ix, uri, doc, uri, where);

    return rc < 0 ? rc : index_walk(ix, doc, uri, where, 0);
}

/* ---- registry --------------------------------------------------------------------- */

struct schema_registry *schema_registry_new(void)
{
    struct schema_registry *reg = calloc(1, sizeof(*reg));

    if (!reg)
        errno = ENOMEM;
    return reg;
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
    ids_close(&reg->ids);
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
    if (!(key = str_ndup(uri, schema_uri_strip_fragment(uri))))
        return -ENOMEM;
    if (ids_find(&reg->ids, key)) {
        free(key);
        return -EEXIST;
    }
    if (!(docs = realloc(reg->docs, (reg->n_docs + 1) * sizeof(*docs)))) {
        free(key);
        return -ENOMEM;
    }
    reg->docs = docs;
    docs[reg->n_docs++] = json_incref(doc);
    rc = index_document(&reg->ids, doc, key, key);
    free(key);
    return rc;
}

/*
 * Loads the document at uri (no fragment) from the folder mapped to the longest
 * prefix of uri and adds it to the registry. Returns 0, -ENOENT when no mapping
 * applies, or another negative errno with the reason in err.
 */
static int registry_load(struct schema_registry *reg, const char *uri, char *err, size_t err_size)
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
    if (!(path = str_printf("%s%s", map->dir, rest))) {
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

/* ---- compiler --------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void fail(struct compiler *c, const char *where,
                                                       const char *fmt, ...)
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

static void fail_nomem(struct compiler *c)
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
static struct schema_node *get_node(struct compiler *c, json_t *json, const char *outer,
                                    const char *where)
{
    struct schema_node *node, **nodes;
    struct memo_slot *m;
    struct work *w;

    if (!json_is_object(json) && !json_is_boolean(json)) {
        fail(c, where, "a schema must be an object or a boolean");
        return NULL;
    }
    if ((c->memo_n + 1) * 2 > (c->memo ? c->memo_mask + 1 : 0) && memo_grow(c) < 0)
        goto nomem;
    m = memo_find(c, json, outer);
    if (m->json)
        return m->node;
    if (grow((void **)&c->work, &c->work_cap, c->work_n, sizeof(*c->work)) < 0 ||
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
    fail_nomem(c);
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
        fail_nomem(c);
    else
        node = get_node(c, json, base, key ? w2 : w1);
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
        fail(c, where, "%s must be a non-empty array of schemas", kw);
        return -1;
    }
    if (!(out->v = calloc(json_array_size(v), sizeof(*out->v)))) {
        fail_nomem(c);
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
    fail(c, where, "%s must be a non-negative integer", kw);
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
            fail(c, where,
                 "type must be a type name (null, boolean, object, array, number, string, "
                 "integer) or a non-empty array of them");
            return -1;
        }
        *types |= 1u << t;
    }
    if (n == 0) {
        fail(c, where, "type must not be an empty array");
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
        fail(c, where, "properties must be an object of schemas");
        return -1;
    }
    if (json_object_size(v) && !(node->props = calloc(json_object_size(v), sizeof(*node->props)))) {
        fail_nomem(c);
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
        fail(c, where, "patternProperties must be an object of schemas");
        return -1;
    }
    if (json_object_size(v) &&
        !(node->pattern_props = calloc(json_object_size(v), sizeof(*node->pattern_props)))) {
        fail_nomem(c);
        return -1;
    }
    json_object_keylen_foreach(v, key, len, sub) {
        struct schema_pattern_prop *p = &node->pattern_props[node->n_pattern_props];
        char why[200];

        if (!(p->re = schema_regex_new(key, len, why, sizeof(why)))) {
            char *w = where_child(where, "patternProperties", 17);

            fail(c, w ? w : where, "invalid regular expression \"%s\": %s", key, why);
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
        fail(c, where, "dependencies must be an object");
        return -1;
    }
    if (json_object_size(v) && !(node->deps = calloc(json_object_size(v), sizeof(*node->deps)))) {
        fail_nomem(c);
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

                    fail(c, w ? w : where,
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
        fail(c, where, "definitions must be an object of schemas");
        return -1;
    }
    json_object_keylen_foreach(v, key, len, sub) {
        if (!child(c, sub, base, where, "definitions", key, len))
            return -1;
    }
    return 0;
}

/*
 * Follows the JSON pointer ptr (percent-decoded: "" or "/a/b", ~0 and ~1 still
 * escaped) from start, whose outer base URI is outer. On success stores the target
 * in *target and its outer base URI in *target_outer (allocated) and returns 0;
 * returns -ENOENT when the pointer leads nowhere, -ENOMEM when memory runs out.
 */
static int follow_pointer(json_t *start, const char *outer, const char *ptr, size_t n,
                          json_t **target, char **target_outer)
{
    enum { AT_SCHEMA, AT_MAP, AT_LIST, AT_OTHER } at = AT_SCHEMA;
    json_t *cur = start;
    char *base = strdup(outer), *tok = malloc(n + 1);
    size_t i = 0;
    int rc = -ENOENT;

    if (!base || !tok) {
        rc = -ENOMEM;
        goto fail;
    }
    if (n > 0 && ptr[0] != '/')
        goto fail;
    while (i < n) {
        size_t t = 0;
        json_t *next = NULL;

        for (i++; i < n && ptr[i] != '/'; i++) {
            if (ptr[i] == '~') {
                if (i + 1 == n || (ptr[i + 1] != '0' && ptr[i + 1] != '1'))
                    goto fail;
                tok[t++] = ptr[++i] == '0' ? '~' : '/';
            } else {
                tok[t++] = ptr[i];
            }
        }
        tok[t] = '\0';
        if (at == AT_SCHEMA && json_is_object(cur)) {
            char *inner = inner_base(cur, base);

            if (!inner) {
                rc = -ENOMEM;
                goto fail;
            }
            free(base);
            base = inner;
        }
        if (json_is_object(cur)) {
            next = json_object_getn(cur, tok, t);
        } else if (json_is_array(cur) && t > 0 && t < 19 && strspn(tok, "0123456789") == t &&
                   (tok[0] != '0' || t == 1)) {
            next = json_array_get(cur, strtoull(tok, NULL, 10));
        }
        if (!next)
            goto fail;
        if (at == AT_SCHEMA) {
            bool one = false, map = false, list = false;

            for (size_t k = 0; k < COUNT(schema_keywords); k++)
                one = one || strcmp(tok, schema_keywords[k]) == 0;
            for (size_t k = 0; k < COUNT(schema_map_keywords); k++)
                map = map || strcmp(tok, schema_map_keywords[k]) == 0;
            for (size_t k = 0; k < COUNT(schema_list_keywords); k++)
                list = list || strcmp(tok, schema_list_keywords[k]) == 0;
            at = one || (list && !json_is_array(next)) ? AT_SCHEMA
                 : map                                 ? AT_MAP
                 : list                                ? AT_LIST
                                                       : AT_OTHER;
        } else if (at == AT_MAP || at == AT_LIST) {
            at = AT_SCHEMA;
        }
        cur = next;
    }
    free(tok);
    *target = cur;
    *target_outer = base;
    return 0;

fail:
    free(tok);
    free(base);
    return rc;
}

/* Looks uri up among the compiled document's identifiers, then the registry's. */
static const struct id_entry *lookup(struct compiler *c, const char *uri)
{
    const struct id_entry *e = ids_find(&c->local, uri);

    return e || !c->reg ? e : ids_find(&c->reg->ids, uri);
}

/* Resolves the $ref text ref, found at where with base URI base, to its node. */
static struct schema_node *resolve_ref(struct compiler *c, const char *ref, const char *base,
                                       const char *where)
{
    char *abs = schema_uri_resolve(base, ref), *doc = NULL, *frag = NULL, *target_outer = NULL;
    char *target_where = NULL, why[512] = "";
    const struct id_entry *e;
    struct schema_node *node = NULL;
    size_t k, frag_n = 0;
    json_t *target = NULL;

    if (!abs || !(doc = str_ndup(abs, k = schema_uri_strip_fragment(abs))) ||
        !(frag = schema_uri_decode(abs + k + (abs[k] == '#'), strlen(abs + k + (abs[k] == '#')),
                                   &frag_n)))
        goto nomem;
    /* The document: known, or loaded now through the registry's folder mappings. */
    if (!lookup(c, doc) && c->reg) {
        int rc = registry_load(c->reg, doc, why, sizeof(why));

        if (rc < 0 && rc != -ENOENT) {
            fail(c, where, "cannot resolve $ref \"%s\": %s", ref, why);
            goto out;
        }
    }
    if (frag_n == 0 || frag[0] == '/') {
        if ((e = lookup(c, doc))) {
            int rc = follow_pointer(e->json, e->outer_base, frag, frag_n, &target, &target_outer);

            if (rc == -ENOMEM)
                goto nomem;
            if (rc == 0)
                target_where = str_printf("%s#%s", e->where, abs + k + (abs[k] == '#'));
        }
    } else if ((e = lookup(c, abs))) {
        target = e->json;
        target_outer = strdup(e->outer_base);
        target_where = strdup(abs);
    }
    if (!target) {
        fail(c, where, "cannot resolve $ref \"%s\" (\"%s\" is not a known schema)", ref, abs);
        goto out;
    }
    if (!target_outer || !target_where)
        goto nomem;
    node = get_node(c, target, target_outer, target_where);
    goto out;

nomem:
    fail_nomem(c);
out:
    free(abs);
    free(doc);
    free(frag);
    free(target_outer);
    free(target_where);
    return node;
}

/* One numeric limit keyword. Returns 0 or -1. */
static int number_value(struct compiler *c, json_t *v, const char *where, const char *kw,
                        const json_t **out)
{
    if (!json_is_number(v)) {
        fail(c, where, "%s must be a number", kw);
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
            fail(c, where, "$ref must be a string");
            return -1;
        }
        node->kind = NODE_REF;
        return (node->ref = resolve_ref(c, json_string_value(ref), outer, where)) ? 0 : -1;
    }
    if ((v = json_object_get(json, "$id")) && !json_is_string(v)) {
        fail(c, where, "$id must be a string");
        return -1;
    }
    if (!(base = inner_base(json, outer))) {
        fail_nomem(c);
        return -1;
    }
    json_object_foreach(json, kw, v) {
        slot = NULL;
        if (strcmp(kw, "type") == 0) {
            rc = type_names(c, v, where, &node->types);
        } else if (strcmp(kw, "enum") == 0) {
            if (!json_is_array(v)) {
                fail(c, where, "enum must be an array");
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
                fail(c, where, "multipleOf must be greater than 0");
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
                fail(c, where, "pattern must be a string");
                rc = -1;
            } else if (!(node->pattern = schema_regex_new(
                             json_string_value(v), json_string_length(v), why, sizeof(why)))) {
                fail(c, where, "pattern: invalid regular expression \"%s\": %s",
                     json_string_value(v), why);
                rc = -1;
            }
            node->has |= HAS_STRING;
        } else if (strcmp(kw, "format") == 0) {
            if (!json_is_string(v)) {
                fail(c, where, "format must be a string");
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
                fail(c, where, "uniqueItems must be a boolean");
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
                fail(c, where, "required must be an array of property names");
                rc = -1;
            } else {
                json_array_foreach(v, i, name) {
                    if (!json_is_string(name)) {
                        fail(c, where, "required must be an array of property names");
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

/* The i-th in-place subschema of node (applied to the same instance), or NULL. */
static struct schema_node *in_place(const struct schema_node *node, size_t i)
{
    const struct schema_node_list *lists[] = {&node->all_of, &node->any_of, &node->one_of};
    /* then and else apply only with if */
    struct schema_node *const singles[] = {node->ref, node->not_schema, node->if_schema,
                                           node->if_schema ? node->then_schema : NULL,
                                           node->if_schema ? node->else_schema : NULL};

    for (size_t k = 0; k < COUNT(lists); k++) {
        if (i < lists[k]->n)
            return lists[k]->v[i];
        i -= lists[k]->n;
    }
    for (size_t k = 0; k < COUNT(singles); k++) {
        if (singles[k] && i-- == 0)
            return singles[k];
    }
    for (size_t k = 0; k < node->n_deps; k++) {
        if (node->deps[k].node && i-- == 0)
            return node->deps[k].node;
    }
    return NULL;
}

/*
 * Rejects a cycle of in-place subschemas: a schema that applies itself to the same
 * value without end. Depth-first search with an explicit stack. Returns 0 or -1.
 */
static int check_cycles(struct compiler *c)
{
    struct frame {
        const struct schema_node *node;
        size_t next;
    } *stack = malloc(c->s->n_nodes * sizeof(*stack));
    unsigned char *color = calloc(c->s->n_nodes, 1); /* 0 new, 1 on the stack, 2 done */
    int rc = 0;

    if (!stack || !color) {
        fail_nomem(c);
        rc = -1;
    }
    for (size_t r = 0; rc == 0 && r < c->s->n_nodes; r++) {
        size_t top = 0;

        if (color[r])
            continue;
        stack[0] = (struct frame){c->s->nodes[r], 0};
        color[r] = 1;
        for (top = 1; top > 0;) {
            struct frame *f = &stack[top - 1];
            struct schema_node *next = in_place(f->node, f->next++);

            if (!next) {
                color[f->node->index] = 2;
                top--;
            } else if (color[next->index] == 1) {
                fail(c, next->where,
                     "$ref cycle: this schema is applied to the same value "
                     "again through %s, without end",
                     f->node->where);
                rc = -1;
                break;
            } else if (color[next->index] == 0) {
                color[next->index] = 1;
                stack[top++] = (struct frame){next, 0};
            }
        }
    }
    free(stack);
    free(color);
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
        str_ndup(base_uri ? base_uri : "", base_uri ? schema_uri_strip_fragment(base_uri) : 0);
    int rc = -1;

    c.err[0] = '\0';
    if (!base || !(c.s = calloc(1, sizeof(*c.s)))) {
        fail_nomem(&c);
        goto out;
    }
    if (!doc) {
        fail(&c, "#", "no schema");
        goto out;
    }
    c.s->doc = json_incref(doc);
    if (index_document(&c.local, doc, base, "") < 0) {
        fail_nomem(&c);
        goto out;
    }
    if (!(c.s->root = get_node(&c, doc, base, "#")))
        goto out;
    while (c.work_head < c.work_n) {
        struct work w = c.work[c.work_head++];

        if (w.node->kind == NODE_SCHEMA && process(&c, w.node, w.json, w.outer_base) < 0)
            goto out;
    }
    rc = check_cycles(&c);

out:
    for (size_t i = 0; i < c.work_n; i++)
        free(c.work[i].outer_base);
    free(c.work);
    free(c.memo);
    ids_close(&c.local);
    free(base);
    if (rc < 0) {
        schema_free(c.s);
        errno = EINVAL;
        return NULL;
    }
    return c.s;
}
