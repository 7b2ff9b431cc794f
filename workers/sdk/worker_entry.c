// SPDX-License-Identifier: MIT
/*
 * Splitting a stream entry into its events: the n and env fields read, env measured
 * envelope by envelope (envelope_measure, with the decoder's bounds) and each
 * envelope decoded on its own bytes into the caller's zone. Untrusted input: a
 * malformed entry is refused with the reason its dead letter carries.
 */
#include "worker_entry.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The string value of field name, or NULL (absent, or not a string). */
static const redisReply *field(const redisReply *fields, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && k->len == n && memcmp(k->str, name, n) == 0 &&
            v->type == REDIS_REPLY_STRING)
            return v;
    }
    return NULL;
}

const redisReply *worker_entry_env(const redisReply *fields)
{
    return field(fields, "env");
}

/* Reads n: decimal digits, 1 to WORKER_ENTRY_EVENTS_MAX. Returns 0, or -EINVAL. */
static int parse_count(const redisReply *v, unsigned *count)
{
    unsigned c = 0;

    if (v->len == 0 || v->len > 2)
        return -EINVAL;
    for (size_t i = 0; i < v->len; i++) {
        if (v->str[i] < '0' || v->str[i] > '9')
            return -EINVAL;
        c = c * 10 + (unsigned)(v->str[i] - '0');
    }
    if (c < 1 || c > WORKER_ENTRY_EVENTS_MAX)
        return -EINVAL;
    *count = c;
    return 0;
}

/*
 * Decodes one envelope of the entry into *ev; measured: raw_len is what
 * envelope_measure found, so the bytes are not walked again. Returns 0, or -EINVAL
 * with *reason.
 */
static int decode_one(const char *raw, size_t raw_len, bool measured, unsigned index,
                      msgpack_zone *zone, struct worker_event *ev, const char **reason)
{
    memset(ev, 0, sizeof(*ev));
    if ((measured ? envelope_decode_measured(raw, raw_len, zone, &ev->env, reason)
                  : envelope_decode_zone(raw, raw_len, zone, &ev->env, reason)) < 0)
        return -EINVAL;
    ev->raw = raw;
    ev->raw_len = raw_len;
    ev->entry_index = index;
    return 0;
}

/*
 * How many well-formed objects follow the first n envelopes, for the reason of an
 * entry whose env holds more than n says: -1 when the rest is not a msgpack stream.
 */
static long count_rest(const char *buf, size_t len)
{
    long count = 0;

    while (len > 0) {
        size_t object_len;
        if (envelope_measure(buf, len, ENVELOPE_DATA_DEPTH_MAX + 1, &object_len) < 0)
            return -1;
        buf += object_len;
        len -= object_len;
        count++;
    }
    return count;
}

int worker_entry_split(const redisReply *fields, msgpack_zone *zone, struct worker_event *events,
                       char *why, size_t why_size)
{
    const redisReply *env = field(fields, "env"), *n_field = field(fields, "n");
    const char *reason = NULL;
    unsigned n, count = 0;
    size_t pos = 0;

    if (!env) {
        snprintf(why, why_size, "entry has no env field");
        return -EINVAL;
    }
    if (!n_field) {
        /* One event: env is exactly one envelope, as before entries carried several. */
        if (decode_one(env->str, env->len, false, 0, zone, &events[0], &reason) < 0) {
            snprintf(why, why_size, "envelope: %s", reason);
            return -EINVAL;
        }
        return 1;
    }
    if (parse_count(n_field, &n) < 0) {
        snprintf(why, why_size, "entry's n is not a count from 1 to %d",
                 WORKER_ENTRY_EVENTS_MAX);
        return -EINVAL;
    }
    while (pos < env->len) {
        size_t object_len;

        if (count == n) {
            long rest = count_rest(env->str + pos, env->len - pos);
            if (rest < 0)
                snprintf(why, why_size, "entry says n=%u but env holds more than %u envelopes "
                         "and bytes that are not msgpack", n, n);
            else
                snprintf(why, why_size, "entry says n=%u but env holds %ld envelopes", n,
                         (long)n + rest);
            return -EINVAL;
        }
        if (envelope_measure(env->str + pos, env->len - pos, ENVELOPE_DATA_DEPTH_MAX + 1,
                             &object_len) < 0) {
            snprintf(why, why_size, "envelope %u of %u: not a well-formed msgpack object",
                     count + 1, n);
            return -EINVAL;
        }
        if (decode_one(env->str + pos, object_len, true, count, zone, &events[count],
                       &reason) < 0) {
            snprintf(why, why_size, "envelope %u of %u: %s", count + 1, n, reason);
            return -EINVAL;
        }
        pos += object_len;
        count++;
    }
    if (count != n) {
        snprintf(why, why_size, "entry says n=%u but env holds %u envelopes", n, count);
        return -EINVAL;
    }
    return (int)count;
}
