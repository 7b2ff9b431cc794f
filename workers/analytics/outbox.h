// SPDX-License-Identifier: MIT
/*
 * An outbox item: the aggregate of a closed window, kept (in memory and in Redis's
 * outbox hash) until the broker acknowledged its retained publish.
 */
#ifndef RHEINHUB_ANALYTICS_OUTBOX_H
#define RHEINHUB_ANALYTICS_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#define ANALYTICS_ID_HEX 32 /* aggregate ids: 32 lower-case hex digits */

/* A closed window waiting for its MQTT PUBACK. */
struct outbox_item {
    char id[ANALYTICS_ID_HEX + 1];
    char *topic;     /* owned */
    char *payload;   /* owned, payload_len bytes and a NUL */
    size_t payload_len;
    int64_t end_ns;  /* the window's end: items of one topic are published in this order */
    int mid;         /* MQTT message id of the last publish; 0: to be published */
};

/* Frees an item and what it owns; NULL is fine. */
void outbox_item_free(struct outbox_item *it);
/* The window end in an aggregate payload, for items loaded from Redis. 0, -EINVAL. */
int outbox_payload_end(const char *payload, size_t len, int64_t *end_ns);

#endif
