// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the envelope decoder, which every worker runs on the bytes of a
 * stream entry (hub/core/envelope.c: the bounds check, then msgpack-c, then the
 * fields). Any input must either be refused with a reason or decode to a view whose
 * strings lie inside the input's unpacked copy and whose data is a map that converts
 * to JSON, or is refused by the conversion with EINVAL (binary or extension values,
 * keys that are not strings). A decoded envelope encoded again decodes to the same
 * fields. envelope_decode_zone (the workers' batch path) decides every input as
 * envelope_decode does, with the same fields, and envelope_decode_measured decides the
 * input's first object as envelope_decode_zone does. A violation aborts, which libFuzzer
 * reports as a crash.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "envelope.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_envelope: %s\n", what);
    abort();
}

/* A NUL-terminated copy of a decoded string, or NULL when it holds a NUL. */
static char *text(struct envelope_str s)
{
    char *c;

    if (memchr(s.ptr, '\0', s.len))
        return NULL;
    if (!(c = malloc(s.len + 1u)))
        fail("out of memory");
    memcpy(c, s.ptr, s.len);
    c[s.len] = '\0';
    return c;
}

static int same(struct envelope_str a, struct envelope_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* Encodes the decoded envelope again and checks that it decodes to the same fields. */
static void round_trip(const struct envelope_view *v, json_t *data)
{
    char *id = text(v->id), *source = text(v->source), *type = text(v->type),
         *subject = text(v->subject), *time = text(v->time), *m = text(v->municipality),
         *category = text(v->category);
    struct envelope env = {.id = id, .source = source, .type = type, .subject = subject,
                           .time = time, .municipality = m, .category = category,
                           .receivedtime_ns = v->receivedtime_ns, .data = data};
    msgpack_sbuffer buf;
    msgpack_unpacked u;
    struct envelope_view w;
    const char *why = NULL;

    if (id && source && type && subject && time && m && category) {
        msgpack_sbuffer_init(&buf);
        if (envelope_encode(&env, &buf) != 0)
            fail("a decoded envelope does not encode");
        msgpack_unpacked_init(&u);
        if (envelope_decode(buf.data, buf.size, &u, &w, &why) != 0)
            fail(why ? why : "a re-encoded envelope does not decode");
        if (!same(v->id, w.id) || !same(v->source, w.source) || !same(v->type, w.type) ||
            !same(v->subject, w.subject) || !same(v->time, w.time) ||
            !same(v->municipality, w.municipality) || !same(v->category, w.category) ||
            v->receivedtime_ns != w.receivedtime_ns)
            fail("a re-encoded envelope decodes to other fields");
        msgpack_unpacked_destroy(&u);
        msgpack_sbuffer_destroy(&buf);
    }
    free(id);
    free(source);
    free(type);
    free(subject);
    free(time);
    free(m);
    free(category);
}

/* envelope_decode_zone decides as envelope_decode did (rc), with the same fields. */
static void zone_agrees(const uint8_t *data, size_t size, int rc, const struct envelope_view *v)
{
    msgpack_zone zone;
    struct envelope_view z;
    const char *why = NULL;
    int zrc;

    if (!msgpack_zone_init(&zone, 2048))
        fail("out of memory");
    zrc = envelope_decode_zone((const char *)data, size, &zone, &z, &why);
    if (zrc != rc)
        fail("envelope_decode_zone and envelope_decode disagree");
    if (rc == 0 && (!same(v->id, z.id) || !same(v->source, z.source) ||
                    !same(v->type, z.type) || !same(v->subject, z.subject) ||
                    !same(v->time, z.time) || !same(v->municipality, z.municipality) ||
                    !same(v->category, z.category) || v->receivedtime_ns != z.receivedtime_ns ||
                    !z.data || z.data->type != MSGPACK_OBJECT_MAP ||
                    z.data->via.map.size != v->data->via.map.size))
        fail("envelope_decode_zone decodes other fields");
    msgpack_zone_destroy(&zone);
}

/*
 * The input's first object, as envelope_measure finds it (a stream entry's envelopes
 * are split so): envelope_decode_measured decides it as envelope_decode_zone does.
 */
static void measured_agrees(const uint8_t *data, size_t size)
{
    msgpack_zone zone;
    struct envelope_view a, b;
    const char *why_a = NULL, *why_b = NULL;
    size_t len;
    int ra, rb;

    if (envelope_measure((const char *)data, size, ENVELOPE_DATA_DEPTH_MAX + 1, &len) < 0)
        return;
    if (!msgpack_zone_init(&zone, 2048))
        fail("out of memory");
    ra = envelope_decode_zone((const char *)data, len, &zone, &a, &why_a);
    rb = envelope_decode_measured((const char *)data, len, &zone, &b, &why_b);
    if (ra != rb)
        fail("envelope_decode_measured and envelope_decode_zone disagree");
    if (ra == 0 && (!same(a.id, b.id) || !same(a.source, b.source) || !same(a.type, b.type) ||
                    !same(a.subject, b.subject) || !same(a.time, b.time) ||
                    !same(a.municipality, b.municipality) || !same(a.category, b.category) ||
                    a.receivedtime_ns != b.receivedtime_ns || !b.data ||
                    b.data->via.map.size != a.data->via.map.size))
        fail("envelope_decode_measured decodes other fields");
    msgpack_zone_destroy(&zone);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msgpack_unpacked u;
    struct envelope_view v;
    const char *why = NULL;
    json_t *j;
    int rc;

    msgpack_unpacked_init(&u);
    rc = envelope_decode((const char *)data, size, &u, &v, &why);
    zone_agrees(data, size, rc, &v);
    measured_agrees(data, size);
    if (rc != 0) {
        if (!why || !why[0])
            fail("refused without a reason");
        msgpack_unpacked_destroy(&u);
        return 0;
    }
    if (!v.data || v.data->type != MSGPACK_OBJECT_MAP)
        fail("decoded data is not a map");
    errno = 0;
    j = envelope_object_to_json(v.data);
    if (j) {
        if (!json_is_object(j))
            fail("a map converted to something other than an object");
        round_trip(&v, j);
        json_decref(j);
    } else if (errno != EINVAL) {
        fail("conversion failed without EINVAL");
    }
    msgpack_unpacked_destroy(&u);
    return 0;
}
