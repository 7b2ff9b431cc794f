// SPDX-License-Identifier: MIT
/*
 * Unit tests of the network servers' uplink formats on the recorded payloads of
 * tests/data/sources/: what is read from a TTN v3 uplink and a ChirpStack v4 event
 * (device, DevEUI, time, decoded payload, best gateway), the event id (the same for a
 * copy of the uplink, another for another frame), and the reasons for uplinks that
 * are not in the format. argv[1] is the repository's top folder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "chirpstack_uplink.h"
#include "ttn_uplink.h"

static const char *repo;

static json_t *recorded(const char *kind, const char *name)
{
    char path[1024];
    json_error_t e;
    json_t *v;

    snprintf(path, sizeof(path), "%s/tests/data/sources/%s/%s", repo, kind, name);
    v = json_load_file(path, 0, &e);
    if (!v)
        fail_msg("%s: %s", path, e.text);
    return v;
}

static void uplink_ttn_fields(void **state)
{
    json_t *root = recorded("ttn", "waterlevel-702.json");
    struct uplink up;
    char detail[MAPPING_DETAIL_MAX];

    memset(&up, 0, sizeof(up));
    assert_int_equal(ttn_uplink_parse(root, &up, detail), 0);
    assert_string_equal(up.device, "pegel-linz-1");
    assert_string_equal(up.dev_eui, "70B3D57ED0061A2B");
    assert_string_equal(up.time, "2026-11-26T06:00:00.989054813Z");
    assert_string_equal(up.ce_source, "ttn:linz-sensors");
    assert_int_equal(json_integer_value(json_object_get(up.decoded, "water_level_cm")), 702);
    assert_true(up.radio.have && up.radio.have_snr);
    assert_true(up.radio.rssi == -97 && up.radio.snr == 6.5);
    /* The id of docs/sources.md's example: XXH3-128 of "ttn", application, device,
     * frame counter and time, each followed by a NUL byte. */
    assert_string_equal(up.id, "094ec0b4a7a66cda56aa5ec94f7b97a8");
    json_decref(root);
}

/* The id: the same for a copy (other gateways, other correlation ids), else not. */
static void uplink_ttn_id(void **state)
{
    json_t *a = recorded("ttn", "waterlevel-702.json"), *b = json_deep_copy(a);
    json_t *msg = json_object_get(b, "uplink_message");
    struct uplink ua, ub;
    char detail[MAPPING_DETAIL_MAX];

    json_array_remove(json_object_get(msg, "rx_metadata"), 0);
    json_object_set_new(b, "correlation_ids", json_array());
    assert_int_equal(ttn_uplink_parse(a, &ua, detail), 0);
    assert_int_equal(ttn_uplink_parse(b, &ub, detail), 0);
    assert_string_equal(ua.id, ub.id);
    assert_true(ub.radio.rssi == -112); /* the only gateway left */
    json_object_set_new(msg, "f_cnt", json_integer(4712));
    assert_int_equal(ttn_uplink_parse(b, &ub, detail), 0);
    assert_string_not_equal(ua.id, ub.id);
    json_object_del(msg, "f_cnt"); /* frame 0: TTN leaves the field out */
    assert_int_equal(ttn_uplink_parse(b, &ub, detail), 0);
    assert_string_not_equal(ua.id, ub.id);
    json_decref(a);
    json_decref(b);
}

static void uplink_ttn_not_in_format(void **state)
{
    json_t *root = recorded("ttn", "waterlevel-702.json");
    json_t *msg = json_object_get(root, "uplink_message");
    struct uplink up;
    char detail[MAPPING_DETAIL_MAX];

    json_object_set_new(json_object_get(root, "end_device_ids"), "device_id", json_string(""));
    assert_int_equal(ttn_uplink_parse(root, &up, detail), SOURCE_REASON_BAD_FORMAT);
    assert_non_null(strstr(detail, "must be non-empty strings"));
    json_object_set_new(json_object_get(root, "end_device_ids"), "device_id",
                        json_string("pegel-linz-1"));
    json_object_set_new(msg, "f_cnt", json_integer(-1));
    assert_int_equal(ttn_uplink_parse(root, &up, detail), SOURCE_REASON_BAD_FORMAT);
    assert_string_equal(detail, "device pegel-linz-1: uplink_message.f_cnt must be a "
                                "non-negative integer");
    json_object_set_new(msg, "f_cnt", json_integer(41));
    json_object_set_new(msg, "received_at", json_string("yesterday"));
    json_object_set_new(root, "received_at", json_string("today"));
    assert_int_equal(ttn_uplink_parse(root, &up, detail), SOURCE_REASON_BAD_TIME);
    assert_string_equal(detail, "device pegel-linz-1: uplink_message.received_at is not an "
                                "RFC 3339 time");
    json_object_set_new(msg, "f_cnt", json_string("12"));
    assert_int_equal(ttn_uplink_parse(root, &up, detail), SOURCE_REASON_BAD_FORMAT);
    json_object_del(root, "uplink_message");
    assert_int_equal(ttn_uplink_parse(root, &up, detail), SOURCE_REASON_BAD_FORMAT);
    assert_string_equal(detail, "device pegel-linz-1: not an uplink (no uplink_message object)");
    json_object_del(json_object_get(root, "end_device_ids"), "device_id");
    assert_int_equal(ttn_uplink_parse(root, &up, detail), SOURCE_REASON_BAD_FORMAT);
    json_decref(root);
}

