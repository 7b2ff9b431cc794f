// SPDX-License-Identifier: MIT
/*
 * Unit tests of the analytics worker's windows (acc.c): the statistics against exact
 * references (also where a naive sum of squares cancels catastrophically), "last" by
 * event time, counts per value and their limits, window keys (also of local days), the
 * packed state (bit for bit after a round trip, byte for byte the format of earlier
 * versions, refused when damaged) and the aggregate JSON.
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

#include "acc.h"
#include "localday.h"
#include "window.h"

#define NS WINDOW_NS_PER_S
#define KEY "linz/sensor.waterlevel/pegel-1/1h/1795672800" /* 2026-11-26T06:00:00Z */
#define ROLLUP_KEY "linz/sensor.waterlevel/_all/1h/1795672800"

static void assert_close(double got, double want, double rel)
{
    double err = fabs(got - want), scale = fabs(want) > 1 ? fabs(want) : 1;

    if (!(err <= rel * scale))
        fail_msg("%.17g != %.17g (relative error %.3g, allowed %.3g)", got, want, err / scale,
                 rel);
}

/* Population variance by two passes in long double: the reference. */
static void reference(const double *x, size_t n, double *mean, double *sd, double *sum)
{
    long double s = 0, m, q = 0;

    for (size_t i = 0; i < n; i++)
        s += x[i];
    m = s / n;
    for (size_t i = 0; i < n; i++)
        q += (x[i] - m) * (x[i] - m);
    *mean = (double)m;
    *sd = (double)sqrtl(q / n);
    *sum = (double)s;
}

static void analytics_acc_stats_match_reference(void **state)
{
    double x[1000], mean, sd, sum;
    struct stat_num s = {0};
    uint64_t seed = 88172645463325252ULL;

    for (size_t i = 0; i < 1000; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        x[i] = (double)(seed % 100000) / 100.0 - 300.0;
        stat_num_add(&s, x[i], (int64_t)i);
    }
    reference(x, 1000, &mean, &sd, &sum);
    assert_int_equal(s.count, 1000);
    assert_close(s.mean, mean, 1e-14);
    assert_close(stat_num_stddev(&s), sd, 1e-12);
    assert_close(stat_num_total(&s), sum, 1e-15);
    assert_true(s.last == x[999]);
}

static void analytics_acc_stats_no_cancellation(void **state)
{
    /* Around 1e9 a naive sum of squares loses every digit of a variance of 22.5. */
    const double x[] = {1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16};
    struct stat_num s = {0};
    double naive_sq = 0, naive_sum = 0;

    for (size_t i = 0; i < 4; i++) {
        stat_num_add(&s, x[i], 0);
        naive_sum += x[i];
        naive_sq += x[i] * x[i];
    }
    assert_close(s.mean, 1e9 + 10, 1e-16);
    assert_close(stat_num_stddev(&s), sqrt(22.5), 1e-12);
    /* the naive formula is far off here, which is why it is not used */
    assert_true(fabs(sqrt(fabs(naive_sq / 4 - (naive_sum / 4) * (naive_sum / 4))) - sqrt(22.5)) >
                0.1);
}

static void analytics_acc_stats_compensated_sum(void **state)
{
    struct stat_num s = {0};

    /* 1e16 + 1 + 1 - 1e16: a plain double sum gives 0 (or 4), the compensated one 2. */
    stat_num_add(&s, 1e16, 0);
    stat_num_add(&s, 1, 0);
    stat_num_add(&s, 1, 0);
    stat_num_add(&s, -1e16, 0);
    assert_true(stat_num_total(&s) == 2.0);
    /* ten times 0.1 */
    memset(&s, 0, sizeof(s));
    for (int i = 0; i < 10; i++)
        stat_num_add(&s, 0.1, 0);
    assert_true(stat_num_total(&s) == 1.0);
}

