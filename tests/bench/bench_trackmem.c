// SPDX-License-Identifier: MIT
/*
 * rheinhub-bench-trackmem: the memory of the alerting worker's tracks and alerts. An
 * engine with three rules on sensor.waterlevel value (a level, the same level held
 * for 10 minutes, a rise over an hour) gets one event per subject (gauge-<i>, value
 * 600, nothing raised) until it holds N tracks (argument 1, 100,000 by default; three
 * per subject); then one subject in ten gets a second event 11 minutes later at 700,
 * which raises the level's and the duration's alerts. Events carry what a real one
 * does: a UUID-like id of 36 characters, an RFC 3339 time with milliseconds. Prints
 * the bytes per track and per alert that the C library's allocator holds in use for
 * them (mallinfo2: arena and mmapped bytes, after minus before) and the process's RSS
 * growth. The changes are taken after every event, as the worker does per batch.
 * Then every subject gets ROUNDS more events a minute apart (the raised ones stay above
 * the level, their alerts take each event's texts): the time per event applied to
 * tracks that exist, the engine's hot path (with the making of each event, the same
 * before and after a change).
 * Meaningful in a release or debugoptimized build only: AddressSanitizer keeps its
 * own allocator and red zones.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "bench_mem.h"
#include "engine.h"
#include "rules.h"
#include "times.h"

#define TRACKS_DEFAULT 100000
#define RULES_PER_SUBJECT 3
#define ROUNDS 5
/* 2026-11-26T06:00:00Z */
#define START_S 1795672800LL

static const char rules_yaml[] = "rules:\n"
                                 "  - name: rhine-flood\n"
                                 "    type: sensor.waterlevel\n"
                                 "    field: value\n"
                                 "    above: 650\n"
                                 "    clear: 620\n"
                                 "    message: \"{subject}: water level {value} cm\"\n"
                                 "  - name: rhine-flood-held\n"
                                 "    type: sensor.waterlevel\n"
                                 "    field: value\n"
                                 "    above: 650\n"
                                 "    clear: 620\n"
                                 "    for: 10m\n"
                                 "  - name: rhine-rising\n"
                                 "    type: sensor.waterlevel\n"
                                 "    field: value\n"
                                 "    rate: 1h\n"
                                 "    above: 30\n"
                                 "    clear: 10\n";

static int64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Applies one event {"value": value, "unit": "cm"} of subject at_s seconds after the start. */
static int feed(struct engine *e, const char *subject, int64_t at_s, int value, unsigned serial)
{
    char id[40], time[TIMES_TEXT_MAX];
    int64_t at = (START_S + at_s) * NS_PER_S + (int64_t)(serial % 1000) * NS_PER_MS;
    msgpack_sbuffer buf;
    msgpack_packer pk;
    msgpack_unpacked u;
    struct engine_event ev;
    int r;

    /* UUID-like: 8-4-4-4-12 hex digits. */
    snprintf(id, sizeof(id), "%08x-%04x-4%03x-8%03x-%012x", serial, serial & 0xffff,
             serial & 0xfff, (serial >> 12) & 0xfff, serial * 2654435761u);
    times_format_ms(at, time);
    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "value", 5);
    msgpack_pack_int(&pk, value);
    msgpack_pack_str_with_body(&pk, "unit", 4);
    msgpack_pack_str_with_body(&pk, "cm", 2);
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, buf.data, buf.size, NULL) != MSGPACK_UNPACK_SUCCESS) {
        msgpack_sbuffer_destroy(&buf);
        return -1;
    }
    ev = (struct engine_event){.id = id,
                               .type = "sensor.waterlevel",
                               .subject = subject,
                               .municipality = "linz",
                               .time = time,
                               .time_ns = at,
                               .received_ns = at,
                               .data = &u.data};
    r = engine_event(e, &ev, at);
    engine_changes_clear(e);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
    return r;
}

