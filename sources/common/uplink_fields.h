// SPDX-License-Identifier: MIT
/*
 * Small readers for the network servers' JSON: a string member, a frame counter, and
 * the best gateway of a list of receptions. Both LoRaWAN sources use them.
 */
#ifndef RHEINHUB_UPLINK_FIELDS_H
#define RHEINHUB_UPLINK_FIELDS_H

#include <stdbool.h>

#include <jansson.h>

#include "mapping.h"

/* The non-empty string at path in v, or NULL. */
const char *uplink_string(const json_t *v, const char *path);

/* Whether s is an RFC 3339 date-time that fits out[size]; copies it then. */
bool uplink_time(const char *s, char *out, size_t size);

/*
 * The reception with the highest RSSI among the objects of rx (an array, may be NULL),
 * read from rssi_key and snr_key. Gateways without a number there are skipped.
 */
void uplink_best_radio(const json_t *rx, const char *rssi_key, const char *snr_key,
                       struct radio *out);

#endif