static void analytics_acc_stats_single_and_last(void **state)
{
    struct stat_num s = {0};

    stat_num_add(&s, 5.5, 100);
    assert_true(s.min == 5.5 && s.max == 5.5 && s.mean == 5.5 && s.last == 5.5);
    assert_true(stat_num_stddev(&s) == 0.0);
    /* last is by event time, not by arrival */
    stat_num_add(&s, 9, 50);
    assert_true(s.last == 5.5);
    stat_num_add(&s, 1, 200);
    assert_true(s.last == 1);
    /* a tie in time: the later arrival wins */
    stat_num_add(&s, 7, 200);
    assert_true(s.last == 7);
    assert_true(s.min == 1 && s.max == 9);
    /* equal values: stddev exactly 0, never negative or NaN */
    memset(&s, 0, sizeof(s));
    for (int i = 0; i < 7; i++)
        stat_num_add(&s, 0.1, i);
    assert_true(stat_num_stddev(&s) >= 0 && stat_num_stddev(&s) < 1e-16);
}

static void analytics_acc_keys(void **state)
{
    char key[ACC_KEY_MAX], m[64], t[72], s[129];
    struct acc_parts p;
    struct acc *a;

    assert_int_equal(acc_key_build(key, "linz", 4, "sensor.waterlevel", 17, "pegel-1x", 7, "1h",
                                   1795672800LL * NS),
                     0);
    assert_string_equal(key, KEY);
    a = acc_new(key);
    assert_non_null(a);
    assert_string_equal(a->key, KEY);
    acc_parts(a, &p);
    assert_string_equal(p.municipality, "linz");
    assert_string_equal(p.type, "sensor.waterlevel");
    assert_string_equal(p.subject, "pegel-1");
    assert_string_equal(p.window, "1h");
    assert_int_equal(a->start_ns, 1795672800LL * NS);
    assert_int_equal(a->end_ns, 1795676400LL * NS);
    assert_false(acc_is_rollup(a));
    acc_free(a);
    a = acc_new("kaiserslautern/citizen.report/_all/1d/1795651200");
    assert_non_null(a);
    assert_true(acc_is_rollup(a));
    acc_free(a);
    /* before 1970 */
    a = acc_new("linz/sensor.soil/t-1/1m/-60");
    assert_non_null(a);
    assert_int_equal(a->start_ns, -60 * NS);
    acc_free(a);
    /* the longest parts a key takes */
    memset(m, 'm', 63);
    m[63] = '\0';
    memcpy(t, "service.", 8);
    memset(t + 8, 't', 63);
    t[71] = '\0';
    memset(s, 'S', 128);
    s[128] = '\0';
    assert_int_equal(acc_key_build(key, m, 63, t, 71, s, 128, "1h", 1795672800LL * NS), 0);
    a = acc_new(key);
    assert_non_null(a);
    assert_string_equal(a->key, key);
    acc_parts(a, &p);
    assert_string_equal(p.municipality, m);
    assert_string_equal(p.type, t);
    assert_string_equal(p.subject, s);
    assert_string_equal(p.window, "1h");
    acc_free(a);

    static const char *const bad[] = {
        "", "linz", "linz/sensor.waterlevel/pegel-1/1h", "Linz/sensor.waterlevel/p/1h/0",
        "linz/alarm.waterlevel/p/1h/0", "linz/sensor.Water/p/1h/0", "linz/sensor.waterlevel/p q/1h/0",
        "linz/sensor.waterlevel/p/1w/0", "linz/sensor.waterlevel/p/1h/1800",
        "linz/sensor.waterlevel/p/1h/x", "linz/sensor.waterlevel/p/1h/3600/7",
        "linz/sensor.waterlevel//1h/3600", "linz/sensor.waterlevel/p/1h/99999999999999999999",
        NULL};
    for (size_t i = 0; bad[i]; i++) {
        errno = 0;
        if ((a = acc_new(bad[i])) != NULL || errno != EINVAL) {
            acc_free(a);
            fail_msg("key \"%s\" was not refused", bad[i]);
        }
    }
}

static int zone_utc(void **state)
{
    return localday_zone_set("UTC");
}

/* With analytics.timezone Europe/Berlin, the keys of open day windows: a local
 * midnight is a start, with the local midnight after it as the end; a UTC one is not. */
