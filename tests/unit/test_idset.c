// SPDX-License-Identifier: MIT
/*
 * Unit tests of the recent-id set: duplicates, eviction of the oldest id when full,
 * and a long run of random operations checked against a plain model (the last
 * `capacity` ids, in order), which exercises the table's backward-shift deletion on
 * every eviction, across the table's wrap-around. Events are known by source and id
 * together (idset_add_event).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"

#define ID_LEN 32

/* A fixed-seed xorshift generator, so that a failure can be replayed. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* Writes the n-th distinct test id: 32 hex digits of a random number and n. */
static void make_id(char out[ID_LEN + 1], uint64_t n)
{
    snprintf(out, ID_LEN + 1, "%016llx%016llx", (unsigned long long)rng_next(),
             (unsigned long long)n);
}

static bool add(struct idset *set, const char *id)
{
    return idset_add(set, id, strlen(id));
}

static void idset_add_then_duplicate(void **state)
{
    struct idset *set = idset_new(16);

    assert_non_null(set);
    assert_int_equal(idset_size(set), 0);
    assert_true(add(set, "a"));
    assert_int_equal(idset_size(set), 1);
    assert_false(add(set, "a"));
    assert_false(add(set, "a"));
    assert_int_equal(idset_size(set), 1);
    assert_true(add(set, "b"));
    assert_false(add(set, "b"));
    assert_false(add(set, "a"));
    assert_int_equal(idset_size(set), 2);
    idset_free(set);
}

static void idset_length_counts(void **state)
{
    struct idset *set = idset_new(16);

    assert_non_null(set);
    /* Only the first n bytes are the id; ids with a NUL inside are distinct too. */
    assert_true(idset_add(set, "abcdef", 3));
    assert_false(idset_add(set, "abcxyz", 3));
    assert_true(idset_add(set, "abcdef", 4));
    assert_true(idset_add(set, "a\0b", 3));
    assert_true(idset_add(set, "a\0c", 3));
    assert_false(idset_add(set, "a\0b", 3));
    assert_true(idset_add(set, "", 0));
    assert_false(idset_add(set, "", 0));
    assert_int_equal(idset_size(set), 5);
    idset_free(set);
}

static void idset_evicts_oldest(void **state)
{
    char ids[17][ID_LEN + 1];
    struct idset *set = idset_new(16);

    assert_non_null(set);
    rng_state = 0x1d5e7a11ULL;
    for (int i = 0; i < 17; i++) {
        make_id(ids[i], (uint64_t)i);
        assert_true(add(set, ids[i]));
        assert_int_equal(idset_size(set), i < 16 ? i + 1 : 16);
    }
    /* Checking a duplicate changes nothing, so the survivors are checked first. */
    for (int i = 16; i >= 1; i--)
        assert_false(add(set, ids[i]));
    assert_int_equal(idset_size(set), 16);
    /* The first is forgotten; adding it again forgets the second. */
    assert_true(add(set, ids[0]));
    assert_int_equal(idset_size(set), 16);
    assert_false(add(set, ids[0]));
    for (int i = 16; i >= 2; i--)
        assert_false(add(set, ids[i]));
    assert_true(add(set, ids[1]));
    idset_free(set);
}

static void idset_small_capacity_rounds_up(void **state)
{
    char ids[17][ID_LEN + 1];
    struct idset *set = idset_new(0);

    assert_non_null(set);
    rng_state = 0xabcdefULL;
    for (int i = 0; i < 17; i++) {
        make_id(ids[i], (uint64_t)i);
        assert_true(add(set, ids[i]));
    }
    assert_int_equal(idset_size(set), 16);
    for (int i = 16; i >= 1; i--)
        assert_false(add(set, ids[i]));
    assert_true(add(set, ids[0]));
    idset_free(set);
}

/*
 * Random operations against a model: the model holds the last `capacity` ids in
 * insertion order. Each step adds a fresh id, re-adds a remembered one (must be a
 * duplicate and change nothing) or re-adds a forgotten one (must be new). Every
 * check_every steps, every remembered id is checked.
 */
