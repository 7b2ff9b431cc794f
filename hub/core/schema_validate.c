// SPDX-License-Identifier: MIT
/*
 * Validation of a jansson value against a compiled schema (schema_tree.h).
 *
 * The walk is recursive over the schema graph and the instance together; it records
 * errors as it goes, each with the instance's JSON pointer (built in a fixed buffer,
 * only when errors are recorded), and stops as soon as the error budget is spent.
 * anyOf, oneOf, not, if and contains need only to know whether a subschema holds,
 * so they evaluate it "quietly": with no error records, stopping at the first
 * failure. Nothing here allocates, except propertyNames, which hands each property
 * name to its schema as a jansson string.
 *
 * Two limits keep hostile schemas and instances from taking the process down: at
 * most SCHEMA_DEPTH_MAX nested subschema applications (the C stack), and at most
 * SCHEMA_STEPS_MAX applications in all (recursive $ref fanning out through anyOf).
 * Reaching either ends the validation as invalid, with that reason.
 *
 * Not reentrant for one compiled schema: regex match data lives in the schema.
 */
#include "schema.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_tree.h"
#include "schema_value.h"

struct vstate {
    long steps;
    bool aborted;
    bool abort_placed; /* abort_pointer is set */
    char abort_keyword[SCHEMA_KEYWORD_MAX];
    char abort_message[SCHEMA_MESSAGE_MAX];
    char abort_pointer[SCHEMA_POINTER_MAX];
    char text[3][SCHEMA_MESSAGE_MAX]; /* values rendered for the message being made */
};

#define TEXT_MAX SCHEMA_MESSAGE_MAX
#define T0 (c->st->text[0])
#define T1 (c->st->text[1])
#define T2 (c->st->text[2])

struct vctx {
    struct schema_error *errors;
    int max;   /* errors to record; 0: quiet */
    int limit; /* errors after which to stop: max, at least 1 */
    int count;
    int depth;
    char *ptr; /* the instance pointer, NULL when quiet */
    size_t len;
    int overflow; /* levels that did not fit into ptr */
    struct vstate *st;
};

static bool full(const struct vctx *c)
{
    return c->count >= c->limit || c->st->aborted;
}

/* ---- messages --------------------------------------------------------------------- */

/* Writes the instance pointer at the current place into dst. */
static void current_pointer(const struct vctx *c, char *dst)
{
    memcpy(dst, c->ptr, c->len + 1);
    if (c->overflow && c->len + 5 <= SCHEMA_POINTER_MAX)
        memcpy(dst + c->len, "/...", 5); /* deeper than the buffer: cut */
}

/*
 * Counts one error at the current instance place. Returns whether it is to be
 * recorded (then the caller formats it with record), false when quiet, when the
 * budget is spent, or after giving up (the reason is recorded instead).
 */
static bool note(struct vctx *c)
{
    if (c->st->aborted)
        return false;
    return ++c->count <= c->max;
}

