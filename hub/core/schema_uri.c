// SPDX-License-Identifier: MIT
/*
 * RFC 3986 reference resolution for $id and $ref. A URI is split into its five
 * components (each a slice of the original text, with a flag for whether it was
 * present at all: "x:#" has an empty fragment, "x:" none), merged with the base per
 * section 5.2.2 and recomposed per section 5.3.
 */
#include "schema_uri.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct slice {
    const char *p;
    size_t n;
    bool set;
};

struct uri {
    struct slice scheme, authority, path, query, fragment;
};

static void uri_split(const char *s, struct uri *u)
{
    size_t i = 0, n = strlen(s), start;

    memset(u, 0, sizeof(*u));
    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
    if (n > 0 && isalpha((unsigned char)s[0])) {
        size_t j = 1;

        while (j < n && (isalnum((unsigned char)s[j]) || s[j] == '+' || s[j] == '-' || s[j] == '.'))
            j++;
        if (j < n && s[j] == ':') {
            u->scheme = (struct slice){s, j, true};
            i = j + 1;
        }
    }
    if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        start = i += 2;
        while (i < n && s[i] != '/' && s[i] != '?' && s[i] != '#')
            i++;
        u->authority = (struct slice){s + start, i - start, true};
    }
    start = i;
    while (i < n && s[i] != '?' && s[i] != '#')
        i++;
    u->path = (struct slice){s + start, i - start, true};
    if (i < n && s[i] == '?') {
        start = ++i;
        while (i < n && s[i] != '#')
            i++;
        u->query = (struct slice){s + start, i - start, true};
    }
    if (i < n && s[i] == '#')
        u->fragment = (struct slice){s + i + 1, n - i - 1, true};
}

/*
 * RFC 3986 section 5.2.4, in place on the NUL-terminated path: removes "." and ".."
 * segments. The output never grows, so it is written over the input.
 */
static void remove_dot_segments(char *path)
{
    char *in = path, *out = path;

    while (*in) {
        if (strncmp(in, "../", 3) == 0) {
            in += 3;
        } else if (strncmp(in, "./", 2) == 0) {
            in += 2;
        } else if (strncmp(in, "/./", 3) == 0) {
            in += 2;
        } else if (strcmp(in, "/.") == 0) {
            in[1] = '\0'; /* becomes "/" */
        } else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
            /* Drop the last output segment and its preceding "/". */
            if (in[3] == '/')
                in += 3;
            else
                in[2] = '/', in += 2; /* "/.." becomes "/" */
            while (out > path && *--out != '/')
                ;
        } else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0) {
            break;
        } else {
            /* Move the first segment, with its leading "/" if any, to the output. */
            do
                *out++ = *in++;
            while (*in && *in != '/');
        }
    }
    *out = '\0';
}

static char *append(char *dst, const struct slice *s)
{
    memcpy(dst, s->p, s->n);
    return dst + s->n;
}

char *schema_uri_resolve(const char *base, const char *ref)
{
    struct uri b, r;
    struct slice scheme, authority, query;
    char *path, *out, *o;
    size_t cap;

    uri_split(base ? base : "", &b);
    uri_split(ref, &r);
    cap = strlen(base ? base : "") + strlen(ref) + 8;
    if (!(path = malloc(cap)) || !(out = malloc(cap))) {
        free(path);
        errno = ENOMEM;
        return NULL;
    }
    o = path;
    if (r.scheme.set) {
        scheme = r.scheme, authority = r.authority, query = r.query;
        o = append(o, &r.path);
    } else {
        scheme = b.scheme;
        if (r.authority.set) {
            authority = r.authority, query = r.query;
            o = append(o, &r.path);
        } else {
            authority = b.authority;
            if (r.path.n == 0) {
                o = append(o, &b.path);
                query = r.query.set ? r.query : b.query;
            } else {
                query = r.query;
                if (r.path.p[0] != '/') {
                    /* Merge: the base path up to its last "/", then the reference. */
                    if (b.authority.set && b.path.n == 0) {
                        *o++ = '/';
                    } else {
                        size_t k = b.path.n;

                        while (k > 0 && b.path.p[k - 1] != '/')
                            k--;
                        memcpy(o, b.path.p, k);
                        o += k;
                    }
                }
                o = append(o, &r.path);
            }
        }
    }
    *o = '\0';
    remove_dot_segments(path);

    o = out;
    if (scheme.set) {
        o = append(o, &scheme);
        *o++ = ':';
    }
    if (authority.set) {
        *o++ = '/', *o++ = '/';
        o = append(o, &authority);
    }
    memcpy(o, path, strlen(path));
    o += strlen(path);
    if (query.set) {
        *o++ = '?';
        o = append(o, &query);
    }
    if (r.fragment.set) {
        *o++ = '#';
        o = append(o, &r.fragment);
    }
    *o = '\0';
    free(path);
    return out;
}

size_t schema_uri_strip_fragment(const char *uri)
{
    const char *hash = strchr(uri, '#');

    return hash ? (size_t)(hash - uri) : strlen(uri);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *schema_uri_decode(const char *s, size_t n, size_t *out_n)
{
    char *out = malloc(n + 1);
    size_t o = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;

        if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
            (lo = hex_value(s[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    *out_n = o;
    return out;
}
