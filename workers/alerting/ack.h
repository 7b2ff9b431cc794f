// SPDX-License-Identifier: MIT
/*
 * Acknowledgements from operations staff: MQTT messages on
 * <municipality>/alerts/<rule>/<subject>/ack with the payload of schemas/ack.schema.json,
 * {"by": "name", "comment": "...", "alert_id": "..."}. Both are untrusted: anything else
 * is refused with a reason, for the log and the count of invalid acknowledgements.
 */
#ifndef RHEINHUB_ALERTING_ACK_H
#define RHEINHUB_ALERTING_ACK_H

#include <stddef.h>

#include "alert.h"
#include "engine.h"

#define ACK_COMMENT_CHARS 2000
#define ACK_PAYLOAD_MAX 16384 /* bytes; larger payloads are refused unread */
#define ACK_TOPIC_FILTER "+/alerts/+/+/ack"

struct ack {
    char key[ENGINE_KEY_MAX];   /* the track: "<municipality>/<rule>/<subject>" */
    char by[ALERT_BY_MAX];
    char comment[4 * ACK_COMMENT_CHARS + 1];
    char alert_id[ALERT_ID_MAX]; /* the alert the sender saw; "": none named, the current one */
};

/*
 * Parses one acknowledgement. Returns 0, or -EINVAL with a static sentence in *why.
 */
int ack_parse(const char *topic, const void *payload, size_t len, struct ack *out,
              const char **why);

#endif
