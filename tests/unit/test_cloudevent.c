// SPDX-License-Identifier: MIT
/*
 * Unit tests of a source's event text (cloudevent.h): byte for byte what jansson makes
 * of the whole object, for plain events and for members that need escaping; a buffer
 * too small; strings that are not UTF-8.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudevent.h"

static json_t *data_of(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);

    if (!v)
        fail_msg("%s: %s", text, e.text);
    return v;
}

/* The text cloudevent_format writes must be what jansson dumps of cloudevent_new. */
static void same_as_jansson(const struct source_event *ev)
{
    json_t *ce = cloudevent_new(ev);
    char *want, buf[4096];
    size_t n;

    assert_non_null(ce);
    want = json_dumps(ce, CLOUDEVENT_DUMP_FLAGS);
    json_decref(ce);
    assert_non_null(want);
    n = cloudevent_format(ev, buf, sizeof(buf));
    if (n != strlen(want) || memcmp(buf, want, n) != 0)
        fail_msg("cloudevent_format wrote\n%.*s\njansson\n%s", (int)n, buf, want);
    free(want);
}

static void cloudevent_plain_event(void **state)
{
    json_t *data = data_of("{\"time\":\"2026-11-26T06:00:01.118392457Z\",\"value\":702,"
                           "\"unit\":\"cm\",\"battery\":0.87,\"rssi\":-97,\"snr\":6.5,"
                           "\"note\":\"Pegel \\u00e4 \\\"hoch\\\"\\n\"}");
    struct source_event ev = {.municipality = "linz",
                              .event_type = "sensor.waterlevel",
                              .subject = "pegel-linz-1",
                              .id = "094ec0b4a7a66cda56aa5ec94f7b97a8",
                              .time = "2026-11-26T06:00:01.118392457Z",
                              .ce_source = "ttn:linz-sensors",
                              .data = data};
    char buf[1024];

    same_as_jansson(&ev);
    /* the copied members as they stand, the data as jansson writes it */
    assert_true(cloudevent_format(&ev, buf, sizeof(buf)) < sizeof(buf));
    assert_memory_equal(buf,
                        "{\"specversion\":\"1.0\",\"id\":\"094ec0b4a7a66cda56aa5ec94f7b97a8\","
                        "\"source\":\"ttn:linz-sensors\",\"type\":\"sensor.waterlevel\","
                        "\"subject\":\"pegel-linz-1\",\"time\":\"2026-11-26T06:00:01.118392457Z\","
                        "\"datacontenttype\":\"application/json\",\"data\":{\"time\":",
                        233);
    json_decref(data);
}

/* Members that need escaping, or that the copy does not take: jansson encodes all. */
static void cloudevent_members_that_need_escaping(void **state)
{
    json_t *data = data_of("{\"value\":1}");
    struct source_event ev = {.event_type = "sensor.waterlevel",
                              .subject = "pegel-1",
                              .id = "0123456789abcdef0123456789abcdef",
                              .time = "2026-11-26T06:00:00Z",
                              .ce_source = "ttn:Linz \"Rhein\" \\ \xc3\xa4",
                              .data = data};

    same_as_jansson(&ev); /* source: always jansson's */
    ev.subject = "quote\"d";
    same_as_jansson(&ev);
    ev.subject = "pegel-1";
    ev.time = "2026-11-26T06:00:00\\Z";
    same_as_jansson(&ev);
    ev.time = "tab\there";
    same_as_jansson(&ev);
    ev.time = "2026-11-26T06:00:00Z";
    ev.id = "\xc3\xa4-non-ascii";
    same_as_jansson(&ev);
    json_decref(data);
}

/* A source member longer than CLOUDEVENT_SOURCE_MAX is cut, as before. */
static void cloudevent_long_source(void **state)
{
    json_t *data = data_of("{\"value\":1}");
    char source[400];
    struct source_event ev = {.event_type = "sensor.soil", .subject = "s", .id = "00",
                              .time = "2026-11-26T06:00:00Z", .ce_source = source,
                              .data = data};

    memset(source, 'a', sizeof(source) - 1);
    source[sizeof(source) - 1] = '\0';
    same_as_jansson(&ev);
    json_decref(data);
}

/* A source whose cut at CLOUDEVENT_SOURCE_MAX falls inside a character (a ChirpStack
 * applicationId or TTN application id of non-ASCII letters) loses that character, not
 * the event. */
static void cloudevent_long_source_cut_at_a_whole_character(void **state)
{
    json_t *data = data_of("{\"value\":1}");
    char source[CLOUDEVENT_SOURCE_MAX + 2], buf[1024];
    struct source_event ev = {.event_type = "sensor.soil", .subject = "s", .id = "00",
                              .time = "2026-11-26T06:00:00Z", .ce_source = source,
                              .data = data};
    json_error_t e;
    json_t *ce;
    size_t n;

    /* 254 bytes of "a", then an "\xc3\xa4" whose second byte would be the 256th */
    memset(source, 'a', CLOUDEVENT_SOURCE_MAX - 1);
    memcpy(source + CLOUDEVENT_SOURCE_MAX - 1, "\xc3\xa4", 3);
    n = cloudevent_format(&ev, buf, sizeof(buf));
    assert_true(n > 0 && n < sizeof(buf));
    assert_non_null(ce = json_loadb(buf, n, 0, &e));
    assert_int_equal(json_string_length(json_object_get(ce, "source")),
                     CLOUDEVENT_SOURCE_MAX - 1);
    json_decref(ce);
    same_as_jansson(&ev);
    json_decref(data);
}

static void cloudevent_small_buffer(void **state)
{
    json_t *data = data_of("{\"value\":1,\"unit\":\"cm\"}");
    struct source_event ev = {.event_type = "sensor.waterlevel", .subject = "pegel-1",
                              .id = "0123456789abcdef0123456789abcdef",
                              .time = "2026-11-26T06:00:00Z", .ce_source = "ttn:linz",
                              .data = data};
    char big[1024], small[40];
    size_t n = cloudevent_format(&ev, big, sizeof(big));

    assert_true(n > sizeof(small) && n < sizeof(big));
    /* too small: the length it needs, and nothing written past the buffer */
    memset(small, 'x', sizeof(small));
    assert_int_equal(cloudevent_format(&ev, small, 20), n);
    for (size_t i = 20; i < sizeof(small); i++)
        assert_int_equal(small[i], 'x');
    assert_int_equal(cloudevent_format(&ev, NULL, 0), n);
    json_decref(data);
}

/* A source that is not UTF-8 (cut inside a character, or binary): no text, as before. */
static void cloudevent_not_utf8(void **state)
{
    json_t *data = data_of("{\"value\":1}");
    struct source_event ev = {.event_type = "sensor.waterlevel", .subject = "pegel-1",
                              .id = "0123456789abcdef0123456789abcdef",
                              .time = "2026-11-26T06:00:00Z", .ce_source = "ttn:\xc3",
                              .data = data};
    char buf[512];

    assert_null(cloudevent_new(&ev));
    assert_int_equal(cloudevent_format(&ev, buf, sizeof(buf)), 0);
    ev.subject = "needs \"escaping\"";
    assert_int_equal(cloudevent_format(&ev, buf, sizeof(buf)), 0);
    json_decref(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cloudevent_plain_event),
        cmocka_unit_test(cloudevent_members_that_need_escaping),
        cmocka_unit_test(cloudevent_long_source),
        cmocka_unit_test(cloudevent_long_source_cut_at_a_whole_character),
        cmocka_unit_test(cloudevent_small_buffer),
        cmocka_unit_test(cloudevent_not_utf8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
