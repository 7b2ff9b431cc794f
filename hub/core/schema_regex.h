// SPDX-License-Identifier: MIT
/*
 * The validator's regular expressions: JSON Schema's "pattern" and
 * "patternProperties" are ECMA-262 regular expressions; they are compiled here with
 * PCRE2 (UTF mode) once, at schema compile time. This file is the only one that
 * talks to PCRE2.
 */
#ifndef RHEINHUB_SCHEMA_REGEX_H
#define RHEINHUB_SCHEMA_REGEX_H

#include <stddef.h>

struct schema_regex;

/*
 * Compiles the ECMA-262 pattern of n bytes (UTF-8). Returns the regex, or NULL with
 * a readable reason (PCRE2's own text and the offset) written to err.
 */
struct schema_regex *schema_regex_new(const char *pattern, size_t n, char *err, size_t err_size);
void schema_regex_free(struct schema_regex *re);

/* The pattern as it was written in the schema (NUL-terminated). */
const char *schema_regex_source(const struct schema_regex *re);

/*
 * Searches s[0..n) for the pattern anywhere (ECMA-262 test(): unanchored).
 * Returns 1 on a match, 0 on none, -1 when the match gave up at its step limit
 * (a pathological pattern). Allocates nothing: the match data is made once with the
 * regex. Not reentrant for one regex (the match data is shared).
 */
int schema_regex_search(const struct schema_regex *re, const char *s, size_t n);

#endif
