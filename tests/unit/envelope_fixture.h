// SPDX-License-Identifier: MIT
/*
 * The envelope tests' shared checks (envelope_fixture.c): the decoder's reasons, the
 * envelope's key order, and comparisons that print both sides. Include after
 * <cmocka.h>.
 */
#ifndef RHEINHUB_TESTS_ENVELOPE_FIXTURE_H
#define RHEINHUB_TESTS_ENVELOPE_FIXTURE_H

#include <stddef.h>

#include <jansson.h>

#include "envelope.h"

/* The decoder's reasons. */
#define WHY_BOUNDS "not a single well-formed msgpack object"
#define WHY_NOT_MAP "envelope is not a map"
#define WHY_MISSING "envelope lacks a required field"
#define WHY_STRING "an envelope string field is not a string"
#define WHY_RECEIVEDTIME "receivedtime is not an unsigned integer"
#define WHY_DATA "data is not a map"

/* The keys of the envelope, in the order the encoder writes them. */
extern const char *const key_order[10];
#define N_KEYS (sizeof(key_order) / sizeof(key_order[0]))

/* Parses test JSON (NUL allowed in strings); fails the test when it does not parse. */
json_t *load_json(const char *text);
/* Fails, printing both, unless the two JSON values are equal. */
void assert_json_same(const json_t *expected, const json_t *actual);
/* Fails, printing both, unless the decoded string equals expected. */
void assert_view_str(struct envelope_str s, const char *expected);
/* Decodes buf with envelope_decode and envelope_decode_zone, both of which must refuse
 * it with why_expected (NULL: any reason, the same for both). */
void expect_refused(const char *buf, size_t len, const char *why_expected);

#endif
