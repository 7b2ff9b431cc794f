// SPDX-License-Identifier: MIT
/*
 * Encoding and decoding of the canonical envelope, and the deterministic event id.
 *
 * The envelope is one msgpack map of ten entries, keys as msgpack str, always in
 * this order (a reader must not depend on the order, but the hub never varies it):
 *
 *   +------+---------------+-----------------------------------------------------+
 *   | 0x8a | fixmap, 10 entries                                                  |
 *   +------+---------------+-----------------------------------------------------+
 *   | key  | "specversion" | str  "1.0"                                          |
 *   | key  | "id"          | str  publisher's CloudEvents id, or 32 hex digits   |
 *   | key  | "source"      | str  "mqtt://<broker>/<topic>" or the publisher's   |
 *   | key  | "type"        | str  "<category>.<type>"                            |
 *   | key  | "subject"     | str  topic level 4                                  |
 *   | key  | "time"        | str  RFC 3339 as sent (precision kept)              |
 *   | key  | "municipality"| str  topic level 1                                  |
 *   | key  | "category"    | str  "sensor" | "service" | "citizen"               |
 *   | key  | "receivedtime"| uint ns since 1970-01-01T00:00:00Z, hub clock       |
 *   | key  | "data"        | map  the payload object: JSON integers as int,      |
 *   |      |               |      reals as float 64, strings as str, true/false  |
 *   |      |               |      as bool, null as nil, arrays as array          |
 *   +------+---------------+-----------------------------------------------------+
 */
#include "envelope.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

void event_id_compute(char out[EVENT_ID_HEX + 1], const struct topic *topic, const char *time,
                      const void *payload, size_t payload_len)
{
    static const char hex[] = "0123456789abcdef";
    XXH3_state_t state;
    XXH128_hash_t h;
    uint64_t words[2];

    XXH3_INITSTATE(&state);
    XXH3_128bits_reset(&state);
    XXH3_128bits_update(&state, topic->municipality, strlen(topic->municipality) + 1);
    XXH3_128bits_update(&state, topic->event_type, strlen(topic->event_type) + 1);
    XXH3_128bits_update(&state, topic->subject, strlen(topic->subject) + 1);
    XXH3_128bits_update(&state, time, strlen(time) + 1);
    XXH3_128bits_update(&state, payload, payload_len);
    h = XXH3_128bits_digest(&state);
    words[0] = h.high64;
    words[1] = h.low64;
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < 16; i++)
            out[w * 16 + i] = hex[(words[w] >> (60 - 4 * i)) & 0xf];
    out[EVENT_ID_HEX] = '\0';
}

static int pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    if (msgpack_pack_str(pk, n) != 0 || msgpack_pack_str_body(pk, s, n) != 0)
        return -ENOMEM;
    return 0;
}

static int pack_cstr(msgpack_packer *pk, const char *s)
{
    return pack_str(pk, s, strlen(s));
}

int envelope_pack_json(msgpack_packer *pk, const json_t *value)
{
    int r = 0;

    switch (json_typeof(value)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *member;
        if (msgpack_pack_map(pk, json_object_size(value)) != 0)
            return -ENOMEM;
        /* jansson's iteration keeps the publisher's key order. */
        json_object_foreach ((json_t *)value, key, member) {
            if ((r = pack_cstr(pk, key)) < 0 || (r = envelope_pack_json(pk, member)) < 0)
                return r;
        }
        return 0;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *item;
        if (msgpack_pack_array(pk, json_array_size(value)) != 0)
            return -ENOMEM;
        json_array_foreach (value, i, item) {
            if ((r = envelope_pack_json(pk, item)) < 0)
                return r;
        }
        return 0;
    }
    case JSON_STRING:
        return pack_str(pk, json_string_value(value), json_string_length(value));
    case JSON_INTEGER:
        r = msgpack_pack_int64(pk, json_integer_value(value));
        break;
    case JSON_REAL:
        r = msgpack_pack_double(pk, json_real_value(value));
        break;
    case JSON_TRUE:
        r = msgpack_pack_true(pk);
        break;
    case JSON_FALSE:
        r = msgpack_pack_false(pk);
        break;
    case JSON_NULL:
        r = msgpack_pack_nil(pk);
        break;
    }
    return r == 0 ? 0 : -ENOMEM;
}

