// SPDX-License-Identifier: MIT
/*
 * The events a source has handed to our broker and our broker has not yet taken: a
 * ring in the order they were first published, each with its own copy of topic and
 * payload. libmosquitto frees a message when its PUBACK comes, whatever the PUBACK's
 * reason code says; an event the broker refused (MQTT v5 reason code other than 0) is
 * sent again from here. An entry leaves the ring when its PUBACK carries 0, so the
 * ring is what "not yet acknowledged by our broker" means. At most OUTBOX_MAX entries
 * (libmosquitto's message ids are 16 bits: each entry in flight has its own).
 */
#ifndef RHEINHUB_OUTBOX_H
#define RHEINHUB_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTBOX_MAX 65535u

enum outbox_state {
    OUTBOX_SENT,    /* handed to libmosquitto, its PUBACK not yet here */
    OUTBOX_REFUSED, /* our broker's PUBACK refused it: to be sent again */
    OUTBOX_DONE,    /* taken (reason code 0), waiting for older entries to leave first */
};

struct outbox_entry {
    char *topic;          /* owned: topic, '\0', then the payload */
    const char *payload;  /* inside topic's allocation */
    size_t len;           /* bytes of payload */
    int mid;              /* libmosquitto's message id of the last send */
    uint8_t state;        /* enum outbox_state */
    bool was_refused;     /* refused at least once */
};

struct outbox {
    struct outbox_entry *slots;
    size_t cap;           /* slots allocated, a power of two */
    size_t head;          /* the oldest entry */
    size_t count;         /* entries from head on, done ones in between included */
    size_t refused;       /* entries in OUTBOX_REFUSED */
};

void outbox_init(struct outbox *o);

/* Frees every entry and the ring; o may be zeroed. */
void outbox_close(struct outbox *o);

/*
 * Appends a copy of topic and payload[0..len) as the newest entry, OUTBOX_SENT with
 * mid 0. Returns its position (0 = oldest), or -ENOMEM, or -ENOBUFS when OUTBOX_MAX
 * entries are held. Positions stay valid until outbox_take or outbox_drop_newest.
 */
long outbox_add(struct outbox *o, const char *topic, const char *payload, size_t len);

/* The entry at position i (0 = oldest); i < o->count. */
struct outbox_entry *outbox_at(struct outbox *o, size_t i);

/* Removes the newest entry (its publish failed). */
void outbox_drop_newest(struct outbox *o);

/* The position of the OUTBOX_SENT entry with message id mid, or -1. */
long outbox_find_sent(const struct outbox *o, int mid);

/* Marks the entry at i refused (to be sent again). */
void outbox_refuse(struct outbox *o, size_t i);

/* Marks the refused entry at i sent again, as message id mid. */
void outbox_resent(struct outbox *o, size_t i, int mid);

/* Marks the entry at i as taken: frees its copy and lets the oldest done entries go. */
void outbox_take(struct outbox *o, size_t i);

#endif
