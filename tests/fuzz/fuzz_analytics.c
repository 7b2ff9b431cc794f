// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: one analytics window (workers/analytics/acc.c), the aggregate it
 * becomes and the state the worker keeps of it in Redis. The first byte chooses:
 *
 * - even: the rest is a window's state as read from Redis (damaged, or from another
 *   version): acc_unpack takes it or refuses it with EINVAL; what it takes packs, and
 *   unpacks again, to the same bytes.
 * - odd: the rest is a sequence of 16-byte steps, each an event's number (any finite
 *   double, as JSON gives them, at any time) or text for one of a few fields, valid
 *   names and not, counted into the window. The aggregate it becomes must be valid
 *   against schemas/aggregate.schema.json (what subscribers rely on), and its state
 *   must pack, unpack and pack again to the same bytes, each statistic bit for bit.
 *
 * A violation aborts; UBSan (no recovery) aborts on any overflow.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <msgpack.h>

#include "acc.h"
#include "fuzz_common.h"
#include "schema.h"

#ifndef FUZZ_REPO
#define FUZZ_REPO "."
#endif

#define KEY "linz/sensor.waterlevel/pegel-1/1h/1795672800" /* 2026-11-26T06:00:00Z */
#define START_NS (1795672800LL * 1000000000LL)
#define STEP 16
#define STEPS_MAX 512

static const char *const names[] = {"value", "battery", "trend", "unit", "Bad-Name", ""};
static const char *const texts[] = {"cm", "m", "", "ü", "_other", "true"};

static struct schema *aggregate_schema;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    aggregate_schema = fuzz_schema_file(FUZZ_REPO "/schemas/aggregate.schema.json");
    return 0;
}

/* a packed as buf; unpacked into a new window and packed again: the same bytes. */
static void check_round_trip(const struct acc *a, const msgpack_sbuffer *buf)
{
    struct acc *b = acc_new(KEY);
    msgpack_sbuffer again;

    if (!b)
        fuzz_fail("acc_new", NULL);
    msgpack_sbuffer_init(&again);
    if (acc_unpack(b, buf->data, buf->size) != 0)
        fuzz_fail("a packed window does not unpack", NULL);
    if (acc_pack(b, &again) != 0)
        fuzz_fail("acc_pack", NULL);
    if (again.size != buf->size || memcmp(again.data, buf->data, buf->size) != 0)
        fuzz_fail("a window packs to other bytes after a round trip", NULL);
    if (b->count != a->count || b->n_numbers != a->n_numbers ||
        b->n_categories != a->n_categories)
        fuzz_fail("a window unpacks to other counts", NULL);
    for (uint32_t i = 0; i < a->n_numbers; i++)
        if (memcmp(&a->numbers[i].st, &b->numbers[i].st, sizeof(a->numbers[i].st)) != 0)
            fuzz_fail("a statistic unpacks to other bits", acc_name(a, a->numbers[i].name));
    msgpack_sbuffer_destroy(&again);
    acc_free(b);
}

static void state(const uint8_t *data, size_t size)
{
    struct acc *a = acc_new(KEY);
    msgpack_sbuffer buf;
    int r;

    if (!a)
        fuzz_fail("acc_new", NULL);
    r = acc_unpack(a, (const char *)data, size);
    if (r == 0) {
        msgpack_sbuffer_init(&buf);
        if (acc_pack(a, &buf) != 0)
            fuzz_fail("acc_pack", NULL);
        check_round_trip(a, &buf);
        msgpack_sbuffer_destroy(&buf);
        json_decref(acc_to_json(a));
    } else if (r != -EINVAL) {
        fuzz_fail("acc_unpack gave neither 0 nor EINVAL", NULL);
    } else if (a->count || a->n_numbers || a->n_categories) {
        fuzz_fail("a refused state left the window not empty", NULL);
    }
    acc_free(a);
}

static void events(const uint8_t *data, size_t size)
{
    struct acc *a = acc_new(KEY);
    msgpack_sbuffer buf;
    json_t *j;

    if (!a)
        fuzz_fail("acc_new", NULL);
    for (size_t off = 0; off + STEP <= size && off / STEP < STEPS_MAX; off += STEP) {
        const uint8_t *s = data + off;
        const char *name = names[s[1] % 6];
        size_t n = strlen(name);
        int64_t t_ns = START_NS + (int64_t)(s[2] | s[3] << 8) * 1000000 * 50;
        double v;
        int r;

        memcpy(&v, s + 8, sizeof(v));
        if (s[0] & 2)
            acc_add_event(a);
        if (s[0] & 4) {
            const char *t = texts[s[4] % 6];
            r = acc_add_category(a, name, n, t, strlen(t));
        } else {
            if (!isfinite(v)) /* JSON has no NaN or infinity */
                v = (double)(int64_t)(s[5] | s[6] << 8 | s[7] << 16) - 4000000.0;
            r = acc_add_number(a, name, n, v, t_ns);
        }
        if (r != 0 && r != -EINVAL && r != -ENOSPC)
            fuzz_fail("adding a field failed", name);
    }
    if (!(j = acc_to_json(a)))
        fuzz_fail("acc_to_json", NULL);
    if (schema_validate(aggregate_schema, j, NULL, 0) != 0) {
        char *text = json_dumps(j, JSON_COMPACT);
        fuzz_fail("an aggregate is not valid against aggregate.schema.json", text);
    }
    json_decref(j);
    msgpack_sbuffer_init(&buf);
    if (acc_pack(a, &buf) != 0)
        fuzz_fail("acc_pack", NULL);
    check_round_trip(a, &buf);
    msgpack_sbuffer_destroy(&buf);
    acc_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        events(data + 1, size - 1);
    else
        state(data + 1, size - 1);
    return 0;
}
