// SPDX-License-Identifier: MIT
/*
 * JSON values as the validator compares and names them (schema_value.c).
 */
#ifndef RHEINHUB_SCHEMA_VALUE_H
#define RHEINHUB_SCHEMA_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "schema_tree.h"

/* Appends the quoted, escaped, possibly cut string s[0..n) to buf. */
void schema_value_quote(char *buf, size_t size, const char *s, size_t n);
/* A short rendering of v for messages: scalars as JSON, containers abbreviated. */
const char *schema_value_describe(char *buf, size_t size, const json_t *v);
/* The JSON type of v as JSON Schema names it ("integer" for a jansson integer). */
const char *schema_value_type_name(const json_t *v);
/* Compares two numbers exactly: integers as integers, mixed through long double. */
int schema_value_cmp(const json_t *a, const json_t *b);
/* JSON equality as JSON Schema means it: 1 equals 1.0, objects ignore key order. */
bool schema_value_equal(const json_t *a, const json_t *b);
/* Whether v is a number with no fractional part (2.0 is an integer). */
bool schema_value_is_integer(const json_t *v);
/*
 * Whether v is a multiple of d (> 0). Exact where the binary values decide it;
 * otherwise (decimal fractions such as 0.0075 and 0.0001, not exact in binary) the
 * quotient may miss an integer by the rounding of its operands and of the division,
 * at most a few units in the last place. A quotient that is not finite is not a
 * multiple.
 */
bool schema_value_multiple_of(const json_t *v, const json_t *d);
/* The length of UTF-8 text s[0..n) in code points. */
size_t schema_value_code_points(const char *s, size_t n);
/* Whether v is of one of types (bits SCHEMA_TYPE_INDEX_*); integer matches number. */
bool schema_value_type_matches(unsigned types, const json_t *v);
/* Writes the names of types joined by " or " into buf. */
void schema_value_type_list(char *buf, size_t size, unsigned types);

#endif
