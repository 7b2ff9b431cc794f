// SPDX-License-Identifier: MIT
/*
 * Reads a The Things Stack v3 uplink (ttn_uplink.h). The Things Stack leaves out
 * fields whose value is empty, 0 or false: an absent f_cnt is frame 0. The event
 * time is the Network Server's reception time (uplink_message.received_at), the
 * same in every copy of the uplink; the id hashes application, device, frame
 * counter and that time, so that a copy delivered again is stored once.
 */
#include "ttn_uplink.h"

#include <stdio.h>
#include <string.h>

#include "uplink_fields.h"

int ttn_uplink_parse(const json_t *root, struct uplink *up, char *detail)
{
    const json_t *msg = json_object_get(root, "uplink_message"), *fcnt, *decoded;
    const char *app, *time;
    char fcnt_text[24];

    if (!(up->device = uplink_string(root, "end_device_ids.device_id")) ||
        !(app = uplink_string(root, "end_device_ids.application_ids.application_id"))) {
        snprintf(detail, MAPPING_DETAIL_MAX, "end_device_ids.device_id and "
                 ".application_ids.application_id must be non-empty strings");
        return SOURCE_REASON_BAD_FORMAT;
    }
    up->dev_eui = uplink_string(root, "end_device_ids.dev_eui");
    if (!json_is_object(msg)) {
        snprintf(detail, MAPPING_DETAIL_MAX, "device %s: not an uplink (no uplink_message "
                 "object)", up->device);
        return SOURCE_REASON_BAD_FORMAT;
    }
    fcnt = json_object_get(msg, "f_cnt");
    if (fcnt && (!json_is_integer(fcnt) || json_integer_value(fcnt) < 0)) {
        snprintf(detail, MAPPING_DETAIL_MAX, "device %s: uplink_message.f_cnt must be a "
                 "non-negative integer", up->device);
        return SOURCE_REASON_BAD_FORMAT;
    }
    snprintf(fcnt_text, sizeof(fcnt_text), "%lld",
             fcnt ? (long long)json_integer_value(fcnt) : 0LL);
    time = uplink_string(msg, "received_at");
    if (!time)
        time = uplink_string(root, "received_at");
    if (!uplink_time(time, up->time, sizeof(up->time))) {
        snprintf(detail, MAPPING_DETAIL_MAX, "device %s: uplink_message.received_at is not an "
                 "RFC 3339 time", up->device);
        return SOURCE_REASON_BAD_TIME;
    }
    decoded = json_object_get(msg, "decoded_payload");
    up->decoded = json_is_object(decoded) ? decoded : NULL;
    uplink_best_radio(json_object_get(msg, "rx_metadata"), "rssi", "snr", &up->radio);
    {
        const char *parts[] = {"ttn", app, up->device, fcnt_text, up->time};
        source_event_id(up->id, parts, 5);
    }
    snprintf(up->ce_source, sizeof(up->ce_source), "ttn:%s", app);
    return 0;
}