static void analytics_acc_keys_local_days(void **state)
{
    struct acc *a;

    assert_int_equal(localday_zone_set("Europe/Berlin"), 0);
    /* 2026-10-24T22:00:00Z: 2026-10-25 local, 25 hours */
    a = acc_new("linz/citizen.report/_all/1d/1792879200");
    assert_non_null(a);
    assert_int_equal(a->start_ns, 1792879200LL * NS);
    assert_int_equal(a->end_ns, (1792879200LL + 25 * 3600) * NS);
    acc_free(a);
    /* 2026-11-25T23:00:00Z to 2026-12-02T23:00:00Z */
    a = acc_new("linz/citizen.report/_all/7d/1795647600");
    assert_non_null(a);
    assert_int_equal(a->end_ns, (1795647600LL + 7 * 86400) * NS);
    acc_free(a);
    /* windows shorter than a day keep UTC keys */
    a = acc_new(KEY);
    assert_non_null(a);
    acc_free(a);
    errno = 0;
    assert_null(acc_new("linz/citizen.report/_all/1d/1795651200")); /* a UTC midnight */
    assert_int_equal(errno, EINVAL);
    assert_int_equal(localday_zone_set("UTC"), 0);
    a = acc_new("linz/citizen.report/_all/1d/1795651200");
    assert_non_null(a);
    acc_free(a);
}

static void analytics_acc_field_names(void **state)
{
    assert_true(acc_name_valid("value", 5));
    assert_true(acc_name_valid("pm2_5", 5));
    assert_false(acc_name_valid("", 0));
    assert_false(acc_name_valid("Value", 5));
    assert_false(acc_name_valid("2x", 2));
    assert_false(acc_name_valid("a-b", 3));
    assert_false(acc_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64));
    assert_true(acc_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 63));
}

static void analytics_acc_categories_and_limits(void **state)
{
    struct acc *a = acc_new(KEY);
    char v[ACC_VALUE_LEN_MAX + 2];

    assert_non_null(a);
    assert_int_equal(acc_add_category(a, "status", 6, "free", 4), 0);
    assert_int_equal(acc_add_category(a, "status", 6, "occupied", 8), 0);
    assert_int_equal(acc_add_category(a, "status", 6, "free", 4), 0);
    assert_int_equal(a->n_categories, 1);
    assert_int_equal(a->categories[0].n_values, 2);
    assert_string_equal(a->categories[0].values[0].text, "free");
    assert_int_equal(a->categories[0].values[0].n, 2);
    assert_int_equal(acc_add_category(a, "Bad", 3, "x", 1), -EINVAL);
    /* distinct values past the limit count as _other; known ones still count as themselves */
    for (int i = 2; i < ACC_VALUES_MAX + 10; i++) {
        char text[16];
        snprintf(text, sizeof(text), "v%d", i);
        assert_int_equal(acc_add_category(a, "status", 6, text, strlen(text)), 0);
    }
    assert_int_equal(acc_add_category(a, "status", 6, "free", 4), 0);
    assert_int_equal(a->categories[0].values[0].n, 3);
    assert_int_equal(a->categories[0].n_values, ACC_VALUES_MAX + 1);
    assert_string_equal(a->categories[0].values[ACC_VALUES_MAX].text, ACC_OTHER);
    assert_int_equal(a->categories[0].values[ACC_VALUES_MAX].n, 10);
    /* too long a value, or one with a NUL: _other */
    memset(v, 'x', sizeof(v));
    assert_int_equal(acc_add_category(a, "fw", 2, v, ACC_VALUE_LEN_MAX + 1), 0);
    assert_int_equal(acc_add_category(a, "fw", 2, "a\0b", 3), 0);
    assert_int_equal(acc_add_category(a, "fw", 2, v, ACC_VALUE_LEN_MAX), 0);
    assert_int_equal(a->categories[1].n_values, 2);
    assert_string_equal(a->categories[1].values[0].text, ACC_OTHER);
    assert_int_equal(a->categories[1].values[0].n, 2);
    /* field limits */
    for (int i = 0; i < ACC_NUMBERS_MAX; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%d", i);
        assert_int_equal(acc_add_number(a, name, strlen(name), i, 0), 0);
    }
    assert_int_equal(acc_add_number(a, "one_more", 8, 1, 0), -ENOSPC);
    assert_int_equal(acc_add_number(a, "f0", 2, 1, 0), 0);
    acc_free(a);
}

/* A window with a bit of everything. */
static struct acc *sample(void)
{
    struct acc *a = acc_new(KEY);

