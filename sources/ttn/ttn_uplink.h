// SPDX-License-Identifier: MIT
/*
 * The Things Stack v3 uplink message (MQTT integration, topic
 * v3/<application>@<tenant>/devices/<device>/up), read into a struct uplink. The
 * format and an annotated example are in docs/sources.md.
 */
#ifndef RHEINHUB_TTN_UPLINK_H
#define RHEINHUB_TTN_UPLINK_H

#include "lorawan.h"

int ttn_uplink_parse(const json_t *root, struct uplink *up, char *detail);

#endif
