// SPDX-License-Identifier: MIT
/*
 * The canonical envelope: every accepted event becomes one msgpack map, written to
 * Redis once and read by every worker. The layout is drawn in envelope.c and
 * documented field by field in schemas/envelope.md.
 */
#ifndef RHEINHUB_ENVELOPE_H
#define RHEINHUB_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#include "topic.h"

/* A computed id is 32 lower-case hex digits (128 bits); a publisher's may be longer. */
#define EVENT_ID_HEX 32
#define EVENT_ID_MAX 256
#define EVENT_TIME_MAX 64
/*
 * msgpack-c unpacks at most 32 nested containers (MSGPACK_EMBED_STACK_SIZE) and the
 * envelope map is one of them, so event data may nest 31 deep at most.
 */
#define ENVELOPE_DATA_DEPTH_MAX 31

struct envelope {
    const char *id;
    const char *source;
    const char *type;         /* "<category>.<type>" */
    const char *subject;
    const char *time;         /* RFC 3339, as the publisher sent it */
    const char *municipality;
    const char *category;
    uint64_t receivedtime_ns; /* hub clock, ns since the epoch */
    const json_t *data;       /* the validated payload, an object */
};

/*
 * Computes the deterministic id of an event that carries none: a 128-bit XXH3 hash
 * of municipality, event type, subject, time and the raw payload bytes, each
 * separated by a NUL byte, as 32 lower-case hex digits. A redelivered or bridged
 * copy of an event has the same bytes and so the same id.
 */
void event_id_compute(char out[EVENT_ID_HEX + 1], const struct topic *topic, const char *time,
                      const void *payload, size_t payload_len);

/*
 * Appends the msgpack encoding of env to buf (which the caller owns and clears).
 * Returns 0, or -ENOMEM.
 */
int envelope_encode(const struct envelope *env, msgpack_sbuffer *buf);

/* Appends the msgpack encoding of a JSON value. Returns 0, or -ENOMEM. */
int envelope_pack_json(msgpack_packer *pk, const json_t *value);

/*
 * Checks that buf holds exactly one msgpack object, no deeper than max_depth, whose
 * containers declare no more elements than bytes remain, so that unpacking
 * untrusted input cannot make msgpack-c allocate for a forged size.
 * Returns 0, or -EINVAL.
 */
int envelope_check_bounds(const char *buf, size_t len, int max_depth);

/*
 * The same checks on the first msgpack object of buf, which may be followed by more
 * bytes (a msgpack stream, such as the envelopes of one stream entry): its containers
 * may declare no more elements than bytes remain in buf. Returns 0 with the object's
 * length in *object_len (0 < *object_len <= len), or -EINVAL (buf empty, the object
 * cut short, too deep, a forged size, the never-used byte 0xc1); *object_len is then
 * unchanged. What follows the object is not looked at.
 */
int envelope_measure(const char *buf, size_t len, int max_depth, size_t *object_len);

/* A decoded envelope. Strings point into the unpacked buffer and are not terminated. */
struct envelope_str {
    const char *ptr;
    uint32_t len;
};

struct envelope_view {
    struct envelope_str specversion, id, source, type, subject, time, municipality, category;
    uint64_t receivedtime_ns;
    const msgpack_object *data; /* a map */
};

/*
 * Decodes an envelope from buf into *out, using *unpacked (initialised by the caller
 * with msgpack_unpacked_init, destroyed by the caller) as storage. Returns 0, or
 * -EINVAL with *why naming what is wrong.
 */
int envelope_decode(const char *buf, size_t len, msgpack_unpacked *unpacked,
                    struct envelope_view *out, const char **why);

/*
 * The same, with the objects allocated in *zone (owned by the caller, which may decode
 * many envelopes into one zone and free them together): no allocation of a zone per
 * envelope. *out points into buf and *zone; both must outlive it.
 */
int envelope_decode_zone(const char *buf, size_t len, msgpack_zone *zone,
                         struct envelope_view *out, const char **why);

/*
 * envelope_decode_zone for len bytes that envelope_measure (max_depth
 * ENVELOPE_DATA_DEPTH_MAX + 1) found to be one whole object: the same decoding, without
 * walking the bytes a second time. Whatever admits an object there admits it here, so
 * only a measured object may be passed.
 */
int envelope_decode_measured(const char *buf, size_t len, msgpack_zone *zone,
                             struct envelope_view *out, const char **why);

/*
 * Converts a decoded msgpack object to a new JSON value, or NULL with errno EINVAL
 * (a bin or ext value, a map key that is not a string, a string or key that is not
 * UTF-8, a NaN or an infinity) or ENOMEM.
 */
json_t *envelope_object_to_json(const msgpack_object *obj);

#endif
