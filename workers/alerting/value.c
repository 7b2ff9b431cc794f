// SPDX-License-Identifier: MIT
/*
 * Scalar values (value.h): reading them from msgpack data and JSON, comparing,
 * subtracting (rates), and writing them as JSON and as message text.
 */
#include "value.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void value_set_null(struct value *v)
{
    v->kind = VALUE_NULL;
    v->s[0] = '\0';
}

void value_set_int(struct value *v, int64_t i)
{
    v->kind = VALUE_INT;
    v->i = i;
    v->s[0] = '\0';
}

void value_set_real(struct value *v, double d)
{
    v->kind = VALUE_REAL;
    v->d = d;
    v->s[0] = '\0';
}

void value_set_bool(struct value *v, bool b)
{
    v->kind = VALUE_BOOL;
    v->b = b;
    v->s[0] = '\0';
}

size_t value_utf8_prefix(const char *s, size_t n, size_t max, size_t max_chars)
{
    size_t pos = 0, chars = 0;

    while (pos < n && chars < max_chars) {
        unsigned char c = (unsigned char)s[pos];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;

        if (pos + len > n || pos + len > max)
            break;
        pos += len;
        chars++;
    }
    return pos;
}

void value_set_str(struct value *v, const char *s, size_t n)
{
    size_t len = value_utf8_prefix(s, n, VALUE_STR_MAX - 1, (size_t)-1);

    v->kind = VALUE_STR;
    memcpy(v->s, s, len);
    v->s[len] = '\0';
}

bool value_number(const struct value *v, double *out)
{
    if (v->kind == VALUE_INT) {
        *out = (double)v->i;
        return true;
    }
    if (v->kind == VALUE_REAL) {
        *out = v->d;
        return true;
    }
    return false;
}

bool value_equal(const struct value *a, const struct value *b)
{
    double x, y;

    if (a->kind == VALUE_INT && b->kind == VALUE_INT)
        return a->i == b->i;
    if (value_number(a, &x) && value_number(b, &y))
        return x == y;
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case VALUE_STR: return strcmp(a->s, b->s) == 0;
    case VALUE_BOOL: return a->b == b->b;
    case VALUE_NULL: return true;
    default: return false;
    }
}

int value_subtract(const struct value *a, const struct value *b, struct value *out)
{
    double x, y;

    if (a->kind == VALUE_INT && b->kind == VALUE_INT) {
        int64_t r;
        if (!__builtin_sub_overflow(a->i, b->i, &r)) {
            value_set_int(out, r);
            return 0;
        }
    }
    if (!value_number(a, &x) || !value_number(b, &y))
        return -EINVAL;
    value_set_real(out, x - y);
    return 0;
}

int value_from_msgpack(const msgpack_object *o, struct value *out)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        value_set_null(out);
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        value_set_bool(out, o->via.boolean);
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return -EINVAL;
        value_set_int(out, (int64_t)o->via.u64);
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        value_set_int(out, o->via.i64);
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(o->via.f64))
            return -EINVAL;
        value_set_real(out, o->via.f64);
        return 0;
    case MSGPACK_OBJECT_STR:
        value_set_str(out, o->via.str.ptr, o->via.str.size);
        return 0;
    default:
        return -EINVAL;
    }
}

const msgpack_object *value_lookup(const msgpack_object *map, const char *path)
{
    const msgpack_object *cur = map;

    while (cur && *path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        const msgpack_object *next = NULL;

        if (cur->type != MSGPACK_OBJECT_MAP)
            return NULL;
        for (uint32_t i = 0; i < cur->via.map.size; i++) {
            const msgpack_object_kv *kv = &cur->via.map.ptr[i];
            if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == len &&
                memcmp(kv->key.via.str.ptr, path, len) == 0) {
                next = &kv->val;
                break;
            }
        }
        cur = next;
        path += len + (dot ? 1 : 0);
    }
    return cur;
}

json_t *value_to_json(const struct value *v)
{
    switch (v->kind) {
    case VALUE_INT: return json_integer((json_int_t)v->i);
    case VALUE_REAL: return json_real(v->d);
    case VALUE_STR: return json_string(v->s);
    case VALUE_BOOL: return json_boolean(v->b);
    default: return json_null();
    }
}

int value_from_json(const json_t *j, struct value *out)
{
    switch (json_typeof(j)) {
    case JSON_NULL: value_set_null(out); return 0;
    case JSON_TRUE: value_set_bool(out, true); return 0;
    case JSON_FALSE: value_set_bool(out, false); return 0;
    case JSON_INTEGER: value_set_int(out, (int64_t)json_integer_value(j)); return 0;
    case JSON_REAL: value_set_real(out, json_real_value(j)); return 0;
    case JSON_STRING:
        value_set_str(out, json_string_value(j), json_string_length(j));
        return 0;
    default: return -EINVAL;
    }
}

void value_format(const struct value *v, char *buf, size_t size)
{
    if (size == 0)
        return;
    switch (v->kind) {
    case VALUE_INT: snprintf(buf, size, "%lld", (long long)v->i); break;
    case VALUE_REAL: snprintf(buf, size, "%.15g", v->d); break;
    case VALUE_STR: snprintf(buf, size, "%s", v->s); break;
    case VALUE_BOOL: snprintf(buf, size, "%s", v->b ? "true" : "false"); break;
    default: snprintf(buf, size, "null"); break;
    }
}
