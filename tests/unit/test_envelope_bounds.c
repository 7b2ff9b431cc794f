// SPDX-License-Identifier: MIT
/*
 * Unit tests of the bounds check that stands between untrusted bytes and
 * msgpack-c's allocator (every format family and size class, forged sizes, depth),
 * of the measure of the first object of a msgpack stream, and of the conversion of
 * msgpack objects to JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "envelope.h"
#include "envelope_fixture.h"

/* Packs arrays nested depth deep, the innermost holding one nil. */
static void pack_nested(msgpack_sbuffer *buf, int depth)
{
    msgpack_packer pk;

    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    for (int i = 0; i < depth; i++)
        msgpack_pack_array(&pk, 1);
    msgpack_pack_nil(&pk);
}

/* A valid msgpack value, one per format family and size class. */
struct sample {
    const char *name;
    msgpack_sbuffer buf;
};

#define N_SAMPLES 64

/* Fills s with the samples (the caller destroys their buffers); returns how many. */
static int make_samples(struct sample *s)
{
    static const size_t str_lens[] = {0, 1, 31, 32, 255, 256, 65535, 65536};
    static const size_t bin_lens[] = {0, 1, 255, 256, 65535, 65536};
    static const size_t ext_lens[] = {1, 2, 4, 8, 16, 0, 3, 255, 256, 65536};
    static const size_t container_lens[] = {0, 1, 15, 16, 65535, 65536};
    static char big[70000];
    msgpack_packer pk;
    int n = 0;

#define SAMPLE(label, ...)                                                                         \
    do {                                                                                           \
        s[n].name = label;                                                                         \
        msgpack_sbuffer_init(&s[n].buf);                                                           \
        msgpack_packer_init(&pk, &s[n].buf, msgpack_sbuffer_write);                                \
        __VA_ARGS__;                                                                               \
        n++;                                                                                       \
    } while (0)

    memset(big, 'b', sizeof(big));
    SAMPLE("nil", msgpack_pack_nil(&pk));
    SAMPLE("true", msgpack_pack_true(&pk));
    SAMPLE("false", msgpack_pack_false(&pk));
    SAMPLE("uint8 of 0", msgpack_pack_fix_uint8(&pk, 0)); /* 0xcc 0x00 */
    SAMPLE("positive fixint", msgpack_pack_int64(&pk, 127));
    SAMPLE("negative fixint", msgpack_pack_int64(&pk, -32));
    SAMPLE("uint8", msgpack_pack_uint64(&pk, 200));
    SAMPLE("uint16", msgpack_pack_uint64(&pk, 60000));
    SAMPLE("uint32", msgpack_pack_uint64(&pk, 4000000000u));
    SAMPLE("uint64", msgpack_pack_uint64(&pk, UINT64_MAX));
    SAMPLE("int8", msgpack_pack_int64(&pk, -100));
    SAMPLE("int16", msgpack_pack_int64(&pk, -30000));
    SAMPLE("int32", msgpack_pack_int64(&pk, -2000000000));
    SAMPLE("int64", msgpack_pack_int64(&pk, INT64_MIN));
    SAMPLE("float32", msgpack_pack_float(&pk, 1.5f));
    SAMPLE("float64", msgpack_pack_double(&pk, -2.25));
    for (size_t i = 0; i < sizeof(str_lens) / sizeof(str_lens[0]); i++)
        SAMPLE("str", msgpack_pack_str_with_body(&pk, big, str_lens[i]));
    for (size_t i = 0; i < sizeof(bin_lens) / sizeof(bin_lens[0]); i++)
        SAMPLE("bin", msgpack_pack_bin_with_body(&pk, big, bin_lens[i]));
    for (size_t i = 0; i < sizeof(ext_lens) / sizeof(ext_lens[0]); i++)
        SAMPLE("ext", msgpack_pack_ext_with_body(&pk, big, ext_lens[i], 5));
    for (size_t i = 0; i < sizeof(container_lens) / sizeof(container_lens[0]); i++) {
        SAMPLE("array", {
            msgpack_pack_array(&pk, container_lens[i]);
            for (size_t j = 0; j < container_lens[i]; j++)
                msgpack_pack_int64(&pk, (int64_t)(j % 100));
        });
        SAMPLE("map", {
            msgpack_pack_map(&pk, container_lens[i]);
            for (size_t j = 0; j < container_lens[i]; j++) {
                msgpack_pack_uint64(&pk, j);
                msgpack_pack_nil(&pk);
            }
        });
    }
    SAMPLE("mixed", {
        msgpack_pack_map(&pk, 3);
        msgpack_pack_str_with_body(&pk, "a", 1);
        msgpack_pack_array(&pk, 3);
        msgpack_pack_double(&pk, 1.0);
        msgpack_pack_bin_with_body(&pk, big, 300);
        msgpack_pack_map(&pk, 0);
        msgpack_pack_str_with_body(&pk, "b", 1);
        msgpack_pack_ext_with_body(&pk, big, 4, -1);
        msgpack_pack_str_with_body(&pk, "c", 1);
        msgpack_pack_str_with_body(&pk, big, 40);
    });
#undef SAMPLE
    assert_true(n <= N_SAMPLES);
    return n;
}

