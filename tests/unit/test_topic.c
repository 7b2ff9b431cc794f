// SPDX-License-Identifier: MIT
/*
 * Unit tests of topic parsing: the four levels, each level's alphabet and length
 * limit, the reason given for each kind of bad topic, and the composed event type.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "topic.h"

/* The reasons topic_parse gives, one per level. */
#define WHY_LEVELS "topic must have four levels: <municipality>/<category>/<type>/<subject>"
#define WHY_MUNICIPALITY "municipality must match [a-z0-9][a-z0-9-]* (at most 63 characters)"
#define WHY_CATEGORY "category must be sensor, service or citizen"
#define WHY_TYPE "type must match [a-z][a-z0-9_]* (at most 63 characters)"
#define WHY_SUBJECT "subject must match [A-Za-z0-9._-]{1,128}"

/* Parses text, which must be good, and checks every field of the result. */
static void expect_good(const char *text, enum event_category category, const char *municipality,
                        const char *type, const char *subject, const char *event_type)
{
    struct topic t;
    const char *why = NULL;

    memset(&t, 0x5a, sizeof(t));
    assert_int_equal(topic_parse(text, &t, &why), 0);
    assert_null(why);
    assert_int_equal(t.category, category);
    assert_string_equal(t.municipality, municipality);
    assert_string_equal(t.type, type);
    assert_string_equal(t.subject, subject);
    assert_string_equal(t.event_type, event_type);
}

/* Parses text, which must be bad, and checks the reason given. */
static void expect_bad(const char *text, const char *why_expected)
{
    struct topic t;
    const char *why = NULL;

    assert_int_equal(topic_parse(text, &t, &why), -EINVAL);
    assert_non_null(why);
    assert_string_equal(why, why_expected);
}

