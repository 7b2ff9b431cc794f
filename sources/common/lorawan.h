// SPDX-License-Identifier: MIT
/*
 * What the two LoRaWAN network server sources share: the MQTT client of the network
 * server's integration (TLS, account, persistent session, QoS 1 subscriptions) and
 * the step from one uplink message to one canonical event. Each network server's
 * own JSON format is read by its parse function (sources/ttn, sources/chirpstack).
 */
#ifndef RHEINHUB_LORAWAN_H
#define RHEINHUB_LORAWAN_H

#include <jansson.h>

#include "mapping.h"
#include "source.h"
#include "topic.h"

#define UPLINK_TIME_MAX 64
#define UPLINK_SOURCE_MAX 256

/* One uplink as read from the network server's JSON; strings borrow from the JSON. */
struct uplink {
    const char *device;        /* device id / name */
    const char *dev_eui;       /* may be NULL */
    char time[UPLINK_TIME_MAX]; /* the network's time of the uplink, RFC 3339 as sent */
    char id[SOURCE_ID_HEX + 1];
    char ce_source[UPLINK_SOURCE_MAX];
    const json_t *decoded;     /* the payload formatter's or codec's output */
    struct radio radio;        /* best gateway */
};

/*
 * Reads root (an object) into up. Returns 0, or a reason with detail[MAPPING_DETAIL_MAX]
 * filled. up->decoded NULL with 0 means no decoded payload (a dead letter too).
 */
typedef int (*uplink_parse_fn)(const json_t *root, struct uplink *up, char *detail);

/*
 * The event of one uplink message (root, its JSON): reads it with parse into up, finds
 * its device rule, makes its subject (into subject) and its data. Returns 0 with ev
 * filled (ev->data a new reference for the caller; the strings borrow from up, subject,
 * the rule and root), or a source_reason (none of them 0: too_large is not one this step
 * gives) with detail[MAPPING_DETAIL_MAX] filled.
 */
int lorawan_event(const struct source_file *sf, uplink_parse_fn parse, const json_t *root,
                  struct uplink *up, char subject[TOPIC_SUBJECT_MAX + 1], struct source_event *ev,
                  char *detail);

/* Runs a network server source until a stop is asked for. */
int lorawan_run(struct source *s, uplink_parse_fn parse);

/* Handles one message from the network server (exposed for tests). */
void lorawan_handle(struct source *s, uplink_parse_fn parse, const char *topic,
                    const void *payload, size_t len);

#endif