/*
 * The map header and the keys, as msgpack-c packs them (fixmap 0x8a; fixstr: 0xa0 |
 * length, then the bytes), so that each costs one buffer write instead of two packer
 * calls. "specversion" and its constant value "1.0" go with the header and the next
 * key. A unit test compares the result with msgpack-c's own packing.
 */
#define PACKED(bytes) {bytes, sizeof(bytes) - 1}
static const struct packed {
    const char *bytes;
    size_t len;
} map_head = PACKED("\x8a" "\xab" "specversion" "\xa3" "1.0" "\xa2" "id"),
  key_receivedtime = PACKED("\xac" "receivedtime"), key_data = PACKED("\xa4" "data"),
  keys[] = {PACKED("\xa6" "source"), PACKED("\xa4" "type"), PACKED("\xa7" "subject"),
            PACKED("\xa4" "time"), PACKED("\xac" "municipality"), PACKED("\xa8" "category")};

static int put(msgpack_sbuffer *buf, const struct packed *p)
{
    return msgpack_sbuffer_write(buf, p->bytes, p->len) == 0 ? 0 : -ENOMEM;
}

int envelope_encode(const struct envelope *env, msgpack_sbuffer *buf)
{
    msgpack_packer pk;
    const char *values[] = {env->source, env->type, env->subject, env->time,
                            env->municipality, env->category};
    int r;

    _Static_assert(sizeof(keys) / sizeof(keys[0]) == sizeof(values) / sizeof(values[0]),
                   "a value for every key");
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    if ((r = put(buf, &map_head)) < 0 || (r = pack_cstr(&pk, env->id)) < 0)
        return r;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if ((r = put(buf, &keys[i])) < 0 || (r = pack_cstr(&pk, values[i])) < 0)
            return r;
    }
    if ((r = put(buf, &key_receivedtime)) < 0)
        return r;
    if (msgpack_pack_uint64(&pk, env->receivedtime_ns) != 0)
        return -ENOMEM;
    if ((r = put(buf, &key_data)) < 0)
        return r;
    return envelope_pack_json(&pk, env->data);
}

/* Reads a big-endian unsigned integer of n bytes at p. */
static uint64_t read_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/*
 * Walks the first msgpack object of buf. Containers push their element count onto an
 * explicit stack, so that depth costs no C stack. Returns 0 with the object's length
 * in *object_len, or -EINVAL.
 */