    assert_non_null(a);
    for (int i = 0; i < 5; i++) {
        acc_add_event(a);
        assert_int_equal(acc_add_number(a, "value", 5, 400.1 + i * 1.7, 1000 - i), 0);
        assert_int_equal(acc_add_number(a, "trend", 5, i % 3 - 1, 1000 - i), 0);
        assert_int_equal(acc_add_category(a, "unit", 4, "cm", 2), 0);
    }
    assert_int_equal(acc_add_number(a, "battery", 7, 0.1, 5), 0);
    assert_int_equal(acc_add_category(a, "flag", 4, "true", 4), 0);
    return a;
}

static void analytics_acc_pack_round_trip(void **state)
{
    struct acc *a = sample(), *b = acc_new(KEY);
    msgpack_sbuffer buf, again;

    assert_non_null(b);
    a->subjects = 3;
    msgpack_sbuffer_init(&buf);
    msgpack_sbuffer_init(&again);
    assert_int_equal(acc_pack(a, &buf), 0);
    assert_int_equal(acc_unpack(b, buf.data, buf.size), 0);
    assert_int_equal(b->count, 5);
    assert_int_equal(b->subjects, 3);
    assert_int_equal(b->n_numbers, 3);
    assert_int_equal(b->n_categories, 2);
    for (uint32_t i = 0; i < a->n_numbers; i++) {
        assert_string_equal(acc_name(a, a->numbers[i].name), acc_name(b, b->numbers[i].name));
        /* bit for bit: a restored window goes on exactly as the old one would have */
        assert_memory_equal(&a->numbers[i].st, &b->numbers[i].st, sizeof(struct stat_num));
    }
    assert_int_equal(acc_pack(b, &again), 0);
    assert_int_equal(buf.size, again.size);
    assert_memory_equal(buf.data, again.data, buf.size);
    /* and they go on alike */
    acc_add_number(a, "value", 5, 3.3, 2000);
    acc_add_number(b, "value", 5, 3.3, 2000);
    assert_memory_equal(&a->numbers[0].st, &b->numbers[0].st, sizeof(struct stat_num));
    msgpack_sbuffer_destroy(&buf);
    msgpack_sbuffer_destroy(&again);
    acc_free(a);
    acc_free(b);
}

/*
 * The packed state as the worker has written it to Redis since ACC_PACK_VERSION 1 (bytes
 * of the code before the windows were made smaller): a roll-up of two events with the
 * numbers value, trend and battery and the counted fields unit and state_mnw_mhw. The
 * values are exact in binary, so that every step of the statistics is exact too.
 */
static const char packed_v1[] =
    "\x95\x01\x02\x03\x93\x9a\xa5\x76\x61\x6c\x75\x65\x02\xcb\x40\x79"
    "\x08\x00\x00\x00\x00\x00\xcb\x40\x79\x1c\x00\x00\x00\x00\x00\xcb"
    "\x40\x79\x12\x00\x00\x00\x00\x00\xcb\x3f\xe9\x00\x00\x00\x00\x00"
    "\x00\xcb\x40\x89\x12\x00\x00\x00\x00\x00\xcb\x00\x00\x00\x00\x00"
    "\x00\x00\x00\xcb\x40\x79\x08\x00\x00\x00\x00\x00\xcd\x03\xe8\x9a"
    "\xa5\x74\x72\x65\x6e\x64\x02\xcb\xbf\xf0\x00\x00\x00\x00\x00\x00"
    "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00\xcb\x00\x00\x00\x00\x00\x00"
    "\x00\x00\xcb\x40\x00\x00\x00\x00\x00\x00\x00\xcb\x00\x00\x00\x00"
    "\x00\x00\x00\x00\xcb\x00\x00\x00\x00\x00\x00\x00\x00\xcb\xbf\xf0"
    "\x00\x00\x00\x00\x00\x00\xcd\x03\xe8\x9a\xa7\x62\x61\x74\x74\x65"
    "\x72\x79\x01\xcb\x3f\xe8\x00\x00\x00\x00\x00\x00\xcb\x3f\xe8\x00"
    "\x00\x00\x00\x00\x00\xcb\x3f\xe8\x00\x00\x00\x00\x00\x00\xcb\x00"
    "\x00\x00\x00\x00\x00\x00\x00\xcb\x3f\xe8\x00\x00\x00\x00\x00\x00"
    "\xcb\x00\x00\x00\x00\x00\x00\x00\x00\xcb\x3f\xe8\x00\x00\x00\x00"
    "\x00\x00\x05\x92\x92\xa4\x75\x6e\x69\x74\x91\x92\xa2\x63\x6d\x02"
    "\x92\xad\x73\x74\x61\x74\x65\x5f\x6d\x6e\x77\x5f\x6d\x68\x77\x92"
    "\x92\xa6\x6e\x6f\x72\x6d\x61\x6c\x01\x92\xa4\x68\x69\x67\x68\x01";

