// SPDX-License-Identifier: MIT
/*
 * Unit tests of the worker SDK's failure history: the last errors per entry in
 * order, entries told apart by stream and id, removal, eviction of the entry that
 * failed first when full, the JSON array for dead letters (escaping, bad UTF-8, cut
 * errors), and a long random run checked against a plain model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker_history.h"

static void worker_history_keeps_last_errors(void **state)
{
    struct worker_history *h = worker_history_new(8);
    char err[32];
    char *json;

    assert_non_null(h);
    assert_int_equal(worker_history_count(h, "s", "1-0"), 0);
    assert_null(worker_history_error(h, "s", "1-0", 0));
    for (int i = 1; i <= 7; i++) {
        snprintf(err, sizeof(err), "error %d", i);
        assert_int_equal(worker_history_add(h, "s", "1-0", err), 0);
        assert_int_equal(worker_history_failures(h, "s", "1-0"), i);
    }
    assert_int_equal(worker_history_size(h), 1);
    assert_int_equal(worker_history_count(h, "s", "1-0"), WORKER_HISTORY_ERRORS);
    /* The oldest two are gone; the rest in order. */
    for (int i = 0; i < WORKER_HISTORY_ERRORS; i++) {
        snprintf(err, sizeof(err), "error %d", i + 3);
        assert_string_equal(worker_history_error(h, "s", "1-0", (size_t)i), err);
    }
    assert_null(worker_history_error(h, "s", "1-0", WORKER_HISTORY_ERRORS));
    json = worker_history_json(h, "s", "1-0");
    assert_string_equal(json, "[\"error 3\",\"error 4\",\"error 5\",\"error 6\",\"error 7\"]");
    free(json);
    worker_history_free(h);
}

static void worker_history_keys_by_stream_and_id(void **state)
{
    struct worker_history *h = worker_history_new(8);
    char *json;

    assert_int_equal(worker_history_add(h, "a", "1-0", "in a"), 0);
    assert_int_equal(worker_history_add(h, "b", "1-0", "in b"), 0);
    assert_int_equal(worker_history_add(h, "a", "1-1", "in a, next"), 0);
    /* "a" + "1-0" must not be confused with "a1" + "-0" and the like. */
    assert_int_equal(worker_history_count(h, "a1", "-0"), 0);
    assert_int_equal(worker_history_size(h), 3);
    assert_string_equal(worker_history_error(h, "a", "1-0", 0), "in a");
    assert_string_equal(worker_history_error(h, "b", "1-0", 0), "in b");
    worker_history_remove(h, "a", "1-0");
    worker_history_remove(h, "a", "1-0"); /* twice is fine */
    worker_history_remove(h, "c", "9-9"); /* unknown is fine */
    assert_int_equal(worker_history_size(h), 2);
    assert_int_equal(worker_history_count(h, "a", "1-0"), 0);
    assert_int_equal(worker_history_failures(h, "a", "1-0"), 0);
    assert_string_equal(worker_history_error(h, "b", "1-0", 0), "in b");
    json = worker_history_json(h, "a", "1-0");
    assert_string_equal(json, "[]");
    free(json);
    /* After a removal the entry starts afresh. */
    assert_int_equal(worker_history_add(h, "a", "1-0", "again"), 0);
    assert_int_equal(worker_history_failures(h, "a", "1-0"), 1);
    worker_history_free(h);
    worker_history_free(NULL);
}

static void worker_history_evicts_first_failed(void **state)
{
    struct worker_history *h = worker_history_new(3);
    char id[16];

    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof(id), "%d-0", i);
        assert_int_equal(worker_history_add(h, "s", id, "x"), 0);
    }
    /* More errors for an entry held already evict nothing. */
    assert_int_equal(worker_history_add(h, "s", "0-0", "y"), 0);
    assert_int_equal(worker_history_size(h), 3);
    /* A new one evicts the entry added first (0-0), even though it failed last. */
    assert_int_equal(worker_history_add(h, "s", "3-0", "x"), 0);
    assert_int_equal(worker_history_size(h), 3);
    assert_int_equal(worker_history_count(h, "s", "0-0"), 0);
    assert_int_equal(worker_history_count(h, "s", "1-0"), 1);
    assert_int_equal(worker_history_count(h, "s", "3-0"), 1);
    /* Removing makes room without evicting. */
    worker_history_remove(h, "s", "2-0");
    assert_int_equal(worker_history_add(h, "s", "4-0", "x"), 0);
    assert_int_equal(worker_history_count(h, "s", "1-0"), 1);
    assert_int_equal(worker_history_size(h), 3);
    worker_history_free(h);
    assert_null(worker_history_new(0));
}