int envelope_measure(const char *buf, size_t len, int max_depth, size_t *object_len)
{
    const unsigned char *p = (const unsigned char *)buf;
    uint64_t pending[64]; /* objects still to read at each open container level */
    int depth = 0;
    size_t pos = 0;

    if (max_depth > (int)(sizeof(pending) / sizeof(pending[0])) - 1)
        max_depth = (int)(sizeof(pending) / sizeof(pending[0])) - 1;
    pending[0] = 1;
    while (depth >= 0) {
        uint64_t body = 0, count = 0;
        int head = 1;
        unsigned char b;

        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        pending[depth]--;
        if (pos >= len)
            return -EINVAL;
        b = p[pos];
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* positive/negative fixint, nil, false, true */
        } else if (b >= 0x80 && b <= 0x8f) {
            count = 2u * (b & 0x0f);
        } else if (b >= 0x90 && b <= 0x9f) {
            count = b & 0x0f;
        } else if (b >= 0xa0 && b <= 0xbf) {
            body = b & 0x1f;
        } else {
            static const struct {
                unsigned char code;
                signed char len_bytes; /* size field; negative: fixed body of -n */
                char kind;             /* 'b' body, 'a' array, 'm' map, 'e' ext */
            } table[] = {
                {0xc4, 1, 'b'},  {0xc5, 2, 'b'},  {0xc6, 4, 'b'},  {0xc7, 1, 'e'},
                {0xc8, 2, 'e'},  {0xc9, 4, 'e'},  {0xca, -4, 'b'}, {0xcb, -8, 'b'},
                {0xcc, -1, 'b'}, {0xcd, -2, 'b'}, {0xce, -4, 'b'}, {0xcf, -8, 'b'},
                {0xd0, -1, 'b'}, {0xd1, -2, 'b'}, {0xd2, -4, 'b'}, {0xd3, -8, 'b'},
                {0xd4, -2, 'b'}, {0xd5, -3, 'b'}, {0xd6, -5, 'b'}, {0xd7, -9, 'b'},
                {0xd8, -17, 'b'}, {0xd9, 1, 'b'}, {0xda, 2, 'b'}, {0xdb, 4, 'b'},
                {0xdc, 2, 'a'},  {0xdd, 4, 'a'},  {0xde, 2, 'm'},  {0xdf, 4, 'm'},
            };
            size_t i;
            /* What is left is 0xc1 (never used) and 0xc4..0xdf, the table's codes in
             * order: index it instead of searching it. */
            if (b < table[0].code)
                return -EINVAL;
            i = (size_t)(b - table[0].code);
            assert(i < sizeof(table) / sizeof(table[0]) && table[i].code == b);
            if (table[i].len_bytes < 0) {
                body = (uint64_t)-table[i].len_bytes;
            } else {
                int n = table[i].len_bytes;
                uint64_t v;
                if (len - pos - 1 < (size_t)n)
                    return -EINVAL;
                v = read_be(p + pos + 1, n);
                head += n;
                if (table[i].kind == 'b')
                    body = v;
                else if (table[i].kind == 'e')
                    body = v + 1; /* type byte */
                else if (table[i].kind == 'a')
                    count = v;
                else
                    count = 2 * v;
            }
        }
        if (len - pos < (size_t)head || len - pos - (size_t)head < body)
            return -EINVAL;
        pos += (size_t)head + body;
        if (count > 0) {
            /* Every element takes at least one byte. */
            if (count > len - pos || depth + 1 > max_depth)
                return -EINVAL;
            pending[++depth] = count;
        }
    }
    *object_len = pos;
    return 0;
}

int envelope_check_bounds(const char *buf, size_t len, int max_depth)
{
    size_t object_len;

    if (envelope_measure(buf, len, max_depth, &object_len) < 0)
        return -EINVAL;
    return object_len == len ? 0 : -EINVAL;
}

static bool key_is(const msgpack_object *key, const char *name)
{
    size_t n = strlen(name);
    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == n &&
           memcmp(key->via.str.ptr, name, n) == 0;
}

/* Reads the fields of an unpacked envelope into *out. Returns 0, or -EINVAL with *why. */
static int view_read(const msgpack_object *root, struct envelope_view *out, const char **why)
{
    struct {
        const char *name;
        struct envelope_str *field;
    } strings[] = {
        {"specversion", &out->specversion}, {"id", &out->id},
        {"source", &out->source},           {"type", &out->type},
        {"subject", &out->subject},         {"time", &out->time},
        {"municipality", &out->municipality}, {"category", &out->category},
    };
    const size_t n_strings = sizeof(strings) / sizeof(strings[0]);
    unsigned seen = 0;

    if (root->type != MSGPACK_OBJECT_MAP) {
        *why = "envelope is not a map";
        return -EINVAL;
    }
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object *key = &root->via.map.ptr[i].key;
        const msgpack_object *val = &root->via.map.ptr[i].val;
        size_t k;
        for (k = 0; k < n_strings; k++) {
            if (key_is(key, strings[k].name)) {
                if (val->type != MSGPACK_OBJECT_STR) {
                    *why = "an envelope string field is not a string";
                    return -EINVAL;
                }
                strings[k].field->ptr = val->via.str.ptr;
                strings[k].field->len = val->via.str.size;
                seen |= 1u << k;
                break;
            }
        }
        if (k < n_strings)
            continue;
        if (key_is(key, "receivedtime")) {
            if (val->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
                *why = "receivedtime is not an unsigned integer";
                return -EINVAL;
            }
            out->receivedtime_ns = val->via.u64;
            seen |= 1u << n_strings;
        } else if (key_is(key, "data")) {
            if (val->type != MSGPACK_OBJECT_MAP) {
                *why = "data is not a map";
                return -EINVAL;
            }
            out->data = val;
            seen |= 1u << (n_strings + 1);
        }
    }
    if (seen != (1u << (n_strings + 2)) - 1) {
        *why = "envelope lacks a required field";
        return -EINVAL;
    }
    return 0;
}