static void run_model(size_t capacity, size_t steps, size_t check_every, uint64_t seed)
{
    struct idset *set = idset_new(capacity);
    char(*model)[ID_LEN + 1] = calloc(capacity, sizeof(*model));
    char(*forgotten)[ID_LEN + 1] = calloc(capacity, sizeof(*forgotten));
    size_t head = 0, count = 0, n_forgotten = 0, fresh = 0;

    assert_non_null(set);
    assert_non_null(model);
    assert_non_null(forgotten);
    rng_state = seed;
    for (size_t step = 0; step < steps; step++) {
        uint64_t r = rng_next() % 10;
        char id[ID_LEN + 1];

        if (r == 0 && count > 0) {
            /* A remembered id: a duplicate. */
            size_t k = (head + (size_t)(rng_next() % count)) % capacity;
            if (add(set, model[k]))
                fail_msg("step %zu: remembered id %s was taken as new", step, model[k]);
            assert_int_equal(idset_size(set), count);
            continue;
        }
        if (r == 1 && n_forgotten > 0) {
            /* A forgotten id comes back: new again. */
            size_t k = (size_t)(rng_next() % n_forgotten);
            memcpy(id, forgotten[k], sizeof(id));
            memcpy(forgotten[k], forgotten[--n_forgotten], sizeof(id));
        } else {
            make_id(id, fresh++);
        }
        if (!add(set, id))
            fail_msg("step %zu: new id %s was taken as a duplicate", step, id);
        if (count == capacity) {
            /* The oldest is forgotten; keep a sample of forgotten ids. */
            if (n_forgotten < capacity)
                memcpy(forgotten[n_forgotten++], model[head], sizeof(id));
            head = (head + 1) % capacity;
            count--;
        }
        memcpy(model[(head + count) % capacity], id, sizeof(id));
        count++;
        assert_int_equal(idset_size(set), count);

        if ((step + 1) % check_every == 0) {
            for (size_t i = 0; i < count; i++) {
                const char *kept = model[(head + i) % capacity];
                if (add(set, kept))
                    fail_msg("step %zu: id %zu of %zu (%s) was forgotten too early", step, i, count,
                             kept);
            }
            assert_int_equal(idset_size(set), count);
        }
    }
    assert_int_equal(idset_size(set), capacity);
    for (size_t i = 0; i < count; i++)
        assert_false(add(set, model[(head + i) % capacity]));
    free(forgotten);
    free(model);
    idset_free(set);
}

static void idset_random_capacity_1000(void **state)
{
    run_model(1000, 100000, 997, 0x9e3779b97f4a7c15ULL);
}

static void idset_random_capacity_16(void **state)
{
    /* The smallest table: probe runs wrap around its end all the time. */
    run_model(16, 100000, 7, 0x2545f4914f6cdd1dULL);
}

static void idset_random_capacity_not_power_of_two(void **state)
{
    run_model(777, 50000, 1001, 0x5851f42d4c957f2dULL);
}

static bool add_event(struct idset *set, const char *source, const char *id)
{
    return idset_add_event(set, source, strlen(source), id, strlen(id));
}

/* Two publishers that both number their events 1, 2, 3: the same id, two events. */
static void idset_event_same_id_other_source(void **state)
{
    struct idset *set = idset_new(16);

    assert_non_null(set);
    assert_true(add_event(set, "urn:linz:pegel-a", "1"));
    assert_true(add_event(set, "urn:linz:pegel-b", "1"));
    assert_false(add_event(set, "urn:linz:pegel-a", "1"));
    assert_false(add_event(set, "urn:linz:pegel-b", "1"));
    assert_true(add_event(set, "urn:linz:pegel-a", "2"));
    assert_int_equal(idset_size(set), 3);
    idset_free(set);
}

/* The separator keeps where source ends: ("ab", "c") is not ("a", "bc"), nor "abc". */
static void idset_event_separator(void **state)
{
    struct idset *set = idset_new(16);

    assert_non_null(set);
    assert_true(add_event(set, "ab", "c"));
    assert_true(add_event(set, "a", "bc"));
    assert_true(add_event(set, "", "abc"));
    assert_true(add_event(set, "abc", ""));
    assert_true(idset_add(set, "abc", 3));
    assert_false(add_event(set, "a", "bc"));
    assert_int_equal(idset_size(set), 5);
    idset_free(set);
}

/* The key is that of source, one NUL, id: idset_add of those bytes finds it. */
static void idset_event_key_is_source_nul_id(void **state)
{
    static const char joined[] = "mqtt://broker/linz/sensor/waterlevel/pegel-1\0ce-7";
    struct idset *set = idset_new(16);

    assert_non_null(set);
    assert_true(add_event(set, "mqtt://broker/linz/sensor/waterlevel/pegel-1", "ce-7"));
    assert_false(idset_add(set, joined, sizeof(joined) - 1));
    assert_true(idset_add(set, joined, sizeof(joined) - 2)); /* one byte of id less */
    assert_int_equal(idset_size(set), 2);
    idset_free(set);
}

static void idset_free_null(void **state)
{
    idset_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idset_add_then_duplicate),
        cmocka_unit_test(idset_length_counts),
        cmocka_unit_test(idset_evicts_oldest),
        cmocka_unit_test(idset_small_capacity_rounds_up),
        cmocka_unit_test(idset_random_capacity_1000),
        cmocka_unit_test(idset_random_capacity_16),
        cmocka_unit_test(idset_random_capacity_not_power_of_two),
        cmocka_unit_test(idset_event_same_id_other_source),
        cmocka_unit_test(idset_event_separator),
        cmocka_unit_test(idset_event_key_is_source_nul_id),
        cmocka_unit_test(idset_free_null),
    };

    return cmocka_run_group_tests_name("idset", tests, NULL, NULL);
}