static void envelope_check_bounds_accepts_valid(void **state)
{
    struct sample samples[N_SAMPLES];
    int n = make_samples(samples);

    for (int i = 0; i < n; i++) {
        const msgpack_sbuffer *b = &samples[i].buf;
        msgpack_unpacked unpacked;
        size_t off = 0;

        print_message("%s, %zu bytes\n", samples[i].name, b->size);
        /* The sample is valid msgpack: msgpack-c reads it whole. */
        msgpack_unpacked_init(&unpacked);
        assert_int_equal(msgpack_unpack_next(&unpacked, b->data, b->size, &off),
                         MSGPACK_UNPACK_SUCCESS);
        assert_int_equal(off, b->size);
        msgpack_unpacked_destroy(&unpacked);

        assert_int_equal(envelope_check_bounds(b->data, b->size, 2), 0);
        /* Every prefix is refused; long samples are cut near both ends only. */
        for (size_t cut = 0; cut < b->size; cut++) {
            if (b->size > 4096 && cut > 64 && cut < b->size - 64)
                cut = b->size - 64;
            assert_int_equal(envelope_check_bounds(b->data, cut, 2), -EINVAL);
        }
        msgpack_sbuffer_destroy(&samples[i].buf);
    }
}

static void envelope_check_bounds_forged(void **state)
{
    static const struct {
        unsigned char bytes[20];
        size_t len;
    } forged[] = {
        {{0xd9, 0x05, 'a'}, 3},                        /* str8 of 5, 1 byte */
        {{0xda, 0x01, 0x00, 'a', 'b'}, 5},             /* str16 of 256 */
        {{0xdb, 0x00, 0x01, 0x00, 0x00, 'a', 'b'}, 7}, /* str32 of 65536 */
        {{0xc4, 0x02, 0x00}, 3},                       /* bin8 of 2, 1 byte */
        {{0xc5, 0x01, 0x00, 0x00}, 4},                 /* bin16 of 256 */
        {{0xc7, 0x00}, 2},                             /* ext8 without its type byte */
        {{0xc7, 0x02, 0x01, 0x00}, 4},                 /* ext8 of 2, 1 byte */
        {{0xc8, 0x01, 0x00, 0x01}, 4},                 /* ext16 of 256 */
        {{0xd8, 0x01, '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '1', '2', '3', '4'},
         17},                                                  /* fixext16, 15 bytes */
        {{0xd4, 0x01}, 2},                                     /* fixext1 without data */
        {{0xcb, 0x00, 0x00, 0x00}, 4},                         /* float64, 3 bytes */
        {{0xcf, 0x00}, 2},                                     /* uint64, 1 byte */
        {{0xdc, 0x00, 0x05, 0xc0, 0xc0}, 5},                   /* array16 of 5, 2 elements */
        {{0xdd, 0x00, 0x00, 0x00, 0x04, 0xc0, 0xc0, 0xc0}, 8}, /* array32 of 4, 3 elements */
        {{0xde, 0x00, 0x02, 0xa1, 'a', 0xc0}, 6},              /* map16 of 2, 1 pair */
        {{0x92, 0xc0}, 2},                                     /* fixarray of 2, 1 element */
        {{0xdf, 0xff, 0xff, 0xff, 0xff}, 5},
        {{0xdd, 0xff, 0xff, 0xff, 0xff}, 5},
        {{0xdb, 0xff, 0xff, 0xff, 0xff}, 5},
        {{0xc6, 0xff, 0xff, 0xff, 0xff}, 5},
        {{0xc9, 0xff, 0xff, 0xff, 0xff, 0x00}, 6},
        {{0xdf, 0xff}, 2}, /* map32, size cut */
        {{0xdd, 0x00, 0x00}, 3},
        {{0xc1}, 1},
        {{0x91, 0xc1}, 2},
        {{0xc0, 0xc0}, 2}, /* two objects */
    };

    for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
        char *copy = malloc(forged[i].len);
        assert_non_null(copy);
        memcpy(copy, forged[i].bytes, forged[i].len);
        print_message("forged input %zu\n", i);
        assert_int_equal(envelope_check_bounds(copy, forged[i].len, 8), -EINVAL);
        free(copy);
    }
    /* A count equal to the bytes that remain is fine when they hold the elements. */
    assert_int_equal(envelope_check_bounds("\xdd\x00\x00\x00\x03\xc0\xc0\xc0", 8, 8), 0);
    assert_int_equal(envelope_check_bounds("\xde\x00\x01\xc0\xc0", 5, 8), 0);
}