/* Writes the error just counted by note. */
__attribute__((format(printf, 3, 4))) static void record(struct vctx *c, const char *keyword,
                                                         const char *fmt, ...)
{
    struct schema_error *e = &c->errors[c->count - 1];
    va_list ap;

    current_pointer(c, e->pointer);
    snprintf(e->keyword, sizeof(e->keyword), "%s", keyword);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

/* One error: the message (and the values it names) is made only when recorded. */
#define REPORT(c, ...)                                                                             \
    do {                                                                                           \
        if (note(c))                                                                               \
            record((c), __VA_ARGS__);                                                              \
    } while (0)

/* Ends the whole validation as invalid, with the reason given. */
__attribute__((format(printf, 3, 4))) static void give_up(struct vctx *c, const char *keyword,
                                                          const char *fmt, ...)
{
    struct vstate *st = c->st;
    va_list ap;

    if (st->aborted)
        return;
    st->aborted = true;
    snprintf(st->abort_keyword, sizeof(st->abort_keyword), "%s", keyword);
    va_start(ap, fmt);
    vsnprintf(st->abort_message, sizeof(st->abort_message), fmt, ap);
    va_end(ap);
    if (c->ptr) {
        current_pointer(c, st->abort_pointer);
        st->abort_placed = true;
    }
}

/* ---- the instance pointer --------------------------------------------------------- */

/* Appends "/" and the escaped token; returns the mark to restore with pointer_pop. */
static size_t pointer_push(struct vctx *c, const char *key, size_t n)
{
    size_t mark = c->len, need = 1;

    if (!c->ptr)
        return 0;
    for (size_t i = 0; i < n; i++)
        need += key[i] == '~' || key[i] == '/' ? 2 : key[i] == '\0' ? 6 : 1;
    if (c->overflow || c->len + need >= SCHEMA_POINTER_MAX) {
        c->overflow++;
        return SIZE_MAX;
    }
    c->ptr[c->len++] = '/';
    for (size_t i = 0; i < n; i++) {
        if (key[i] == '~' || key[i] == '/') {
            c->ptr[c->len++] = '~';
            c->ptr[c->len++] = key[i] == '~' ? '0' : '1';
        } else if (key[i] == '\0') {
            memcpy(c->ptr + c->len, "\\u0000", 6); /* keeps the C string whole */
            c->len += 6;
        } else {
            c->ptr[c->len++] = key[i];
        }
    }
    c->ptr[c->len] = '\0';
    return mark;
}

static size_t pointer_push_index(struct vctx *c, size_t i)
{
    char buf[24];

    if (!c->ptr)
        return 0;
    return pointer_push(c, buf, (size_t)snprintf(buf, sizeof(buf), "%zu", i));
}

static void pointer_pop(struct vctx *c, size_t mark)
{
    if (!c->ptr)
        return;
    if (mark == SIZE_MAX) {
        c->overflow--;
    } else {
        c->len = mark;
        c->ptr[mark] = '\0';
    }
}

/* ---- keywords --------------------------------------------------------------------- */

static bool check(const struct schema_node *n, const json_t *v, struct vctx *c);

/* Whether v is valid against n, recording no error. */
static bool holds(const struct schema_node *n, const json_t *v, struct vctx *c)
{
    struct vctx q = {.limit = 1, .depth = c->depth, .st = c->st};
    bool ok = check(n, v, &q);

    if (c->st->aborted && !c->st->abort_placed && c->ptr) {
        current_pointer(c, c->st->abort_pointer);
        c->st->abort_placed = true;
    }
    return ok && !c->st->aborted;
}

/* The node a $ref chain ends at (the compiler has ruled out cycles). */
static const struct schema_node *target(const struct schema_node *n)
{
    while (n->kind == NODE_REF)
        n = n->ref;
    return n;
}

static void check_number(const struct schema_node *n, const json_t *v, struct vctx *c)
{
    if (n->minimum && schema_value_cmp(v, n->minimum) < 0) {
        REPORT(c, "minimum", "value %s is below the minimum %s",
               schema_value_describe(T0, TEXT_MAX, v),
               schema_value_describe(T1, TEXT_MAX, n->minimum));
        if (full(c))
            return;
    }
    if (n->maximum && schema_value_cmp(v, n->maximum) > 0) {
        REPORT(c, "maximum", "value %s is above the maximum %s",
               schema_value_describe(T0, TEXT_MAX, v),
               schema_value_describe(T1, TEXT_MAX, n->maximum));
        if (full(c))
            return;
    }
    if (n->exclusive_minimum && schema_value_cmp(v, n->exclusive_minimum) <= 0) {
        REPORT(c, "exclusiveMinimum", "value %s is not above the exclusive minimum %s",
               schema_value_describe(T0, TEXT_MAX, v),
               schema_value_describe(T1, TEXT_MAX, n->exclusive_minimum));
        if (full(c))
            return;
    }
    if (n->exclusive_maximum && schema_value_cmp(v, n->exclusive_maximum) >= 0) {
        REPORT(c, "exclusiveMaximum", "value %s is not below the exclusive maximum %s",
               schema_value_describe(T0, TEXT_MAX, v),
               schema_value_describe(T1, TEXT_MAX, n->exclusive_maximum));
        if (full(c))
            return;
    }
    if (n->multiple_of && !schema_value_multiple_of(v, n->multiple_of))
        REPORT(c, "multipleOf", "value %s is not a multiple of %s",
               schema_value_describe(T0, TEXT_MAX, v),
               schema_value_describe(T1, TEXT_MAX, n->multiple_of));
}

static void check_string(const struct schema_node *n, const json_t *v, struct vctx *c)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (n->min_length != SCHEMA_UNLIMITED || n->max_length != SCHEMA_UNLIMITED) {
        long long k = (long long)schema_value_code_points(s, len);

        if (n->min_length != SCHEMA_UNLIMITED && k < n->min_length) {
            REPORT(c, "minLength",
                   "string %s is %lld characters long, shorter than the minimum "
                   "length %lld",
                   schema_value_describe(T0, TEXT_MAX, v), k, n->min_length);
            if (full(c))
                return;
        }
        if (n->max_length != SCHEMA_UNLIMITED && k > n->max_length) {
            REPORT(c, "maxLength",
                   "string %s is %lld characters long, longer than the maximum "
                   "length %lld",
                   schema_value_describe(T0, TEXT_MAX, v), k, n->max_length);
            if (full(c))
                return;
        }
    }
    if (n->pattern) {
        int r = schema_regex_search(n->pattern, s, len);

        if (r <= 0) {
            const char *src = schema_regex_source(n->pattern);

            REPORT(c, "pattern",
                   r == 0 ? "string %s does not match the pattern %s"
                          : "string %s: the pattern %s gave up (too complex)",
                   schema_value_describe(T0, TEXT_MAX, v),
                   (schema_value_quote(T1, TEXT_MAX, src, strlen(src)), T1));
            if (full(c))
                return;
        }
    }
    if (n->format && !schema_format_check(n->format, s, len))
        REPORT(c, "format", "string %s is not a valid %s", schema_value_describe(T0, TEXT_MAX, v),
               schema_format_name(n->format));
}

