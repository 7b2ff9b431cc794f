// SPDX-License-Identifier: MIT
/*
 * Outbox items (outbox.h): closed windows' aggregates waiting for the broker's PUBACK.
 */
#include "outbox.h"

#include <errno.h>
#include <stdlib.h>

#include <jansson.h>

#include "window.h"

void outbox_item_free(struct outbox_item *it)
{
    if (!it)
        return;
    free(it->topic);
    free(it->payload);
    free(it);
}

int outbox_payload_end(const char *payload, size_t len, int64_t *end_ns)
{
    json_t *j = json_loadb(payload, len, 0, NULL), *end = json_object_get(j, "end");
    int r = -EINVAL;

    if (json_is_string(end) &&
        window_time_parse(json_string_value(end), json_string_length(end), end_ns) == 0)
        r = 0;
    json_decref(j);
    return r;
}
