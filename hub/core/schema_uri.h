// SPDX-License-Identifier: MIT
/*
 * URI references as JSON Schema's $id and $ref use them: resolution against a base
 * URI (RFC 3986 section 5.2, with dot-segment removal) and percent-decoding of
 * fragments. Compile-time only; results are allocated.
 */
#ifndef RHEINHUB_SCHEMA_URI_H
#define RHEINHUB_SCHEMA_URI_H

#include <stddef.h>

/*
 * Resolves the reference ref against base (NULL or "" for none: the result is then
 * ref with its dot segments removed). Returns a new string the caller frees, or NULL
 * with errno set.
 */
char *schema_uri_resolve(const char *base, const char *ref);

/* The length of uri without its fragment: the offset of the first '#', or strlen. */
size_t schema_uri_strip_fragment(const char *uri);

/*
 * Percent-decodes s[0..n) into a new string (NUL-terminated, *out_n bytes, which
 * may contain NUL). Malformed escapes stay as written. Returns NULL with errno set.
 */
char *schema_uri_decode(const char *s, size_t n, size_t *out_n);

#endif