static void check_array(const struct schema_node *n, const json_t *v, struct vctx *c)
{
    size_t size = json_array_size(v), mark;

    if (n->min_items != SCHEMA_UNLIMITED && (long long)size < n->min_items) {
        REPORT(c, "minItems", "array has %zu items, fewer than the minimum %lld", size,
               n->min_items);
        if (full(c))
            return;
    }
    if (n->max_items != SCHEMA_UNLIMITED && (long long)size > n->max_items) {
        REPORT(c, "maxItems", "array has %zu items, more than the maximum %lld", size,
               n->max_items);
        if (full(c))
            return;
    }
    if (n->unique_items) {
        for (size_t i = 0; i < size; i++) {
            for (size_t j = i + 1; j < size; j++) {
                if (schema_value_equal(json_array_get(v, i), json_array_get(v, j))) {
                    REPORT(c, "uniqueItems", "items %zu and %zu are equal", i, j);
                    if (full(c))
                        return;
                    i = j = size; /* one report is enough */
                }
            }
        }
    }
    if (n->items_is_list) {
        size_t defined = n->item_list.n;

        for (size_t i = 0; i < size && i < defined; i++) {
            mark = pointer_push_index(c, i);
            check(n->item_list.v[i], json_array_get(v, i), c);
            pointer_pop(c, mark);
            if (full(c))
                return;
        }
        if (n->additional_items && size > defined) {
            if (target(n->additional_items)->kind == NODE_FALSE) {
                REPORT(c, "additionalItems",
                       "array has %zu items, more than the %zu that items "
                       "defines",
                       size, defined);
                if (full(c))
                    return;
            } else {
                for (size_t i = defined; i < size; i++) {
                    mark = pointer_push_index(c, i);
                    check(n->additional_items, json_array_get(v, i), c);
                    pointer_pop(c, mark);
                    if (full(c))
                        return;
                }
            }
        }
    } else if (n->items && target(n->items)->kind != NODE_TRUE) {
        for (size_t i = 0; i < size; i++) {
            mark = pointer_push_index(c, i);
            check(n->items, json_array_get(v, i), c);
            pointer_pop(c, mark);
            if (full(c))
                return;
        }
    }
    if (n->contains) {
        bool found = false;

        for (size_t i = 0; i < size && !found; i++)
            found = holds(n->contains, json_array_get(v, i), c);
        if (!found)
            REPORT(c, "contains", "no item matches the contains schema");
    }
}

