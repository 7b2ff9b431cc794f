// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the alerting engine (workers/alerting/engine.c) on event streams a
 * device could send, with the clock's ticks and acknowledgements in between. The input
 * is a sequence of 24-byte steps: an event (of one of four subjects and three types,
 * with a number, a text or no value, at any time: a step from the last one or any
 * int64), a tick of the clock (any step forward), or an acknowledgement. The rules
 * cover every kind: levels, rate (rising and falling), silence, for, equals,
 * re-notification and escalation.
 *
 * After every step each change's alert must be valid against schemas/alert.schema.json
 * (the contract operations staff rely on), its state must fit its reason, and its JSON
 * must read back (alert_from_json) to the same JSON. At the end every track's state,
 * written as the worker keeps it in Redis and loaded into a fresh engine, must be
 * written again byte for byte the same. A violation aborts; UBSan (no recovery) aborts
 * on any overflow.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <msgpack.h>

#include "alert.h"
#include "engine.h"
#include "rfc3339.h"
#include "rules.h"
#include "fuzz_common.h"
#include "schema.h"
#include "state.h"
#include "times.h"

#ifndef FUZZ_REPO
#define FUZZ_REPO "."
#endif

#define STEP 24
#define STEPS_MAX 256

static const char rules_text[] =
    "rules:\n"
    "  - {name: flood, type: sensor.waterlevel, field: value, above: 650, clear: 620,\n"
    "     levels: [{above: 800, severity: critical}], renotify: 1h, escalate: 30m,\n"
    "     message: \"{subject}: {value} cm >= {threshold} cm\"}\n"
    "  - {name: rising, type: sensor.waterlevel, field: value, rate: 1h, above: 30,\n"
    "     clear: 10, message: \"+{value} in {duration}\"}\n"
    "  - {name: falling, type: sensor.waterlevel, field: value, rate: 2h, below: -10,\n"
    "     clear: -2}\n"
    "  - {name: silent, type: \"sensor.*\", silence: 30m, message: \"{subject} {value} s\"}\n"
    "  - {name: bin, type: sensor.wastebin, field: fill, above: 0.9, clear: 0.5, for: 10m}\n"
    "  - {name: light, type: service.streetlight, field: status, equals: fault,\n"
    "     message: \"fault {data.fault_code}\", escalate: 15m}\n";

static const char *const types[] = {"sensor.waterlevel", "sensor.wastebin",
                                    "service.streetlight"};
static const char *const rule_of_type[] = {"flood", "bin", "light"};
static const char *const subjects[] = {"pegel-1", "pegel-2", "bin-1", "light-1"};
static const char *const texts[] = {"fault", "ok", "", "ü"};