static void envelope_check_bounds_depth(void **state)
{
    for (int depth = 1; depth <= 70; depth++) {
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        pack_nested(&buf, depth);
        print_message("depth %d\n", depth);
        assert_int_equal(envelope_check_bounds(buf.data, buf.size, depth),
                         depth <= 63 ? 0 : -EINVAL);
        assert_int_equal(envelope_check_bounds(buf.data, buf.size, depth - 1), -EINVAL);
        /* Larger limits are capped at 63 levels. */
        assert_int_equal(envelope_check_bounds(buf.data, buf.size, 1000),
                         depth <= 63 ? 0 : -EINVAL);
        msgpack_sbuffer_destroy(&buf);
    }
}

/* Every sample, followed by another object or by garbage, measures as itself. */
static void envelope_measure_samples(void **state)
{
    static const unsigned char tails[][3] = {{0xc0}, {0x92, 0x01, 0x02}, {0xc1}, {0xff}};
    struct sample samples[N_SAMPLES];
    int n = make_samples(samples);

    for (int i = 0; i < n; i++) {
        const msgpack_sbuffer *b = &samples[i].buf;

        print_message("%s, %zu bytes\n", samples[i].name, b->size);
        for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
            char *joined = malloc(b->size + sizeof(tails[t]));
            size_t object_len = 0;

            assert_non_null(joined);
            memcpy(joined, b->data, b->size);
            memcpy(joined + b->size, tails[t], sizeof(tails[t]));
            assert_int_equal(envelope_measure(joined, b->size + sizeof(tails[t]), 2, &object_len),
                             0);
            assert_int_equal(object_len, b->size);
            free(joined);
        }
        /* Alone, it measures as what it is; cut, it is refused. */
        {
            size_t object_len = 7;
            assert_int_equal(envelope_measure(b->data, b->size, 2, &object_len), 0);
            assert_int_equal(object_len, b->size);
            object_len = 7;
            assert_int_equal(envelope_measure(b->data, b->size - 1, 2, &object_len), -EINVAL);
            assert_int_equal(object_len, 7);
        }
        msgpack_sbuffer_destroy(&samples[i].buf);
    }
}