static const struct schema_prop *find_prop(const struct schema_node *n, const char *key, size_t len)
{
    size_t lo = 0, hi = n->n_props;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct schema_prop *p = &n->props[mid];
        int r = memcmp(key, p->name, len < p->len ? len : p->len);

        if (r == 0)
            r = (len > p->len) - (len < p->len);
        if (r == 0)
            return p;
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* properties, patternProperties and additionalProperties, in one pass over v's keys. */
static void check_members(const struct schema_node *n, const json_t *v, struct vctx *c)
{
    bool extra_false =
        n->additional_properties && target(n->additional_properties)->kind == NODE_FALSE;
    const char *key;
    size_t len, mark;
    json_t *value;

    json_object_keylen_foreach((json_t *)v, key, len, value) {
        const struct schema_prop *p = find_prop(n, key, len);
        bool matched = p != NULL;

        if (p) {
            mark = pointer_push(c, key, len);
            check(p->node, value, c);
            pointer_pop(c, mark);
            if (full(c))
                return;
        }
        for (size_t i = 0; i < n->n_pattern_props; i++) {
            const struct schema_pattern_prop *pp = &n->pattern_props[i];
            int r = schema_regex_search(pp->re, key, len);

            if (r < 0) {
                REPORT(c, "patternProperties", "property %s: the pattern %s gave up (too complex)",
                       (schema_value_quote(T0, TEXT_MAX, key, len), T0),
                       schema_regex_source(pp->re));
                if (full(c))
                    return;
            } else if (r > 0) {
                matched = true;
                mark = pointer_push(c, key, len);
                check(pp->node, value, c);
                pointer_pop(c, mark);
                if (full(c))
                    return;
            }
        }
        if (matched || !n->additional_properties)
            continue;
        if (extra_false) {
            REPORT(c, "additionalProperties", "property %s is not allowed",
                   (schema_value_quote(T0, TEXT_MAX, key, len), T0));
        } else {
            mark = pointer_push(c, key, len);
            check(n->additional_properties, value, c);
            pointer_pop(c, mark);
        }
        if (full(c))
            return;
    }
}

static void check_object(const struct schema_node *n, const json_t *v, struct vctx *c)
{
    size_t size = json_object_size(v), i;
    const json_t *name;

    if (n->min_properties != SCHEMA_UNLIMITED && (long long)size < n->min_properties) {
        REPORT(c, "minProperties", "object has %zu properties, fewer than the minimum %lld", size,
               n->min_properties);
        if (full(c))
            return;
    }
    if (n->max_properties != SCHEMA_UNLIMITED && (long long)size > n->max_properties) {
        REPORT(c, "maxProperties", "object has %zu properties, more than the maximum %lld", size,
               n->max_properties);
        if (full(c))
            return;
    }
    if (n->required) {
        json_array_foreach(n->required, i, name) {
            if (json_object_getn(v, json_string_value(name), json_string_length(name)))
                continue;
            REPORT(c, "required", "required property %s is missing",
                   schema_value_describe(T0, TEXT_MAX, name));
            if (full(c))
                return;
        }
    }
    for (size_t d = 0; d < n->n_deps; d++) {
        const struct schema_dependency *dep = &n->deps[d];

        if (!json_object_getn(v, dep->name, dep->len))
            continue;
        if (dep->node) {
            check(dep->node, v, c);
            if (full(c))
                return;
            continue;
        }
        json_array_foreach(dep->required, i, name) {
            if (json_object_getn(v, json_string_value(name), json_string_length(name)))
                continue;
            REPORT(c, "dependencies", "property %s requires property %s",
                   (schema_value_quote(T0, TEXT_MAX, dep->name, dep->len), T0),
                   schema_value_describe(T1, TEXT_MAX, name));
            if (full(c))
                return;
        }
    }
    if (n->n_props || n->n_pattern_props || n->additional_properties) {
        check_members(n, v, c);
        if (full(c))
            return;
    }
    if (n->property_names && target(n->property_names)->kind != NODE_TRUE) {
        const char *key;
        size_t len;
        json_t *value;

        json_object_keylen_foreach((json_t *)v, key, len, value) {
            json_t *name_value = json_stringn_nocheck(key, len);
            bool ok = name_value && holds(n->property_names, name_value, c);

            json_decref(name_value);
            if (!ok) {
                REPORT(c, "propertyNames",
                       "property name %s does not match the propertyNames schema",
                       (schema_value_quote(T0, TEXT_MAX, key, len), T0));
                if (full(c))
                    return;
            }
        }
    }
}

static void check_combined(const struct schema_node *n, const json_t *v, struct vctx *c)
{
    for (size_t i = 0; i < n->all_of.n; i++) {
        check(n->all_of.v[i], v, c);
        if (full(c))
            return;
    }
    if (n->any_of.n) {
        bool any = false;

        for (size_t i = 0; i < n->any_of.n && !any; i++)
            any = holds(n->any_of.v[i], v, c);
        if (!any) {
            REPORT(c, "anyOf", "value matches none of the %zu anyOf schemas", n->any_of.n);
            if (full(c))
                return;
        }
    }
    if (n->one_of.n) {
        size_t first = SIZE_MAX, second = SIZE_MAX;

        for (size_t i = 0; i < n->one_of.n && second == SIZE_MAX; i++) {
            if (!holds(n->one_of.v[i], v, c))
                continue;
            if (first == SIZE_MAX)
                first = i;
            else
                second = i;
        }
        if (first == SIZE_MAX)
            REPORT(c, "oneOf", "value matches none of the %zu oneOf schemas", n->one_of.n);
        else if (second != SIZE_MAX)
            REPORT(c, "oneOf", "value matches more than one of the oneOf schemas (%zu and %zu)",
                   first, second);
        if (full(c))
            return;
    }
    if (n->not_schema && holds(n->not_schema, v, c)) {
        REPORT(c, "not", "value must not match the \"not\" schema");
        if (full(c))
            return;
    }
    if (n->if_schema && (n->then_schema || n->else_schema)) {
        const struct schema_node *branch =
            holds(n->if_schema, v, c) ? n->then_schema : n->else_schema;

        if (branch && !c->st->aborted)
            check(branch, v, c);
    }
}

static void check_keywords(const struct schema_node *n, const json_t *v, struct vctx *c)
{
    if (n->types && !schema_value_type_matches(n->types, v)) {
        REPORT(c, "type", "value %s has type %s, expected %s",
               schema_value_describe(T0, TEXT_MAX, v), schema_value_type_name(v),
               (schema_value_type_list(T1, TEXT_MAX, n->types), T1));
        if (full(c))
            return;
    }
    if (n->const_value && !schema_value_equal(v, n->const_value)) {
        REPORT(c, "const", "value %s is not the constant %s",
               schema_value_describe(T0, TEXT_MAX, v),
               schema_value_describe(T1, TEXT_MAX, n->const_value));
        if (full(c))
            return;
    }
    if (n->enum_values) {
        size_t i, o = 0;
        const json_t *e;
        bool found = false;

        json_array_foreach(n->enum_values, i, e) {
            if ((found = schema_value_equal(v, e)))
                break;
        }
        if (!found) {
            if (note(c)) {
                /* The allowed values, as many as fit. */
                T1[0] = '\0';
                json_array_foreach(n->enum_values, i, e) {
                    schema_value_describe(T2, 48, e);
                    if (o + strlen(T2) + 8 >= 160) {
                        snprintf(T1 + o, TEXT_MAX - o, ", ...");
                        break;
                    }
                    o += (size_t)snprintf(T1 + o, TEXT_MAX - o, "%s%s", i ? ", " : "", T2);
                }
                record(c, "enum", "value %s is not one of %s",
                       schema_value_describe(T0, TEXT_MAX, v), T1);
            }
            if (full(c))
                return;
        }
    }
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_REAL:
        if (n->has & HAS_NUMBER)
            check_number(n, v, c);
        break;
    case JSON_STRING:
        if (n->has & HAS_STRING)
            check_string(n, v, c);
        break;
    case JSON_ARRAY:
        if (n->has & HAS_ARRAY)
            check_array(n, v, c);
        break;
    case JSON_OBJECT:
        if (n->has & HAS_OBJECT)
            check_object(n, v, c);
        break;
    default:
        break;
    }
    if ((n->has & HAS_COMBINE) && !full(c))
        check_combined(n, v, c);
}

