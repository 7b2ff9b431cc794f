// SPDX-License-Identifier: MIT
/*
 * Device rules at work: which rule a device falls under, its subject, and the
 * canonical event's data made from a decoded payload (rename, scale and offset,
 * constants, value maps). A payload that does not fit its rule gives a reason and a
 * readable detail instead of an event.
 */
#ifndef RHEINHUB_MAPPING_H
#define RHEINHUB_MAPPING_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "source_file.h"
#include "source_reason.h"

#define MAPPING_DETAIL_MAX 256

/* The best gateway's reception of an uplink. */
struct radio {
    bool have;   /* rssi is set */
    bool have_snr;
    double rssi; /* dBm */
    double snr;  /* dB */
};

/* The first rule whose device glob matches device or dev_eui (either may be NULL). */
const struct device_rule *mapping_find(const struct source_file *sf, const char *device,
                                       const char *dev_eui);

/*
 * Writes the rule's subject for this device to out[size]. Returns 0, or -EINVAL when
 * the result is not a valid subject ([A-Za-z0-9._-]{1,128}).
 */
int mapping_subject(const struct device_rule *r, const char *device, const char *dev_eui,
                    char *out, size_t size);

/*
 * The event's data: time, then each mapped field, then rssi and snr when the rule asks
 * for them. decoded is borrowed. Returns a new object, or NULL with *reason set and
 * detail[MAPPING_DETAIL_MAX] filled (reason SCHEMA when scale and offset take a number
 * beyond a double's range, and with errno ENOMEM when memory ran out).
 */
json_t *mapping_apply(const struct device_rule *r, const json_t *decoded, const char *time,
                      const struct radio *radio, enum source_reason *reason, char *detail);

/* The value at a dotted path ("sensor.level", "values.0") in v, or NULL. Borrowed. */
json_t *mapping_lookup(const json_t *v, const char *path);

#endif
