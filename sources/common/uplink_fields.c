// SPDX-License-Identifier: MIT
/* Readers shared by the TTN and ChirpStack uplink parsers (uplink_fields.h). */
#include "uplink_fields.h"

#include <string.h>

#include "rfc3339.h"

const char *uplink_string(const json_t *v, const char *path)
{
    const json_t *s = mapping_lookup(v, path);

    if (!json_is_string(s) || json_string_length(s) == 0)
        return NULL;
    return json_string_value(s);
}

bool uplink_time(const char *s, char *out, size_t size)
{
    size_t n;

    if (!s || (n = strlen(s)) >= size || !rfc3339_date_time_valid(s, n))
        return false;
    memcpy(out, s, n + 1);
    return true;
}

void uplink_best_radio(const json_t *rx, const char *rssi_key, const char *snr_key,
                       struct radio *out)
{
    size_t i;
    const json_t *g;

    out->have = out->have_snr = false;
    if (!json_is_array(rx))
        return;
    json_array_foreach(rx, i, g) {
        const json_t *rssi = json_object_get(g, rssi_key), *snr = json_object_get(g, snr_key);
        if (!json_is_number(rssi))
            continue;
        if (!out->have || json_number_value(rssi) > out->rssi) {
            out->have = true;
            out->rssi = json_number_value(rssi);
            out->have_snr = json_is_number(snr);
            out->snr = out->have_snr ? json_number_value(snr) : 0;
        }
    }
}
