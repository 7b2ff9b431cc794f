// SPDX-License-Identifier: MIT
/*
 * Unit tests of the worker SDK's entry splitting: an entry of one event (id, env) and
 * of several (n, ids, env as a msgpack stream), up to 64; entries that are poison,
 * each with the reason its dead letter carries: n and env disagreeing, garbage after
 * an envelope, an empty env, no env, an n that is not a count, an envelope that does
 * not decode.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "envelope.h"
#include "worker_entry.h"

#define FIELDS_MAX 4

/* An entry's fields as XREADGROUP returns them: a flat [field, value, ...] array. */
struct fields {
    redisReply top;
    redisReply strings[2 * FIELDS_MAX];
    redisReply *ptrs[2 * FIELDS_MAX];
};

/* Sets f to the given pairs (name, value bytes, value length), a NULL name ending them. */
static void fields_set(struct fields *f, ...)
{
    va_list ap;
    size_t n = 0;
    const char *name;

    memset(f, 0, sizeof(*f));
    va_start(ap, f);
    while ((name = va_arg(ap, const char *))) {
        const char *value = va_arg(ap, const char *);
        size_t len = va_arg(ap, size_t);

        assert_true(n + 2 <= 2 * FIELDS_MAX);
        f->strings[n] = (redisReply){.type = REDIS_REPLY_STRING, .str = (char *)name,
                                     .len = strlen(name)};
        f->strings[n + 1] = (redisReply){.type = REDIS_REPLY_STRING, .str = (char *)value,
                                         .len = len};
        n += 2;
    }
    va_end(ap);
    for (size_t i = 0; i < n; i++)
        f->ptrs[i] = &f->strings[i];
    f->top = (redisReply){.type = REDIS_REPLY_ARRAY, .elements = n, .element = f->ptrs};
}

/* Appends an envelope whose id is "ev-<i>" to buf. */
static void pack_envelope(msgpack_sbuffer *buf, int i)
{
    char id[32];
    json_t *data = json_pack("{s:i}", "level", i);
    struct envelope env = {
        .id = id,
        .source = "mqtt://hub/rheinhub/koeln/sensor/water_level/gauge-1",
        .type = "sensor.water_level",
        .subject = "gauge-1",
        .time = "2024-05-01T12:00:00Z",
        .municipality = "koeln",
        .category = "sensor",
        .receivedtime_ns = 1714564800000000000ull + (uint64_t)i,
        .data = data,
    };

    assert_non_null(data);
    snprintf(id, sizeof(id), "ev-%d", i);
    assert_int_equal(envelope_encode(&env, buf), 0);
    json_decref(data);
}

/* Fails, printing both, unless the decoded string equals expected. */
static void assert_str(struct envelope_str s, const char *expected)
{
    if (s.len != strlen(expected) || memcmp(s.ptr, expected, s.len) != 0)
        fail_msg("\"%.*s\", expected \"%s\"", (int)s.len, s.ptr, expected);
}

struct split {
    msgpack_zone zone;
    struct worker_event events[WORKER_ENTRY_EVENTS_MAX];
    char why[256];
};

static int setup(void **state)
{
    struct split *s = calloc(1, sizeof(*s));

    if (!s || !msgpack_zone_init(&s->zone, 4096)) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct split *s = *state;

    msgpack_zone_destroy(&s->zone);
    free(s);
    return 0;
}

/* Splits f, expecting poison with reason why. */
static void expect_poison(struct split *s, const struct fields *f, const char *why)
{
    s->why[0] = '\0';
    assert_int_equal(worker_entry_split(&f->top, &s->zone, s->events, s->why, sizeof(s->why)),
                     -EINVAL);
    assert_string_equal(s->why, why);
}

