// SPDX-License-Identifier: MIT
/*
 * msgpack to JSON text, byte for byte as jansson 2.14 prints the same value: strings
 * checked as UTF-8 (no overlong forms, surrogates or code points past U+10FFFF) and
 * escaped with \", \\, \b, \f, \n, \r, \t and \u00XX (upper-case hex) for the other
 * control characters; integers in decimal; reals as "%.17g" with ".0" added when that
 * looks like an integer and the exponent without "+" or leading zeros; unsigned
 * integers above INT64_MAX as reals. A map that repeats a key is handed to jansson,
 * which keeps the first place and the last value.
 */
#include "jsontext.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "envelope.h"

#define DEPTH_MAX 64     /* msgpack-c unpacks 32 at most; this only guards the recursion */
#define DUP_CHECK_MAX 64 /* maps with more keys go to jansson rather than an n² check */

struct out {
    char *buf;
    size_t len, cap;
};

static int reserve(struct out *o, size_t more)
{
    size_t cap = o->cap ? o->cap : 256;
    char *nb;

    if (o->len + more + 1 <= o->cap)
        return 0;
    while (cap < o->len + more + 1)
        cap *= 2;
    if (!(nb = realloc(o->buf, cap)))
        return -ENOMEM;
    o->buf = nb;
    o->cap = cap;
    return 0;
}

static int put(struct out *o, const char *s, size_t n)
{
    if (reserve(o, n) < 0)
        return -ENOMEM;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    return 0;
}

static int putc_(struct out *o, char c)
{
    return put(o, &c, 1);
}

/* Length of the UTF-8 sequence at s[0..n) as jansson accepts it, or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len, i;
    uint32_t v;

    if (s[0] < 0x80)
        return 1;
    if (s[0] < 0xc2)
        return 0;
    if (s[0] < 0xe0) {
        len = 2;
        v = s[0] & 0x1f;
    } else if (s[0] < 0xf0) {
        len = 3;
        v = s[0] & 0x0f;
    } else if (s[0] < 0xf5) {
        len = 4;
        v = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) || (len == 3 && v < 0x800) ||
        (len == 4 && v < 0x10000))
        return 0;
    return len;
}

static int put_string(struct out *o, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0, i = 0;

    if (reserve(o, n + 2) < 0 || putc_(o, '"') < 0)
        return -ENOMEM;
    while (i < n) {
        size_t seq = utf8_seq(s + i, n - i);
        char esc[7];
        const char *e = NULL;

        if (seq == 0)
            return -EINVAL;
        if (seq > 1 || (s[i] >= 0x20 && s[i] != '"' && s[i] != '\\')) {
            i += seq;
            continue;
        }
        switch (s[i]) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[s[i] >> 4];
            esc[5] = hex[s[i] & 15];
            esc[6] = '\0';
            e = esc;
        }
        if (put(o, str + run, i - run) < 0 || put(o, e, strlen(e)) < 0)
            return -ENOMEM;
        run = ++i;
    }
    if (put(o, str + run, n - run) < 0 || putc_(o, '"') < 0)
        return -ENOMEM;
    return 0;
}

static int put_int(struct out *o, long long v)
{
    char b[24];
    char *p = b + sizeof(b);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return put(o, p, (size_t)(b + sizeof(b) - p));
}

/* jansson's jsonp_dtostr with precision 17. */
static int put_real(struct out *o, double v)
{
    char b[64];
    char *e;
    int n;

    if (!isfinite(v))
        return -EINVAL;
    n = snprintf(b, sizeof(b) - 3, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof(b) - 3)
        return -EINVAL;
    if (!strchr(b, '.') && !strchr(b, 'e')) {
        memcpy(b + n, ".0", 3);
        n += 2;
    }
    if ((e = strchr(b, 'e'))) {
        char *start = e + 1, *end;
        if (*start == '-')
            start++;
        end = start;
        if (*end == '+')
            end++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, strlen(end) + 1);
            n = (int)strlen(b);
        }
    }
    return put(o, b, (size_t)n);
}

/* Whether a map repeats a key (or is too large to check): jansson decides then. */
static bool needs_jansson(const msgpack_object_map *m)
{
    if (m->size > DUP_CHECK_MAX)
        return true;
    for (uint32_t i = 1; i < m->size; i++) {
        const msgpack_object *ki = &m->ptr[i].key;
        for (uint32_t j = 0; j < i; j++) {
            const msgpack_object *kj = &m->ptr[j].key;
            if (ki->type == MSGPACK_OBJECT_STR && kj->type == MSGPACK_OBJECT_STR &&
                ki->via.str.size == kj->via.str.size &&
                memcmp(ki->via.str.ptr, kj->via.str.ptr, ki->via.str.size) == 0)
                return true;
        }
    }
    return false;
}

static int put_value(struct out *o, const msgpack_object *obj, int depth);

/* A map jansson must print: converted and dumped by it, then appended. */
static int put_via_jansson(struct out *o, const msgpack_object *obj)
{
    json_t *v = envelope_object_to_json(obj);
    char *text;
    int r;

    if (!v)
        return errno == ENOMEM ? -ENOMEM : -EINVAL;
    text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (!text)
        return -ENOMEM;
    r = put(o, text, strlen(text));
    free(text);
    return r;
}

static int put_value(struct out *o, const msgpack_object *obj, int depth)
{
    int r;

    if (depth > DEPTH_MAX)
        return -EINVAL;
    switch (obj->type) {
    case MSGPACK_OBJECT_NIL: return put(o, "null", 4);
    case MSGPACK_OBJECT_BOOLEAN:
        return obj->via.boolean ? put(o, "true", 4) : put(o, "false", 5);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (obj->via.u64 > (uint64_t)INT64_MAX)
            return put_real(o, (double)obj->via.u64);
        return put_int(o, (long long)obj->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return put_int(o, (long long)obj->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return put_real(o, obj->via.f64);
    case MSGPACK_OBJECT_STR: return put_string(o, obj->via.str.ptr, obj->via.str.size);
    case MSGPACK_OBJECT_ARRAY:
        if (putc_(o, '[') < 0)
            return -ENOMEM;
        for (uint32_t i = 0; i < obj->via.array.size; i++) {
            if (i && putc_(o, ',') < 0)
                return -ENOMEM;
            if ((r = put_value(o, &obj->via.array.ptr[i], depth + 1)) < 0)
                return r;
        }
        return putc_(o, ']');
    case MSGPACK_OBJECT_MAP:
        if (needs_jansson(&obj->via.map))
            return put_via_jansson(o, obj);
        if (putc_(o, '{') < 0)
            return -ENOMEM;
        for (uint32_t i = 0; i < obj->via.map.size; i++) {
            const msgpack_object_kv *kv = &obj->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                return -EINVAL;
            if (i && putc_(o, ',') < 0)
                return -ENOMEM;
            if ((r = put_string(o, kv->key.via.str.ptr, kv->key.via.str.size)) < 0 ||
                (r = putc_(o, ':')) < 0 || (r = put_value(o, &kv->val, depth + 1)) < 0)
                return r;
        }
        return putc_(o, '}');
    default: return -EINVAL;
    }
}

int jsontext_from_msgpack(const msgpack_object *obj, char **out, size_t *len)
{
    struct out o = {0};
    int r = put_value(&o, obj, 0);

    if (r == 0)
        r = reserve(&o, 0);
    if (r < 0) {
        free(o.buf);
        return r;
    }
    o.buf[o.len] = '\0';
    *out = o.buf;
    *len = o.len;
    return 0;
}
