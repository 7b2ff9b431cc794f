// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: what the sources read from outside, up to the canonical event.
 * The first byte chooses the reader (its value modulo 3), the rest is the message:
 *
 * - 0, 1: an uplink message from a LoRaWAN network server, the input device
 *   integrators and their payload formatters control: the ChirpStack v4 reader (0) or
 *   the TTN v3 reader (1), then the device rules of sources/linz/ (chirpstack.yaml,
 *   ttn.yaml), the subject and the mapping (lorawan_event, the step lorawan_handle
 *   takes between the network server's MQTT client and our broker);
 * - 2: an answer of PEGELONLINE (its second byte odd: the gap fill's list, else the
 *   current measurement) read into measurements and their event data
 *   (sources/pegelonline/measurement.c), for a station of sources/linz/pegelonline.yaml.
 *
 * Every input is refused with a reason and its detail, or becomes events. An event that
 * passes its type's schema (what source_emit checks next) must have an RFC 3339 time
 * and a valid subject, and its CloudEvent text, which cloudevent_format writes partly
 * by hand for speed, must be JSON equal to the CloudEvent jansson builds. A
 * PEGELONLINE time written in UTC must read back as the instant the answer gave. A
 * violation aborts; the sanitizers abort on any memory error or overflow.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog.h"
#include "fuzz_common.h"
#include "chirpstack_uplink.h"
#include "common/cloudevent.h" /* the sources', not the hub's of the same name */
#include "lorawan.h"
#include "measurement.h"
#include "rfc3339.h"
#include "schema.h"
#include "source_file.h"
#include "topic.h"
#include "ttn_uplink.h"

#ifndef FUZZ_REPO
#define FUZZ_REPO "."
#endif

static struct source_file ttn, chirpstack, pegelonline;
static struct catalog *catalog;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (source_file_load(&ttn, SOURCE_TTN, FUZZ_REPO "/sources/linz/ttn.yaml", stderr) != 0 ||
        source_file_load(&chirpstack, SOURCE_CHIRPSTACK, FUZZ_REPO "/sources/linz/chirpstack.yaml",
                         stderr) != 0 ||
        source_file_load(&pegelonline, SOURCE_PEGELONLINE,
                         FUZZ_REPO "/sources/linz/pegelonline.yaml", stderr) != 0)
        fuzz_fail("the source files do not load", NULL);
    if (!(catalog = catalog_load(FUZZ_REPO "/schemas", stderr)))
        fuzz_fail("the schemas do not load", NULL);
    return 0;
}

/* The CloudEvent text, as published, against the one jansson builds: equal JSON. */
static void check_cloudevent(const struct source_event *ev)
{
    char buf[4096];
    size_t len = cloudevent_format(ev, buf, sizeof(buf));
    json_t *built = cloudevent_new(ev), *text;
    json_error_t jerr;

    if (!built)
        fuzz_fail("cloudevent_new refused an event cloudevent_format may write", ev->id);
    if (len == 0)
        fuzz_fail("cloudevent_format refused an event cloudevent_new built", ev->id);
    if (len > sizeof(buf)) {
        json_decref(built);
        return; /* larger than the sources' own buffer: the heap path, the same code */
    }
    if (!(text = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)))
        fuzz_fail("cloudevent_format wrote text that is not JSON", jerr.text);
    if (!json_equal(text, built)) {
        char *a = json_dumps(built, JSON_COMPACT);
        fprintf(stderr, "built: %s\nwritten: %.*s\n", a ? a : "?", (int)len, buf);
        fuzz_fail("cloudevent_format and cloudevent_new disagree", ev->id);
    }
    json_decref(text);
    json_decref(built);
}

/* What source_emit checks before it publishes, and the CloudEvent it would publish. */
static void check_event(const struct source_event *ev)
{
    const struct schema *schema = catalog_find(catalog, ev->event_type);

    if (!schema)
        fuzz_fail("no schema for a rule's event type", ev->event_type);
    if (schema_validate(schema, ev->data, NULL, 0) != 0)
        return; /* dead-lettered with the schema's reason */
    if (!rfc3339_date_time_valid(ev->time, strlen(ev->time)))
        fuzz_fail("an event's time is not RFC 3339", ev->time);
    if (strspn(ev->subject, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
            strlen(ev->subject) || ev->subject[0] == '\0')
        fuzz_fail("an event's subject is not a topic level", ev->subject);
    check_cloudevent(ev);
}

static void refused(int r, const char *detail)
{
    if (r <= 0 || r >= SOURCE_REASON_COUNT || strnlen(detail, MAPPING_DETAIL_MAX) == 0 ||
        strnlen(detail, MAPPING_DETAIL_MAX) == MAPPING_DETAIL_MAX)
        fuzz_fail("a refusal without a reason", NULL);
}

static void uplink(const struct source_file *sf, uplink_parse_fn parse, const json_t *root)
{
    char detail[MAPPING_DETAIL_MAX], subject[TOPIC_SUBJECT_MAX + 1];
    struct source_event ev;
    struct uplink up;
    int r;

    if ((r = lorawan_event(sf, parse, root, &up, subject, &ev, detail)) != 0) {
        refused(r, detail);
        return;
    }
    check_event(&ev);
    json_decref(ev.data);
}

/* A measurement of the gap fill left out: it must say why, as a refusal does. */
static void bad_measurement(void *data, int reason, const char *detail)
{
    (void)data;
    refused(reason, detail);
}

static void answer(const json_t *root, bool backfill)
{
    const struct station *st = &pegelonline.stations[0];
    char detail[MAPPING_DETAIL_MAX], time_text[RFC3339_UTC_MAX];
    struct measurement *m;
    size_t n;
    int r;

    if ((r = measurements_read(root, backfill, &m, &n, bad_measurement, NULL, detail,
                               sizeof(detail))) != 0) {
        refused(r, detail);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct source_event ev = {.municipality = st->municipality,
                                  .event_type = "sensor.waterlevel",
                                  .subject = st->subject,
                                  .id = "0123456789abcdef0123456789abcdef",
                                  .time = time_text,
                                  .ce_source = "https://www.pegelonline.wsv.de/stations/x"};
        int64_t s, ns;

        if (i > 0 && (m[i].s < m[i - 1].s || (m[i].s == m[i - 1].s && m[i].ns < m[i - 1].ns)))
            fuzz_fail("measurements not oldest first", NULL);
        if (!(ev.data = measurement_data(&m[i], time_text)))
            fuzz_fail("out of memory", NULL);
        if (rfc3339_split(time_text, strlen(time_text), &s, &ns) != 0 || s != m[i].s ||
            ns != m[i].ns)
            fuzz_fail("a measurement's UTC time is another instant", time_text);
        check_event(&ev);
        json_decref(ev.data);
    }
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int reader = size ? data[0] % 3 : 0;
    size_t skip = reader == 2 ? 2 : 1;
    json_t *root;

    if (size < skip || size - skip > (size_t)ttn.server.max_payload_bytes)
        return 0;
    if (!(root = json_loadb((const char *)data + skip, size - skip,
                            reader == 2 ? 0 : JSON_REJECT_DUPLICATES, NULL)))
        return 0;
    if (reader == 0)
        uplink(&chirpstack, chirpstack_uplink_parse, root);
    else if (reader == 1)
        uplink(&ttn, ttn_uplink_parse, root);
    else
        answer(root, data[1] & 1);
    json_decref(root);
    return 0;
}
