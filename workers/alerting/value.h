// SPDX-License-Identifier: MIT
/*
 * The scalar values the alerting rules test and report: a number (integer or real),
 * a string, a boolean, or null. Values are read from an event's msgpack data, written
 * into the alert JSON (value, threshold) and kept in the worker's state in Redis.
 */
#ifndef RHEINHUB_ALERTING_VALUE_H
#define RHEINHUB_ALERTING_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

/* Longest string value kept, in bytes with the NUL; longer ones are cut at a UTF-8 boundary. */
#define VALUE_STR_MAX 256

#define VALUE_KIND_MAP(X)                                                                          \
    X(NULL, "null")                                                                                \
    X(INT, "integer")                                                                              \
    X(REAL, "number")                                                                              \
    X(STR, "string")                                                                               \
    X(BOOL, "boolean")

enum value_kind {
#define X(name, text) VALUE_##name,
    VALUE_KIND_MAP(X)
#undef X
};

struct value {
    enum value_kind kind;
    int64_t i;             /* VALUE_INT */
    double d;              /* VALUE_REAL */
    bool b;                /* VALUE_BOOL */
    char s[VALUE_STR_MAX]; /* VALUE_STR, NUL-terminated */
};

void value_set_null(struct value *v);
void value_set_int(struct value *v, int64_t i);
void value_set_real(struct value *v, double d);
void value_set_bool(struct value *v, bool b);
/* Copies at most VALUE_STR_MAX - 1 bytes of s[0..n), cut at a UTF-8 character boundary. */
void value_set_str(struct value *v, const char *s, size_t n);

/* Whether v is a number; its value as a double in *out when it is. */
bool value_number(const struct value *v, double *out);

/* Equality: numbers by their value (1 == 1.0), strings by bytes, booleans, nulls. */
bool value_equal(const struct value *a, const struct value *b);

/*
 * a - b for two numbers: an integer when both are integers (and it fits), else a real.
 * Returns 0, or -EINVAL when one is not a number.
 */
int value_subtract(const struct value *a, const struct value *b, struct value *out);

/*
 * Reads a msgpack scalar (integer, float, string, boolean, nil) into *out. Returns 0,
 * or -EINVAL for a map, an array, a binary or an integer beyond int64.
 */
int value_from_msgpack(const msgpack_object *o, struct value *out);

/*
 * The object at a dotted path ("value", "position.lat") in a msgpack map, or NULL when
 * a step is missing or not a map. Borrowed from map.
 */
const msgpack_object *value_lookup(const msgpack_object *map, const char *path);

/* A new JSON value (NULL on allocation failure). */
json_t *value_to_json(const struct value *v);
/* Reads a JSON scalar. Returns 0, or -EINVAL for an object or an array. */
int value_from_json(const json_t *j, struct value *out);

/*
 * Text for a message: integers in decimal, reals with up to 15 significant digits
 * (0.95, 712, 1e+20), strings as they are, true/false, "null". Truncated to size.
 */
void value_format(const struct value *v, char *buf, size_t size);

/*
 * The number of bytes of s[0..n) that end on a UTF-8 character boundary, at most max
 * bytes and max_chars characters.
 */
size_t value_utf8_prefix(const char *s, size_t n, size_t max, size_t max_chars);

#endif
