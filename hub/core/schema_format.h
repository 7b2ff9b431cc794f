// SPDX-License-Identifier: MIT
/*
 * The "format" keyword's checks. Formats listed here are asserted; every other
 * format name (draft-07's iri, idn-hostname, uri-template, regex, ...) is accepted
 * without a check, as the specification allows.
 */
#ifndef RHEINHUB_SCHEMA_FORMAT_H
#define RHEINHUB_SCHEMA_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

/* X(enum suffix, name in schemas) */
#define SCHEMA_FORMAT_MAP(X)                                                                       \
    X(DATE_TIME, "date-time")                                                                      \
    X(DATE, "date")                                                                                \
    X(TIME, "time")                                                                                \
    X(EMAIL, "email")                                                                              \
    X(HOSTNAME, "hostname")                                                                        \
    X(IPV4, "ipv4")                                                                                \
    X(IPV6, "ipv6")                                                                                \
    X(URI, "uri")                                                                                  \
    X(URI_REFERENCE, "uri-reference")                                                              \
    X(JSON_POINTER, "json-pointer")                                                                \
    X(RELATIVE_JSON_POINTER, "relative-json-pointer")

enum schema_format {
    SCHEMA_FORMAT_NONE = 0, /* not checked */
#define SCHEMA_FORMAT_ENUM(name, text) SCHEMA_FORMAT_##name,
    SCHEMA_FORMAT_MAP(SCHEMA_FORMAT_ENUM)
#undef SCHEMA_FORMAT_ENUM
};

/* The checked format of that name, or SCHEMA_FORMAT_NONE. */
enum schema_format schema_format_find(const char *name);
/* The name of a checked format ("" for SCHEMA_FORMAT_NONE). */
const char *schema_format_name(enum schema_format f);
/* Whether s[0..n) is valid in format f (always true for SCHEMA_FORMAT_NONE). */
bool schema_format_check(enum schema_format f, const char *s, size_t n);

#endif