/* Splits an entry of n envelopes written as the hub does (n, ids, env); n > 0. */
static void expect_events(struct split *s, int n)
{
    msgpack_sbuffer env, ids;
    msgpack_packer pk;
    char count[8];
    size_t starts[WORKER_ENTRY_EVENTS_MAX + 1];
    struct fields f;

    msgpack_sbuffer_init(&env);
    msgpack_sbuffer_init(&ids);
    msgpack_packer_init(&pk, &ids, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "ev-%d", i);
        msgpack_pack_str_with_body(&pk, id, strlen(id));
        starts[i] = env.size;
        pack_envelope(&env, i);
    }
    starts[n] = env.size;
    snprintf(count, sizeof(count), "%d", n);
    fields_set(&f, "n", count, strlen(count), "ids", ids.data, ids.size, "env", env.data,
               env.size, NULL);
    assert_int_equal(worker_entry_split(&f.top, &s->zone, s->events, s->why, sizeof(s->why)),
                     n);
    for (int i = 0; i < n; i++) {
        const struct worker_event *ev = &s->events[i];
        char id[32];

        snprintf(id, sizeof(id), "ev-%d", i);
        assert_int_equal(ev->entry_index, i);
        assert_ptr_equal(ev->raw, env.data + starts[i]);
        assert_int_equal(ev->raw_len, starts[i + 1] - starts[i]);
        assert_str(ev->env.id, id);
        assert_str(ev->env.municipality, "koeln");
        assert_int_equal(ev->env.receivedtime_ns, 1714564800000000000ull + (uint64_t)i);
        assert_null(ev->stream);
        assert_null(ev->entry_id);
        assert_false(ev->failed);
    }
    msgpack_sbuffer_destroy(&env);
    msgpack_sbuffer_destroy(&ids);
}

static void worker_entry_one_event(void **state)
{
    struct split *s = *state;
    msgpack_sbuffer env;
    struct fields f;

    msgpack_sbuffer_init(&env);
    pack_envelope(&env, 7);
    fields_set(&f, "id", "ev-7", (size_t)4, "env", env.data, env.size, NULL);
    assert_int_equal(worker_entry_split(&f.top, &s->zone, s->events, s->why, sizeof(s->why)),
                     1);
    assert_int_equal(s->events[0].entry_index, 0);
    assert_ptr_equal(s->events[0].raw, env.data);
    assert_int_equal(s->events[0].raw_len, env.size);
    assert_str(s->events[0].env.id, "ev-7");
    msgpack_sbuffer_destroy(&env);
}

static void worker_entry_three_events(void **state)
{
    expect_events(*state, 3);
}

static void worker_entry_sixty_four_events(void **state)
{
    struct split *s = *state;
    msgpack_sbuffer env;
    struct fields f;

    expect_events(s, 2);
    expect_events(s, WORKER_ENTRY_EVENTS_MAX);
    /* One more than 64, whatever n says. */
    msgpack_sbuffer_init(&env);
    for (int i = 0; i < WORKER_ENTRY_EVENTS_MAX + 1; i++)
        pack_envelope(&env, i);
    fields_set(&f, "n", "64", (size_t)2, "env", env.data, env.size, NULL);
    expect_poison(s, &f, "entry says n=64 but env holds 65 envelopes");
    fields_set(&f, "n", "65", (size_t)2, "env", env.data, env.size, NULL);
    expect_poison(s, &f, "entry's n is not a count from 1 to 64");
    msgpack_sbuffer_destroy(&env);
}

static void worker_entry_count_mismatch(void **state)
{
    struct split *s = *state;
    msgpack_sbuffer env;
    struct fields f;

    msgpack_sbuffer_init(&env);
    pack_envelope(&env, 0);
    pack_envelope(&env, 1);
    fields_set(&f, "n", "3", (size_t)1, "env", env.data, env.size, NULL);
    expect_poison(s, &f, "entry says n=3 but env holds 2 envelopes");
    fields_set(&f, "n", "1", (size_t)1, "env", env.data, env.size, NULL);
    expect_poison(s, &f, "entry says n=1 but env holds 2 envelopes");
    /* No n: one envelope, exactly as before entries held several. */
    fields_set(&f, "id", "x", (size_t)1, "env", env.data, env.size, NULL);
    expect_poison(s, &f, "envelope: not a single well-formed msgpack object");
    fields_set(&f, "n", "2", (size_t)1, "env", env.data, env.size, NULL);
    assert_int_equal(worker_entry_split(&f.top, &s->zone, s->events, s->why, sizeof(s->why)),
                     2);
    msgpack_sbuffer_destroy(&env);
}

