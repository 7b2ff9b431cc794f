// SPDX-License-Identifier: MIT
/*
 * Reads a ChirpStack v4 uplink event (chirpstack_uplink.h). ChirpStack gives each
 * uplink, after it has merged the copies of all gateways, a deduplicationId (a UUID):
 * the event id hashes it with the DevEUI, so that the same event delivered again is
 * stored once. The event time is the event's time, else the first gateway's
 * network server time (rxInfo[].nsTime).
 */
#include "chirpstack_uplink.h"

#include <stdio.h>
#include <string.h>

#include "uplink_fields.h"

int chirpstack_uplink_parse(const json_t *root, struct uplink *up, char *detail)
{
    const char *dedup, *time, *app;
    const json_t *object;

    if (!(dedup = uplink_string(root, "deduplicationId")) ||
        !(up->dev_eui = uplink_string(root, "deviceInfo.devEui"))) {
        snprintf(detail, MAPPING_DETAIL_MAX, "deduplicationId and deviceInfo.devEui must be "
                 "non-empty strings");
        return SOURCE_REASON_BAD_FORMAT;
    }
    up->device = uplink_string(root, "deviceInfo.deviceName");
    if (!up->device)
        up->device = up->dev_eui;
    time = uplink_string(root, "time");
    if (!time)
        time = uplink_string(root, "rxInfo.0.nsTime");
    if (!uplink_time(time, up->time, sizeof(up->time))) {
        snprintf(detail, MAPPING_DETAIL_MAX, "device %s: neither time nor rxInfo[0].nsTime is "
                 "an RFC 3339 time", up->device);
        return SOURCE_REASON_BAD_TIME;
    }
    object = json_object_get(root, "object");
    up->decoded = json_is_object(object) ? object : NULL;
    uplink_best_radio(json_object_get(root, "rxInfo"), "rssi", "snr", &up->radio);
    {
        const char *parts[] = {"chirpstack", up->dev_eui, dedup};
        source_event_id(up->id, parts, 3);
    }
    app = uplink_string(root, "deviceInfo.applicationId");
    snprintf(up->ce_source, sizeof(up->ce_source), "chirpstack:%s", app ? app : "-");
    return 0;
}