static void uplink_chirpstack_fields_and_id(void **state)
{
    json_t *a = recorded("chirpstack", "parking-occupied.json");
    json_t *b = recorded("chirpstack", "soil-no-time.json");
    struct uplink ua, ub;
    char detail[MAPPING_DETAIL_MAX], id[SOURCE_ID_HEX + 1];

    assert_int_equal(chirpstack_uplink_parse(a, &ua, detail), 0);
    assert_string_equal(ua.device, "parken-marktplatz-4");
    assert_string_equal(ua.dev_eui, "a840410001812f3c");
    assert_string_equal(ua.time, "2026-11-26T07:15:42.508311+00:00");
    assert_string_equal(ua.ce_source, "chirpstack:7c2a1d9e-5b0f-4c3e-9a57-1f2b3c4d5e6f");
    assert_true(ua.radio.rssi == -88 && ua.radio.snr == 9.5);
    assert_true(json_is_true(json_object_get(ua.decoded, "occupied")));
    strcpy(id, ua.id);
    assert_int_equal(chirpstack_uplink_parse(b, &ub, detail), 0);
    assert_string_equal(ub.time, "2026-11-26T07:15:42.491637+00:00"); /* rxInfo[0].nsTime */
    assert_string_equal(ub.device, "Baum Rheinallee 12");
    assert_string_not_equal(ub.id, id);
    /* The id depends on deduplicationId and DevEUI only. */
    json_object_set_new(a, "fCnt", json_integer(1));
    assert_int_equal(chirpstack_uplink_parse(a, &ua, detail), 0);
    assert_string_equal(ua.id, id);
    /* Another uplink of the same device (another deduplicationId) is another event. */
    json_object_set_new(a, "deduplicationId",
                        json_string("3f6a2c9e-8b1d-4e57-a0c3-9d2e71b4f606"));
    assert_int_equal(chirpstack_uplink_parse(a, &ua, detail), 0);
    assert_string_not_equal(ua.id, id);
    json_object_del(b, "rxInfo");
    assert_int_equal(chirpstack_uplink_parse(b, &ub, detail), SOURCE_REASON_BAD_TIME);
    json_object_del(json_object_get(b, "deviceInfo"), "devEui");
    assert_int_equal(chirpstack_uplink_parse(b, &ub, detail), SOURCE_REASON_BAD_FORMAT);
    json_object_del(a, "deduplicationId");
    assert_int_equal(chirpstack_uplink_parse(a, &ua, detail), SOURCE_REASON_BAD_FORMAT);
    json_decref(a);
    json_decref(b);
}

static void uplink_chirpstack_without_codec(void **state)
{
    json_t *root = recorded("chirpstack", "no-object.json");
    struct uplink up;
    char detail[MAPPING_DETAIL_MAX];

    assert_int_equal(chirpstack_uplink_parse(root, &up, detail), 0);
    assert_null(up.decoded);
    json_decref(root);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uplink_ttn_fields),
        cmocka_unit_test(uplink_ttn_id),
        cmocka_unit_test(uplink_ttn_not_in_format),
        cmocka_unit_test(uplink_chirpstack_fields_and_id),
        cmocka_unit_test(uplink_chirpstack_without_codec),
    };
    repo = argc > 1 ? argv[1] : ".";
    return cmocka_run_group_tests_name("uplink", tests, NULL, NULL);
}