/* Applies n to v. Returns whether v is valid against n. */
static bool check(const struct schema_node *n, const json_t *v, struct vctx *c)
{
    int before = c->count;

    if (c->st->aborted)
        return false;
    if (++c->st->steps > SCHEMA_STEPS_MAX) {
        give_up(c, "$ref", "validation gave up after %ld subschema applications", SCHEMA_STEPS_MAX);
        return false;
    }
    n = target(n);
    if (n->kind == NODE_TRUE)
        return true;
    if (n->kind == NODE_FALSE) {
        REPORT(c, "false", "no value is allowed here (the schema is false)");
        return false;
    }
    if (c->depth >= SCHEMA_DEPTH_MAX) {
        give_up(c, "$ref", "validation gave up: subschemas nest deeper than %d", SCHEMA_DEPTH_MAX);
        return false;
    }
    c->depth++;
    check_keywords(n, v, c);
    c->depth--;
    return c->count == before && !c->st->aborted;
}

int schema_validate(const struct schema *s, const json_t *instance, struct schema_error *errors,
                    int max_errors)
{
    char pointer[SCHEMA_POINTER_MAX] = "";
    struct vstate st = {0};
    struct vctx c = {.st = &st};

    c.max = errors && max_errors > 0 ? max_errors : 0;
    c.limit = c.max > 0 ? c.max : 1;
    c.errors = errors;
    c.ptr = c.max ? pointer : NULL;
    if (!s || !instance) {
        REPORT(&c, "", "no schema or no value");
        return 1;
    }
    check(s->root, instance, &c);
    if (st.aborted) {
        struct schema_error *e = NULL;

        if (c.max)
            e = &errors[c.count < c.max ? c.count : c.max - 1];
        if (c.count < c.limit)
            c.count++;
        if (e) {
            memcpy(e->pointer, st.abort_pointer, sizeof(e->pointer));
            memcpy(e->keyword, st.abort_keyword, sizeof(e->keyword));
            memcpy(e->message, st.abort_message, sizeof(e->message));
        }
    }
    return c.count < c.limit ? c.count : c.limit;
}