int envelope_decode(const char *buf, size_t len, msgpack_unpacked *unpacked,
                    struct envelope_view *out, const char **why)
{
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    if (envelope_check_bounds(buf, len, ENVELOPE_DATA_DEPTH_MAX + 1) < 0) {
        *why = "not a single well-formed msgpack object";
        return -EINVAL;
    }
    if (msgpack_unpack_next(unpacked, buf, len, &off) != MSGPACK_UNPACK_SUCCESS) {
        *why = "msgpack does not unpack";
        return -EINVAL;
    }
    return view_read(&unpacked->data, out, why);
}

int envelope_decode_zone(const char *buf, size_t len, msgpack_zone *zone,
                         struct envelope_view *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    if (envelope_check_bounds(buf, len, ENVELOPE_DATA_DEPTH_MAX + 1) < 0) {
        *why = "not a single well-formed msgpack object";
        return -EINVAL;
    }
    return envelope_decode_measured(buf, len, zone, out, why);
}

int envelope_decode_measured(const char *buf, size_t len, msgpack_zone *zone,
                             struct envelope_view *out, const char **why)
{
    msgpack_object root;
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    /* Measured: exactly one object fills buf, so any result other than SUCCESS
     * (EXTRA_BYTES included) is a failure of msgpack-c itself. */
    if (msgpack_unpack(buf, len, &off, zone, &root) != MSGPACK_UNPACK_SUCCESS) {
        *why = "msgpack does not unpack";
        return -EINVAL;
    }
    return view_read(&root, out, why);
}

/*
 * jansson refuses a string or key that is not UTF-8, and a NaN or an infinity, with
 * NULL and no errno; glibc's malloc sets ENOMEM when memory runs out. So a NULL with
 * anything but ENOMEM in errno is the input's fault: EINVAL, and a caller never
 * retries it as a memory shortage.
 */
static json_t *checked(json_t *v)
{
    if (!v && errno != ENOMEM)
        errno = EINVAL;
    return v;
}

json_t *envelope_object_to_json(const msgpack_object *obj)
{
    json_t *v = NULL;

    switch (obj->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(obj->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (obj->via.u64 > (uint64_t)INT64_MAX)
            return json_real((double)obj->via.u64);
        return json_integer((json_int_t)obj->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)obj->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        errno = 0;
        return checked(json_real(obj->via.f64)); /* JSON has no NaN or infinity */
    case MSGPACK_OBJECT_STR:
        errno = 0;
        return checked(json_stringn(obj->via.str.ptr, obj->via.str.size));
    case MSGPACK_OBJECT_ARRAY:
        if (!(v = json_array()))
            return NULL;
        for (uint32_t i = 0; i < obj->via.array.size; i++) {
            json_t *item = envelope_object_to_json(&obj->via.array.ptr[i]);
            if (!item || json_array_append_new(v, item) < 0)
                goto err;
        }
        return v;
    case MSGPACK_OBJECT_MAP:
        if (!(v = json_object()))
            return NULL;
        for (uint32_t i = 0; i < obj->via.map.size; i++) {
            const msgpack_object *key = &obj->via.map.ptr[i].key;
            json_t *item;
            if (key->type != MSGPACK_OBJECT_STR) {
                errno = EINVAL;
                goto err;
            }
            if (!(item = envelope_object_to_json(&obj->via.map.ptr[i].val)))
                goto err;
            errno = 0;
            if (json_object_setn_new(v, key->via.str.ptr, key->via.str.size, item) < 0) {
                checked(NULL); /* a key that is not UTF-8 */
                goto err;
            }
        }
        return v;
    default:
        errno = EINVAL;
        return NULL;
    }
err:
    json_decref(v);
    return NULL;
}