int main(int argc, char **argv)
{
    size_t n = TRACKS_DEFAULT, subjects, tracks0, tracks, alerts, used0, used1, used2;
    long rss0, rss1, rss2;
    struct rules rules;
    struct engine *e;
    char subject[32];
    unsigned serial = 0;
    int64_t start_ns, events = 0;

    if (argc > 1 && (n = strtoul(argv[1], NULL, 10)) == 0) {
        fprintf(stderr, "usage: rheinhub-bench-trackmem [tracks]\n");
        return 2;
    }
    subjects = (n + RULES_PER_SUBJECT - 1) / RULES_PER_SUBJECT;
    if (rules_load_buffer(&rules, "bench.yaml", rules_yaml, strlen(rules_yaml), stderr) != 0 ||
        !(e = engine_new(&rules)))
        return 1;
    /* One alert first, so that the list of changes has its capacity before the count. */
    if (feed(e, "warm-up", 0, 700, serial++) < 0)
        return 1;
    engine_dirty_clear(e);
    engine_tracks(e, &tracks0);
    used0 = bench_mem_in_use();
    rss0 = bench_mem_rss_kib();
    for (size_t i = 0; i < subjects; i++) {
        snprintf(subject, sizeof(subject), "gauge-%zu", i);
        if (feed(e, subject, 0, 600, serial++) < 0) {
            fprintf(stderr, "rheinhub-bench-trackmem: event %zu was not applied\n", i);
            return 1;
        }
    }
    engine_dirty_clear(e);
    used1 = bench_mem_in_use();
    rss1 = bench_mem_rss_kib();
    engine_tracks(e, &tracks);
    tracks -= tracks0; /* less the warm-up's */
    alerts = engine_stats(e)->changes[ENGINE_RAISED];
    for (size_t i = 0; i < subjects; i += 10) {
        snprintf(subject, sizeof(subject), "gauge-%zu", i);
        if (feed(e, subject, 11 * 60, 700, serial++) < 0) {
            fprintf(stderr, "rheinhub-bench-trackmem: event %zu was not applied\n", i);
            return 1;
        }
    }
    engine_dirty_clear(e);
    used2 = bench_mem_in_use();
    rss2 = bench_mem_rss_kib();
    alerts = engine_stats(e)->changes[ENGINE_RAISED] - alerts;
    printf("tracks                  %zu (sizeof(struct track) %zu bytes)\n", tracks,
           sizeof(struct track));
    if (used1 > used0 && used2 > used1) {
        printf("allocator in use        %.1f MiB, %.0f bytes per track\n",
               (double)(used1 - used0) / 1048576, (double)(used1 - used0) / (double)tracks);
        printf("alerts                  %zu, %.1f MiB more, %.0f bytes per alert\n", alerts,
               (double)(used2 - used1) / 1048576, (double)(used2 - used1) / (double)alerts);
    } else {
        printf("allocator in use        not known (mallinfo2 tells nothing: a sanitizer?)\n");
    }
    printf("RSS growth              %.1f MiB for the tracks (%.0f bytes per track), "
           "%.1f MiB for the alerts (%.0f bytes per alert)\n",
           (double)(rss1 - rss0) / 1024, (double)(rss1 - rss0) * 1024 / (double)tracks,
           (double)(rss2 - rss1) / 1024, (double)(rss2 - rss1) * 1024 / (double)alerts);
    start_ns = monotonic_ns();
    for (int round = 1; round <= ROUNDS; round++) {
        for (size_t i = 0; i < subjects; i++, events++) {
            snprintf(subject, sizeof(subject), "gauge-%zu", i);
            if (feed(e, subject, 11 * 60 + round * 60, i % 10 ? 600 : 700, serial++) < 0) {
                fprintf(stderr, "rheinhub-bench-trackmem: event %zu was not applied\n", i);
                return 1;
            }
        }
        engine_dirty_clear(e);
    }
    printf("events to known tracks  %" PRId64 ", %.0f ns per event\n", events,
           (double)(monotonic_ns() - start_ns) / (double)events);
    engine_free(e);
    rules_free(&rules);
    return 0;
}