static struct rules rules;
static struct schema *alert_schema;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    alert_schema = fuzz_schema_file(FUZZ_REPO "/schemas/alert.schema.json");
    if (rules_load_buffer(&rules, "fuzz.yaml", rules_text, strlen(rules_text), stderr) != 0)
        fuzz_fail("the rules do not load", NULL);
    return 0;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static int64_t saturated_add(int64_t a, int64_t b)
{
    int64_t r;

    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

/* The payload: {"value" or "fill" or "status": a number, a text or nothing; "fault_code": 7}. */
static void pack_data(msgpack_packer *pk, int type, uint8_t kind, uint64_t raw)
{
    static const char *const fields[] = {"value", "fill", "status"};
    const char *field = fields[type];
    bool present = kind % 4 != 3;

    msgpack_pack_map(pk, present ? 2 : 1);
    msgpack_pack_str_with_body(pk, "fault_code", 10);
    msgpack_pack_int(pk, 7);
    if (!present)
        return;
    msgpack_pack_str_with_body(pk, field, strlen(field));
    switch (kind % 4) {
    case 0: { /* a small number, so that the levels are crossed often */
        int64_t v = (int64_t)(raw % 2000) - 500;
        if (type == 1)
            msgpack_pack_double(pk, (double)v / 1000.0);
        else
            msgpack_pack_int64(pk, v);
        break;
    }
    case 1: { /* any int64, or any finite double */
        double d;
        memcpy(&d, &raw, sizeof(d));
        if (kind & 4 && d == d && d - d == 0)
            msgpack_pack_double(pk, d);
        else
            msgpack_pack_int64(pk, (int64_t)raw);
        break;
    }
    default: {
        const char *t = texts[raw % 4];
        msgpack_pack_str_with_body(pk, t, strlen(t));
    }
    }
}

static void check_changes(struct engine *e)
{
    size_t n;
    const struct engine_change *c = engine_changes(e, &n);

    for (size_t i = 0; i < n; i++) {
        const struct alert *a = &c[i].alert;
        json_t *j = alert_to_json(a), *again;
        struct alert back;
        char why[256];

        if (!j)
            fuzz_fail("alert_to_json", NULL);
        if (schema_validate(alert_schema, j, NULL, 0) != 0) {
            char *text = json_dumps(j, JSON_COMPACT);
            fuzz_fail("an alert is not valid against alert.schema.json", text);
        }
        if ((c[i].reason == ENGINE_RAISED && a->state != ALERT_ACTIVE) ||
            (c[i].reason == ENGINE_ACKNOWLEDGED && a->state != ALERT_ACKNOWLEDGED) ||
            (c[i].reason == ENGINE_CLEARED && a->state != ALERT_CLEARED))
            fuzz_fail("a change's state does not fit its reason", engine_reason_name(c[i].reason));
        if (alert_from_json(j, &back, why, sizeof(why)) != 0)
            fuzz_fail("an alert's JSON does not read back", why);
        if (!(again = alert_to_json(&back)) || !json_equal(j, again))
            fuzz_fail("an alert's JSON reads back as another alert", a->id);
        json_decref(again);
        json_decref(j);
    }
    engine_changes_clear(e);
    engine_dirty_clear(e);
}

/* Every track written, loaded into a fresh engine and written again: the same text. */
static void check_state(const struct engine *e)
{
    struct engine *fresh = engine_new(&rules);
    struct track *const *tracks;
    size_t n;

    if (!fresh)
        fuzz_fail("out of memory", NULL);
    tracks = engine_tracks(e, &n);
    for (size_t i = 0; i < n; i++) {
        size_t len, len2;
        char *text = state_track_dumps(tracks[i], &len), *again, why[256];
        struct track *t;

        if (!text)
            fuzz_fail("state_track_dumps", NULL);
        if (state_track_load(fresh, text, len, why, sizeof(why)) != 0)
            fuzz_fail("a track's state does not load", why);
        if (!(t = engine_track(fresh, tracks[i]->key)))
            fuzz_fail("a loaded track is missing", tracks[i]->key);
        if (!(again = state_track_dumps(t, &len2)) || len != len2 || memcmp(text, again, len))
            fuzz_fail("a track's state loads as another state", text);
        free(again);
        free(text);
    }
    engine_free(fresh);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct engine *e = engine_new(&rules);
    int64_t now, event_ns;
    int event_no = 0;

    if (!e)
        fuzz_fail("out of memory", NULL);
    if (times_parse("2026-11-26T06:00:00Z", 20, &now) != 0)
        fuzz_fail("times_parse", NULL);
    event_ns = now;
    for (size_t off = 0; off + STEP <= size && off / STEP < STEPS_MAX; off += STEP) {
        const uint8_t *s = data + off;
        uint64_t a = get64(s + 8), b = get64(s + 16);
        int subject = s[1] % 4, type = s[2] % 3;

        switch (s[0] % 4) {
        case 0:
        case 1: { /* an event: its time a step from the last one, or any int64 */
            struct rfc3339_civil c;
            char id[16], time[48];
            msgpack_sbuffer buf;
            msgpack_packer pk;
            msgpack_unpacked u;
            struct engine_event ev;

            /* -10 min to +110 min from the last event, or any time at all */
            event_ns = s[3] & 1 ? (int64_t)a
                                : saturated_add(event_ns, (int64_t)(a % 7200000) * 1000000 -
                                                              600000000000LL);
            now = saturated_add(now, (int64_t)(b % 600000) * 1000000);
            rfc3339_civil_from_ns(event_ns, &c);
            snprintf(time, sizeof(time), "%04lld-%02d-%02dT%02d:%02d:%02d.%09dZ",
                     (long long)c.year, c.month, c.day, c.hour, c.minute, c.second,
                     (int)c.frac_ns);
            snprintf(id, sizeof(id), "ev-%d", ++event_no);
            msgpack_sbuffer_init(&buf);
            msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
            pack_data(&pk, type, s[4], b);
            msgpack_unpacked_init(&u);
            if (msgpack_unpack_next(&u, buf.data, buf.size, NULL) != MSGPACK_UNPACK_SUCCESS)
                fuzz_fail("msgpack", NULL);
            ev = (struct engine_event){.id = id, .type = types[type], .subject = subjects[subject],
                                       .municipality = "linz", .time = time,
                                       .time_ns = event_ns, .received_ns = now, .data = &u.data};
            if (engine_event(e, &ev, now) != 0)
                fuzz_fail("engine_event", NULL);
            msgpack_unpacked_destroy(&u);
            msgpack_sbuffer_destroy(&buf);
            break;
        }
        case 2: /* the clock */
            now = saturated_add(now, (int64_t)(a % (4 * 3600000)) * 1000000);
            if (engine_tick(e, now, s[3] & 1) != 0)
                fuzz_fail("engine_tick", NULL);
            break;
        default: { /* an acknowledgement of the type's level rule */
            char key[ENGINE_KEY_MAX];
            int r;

            snprintf(key, sizeof(key), "linz/%s/%s", rule_of_type[type], subjects[subject]);
            r = engine_ack(e, key, s[3] & 2 ? "linz:flood:a:1" : NULL, s[3] & 1 ? "Bauhof" : "ü",
                           now);
            if (r != 0 && r != -ENOENT && r != -EALREADY && r != -ESTALE)
                fuzz_fail("engine_ack", NULL);
        }
        }
        check_changes(e);
    }
    check_state(e);
    engine_free(e);
    return 0;
}
