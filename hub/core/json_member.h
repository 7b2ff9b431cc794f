// SPDX-License-Identifier: MIT
/*
 * Bounded reads of JSON object members from untrusted payloads, shared by the hub's
 * ingest path and its CloudEvents reader.
 */
#ifndef RHEINHUB_JSON_MEMBER_H
#define RHEINHUB_JSON_MEMBER_H

#include <stddef.h>
#include <string.h>

#include <jansson.h>

/* The member name of obj when it is a non-empty string of at most max bytes without
 * NUL, else NULL. The string is borrowed from obj. */
static inline const char *json_string_member(const json_t *obj, const char *name, size_t max)
{
    const json_t *v = json_object_get(obj, name);
    size_t n;

    if (!json_is_string(v))
        return NULL;
    n = json_string_length(v);
    if (n == 0 || n > max || memchr(json_string_value(v), '\0', n))
        return NULL;
    return json_string_value(v);
}

#endif
