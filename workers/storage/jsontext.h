// SPDX-License-Identifier: MIT
/*
 * A decoded msgpack payload written as compact JSON text in one pass, without building
 * a JSON tree: the same bytes as envelope_object_to_json() followed by json_dumps()
 * with JSON_COMPACT | JSON_PRESERVE_ORDER (jansson 2.14: its escapes, its 17-digit
 * reals, a repeated key keeping its first place and its last value), at a fraction of
 * the allocations. tests/unit/test_storage_jsontext.c holds the two side by side.
 */
#ifndef RHEINHUB_STORAGE_JSONTEXT_H
#define RHEINHUB_STORAGE_JSONTEXT_H

#include <stddef.h>

#include <msgpack.h>

/*
 * Writes obj as JSON into a new NUL-terminated string (*out, malloc; length *len).
 * Returns 0; -EINVAL when obj has no JSON form (a binary or extension value, a key
 * that is not a string, text that is not UTF-8, a real that is not finite, nesting
 * deeper than msgpack-c unpacks); -ENOMEM.
 */
int jsontext_from_msgpack(const msgpack_object *obj, char **out, size_t *len);

#endif
