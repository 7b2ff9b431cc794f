// SPDX-License-Identifier: MIT
/*
 * The route JSON of a worker kind (see worker_route.h and docs/workers.md): parsed
 * with jansson into fixed-size arrays, and the glob test applied to every entry.
 */
#include "worker_route.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#define MATCH_VALUE_MAX 1024

__attribute__((format(printf, 3, 4))) static int fail(char *why, size_t why_size,
                                                      const char *fmt, ...)
{
    va_list ap;

    if (why && why_size) {
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/*
 * Copies the strings of the array member name into out (n_max entries of size bytes
 * each). A missing member leaves *n at 0 unless required.
 */
static int load_list(const json_t *root, const char *name, bool required, char *out,
                     size_t n_max, size_t size, size_t *n, bool dedupe, char *why,
                     size_t why_size)
{
    const json_t *arr = json_object_get(root, name);
    size_t i;
    json_t *item;

    *n = 0;
    if (!arr) {
        if (required)
            return fail(why, why_size, "route lacks \"%s\"", name);
        return 0;
    }
    if (!json_is_array(arr))
        return fail(why, why_size, "route \"%s\" is not an array", name);
    if (json_array_size(arr) > n_max)
        return fail(why, why_size, "route \"%s\" has more than %zu entries", name, n_max);
    json_array_foreach(arr, i, item) {
        const char *s;
        size_t len;
        bool seen = false;

        if (!json_is_string(item))
            return fail(why, why_size, "route \"%s\"[%zu] is not a string", name, i);
        s = json_string_value(item);
        len = json_string_length(item);
        if (len == 0 || len >= size || strlen(s) != len)
            return fail(why, why_size, "route \"%s\"[%zu] is empty, too long or holds a NUL",
                        name, i);
        for (size_t k = 0; dedupe && k < *n && !seen; k++)
            seen = strcmp(out + k * size, s) == 0;
        if (seen)
            continue;
        memcpy(out + *n * size, s, len + 1);
        (*n)++;
    }
    return 0;
}

int worker_route_parse(struct worker_route *out, const char *text, size_t len, const char *kind,
                       char *why, size_t why_size)
{
    json_error_t jerr;
    json_t *root;
    const json_t *v;
    int r = -EINVAL;

    memset(out, 0, sizeof(*out));
    if (len > WORKER_ROUTE_TEXT_MAX)
        return fail(why, why_size, "route is longer than %d bytes", WORKER_ROUTE_TEXT_MAX);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fail(why, why_size, "route is not JSON: %s", jerr.text);
    if (!json_is_object(root)) {
        fail(why, why_size, "route is not a JSON object");
        goto out;
    }
    v = json_object_get(root, "kind");
    if (v) {
        if (!json_is_string(v) || json_string_length(v) >= sizeof(out->kind)) {
            fail(why, why_size, "route \"kind\" is not a short string");
            goto out;
        }
        if (kind && strcmp(json_string_value(v), kind) != 0) {
            fail(why, why_size, "route is for kind '%s', not '%s'", json_string_value(v), kind);
            goto out;
        }
        snprintf(out->kind, sizeof(out->kind), "%s", json_string_value(v));
    } else if (kind) {
        snprintf(out->kind, sizeof(out->kind), "%s", kind);
    }
    v = json_object_get(root, "version");
    if (v) {
        if (!json_is_integer(v)) {
            fail(why, why_size, "route \"version\" is not an integer");
            goto out;
        }
        out->version = json_integer_value(v);
    }
    if (load_list(root, "streams", true, &out->streams[0][0], WORKER_ROUTE_STREAMS_MAX,
                  WORKER_ROUTE_NAME_MAX, &out->n_streams, true, why, why_size) < 0 ||
        load_list(root, "municipalities", false, &out->municipalities[0][0],
                  WORKER_ROUTE_PATTERNS_MAX, WORKER_ROUTE_PATTERN_MAX, &out->n_municipalities,
                  false, why, why_size) < 0 ||
        load_list(root, "subjects", false, &out->subjects[0][0], WORKER_ROUTE_PATTERNS_MAX,
                  WORKER_ROUTE_PATTERN_MAX, &out->n_subjects, false, why, why_size) < 0)
        goto out;
    r = 0;
out:
    json_decref(root);
    if (r < 0)
        memset(out, 0, sizeof(*out));
    return r;
}

/* Whether value[0..len) matches one of the n patterns (or n is 0). */
static bool match_any(const char (*patterns)[WORKER_ROUTE_PATTERN_MAX], size_t n,
                      const char *value, size_t len)
{
    char buf[MATCH_VALUE_MAX + 1];

    if (n == 0)
        return true;
    if (len > MATCH_VALUE_MAX || (len && memchr(value, '\0', len)))
        return false;
    if (len)
        memcpy(buf, value, len);
    buf[len] = '\0';
    for (size_t i = 0; i < n; i++)
        if (fnmatch(patterns[i], buf, 0) == 0)
            return true;
    return false;
}

bool worker_route_match(const struct worker_route *route, const char *municipality,
                        size_t municipality_len, const char *subject, size_t subject_len)
{
    return match_any(route->municipalities, route->n_municipalities, municipality,
                     municipality_len) &&
           match_any(route->subjects, route->n_subjects, subject, subject_len);
}

bool worker_route_has_stream(const struct worker_route *route, const char *stream)
{
    for (size_t i = 0; i < route->n_streams; i++)
        if (strcmp(route->streams[i], stream) == 0)
            return true;
    return false;
}