/* The window of packed_v1, counted anew. */
static struct acc *packed_v1_window(void)
{
    struct acc *a = acc_new(ROLLUP_KEY);

    assert_non_null(a);
    for (int i = 0; i < 2; i++) {
        acc_add_event(a);
        assert_int_equal(acc_add_number(a, "value", 5, 400.5 + i * 1.25, 1000 - i), 0);
        assert_int_equal(acc_add_number(a, "trend", 5, i * 2 - 1, 1000 - i), 0);
        assert_int_equal(acc_add_category(a, "unit", 4, "cm", 2), 0);
        assert_int_equal(acc_add_category(a, "state_mnw_mhw", 13, i < 1 ? "normal" : "high",
                                          i < 1 ? 6 : 4),
                         0);
    }
    assert_int_equal(acc_add_number(a, "battery", 7, 0.75, 5), 0);
    a->subjects = 3;
    return a;
}

/* A worker on this code writes the bytes the old one wrote, and reads them back. */
static void analytics_acc_pack_format(void **state)
{
    struct acc *a = packed_v1_window(), *b = acc_new(ROLLUP_KEY);
    size_t n = sizeof(packed_v1) - 1;
    msgpack_sbuffer buf, again;

    assert_non_null(b);
    msgpack_sbuffer_init(&buf);
    msgpack_sbuffer_init(&again);
    assert_int_equal(acc_pack(a, &buf), 0);
    assert_int_equal(buf.size, n);
    assert_memory_equal(buf.data, packed_v1, n);
    assert_int_equal(acc_unpack(b, packed_v1, n), 0);
    assert_int_equal(b->count, 2);
    assert_int_equal(b->subjects, 3);
    assert_int_equal(b->n_numbers, 3);
    assert_int_equal(b->n_categories, 2);
    assert_int_equal(b->categories[1].n_values, 2);
    for (uint32_t i = 0; i < a->n_numbers; i++)
        assert_memory_equal(&a->numbers[i].st, &b->numbers[i].st, sizeof(struct stat_num));
    assert_int_equal(acc_pack(b, &again), 0);
    assert_int_equal(again.size, n);
    assert_memory_equal(again.data, packed_v1, n);
    msgpack_sbuffer_destroy(&buf);
    msgpack_sbuffer_destroy(&again);
    acc_free(a);
    acc_free(b);
}

static void analytics_acc_unpack_refuses_damage(void **state)
{
    struct acc *a = sample(), *b = acc_new(KEY);
    msgpack_sbuffer buf;
    char *copy;

    msgpack_sbuffer_init(&buf);
    assert_int_equal(acc_pack(a, &buf), 0);
    copy = malloc(buf.size + 1);
    assert_non_null(copy);
    /* every truncation is refused, and leaves the window empty */
    for (size_t n = 0; n < buf.size; n++) {
        if (acc_unpack(b, buf.data, n) != -EINVAL)
            fail_msg("a packed window cut to %zu of %zu bytes was accepted", n, buf.size);
        assert_int_equal(b->count, 0);
        assert_int_equal(b->n_numbers, 0);
    }
    /* trailing bytes, a wrong version */
    memcpy(copy, buf.data, buf.size);
    copy[buf.size] = 0;
    assert_int_equal(acc_unpack(b, copy, buf.size + 1), -EINVAL);
    copy[1] = 2; /* version: positive fixint after the array header */
    assert_int_equal(acc_unpack(b, copy, buf.size), -EINVAL);
    assert_int_equal(acc_unpack(b, "\x93\x01\x02\x03", 4), -EINVAL);
    assert_int_equal(acc_unpack(b, "\xc0", 1), -EINVAL);
    /* A forged container size is refused before msgpack-c allocates for it (here an
     * array of 3.7 billion elements: 89 GB, which AddressSanitizer would abort on). */
    assert_int_equal(acc_unpack(b, "\xdd\xdd\xdd\xdd\xdd\x01", 6), -EINVAL);
    assert_int_equal(acc_unpack(b, "\x95\x01\x05\x01\xdd\xff\xff\xff\xff\x90", 10), -EINVAL);
    free(copy);
    msgpack_sbuffer_destroy(&buf);
    acc_free(a);
    acc_free(b);
}

