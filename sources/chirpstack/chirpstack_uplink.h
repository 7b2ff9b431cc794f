// SPDX-License-Identifier: MIT
/*
 * The ChirpStack v4 uplink event (MQTT integration, topic
 * application/<application id>/device/<DevEUI>/event/up, JSON encoding), read into a
 * struct uplink. The format and an annotated example are in docs/sources.md.
 */
#ifndef RHEINHUB_CHIRPSTACK_UPLINK_H
#define RHEINHUB_CHIRPSTACK_UPLINK_H

#include "lorawan.h"

int chirpstack_uplink_parse(const json_t *root, struct uplink *up, char *detail);

#endif
