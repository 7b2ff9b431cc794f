// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: an uplink message from a LoRaWAN network server, the input device
 * integrators and their payload formatters control, through the sources' path to a
 * canonical event (sources/common/lorawan.c, lorawan_handle, without the MQTT client):
 * the TTN v3 reader when the first byte is odd, else the ChirpStack v4 reader, then the
 * device rules of sources/linz/ (ttn.yaml, chirpstack.yaml), the subject and the mapping
 * (lorawan_event), and the event type's schema.
 *
 * Every input is refused with a reason and its detail, or becomes an event. An event's time must be an
 * RFC 3339 date-time and its subject a valid topic level (the hub refuses anything
 * else), and its CloudEvent text, which cloudevent_format writes partly by hand for
 * speed, must be JSON equal to the CloudEvent jansson builds (cloudevent_new). A
 * violation aborts; the sanitizers abort on any memory error or overflow.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog.h"
#include "chirpstack_uplink.h"
#include "common/cloudevent.h" /* the sources', not the hub's of the same name */
#include "lorawan.h"
#include "rfc3339.h"
#include "schema.h"
#include "source_file.h"
#include "topic.h"
#include "ttn_uplink.h"

#ifndef FUZZ_REPO
#define FUZZ_REPO "."
#endif

static struct source_file ttn, chirpstack;
static struct catalog *catalog;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_uplink: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (source_file_load(&ttn, SOURCE_TTN, FUZZ_REPO "/sources/linz/ttn.yaml", stderr) != 0 ||
        source_file_load(&chirpstack, SOURCE_CHIRPSTACK, FUZZ_REPO "/sources/linz/chirpstack.yaml",
                         stderr) != 0)
        fail("the source files do not load", NULL);
    if (!(catalog = catalog_load(FUZZ_REPO "/schemas", stderr)))
        fail("the schemas do not load", NULL);
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
        fail("cloudevent_new refused an event cloudevent_format may write", ev->id);
    if (len == 0)
        fail("cloudevent_format refused an event cloudevent_new built", ev->id);
    if (len > sizeof(buf)) {
        json_decref(built);
        return; /* larger than the sources' own buffer: the heap path, the same code */
    }
    if (!(text = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)))
        fail("cloudevent_format wrote text that is not JSON", jerr.text);
    if (!json_equal(text, built)) {
        char *a = json_dumps(built, JSON_COMPACT);
        fprintf(stderr, "built: %s\nwritten: %.*s\n", a ? a : "?", (int)len, buf);
        fail("cloudevent_format and cloudevent_new disagree", ev->id);
    }
    json_decref(text);
    json_decref(built);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct source_file *sf = size && data[0] & 1 ? &ttn : &chirpstack;
    uplink_parse_fn parse = sf == &ttn ? ttn_uplink_parse : chirpstack_uplink_parse;
    char detail[MAPPING_DETAIL_MAX], subject[TOPIC_SUBJECT_MAX + 1];
    const struct schema *schema;
    struct source_event ev;
    struct uplink up;
    json_t *root;
    int r;

    if (size == 0 || size - 1 > (size_t)sf->server.max_payload_bytes)
        return 0;
    if (!(root = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL)))
        return 0;
    if ((r = lorawan_event(sf, parse, root, &up, subject, &ev, detail)) != 0) {
        if (r <= 0 || r >= SOURCE_REASON_COUNT || strnlen(detail, MAPPING_DETAIL_MAX) == 0 ||
            strnlen(detail, MAPPING_DETAIL_MAX) == MAPPING_DETAIL_MAX)
            fail("a refusal without a reason", NULL);
        json_decref(root);
        return 0;
    }
    /* What source_emit checks next: the event type's schema. */
    if (!(schema = catalog_find(catalog, ev.event_type)))
        fail("no schema for a rule's event type", ev.event_type);
    if (schema_validate(schema, ev.data, NULL, 0) == 0) {
        if (!rfc3339_date_time_valid(ev.time, strlen(ev.time)))
            fail("an event's time is not RFC 3339", ev.time);
        if (strspn(subject, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
                strlen(subject) || subject[0] == '\0')
            fail("an event's subject is not a topic level", subject);
        check_cloudevent(&ev);
    }
    json_decref(ev.data);
    json_decref(root);
    return 0;
}