static void analytics_acc_json(void **state)
{
    struct acc *a = sample(), *r = acc_new("linz/sensor.waterlevel/_all/1h/1795672800");
    json_t *j = acc_to_json(a), *v;
    char *text;

    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "municipality")), "linz");
    assert_string_equal(json_string_value(json_object_get(j, "subject")), "pegel-1");
    assert_string_equal(json_string_value(json_object_get(j, "window")), "1h");
    assert_string_equal(json_string_value(json_object_get(j, "start")), "2026-11-26T06:00:00Z");
    assert_string_equal(json_string_value(json_object_get(j, "end")), "2026-11-26T07:00:00Z");
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 5);
    assert_null(json_object_get(j, "subjects")); /* only roll-ups have it */
    v = json_object_get(json_object_get(j, "stats"), "value");
    assert_int_equal(json_integer_value(json_object_get(v, "count")), 5);
    assert_close(json_real_value(json_object_get(v, "min")), 400.1, 1e-15);
    assert_close(json_real_value(json_object_get(v, "max")), 400.1 + 4 * 1.7, 1e-15);
    assert_close(json_real_value(json_object_get(v, "last")), 400.1, 1e-15); /* time 1000 */
    assert_close(json_real_value(json_object_get(v, "mean")), 400.1 + 2 * 1.7, 1e-15);
    assert_close(json_real_value(json_object_get(v, "stddev")), sqrt(2) * 1.7, 1e-14);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(j, "counts"), "unit"), "cm")),
                     5);
    assert_int_equal(json_object_size(json_object_get(j, "stats")), 3);
    text = json_dumps(j, JSON_COMPACT);
    assert_non_null(strstr(text, "\"flag\":{\"true\":1}"));
    free(text);
    json_decref(j);

    /* a roll-up has subjects; an empty window neither stats nor counts */
    r->subjects = 2;
    j = acc_to_json(r);
    assert_int_equal(json_integer_value(json_object_get(j, "subjects")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 0);
    assert_null(json_object_get(j, "stats"));
    assert_null(json_object_get(j, "counts"));
    json_decref(j);

    /* statistics that are not finite are left out, the rest stays */
    acc_add_event(r);
    acc_add_number(r, "huge", 4, 1.7e308, 0);
    acc_add_number(r, "huge", 4, 1.7e308, 0);
    acc_add_number(r, "fine", 4, 1, 0);
    j = acc_to_json(r);
    assert_null(json_object_get(json_object_get(j, "stats"), "huge"));
    assert_non_null(json_object_get(json_object_get(j, "stats"), "fine"));
    json_decref(j);
    acc_free(a);
    acc_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(analytics_acc_stats_match_reference),
        cmocka_unit_test(analytics_acc_stats_no_cancellation),
        cmocka_unit_test(analytics_acc_stats_compensated_sum),
        cmocka_unit_test(analytics_acc_stats_single_and_last),
        cmocka_unit_test(analytics_acc_keys),
        cmocka_unit_test_teardown(analytics_acc_keys_local_days, zone_utc),
        cmocka_unit_test(analytics_acc_field_names),
        cmocka_unit_test(analytics_acc_categories_and_limits),
        cmocka_unit_test(analytics_acc_pack_round_trip),
        cmocka_unit_test(analytics_acc_pack_format),
        cmocka_unit_test(analytics_acc_unpack_refuses_damage),
        cmocka_unit_test(analytics_acc_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
