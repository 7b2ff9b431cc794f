// SPDX-License-Identifier: MIT
/*
 * What the validator (schema_validate.c) asks of a JSON value: exact numeric
 * comparison, equality as JSON Schema means it, whether it is an integer or a
 * multiple of another number, a string's length in code points, whether it is of one
 * of a set of types; and how a message names a value: quoted and cut, described
 * briefly, by its type. Nothing here allocates.
 */
#include "schema_value.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of a string value quoted in a message before it is cut with "...". */
#define QUOTE_MAX 64

/* Appends the quoted, escaped, possibly cut string s[0..n) to buf. */
void schema_value_quote(char *buf, size_t size, const char *s, size_t n)
{
    size_t o = 0, cut = n;

    if (cut > QUOTE_MAX) {
        cut = QUOTE_MAX;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--; /* not inside a UTF-8 sequence */
    }
    if (size < 8) {
        if (size)
            buf[0] = '\0';
        return;
    }
    buf[o++] = '"';
    for (size_t i = 0; i < cut && o + 8 < size; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '"' || ch == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            o += (size_t)snprintf(buf + o, size - o, "\\u%04x", ch);
        } else {
            buf[o++] = (char)ch;
        }
    }
    if (cut < n && o + 4 < size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

/* The shortest text that reads back as d. */
static void format_real(char *buf, size_t size, double d)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* A short rendering of v for messages: scalars as JSON, containers abbreviated. */
const char *schema_value_describe(char *buf, size_t size, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        schema_value_quote(buf, size, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        format_real(buf, size, json_real_value(v));
        break;
    case JSON_TRUE:
        snprintf(buf, size, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, size, "false");
        break;
    case JSON_NULL:
        snprintf(buf, size, "null");
        break;
    case JSON_OBJECT:
        snprintf(buf, size, json_object_size(v) ? "{...}" : "{}");
        break;
    case JSON_ARRAY:
        snprintf(buf, size, json_array_size(v) ? "[...]" : "[]");
        break;
    }
    return buf;
}

const char *schema_value_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        break;
    }
    return "null";
}

/* Compares two numbers exactly: integers as integers, mixed through long double. */
int schema_value_cmp(const json_t *a, const json_t *b)
{
    long double x, y;

    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t i = json_integer_value(a), j = json_integer_value(b);

        return (i > j) - (i < j);
    }
    x = json_is_integer(a) ? (long double)json_integer_value(a) : json_real_value(a);
    y = json_is_integer(b) ? (long double)json_integer_value(b) : json_real_value(b);
    return (x > y) - (x < y);
}

/* JSON equality as JSON Schema means it: 1 equals 1.0, objects ignore key order. */
bool schema_value_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return schema_value_cmp(a, b) == 0;
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!schema_value_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    case JSON_OBJECT: {
        const char *key;
        size_t len;
        json_t *va, *vb;

        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_keylen_foreach((json_t *)a, key, len, va) {
            if (!(vb = json_object_getn(b, key, len)) || !schema_value_equal(va, vb))
                return false;
        }
        return true;
    }
    default:
        return true; /* true, false, null: the type is the value */
    }
}

bool schema_value_is_integer(const json_t *v)
{
    double d;

    if (json_is_integer(v))
        return true;
    d = json_is_real(v) ? json_real_value(v) : 0.5;
    return isfinite(d) && d == floor(d);
}

/*
 * Whether v is a multiple of d (> 0). Exact where the binary values decide it;
 * otherwise (decimal fractions such as 0.0075 and 0.0001, not exact in binary) the
 * quotient may miss an integer by the rounding of its operands and of the division,
 * at most a few units in the last place. A quotient that is not finite is not a
 * multiple.
 */
bool schema_value_multiple_of(const json_t *v, const json_t *d)
{
    double x, y, q;

    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v), k;

        if (json_is_integer(d))
            return i % json_integer_value(d) == 0;
        y = json_real_value(d);
        if (y == floor(y) && y < 9.2e18) {
            k = (json_int_t)y;
            return i % k == 0;
        }
    }
    x = json_number_value(v);
    y = json_number_value(d);
    if (fmod(x, y) == 0)
        return true;
    if (x == floor(x) && y == floor(y))
        return false; /* integers: fmod is exact */
    q = x / y;
    if (!isfinite(q))
        return false;
    return fabs(q - nearbyint(q)) <= 2 * DBL_EPSILON * fabs(q);
}

size_t schema_value_code_points(const char *s, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

bool schema_value_type_matches(unsigned types, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return types & (1u << SCHEMA_TYPE_INDEX_OBJECT);
    case JSON_ARRAY:
        return types & (1u << SCHEMA_TYPE_INDEX_ARRAY);
    case JSON_STRING:
        return types & (1u << SCHEMA_TYPE_INDEX_STRING);
    case JSON_INTEGER:
    case JSON_REAL:
        return (types & (1u << SCHEMA_TYPE_INDEX_NUMBER)) ||
               ((types & (1u << SCHEMA_TYPE_INDEX_INTEGER)) && schema_value_is_integer(v));
    case JSON_TRUE:
    case JSON_FALSE:
        return types & (1u << SCHEMA_TYPE_INDEX_BOOLEAN);
    case JSON_NULL:
        break;
    }
    return types & (1u << SCHEMA_TYPE_INDEX_NULL);
}

void schema_value_type_list(char *buf, size_t size, unsigned types)
{
    static const char *const names[] = {
#define SCHEMA_TYPE_TEXT(name, text) text,
        SCHEMA_TYPE_MAP(SCHEMA_TYPE_TEXT)
#undef SCHEMA_TYPE_TEXT
    };
    size_t o = 0;

    buf[0] = '\0';
    for (unsigned t = 0; t < SCHEMA_TYPE_COUNT && o < size; t++)
        if (types & (1u << t))
            o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? " or " : "", names[t]);
}