/* Fills buf with n copies of c followed by a NUL. */
static char *repeat(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static void topic_good_all_categories(void **state)
{
    expect_good("bonn/sensor/waterlevel/gauge-1", EVENT_CATEGORY_SENSOR, "bonn", "waterlevel",
                "gauge-1", "sensor.waterlevel");
    expect_good("koeln/service/waste_pickup/route.17", EVENT_CATEGORY_SERVICE, "koeln",
                "waste_pickup", "route.17", "service.waste_pickup");
    expect_good("st-goar/citizen/report/R_2024-001", EVENT_CATEGORY_CITIZEN, "st-goar", "report",
                "R_2024-001", "citizen.report");
}

static void topic_good_subject_alphabet(void **state)
{
    expect_good("bonn/sensor/waterlevel/A.b_C-d.0_9", EVENT_CATEGORY_SENSOR, "bonn", "waterlevel",
                "A.b_C-d.0_9", "sensor.waterlevel");
    expect_good("bonn/sensor/waterlevel/.", EVENT_CATEGORY_SENSOR, "bonn", "waterlevel", ".",
                "sensor.waterlevel");
    expect_good("bonn/sensor/waterlevel/-", EVENT_CATEGORY_SENSOR, "bonn", "waterlevel", "-",
                "sensor.waterlevel");
    expect_good("bonn/sensor/waterlevel/_", EVENT_CATEGORY_SENSOR, "bonn", "waterlevel", "_",
                "sensor.waterlevel");
}

static void topic_good_municipality_and_type_alphabet(void **state)
{
    expect_good("53111/sensor/t/x", EVENT_CATEGORY_SENSOR, "53111", "t", "x", "sensor.t");
    expect_good("0-a-/sensor/a1_b2_/x", EVENT_CATEGORY_SENSOR, "0-a-", "a1_b2_", "x",
                "sensor.a1_b2_");
    expect_good("a/citizen/z/1", EVENT_CATEGORY_CITIZEN, "a", "z", "1", "citizen.z");
}

static void topic_good_longest_levels(void **state)
{
    char municipality[64], type[64], subject[129], text[512], event_type[128];

    repeat(municipality, 'm', 63);
    repeat(type, 't', 63);
    repeat(subject, 'S', 128);
    snprintf(text, sizeof(text), "%s/service/%s/%s", municipality, type, subject);
    snprintf(event_type, sizeof(event_type), "service.%s", type);
    expect_good(text, EVENT_CATEGORY_SERVICE, municipality, type, subject, event_type);
    /* The longest event type fits its buffer exactly. */
    assert_int_equal(strlen("service.") + 63, TOPIC_EVENT_TYPE_MAX);
}

static void topic_bad_level_count(void **state)
{
    expect_bad("", WHY_LEVELS);
    expect_bad("bonn", WHY_LEVELS);
    expect_bad("bonn/sensor", WHY_LEVELS);
    expect_bad("bonn/sensor/waterlevel", WHY_LEVELS);
    expect_bad("bonn/sensor/waterlevel/gauge-1/extra", WHY_LEVELS);
    expect_bad("bonn/sensor/waterlevel/gauge-1/", WHY_LEVELS);
    expect_bad("/bonn/sensor/waterlevel/gauge-1", WHY_LEVELS);
    expect_bad("////", WHY_LEVELS);
}

static void topic_bad_empty_level(void **state)
{
    expect_bad("/sensor/waterlevel/gauge-1", WHY_MUNICIPALITY);
    expect_bad("bonn//waterlevel/gauge-1", WHY_CATEGORY);
    expect_bad("bonn/sensor//gauge-1", WHY_TYPE);
    expect_bad("///", WHY_MUNICIPALITY);
}

static void topic_bad_trailing_slash(void **state)
{
    /* Four levels, the last one empty. */
    expect_bad("bonn/sensor/waterlevel/", WHY_SUBJECT);
}

static void topic_bad_municipality(void **state)
{
    char text[256], m[65];

    expect_bad("Bonn/sensor/waterlevel/gauge-1", WHY_MUNICIPALITY);
    expect_bad("BONN/sensor/waterlevel/gauge-1", WHY_MUNICIPALITY);
    expect_bad("-bonn/sensor/waterlevel/gauge-1", WHY_MUNICIPALITY);
    expect_bad("bad_godesberg/sensor/waterlevel/gauge-1", WHY_MUNICIPALITY);
    expect_bad("bonn.de/sensor/waterlevel/gauge-1", WHY_MUNICIPALITY);
    expect_bad("+/sensor/waterlevel/gauge-1", WHY_MUNICIPALITY);
    expect_bad("#/sensor/waterlevel/gauge-1", WHY_MUNICIPALITY);
    snprintf(text, sizeof(text), "%s/sensor/waterlevel/gauge-1", repeat(m, 'm', 64));
    expect_bad(text, WHY_MUNICIPALITY);
}

static void topic_bad_category(void **state)
{
    expect_bad("bonn/weather/waterlevel/gauge-1", WHY_CATEGORY);
    expect_bad("bonn/Sensor/waterlevel/gauge-1", WHY_CATEGORY);
    expect_bad("bonn/sensors/waterlevel/gauge-1", WHY_CATEGORY);
    expect_bad("bonn/sens/waterlevel/gauge-1", WHY_CATEGORY);
    expect_bad("bonn/citizenx/waterlevel/gauge-1", WHY_CATEGORY);
    expect_bad("bonn/+/waterlevel/gauge-1", WHY_CATEGORY);
}

static void topic_bad_type(void **state)
{
    char text[256], t[65];

    expect_bad("bonn/sensor/1waterlevel/gauge-1", WHY_TYPE);
    expect_bad("bonn/sensor/_waterlevel/gauge-1", WHY_TYPE);
    expect_bad("bonn/sensor/Waterlevel/gauge-1", WHY_TYPE);
    expect_bad("bonn/sensor/water-level/gauge-1", WHY_TYPE);
    expect_bad("bonn/sensor/water.level/gauge-1", WHY_TYPE);
    expect_bad("bonn/sensor/+/gauge-1", WHY_TYPE);
    snprintf(text, sizeof(text), "bonn/sensor/%s/gauge-1", repeat(t, 't', 64));
    expect_bad(text, WHY_TYPE);
}

static void topic_bad_subject(void **state)
{
    char text[512], s[130];

    expect_bad("bonn/sensor/waterlevel/gauge 1", WHY_SUBJECT);
    expect_bad("bonn/sensor/waterlevel/+", WHY_SUBJECT);
    expect_bad("bonn/sensor/waterlevel/#", WHY_SUBJECT);
    expect_bad("bonn/sensor/waterlevel/gauge:1", WHY_SUBJECT);
    expect_bad("bonn/sensor/waterlevel/gauge\t1", WHY_SUBJECT);
    snprintf(text, sizeof(text), "bonn/sensor/waterlevel/%s", repeat(s, 'S', 129));
    expect_bad(text, WHY_SUBJECT);
}

static void topic_bad_non_ascii(void **state)
{
    /* UTF-8 "ö" and "ä", and a lone byte with the high bit set. */
    expect_bad("k\xc3\xb6ln/sensor/waterlevel/gauge-1", WHY_MUNICIPALITY);
    expect_bad("bonn/sensor/w\xc3\xa4rme/gauge-1", WHY_TYPE);
    expect_bad("bonn/sensor/waterlevel/pegel-\xc3\xa4", WHY_SUBJECT);
    expect_bad("bonn/sensor/waterlevel/\xff", WHY_SUBJECT);
    expect_bad("bonn/sensor/waterlevel/\x80", WHY_SUBJECT);
}

static void topic_checks_levels_in_order(void **state)
{
    /* Every level is bad: the first one is named. */
    expect_bad("Bonn/weather/1type/a b", WHY_MUNICIPALITY);
    expect_bad("bonn/weather/1type/a b", WHY_CATEGORY);
    expect_bad("bonn/sensor/1type/a b", WHY_TYPE);
}

static void topic_category_names(void **state)
{
    assert_int_equal(EVENT_CATEGORY_COUNT, 3);
    assert_string_equal(event_category_name(EVENT_CATEGORY_SENSOR), "sensor");
    assert_string_equal(event_category_name(EVENT_CATEGORY_SERVICE), "service");
    assert_string_equal(event_category_name(EVENT_CATEGORY_CITIZEN), "citizen");
}

static void topic_event_type_composed(void **state)
{
    struct topic t;
    const char *why = NULL;

    /* A second parse into the same struct leaves nothing of the first behind. */
    assert_int_equal(topic_parse("bonn/citizen/noise_complaint/c-1", &t, &why), 0);
    assert_string_equal(t.event_type, "citizen.noise_complaint");
    assert_int_equal(topic_parse("bonn/sensor/aq/s", &t, &why), 0);
    assert_string_equal(t.event_type, "sensor.aq");
    assert_string_equal(t.type, "aq");
    assert_string_equal(t.subject, "s");
    assert_string_equal(t.municipality, "bonn");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(topic_good_all_categories),
        cmocka_unit_test(topic_good_subject_alphabet),
        cmocka_unit_test(topic_good_municipality_and_type_alphabet),
        cmocka_unit_test(topic_good_longest_levels),
        cmocka_unit_test(topic_bad_level_count),
        cmocka_unit_test(topic_bad_empty_level),
        cmocka_unit_test(topic_bad_trailing_slash),
        cmocka_unit_test(topic_bad_municipality),
        cmocka_unit_test(topic_bad_category),
        cmocka_unit_test(topic_bad_type),
        cmocka_unit_test(topic_bad_subject),
        cmocka_unit_test(topic_bad_non_ascii),
        cmocka_unit_test(topic_checks_levels_in_order),
        cmocka_unit_test(topic_category_names),
        cmocka_unit_test(topic_event_type_composed),
    };

    return cmocka_run_group_tests_name("topic", tests, NULL, NULL);
}