static void worker_history_json_text(void **state)
{
    struct worker_history *h = worker_history_new(4);
    char long_error[400];
    char *json;
    const char *kept;

    assert_int_equal(worker_history_add(h, "s", "1-0", "quote \" backslash \\ newline \n"), 0);
    assert_int_equal(worker_history_add(h, "s", "1-0", "Pegel über 8 m"), 0);
    assert_int_equal(worker_history_add(h, "s", "1-0", "bad \xff byte"), 0);
    assert_int_equal(worker_history_add(h, "s", "1-0", NULL), 0);
    json = worker_history_json(h, "s", "1-0");
    assert_string_equal(json, "[\"quote \\\" backslash \\\\ newline \\n\",\"Pegel über 8 m\","
                              "\"bad ? byte\",\"\"]");
    free(json);

    /* A long error is cut, never inside a UTF-8 sequence (ü is two bytes). */
    memset(long_error, 'a', sizeof(long_error));
    memcpy(long_error + WORKER_HISTORY_ERROR_MAX - 2, "\xc3\xbc", 2);
    long_error[sizeof(long_error) - 1] = '\0';
    assert_int_equal(worker_history_add(h, "s", "2-0", long_error), 0);
    kept = worker_history_error(h, "s", "2-0", 0);
    assert_int_equal(strlen(kept), WORKER_HISTORY_ERROR_MAX - 2);
    json = worker_history_json(h, "s", "2-0");
    assert_non_null(json);
    assert_int_equal(strlen(json), WORKER_HISTORY_ERROR_MAX - 2 + 4);
    free(json);
    worker_history_free(h);
}

/* The model: up to CAP entries in the order they were added, each with its errors. */
#define CAP 32
#define KEYS 96

struct model_entry {
    int key;
    int n;          /* errors added */
    int errors[64]; /* the error numbers, in order */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static void key_parts(int key, char *stream, char *id)
{
    sprintf(stream, "rheinhub:events:t%d", key % 3);
    sprintf(id, "%d-%d", key / 3, key % 5);
}

static void worker_history_random_against_model(void **state)
{
    struct worker_history *h = worker_history_new(CAP);
    static struct model_entry model[CAP];
    int n_model = 0;

    for (int step = 0; step < 200000; step++) {
        int key = (int)(rng_next() % KEYS), at = -1;
        char stream[64], id[32], err[32];

        key_parts(key, stream, id);
        for (int i = 0; i < n_model; i++)
            if (model[i].key == key)
                at = i;
        if (rng_next() % 3 == 0) {
            worker_history_remove(h, stream, id);
            if (at >= 0) {
                memmove(&model[at], &model[at + 1], (size_t)(n_model - at - 1) * sizeof(model[0]));
                n_model--;
            }
        } else {
            snprintf(err, sizeof(err), "e%d", step);
            assert_int_equal(worker_history_add(h, stream, id, err), 0);
            if (at < 0) {
                if (n_model == CAP) {
                    memmove(&model[0], &model[1], (CAP - 1) * sizeof(model[0]));
                    n_model--;
                }
                at = n_model++;
                model[at].key = key;
                model[at].n = 0;
            }
            if (model[at].n < 64)
                model[at].errors[model[at].n++] = step;
        }
        if (worker_history_size(h) != (size_t)n_model)
            fail_msg("step %d: size %zu, model %d", step, worker_history_size(h), n_model);
        if (step % 97 != 0)
            continue;
        for (int k = 0; k < KEYS; k++) {
            int m = -1;
            size_t want;
            key_parts(k, stream, id);
            for (int i = 0; i < n_model; i++)
                if (model[i].key == k)
                    m = i;
            want = m < 0 ? 0
                   : model[m].n < WORKER_HISTORY_ERRORS ? (size_t)model[m].n
                                                        : WORKER_HISTORY_ERRORS;
            if (worker_history_count(h, stream, id) != want)
                fail_msg("step %d key %d: count %zu, model %zu", step, k,
                         worker_history_count(h, stream, id), want);
            for (size_t i = 0; i < want; i++) {
                char expect[32];
                snprintf(expect, sizeof(expect), "e%d", model[m].errors[model[m].n - want + i]);
                assert_string_equal(worker_history_error(h, stream, id, i), expect);
            }
        }
    }
    worker_history_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(worker_history_keeps_last_errors),
        cmocka_unit_test(worker_history_keys_by_stream_and_id),
        cmocka_unit_test(worker_history_evicts_first_failed),
        cmocka_unit_test(worker_history_json_text),
        cmocka_unit_test(worker_history_random_against_model),
    };
    return cmocka_run_group_tests_name("worker_history", tests, NULL, NULL);
}
