// SPDX-License-Identifier: MIT
/*
 * The CloudEvents text of an event (cloudevent.h). Encoding the whole object with
 * jansson cost about a tenth of a TTN uplink's instructions (each string is walked
 * one UTF-8 character at a time, the object is built of eight hash-table members),
 * although the id, type, subject and time were checked before (hex, topic levels,
 * RFC 3339) and never need escaping. Those are copied; jansson still encodes source
 * (the network server's text) and data, so that the bytes are the same either way.
 */
#include "cloudevent.h"

#include <string.h>

#include "utf8.h"

/* The length of the source member: a longer source is cut to CLOUDEVENT_SOURCE_MAX
 * bytes at a whole character, so that a long source of non-ASCII text is shortened,
 * not refused as text that is not UTF-8 (what the source itself is stays checked). */
static size_t source_len(const char *s)
{
    size_t n = strnlen(s, CLOUDEVENT_SOURCE_MAX + 1);

    return n <= CLOUDEVENT_SOURCE_MAX ? n : utf8_cut(s, CLOUDEVENT_SOURCE_MAX);
}

json_t *cloudevent_new(const struct source_event *ev)
{
    json_t *ce = json_object();

    if (!ce ||
        json_object_set_new_nocheck(ce, "specversion", json_string_nocheck("1.0")) < 0 ||
        json_object_set_new_nocheck(ce, "id", json_string(ev->id)) < 0 ||
        json_object_set_new_nocheck(
            ce, "source",
            json_stringn(ev->ce_source, source_len(ev->ce_source))) < 0 ||
        json_object_set_new_nocheck(ce, "type", json_string(ev->event_type)) < 0 ||
        json_object_set_new_nocheck(ce, "subject", json_string(ev->subject)) < 0 ||
        json_object_set_new_nocheck(ce, "time", json_string(ev->time)) < 0 ||
        json_object_set_new_nocheck(ce, "datacontenttype",
                                    json_string_nocheck("application/json")) < 0 ||
        json_object_set_nocheck(ce, "data", ev->data) < 0) {
        json_decref(ce);
        return NULL;
    }
    return ce;
}

/* Whether jansson would write s as it is: printable ASCII without '"' and '\'. */
static bool plain(const char *s)
{
    if (!s)
        return false;
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
            return false;
    return true;
}

/* The text being written: what fits goes into buf, len counts all of it. */
struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len < o->size)
        memcpy(o->buf + o->len, s, n <= o->size - o->len ? n : o->size - o->len);
    o->len += n;
}

static void put_str(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* v encoded by jansson at the end of the text; false on error. */
static bool put_json(struct out *o, const json_t *v, size_t flags)
{
    size_t room = o->len < o->size ? o->size - o->len : 0;
    size_t n = json_dumpb(v, room ? o->buf + o->len : NULL, room, flags);

    o->len += n;
    return n > 0;
}

/* The whole object by jansson: for an event with a member that needs escaping. */
static size_t format_by_jansson(const struct source_event *ev, char *buf, size_t size)
{
    json_t *ce = cloudevent_new(ev);
    size_t n = ce ? json_dumpb(ce, buf, size, CLOUDEVENT_DUMP_FLAGS) : 0;

    json_decref(ce);
    return n;
}

size_t cloudevent_format(const struct source_event *ev, char *buf, size_t size)
{
    struct out o = {.buf = buf, .size = size};
    json_t *source;
    bool ok;

    if (!plain(ev->id) || !plain(ev->event_type) || !plain(ev->subject) || !plain(ev->time))
        return format_by_jansson(ev, buf, size);
    source = json_stringn(ev->ce_source, source_len(ev->ce_source));
    if (!source)
        return 0;
    put_str(&o, "{\"specversion\":\"1.0\",\"id\":\"");
    put_str(&o, ev->id);
    put_str(&o, "\",\"source\":");
    ok = put_json(&o, source, JSON_ENCODE_ANY);
    json_decref(source);
    put_str(&o, ",\"type\":\"");
    put_str(&o, ev->event_type);
    put_str(&o, "\",\"subject\":\"");
    put_str(&o, ev->subject);
    put_str(&o, "\",\"time\":\"");
    put_str(&o, ev->time);
    put_str(&o, "\",\"datacontenttype\":\"application/json\",\"data\":");
    ok = ok && put_json(&o, ev->data, CLOUDEVENT_DUMP_FLAGS);
    put(&o, "}", 1);
    return ok ? o.len : 0;
}