/* Packs a small envelope-like map whose string values carry tag. */
static void pack_small_map(msgpack_packer *pk, const char *tag)
{
    msgpack_pack_map(pk, 2);
    msgpack_pack_str_with_body(pk, "id", 2);
    msgpack_pack_str_with_body(pk, tag, strlen(tag));
    msgpack_pack_str_with_body(pk, "data", 4);
    msgpack_pack_array(pk, 2);
    msgpack_pack_int64(pk, 1);
    msgpack_pack_str_with_body(pk, tag, strlen(tag));
}

static void envelope_measure_stream(void **state)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;
    size_t first_len, second_len, object_len = 0;

    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    pack_small_map(&pk, "first");
    first_len = buf.size;
    pack_small_map(&pk, "second, longer");
    second_len = buf.size - first_len;

    /* Two objects back to back: the first, then the second from where the first ends;
     * check_bounds refuses the pair. */
    assert_int_equal(envelope_measure(buf.data, buf.size, 4, &object_len), 0);
    assert_int_equal(object_len, first_len);
    assert_int_equal(envelope_measure(buf.data + first_len, buf.size - first_len, 4,
                                      &object_len), 0);
    assert_int_equal(object_len, second_len);
    assert_int_equal(envelope_check_bounds(buf.data, buf.size, 4), -EINVAL);

    /* The second cut anywhere: the first still measures, the rest is refused. */
    for (size_t cut = 1; cut < second_len; cut++) {
        object_len = 0;
        assert_int_equal(envelope_measure(buf.data, first_len + cut, 4, &object_len), 0);
        assert_int_equal(object_len, first_len);
        object_len = 99;
        assert_int_equal(envelope_measure(buf.data + first_len, cut, 4, &object_len), -EINVAL);
        assert_int_equal(object_len, 99);
    }

    /* Garbage after the first: the first measures, the garbage does not. */
    msgpack_sbuffer_clear(&buf);
    pack_small_map(&pk, "first");
    msgpack_sbuffer_write(&buf, "\xc1\xc1", 2);
    assert_int_equal(envelope_measure(buf.data, buf.size, 4, &object_len), 0);
    assert_int_equal(object_len, first_len);
    assert_int_equal(envelope_measure(buf.data + first_len, 2, 4, &object_len), -EINVAL);

    /* Depth counts per object, as in check_bounds. */
    assert_int_equal(envelope_measure(buf.data, buf.size, 1, &object_len), -EINVAL);
    msgpack_sbuffer_destroy(&buf);
}

static void envelope_measure_refused(void **state)
{
    size_t object_len = 5;

    /* Nothing to measure. */
    assert_int_equal(envelope_measure("", 0, 8, &object_len), -EINVAL);
    assert_int_equal(object_len, 5);
    /* A container may declare no more elements than bytes remain in buf, trailing
     * ones included: 3 declared, 3 bytes after the header. */
    assert_int_equal(envelope_measure("\x93\xc0\xc0\xc0", 4, 8, &object_len), 0);
    assert_int_equal(object_len, 4);
    assert_int_equal(envelope_measure("\x93\xc0\xc0", 3, 8, &object_len), -EINVAL);
    assert_int_equal(envelope_measure("\xdd\xff\xff\xff\xff\xc0", 6, 8, &object_len),
                     -EINVAL);
    /* A forged string length reaching past the buffer, with more bytes after. */
    assert_int_equal(envelope_measure("\xd9\x09" "abc\xc0\xc0", 7, 8, &object_len), -EINVAL);
    assert_int_equal(envelope_measure("\xc1\xc0", 2, 8, &object_len), -EINVAL);
    /* A single nil in front of anything. */
    assert_int_equal(envelope_measure("\xc0\xc1\xff", 3, 8, &object_len), 0);
    assert_int_equal(object_len, 1);
}