static void worker_entry_garbage_after_first(void **state)
{
    struct split *s = *state;
    msgpack_sbuffer env;
    struct fields f;

    msgpack_sbuffer_init(&env);
    pack_envelope(&env, 0);
    msgpack_sbuffer_write(&env, "\xc1junk", 5);
    fields_set(&f, "n", "2", (size_t)1, "env", env.data, env.size, NULL);
    expect_poison(s, &f, "envelope 2 of 2: not a well-formed msgpack object");
    fields_set(&f, "n", "1", (size_t)1, "env", env.data, env.size, NULL);
    expect_poison(s, &f,
                  "entry says n=1 but env holds more than 1 envelopes and bytes that are not "
                  "msgpack");
    fields_set(&f, "env", env.data, env.size, NULL);
    expect_poison(s, &f, "envelope: not a single well-formed msgpack object");

    /* The second well-formed msgpack but no envelope; then cut short. */
    msgpack_sbuffer_clear(&env);
    pack_envelope(&env, 0);
    msgpack_sbuffer_write(&env, "\x81\xa1k\xc0", 4);
    fields_set(&f, "n", "2", (size_t)1, "env", env.data, env.size, NULL);
    expect_poison(s, &f, "envelope 2 of 2: envelope lacks a required field");
    fields_set(&f, "n", "2", (size_t)1, "env", env.data, env.size - 1, NULL);
    expect_poison(s, &f, "envelope 2 of 2: not a well-formed msgpack object");
    msgpack_sbuffer_destroy(&env);
}

static void worker_entry_empty_env(void **state)
{
    struct split *s = *state;
    struct fields f;

    fields_set(&f, "id", "x", (size_t)1, "env", "", (size_t)0, NULL);
    expect_poison(s, &f, "envelope: not a single well-formed msgpack object");
    fields_set(&f, "n", "2", (size_t)1, "ids", "\x90", (size_t)1, "env", "", (size_t)0, NULL);
    expect_poison(s, &f, "entry says n=2 but env holds 0 envelopes");
}

static void worker_entry_bad_fields(void **state)
{
    static const char *const bad_counts[] = {"0", "", "abc", "-1", "100", "6x", "0064"};
    struct split *s = *state;
    msgpack_sbuffer env;
    struct fields f;

    fields_set(&f, "id", "x", (size_t)1, NULL);
    expect_poison(s, &f, "entry has no env field");
    fields_set(&f, "id", "x", (size_t)1, "envelope", "\xc0", (size_t)1, NULL);
    expect_poison(s, &f, "entry has no env field");

    msgpack_sbuffer_init(&env);
    pack_envelope(&env, 0);
    for (size_t i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]); i++) {
        print_message("n \"%s\"\n", bad_counts[i]);
        fields_set(&f, "n", bad_counts[i], strlen(bad_counts[i]), "env", env.data, env.size,
                   NULL);
        expect_poison(s, &f, "entry's n is not a count from 1 to 64");
    }
    /* Field order does not matter, and n=1 is a count like any other. */
    fields_set(&f, "env", env.data, env.size, "n", "1", (size_t)1, NULL);
    assert_int_equal(worker_entry_split(&f.top, &s->zone, s->events, s->why, sizeof(s->why)),
                     1);
    /* The env field of a dead letter. */
    assert_ptr_equal(worker_entry_env(&f.top)->str, env.data);
    fields_set(&f, "id", "x", (size_t)1, NULL);
    assert_null(worker_entry_env(&f.top));
    msgpack_sbuffer_destroy(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(worker_entry_one_event, setup, teardown),
        cmocka_unit_test_setup_teardown(worker_entry_three_events, setup, teardown),
        cmocka_unit_test_setup_teardown(worker_entry_sixty_four_events, setup, teardown),
        cmocka_unit_test_setup_teardown(worker_entry_count_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(worker_entry_garbage_after_first, setup, teardown),
        cmocka_unit_test_setup_teardown(worker_entry_empty_env, setup, teardown),
        cmocka_unit_test_setup_teardown(worker_entry_bad_fields, setup, teardown),
    };

    return cmocka_run_group_tests_name("worker_entry", tests, NULL, NULL);
}
