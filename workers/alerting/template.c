// SPDX-License-Identifier: MIT
/*
 * Message templates (template.h): checked when the rules are loaded, rendered when an
 * alert is raised or its severity changes.
 */
#include "template.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define PLACEHOLDER_MAX 160

static const char *const field_names[] = {
#define X(name, text) text,
    TEMPLATE_FIELD_MAP(X)
#undef X
};

/* The field of a placeholder name: its index, TEMPLATE_FIELD_COUNT for data.<path>, or -1. */
static int field_of(const char *name, size_t len)
{
    for (int i = 0; i < TEMPLATE_FIELD_COUNT; i++)
        if (strlen(field_names[i]) == len && memcmp(field_names[i], name, len) == 0)
            return i;
    if (len > 5 && memcmp(name, "data.", 5) == 0) {
        for (size_t i = 5; i < len; i++) {
            char c = name[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || (c == '.' && name[i - 1] != '.' && i + 1 < len)))
                return -1;
        }
        return TEMPLATE_FIELD_COUNT;
    }
    return -1;
}

int template_check(const char *tmpl, char *why, size_t why_size)
{
    for (const char *p = tmpl; *p; p++) {
        const char *end;

        if (p[0] == '{' && p[1] == '{') {
            p++;
            continue;
        }
        if (p[0] == '}' && p[1] == '}') {
            p++;
            continue;
        }
        if (*p == '}') {
            snprintf(why, why_size, "a '}' without its '{' (write '}}' for a literal brace)");
            return -EINVAL;
        }
        if (*p != '{')
            continue;
        if (!(end = strchr(p + 1, '}'))) {
            snprintf(why, why_size, "a '{' without its '}' (write '{{' for a literal brace)");
            return -EINVAL;
        }
        if (end - p - 1 >= PLACEHOLDER_MAX || field_of(p + 1, (size_t)(end - p - 1)) < 0) {
            snprintf(why, why_size,
                     "unknown field {%.*s}; known: {rule} {municipality} {type} {subject} "
                     "{field} {value} {threshold} {severity} {duration} {event_id} "
                     "{event_time} {data.<field>}",
                     (int)(end - p - 1 > 40 ? 40 : end - p - 1), p + 1);
            return -EINVAL;
        }
        p = end;
    }
    return 0;
}

struct out {
    char *buf;
    size_t len;  /* bytes written */
    size_t chars;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    size_t room, take;

    if (o->full)
        return;
    room = TEMPLATE_MESSAGE_MAX - 1 - o->len;
    take = value_utf8_prefix(s, n, room, TEMPLATE_MESSAGE_CHARS - o->chars);
    for (size_t i = 0; i < take; i++)
        o->chars += ((unsigned char)s[i] & 0xc0) != 0x80;
    memcpy(o->buf + o->len, s, take);
    o->len += take;
    if (take < n)
        o->full = true;
}

static void put_value(struct out *o, const struct value *v)
{
    char text[VALUE_STR_MAX + 32];

    if (!v)
        return;
    value_format(v, text, sizeof(text));
    put(o, text, strlen(text));
}

void template_render(const char *tmpl, const struct template_values *v,
                     char out[TEMPLATE_MESSAGE_MAX])
{
    struct out o = {.buf = out};

    for (const char *p = tmpl; *p && !o.full; p++) {
        const char *end;
        int f;

        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            put(&o, p, 1);
            p++;
            continue;
        }
        if (*p != '{' || !(end = strchr(p + 1, '}'))) {
            const char *next = p + 1;
            while (*next && *next != '{' && *next != '}')
                next++;
            put(&o, p, (size_t)(next - p));
            p = next - 1;
            continue;
        }
        f = field_of(p + 1, (size_t)(end - p - 1));
        if (f == TEMPLATE_FIELD_VALUE) {
            put_value(&o, v->value);
        } else if (f == TEMPLATE_FIELD_THRESHOLD) {
            put_value(&o, v->threshold);
        } else if (f == TEMPLATE_FIELD_COUNT) {
            char path[PLACEHOLDER_MAX];
            const msgpack_object *obj;
            struct value val;

            snprintf(path, sizeof(path), "%.*s", (int)(end - p - 6), p + 6);
            obj = v->data ? value_lookup(v->data, path) : NULL;
            if (obj && value_from_msgpack(obj, &val) == 0)
                put_value(&o, &val);
        } else if (f >= 0 && v->text[f]) {
            put(&o, v->text[f], strlen(v->text[f]));
        }
        p = end;
    }
    out[o.len] = '\0';
}