static void envelope_decode_too_deep(void **state)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;

    /* Inside data, 60 levels: beyond what the decoder allows. */
    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, N_KEYS);
    for (int i = 0; i < 8; i++) {
        msgpack_pack_str_with_body(&pk, key_order[i], strlen(key_order[i]));
        msgpack_pack_str_with_body(&pk, "v", 1);
    }
    msgpack_pack_str_with_body(&pk, "receivedtime", 12);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "data", 4);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "k", 1);
    pack_nested(&buf, 60);
    expect_refused(buf.data, buf.size, WHY_BOUNDS);
    msgpack_sbuffer_destroy(&buf);
}

static void envelope_object_to_json_kinds(void **state)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;
    msgpack_unpacked unpacked;
    size_t off = 0;
    json_t *v, *expected;

    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_float(&pk, 0.5f);
    msgpack_pack_uint64(&pk, UINT64_MAX); /* beyond JSON integers: a real */
    msgpack_pack_int64(&pk, INT64_MIN);
    msgpack_pack_str_with_body(&pk, "a\0b", 3);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_array(&pk, 0);
    msgpack_unpacked_init(&unpacked);
    assert_int_equal(msgpack_unpack_next(&unpacked, buf.data, buf.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    v = envelope_object_to_json(&unpacked.data);
    expected = json_pack("[f, f, I, s#, {}, []]", 0.5, (double)UINT64_MAX, (json_int_t)INT64_MIN,
                         "a\0b", (int)3);
    assert_non_null(expected);
    assert_json_same(expected, v);
    json_decref(v);
    json_decref(expected);
    msgpack_unpacked_destroy(&unpacked);

    /* No JSON for bin, ext, or a map key that is not a string. */
    msgpack_sbuffer_clear(&buf);
    msgpack_pack_bin_with_body(&pk, "x", 1);
    msgpack_pack_ext_with_body(&pk, "x", 1, 1);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_nil(&pk);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_nil(&pk);
    msgpack_pack_bin_with_body(&pk, "x", 1);
    off = 0;
    for (int i = 0; i < 4; i++) {
        msgpack_unpacked_init(&unpacked);
        assert_int_equal(msgpack_unpack_next(&unpacked, buf.data, buf.size, &off),
                         MSGPACK_UNPACK_SUCCESS);
        errno = 0;
        assert_null(envelope_object_to_json(&unpacked.data));
        assert_int_equal(errno, EINVAL);
        msgpack_unpacked_destroy(&unpacked);
    }

    /* Not UTF-8, as a value and as a key, and numbers JSON has not: EINVAL, whatever errno held before (callers
     * retry ENOMEM, so a stale one would make them retry bad input for ever). */
    msgpack_sbuffer_clear(&buf);
    msgpack_pack_str_with_body(&pk, "\xc3\x28", 2);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "\xff", 1);
    msgpack_pack_nil(&pk);
    msgpack_pack_double(&pk, NAN);
    msgpack_pack_double(&pk, -INFINITY);
    off = 0;
    for (int i = 0; i < 4; i++) {
        msgpack_unpacked_init(&unpacked);
        assert_int_equal(msgpack_unpack_next(&unpacked, buf.data, buf.size, &off),
                         MSGPACK_UNPACK_SUCCESS);
        errno = ENOMEM;
        assert_null(envelope_object_to_json(&unpacked.data));
        assert_int_equal(errno, EINVAL);
        msgpack_unpacked_destroy(&unpacked);
    }
    msgpack_sbuffer_destroy(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(envelope_decode_too_deep),
        cmocka_unit_test(envelope_check_bounds_accepts_valid),
        cmocka_unit_test(envelope_check_bounds_forged),
        cmocka_unit_test(envelope_check_bounds_depth),
        cmocka_unit_test(envelope_measure_samples),
        cmocka_unit_test(envelope_measure_stream),
        cmocka_unit_test(envelope_measure_refused),
        cmocka_unit_test(envelope_object_to_json_kinds),
    };

    return cmocka_run_group_tests_name("envelope_bounds", tests, NULL, NULL);
}
