// SPDX-License-Identifier: MIT
/*
 * The alerting worker's state, shared by its parts: alerting_worker.c (the SDK's
 * callbacks, commits, forgetting) and publish.c (MQTT publications and the broker's
 * confirmations of them).
 */
#ifndef RHEINHUB_ALERTING_INTERNAL_H
#define RHEINHUB_ALERTING_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ack.h"
#include "config.h"
#include "engine.h"
#include "mqtt_link.h"
#include "rules.h"
#include "stats.h"
#include "store.h"

#define MIDS 65536                       /* MQTT message ids are 16 bits */
#define ACKS_PER_TURN 64
#define PUBACKS_PER_TURN 4096

struct alerting {
    const char *component;
    const char *rules_file;            /* where the rules came from, for the log */
    struct rules rules;
    struct engine *engine;
    struct store_keys keys;
    struct mqtt_link *mqtt;
    char client_id[CONFIG_NAME_MAX + 16];
    char route_key[320];

    bool need_load;                    /* the engine must be (re)loaded from Redis */
    bool detect;                       /* caught up: silence and durations may fire */
    int64_t behind_since_ns;           /* when detect was last cleared */
    int64_t next_check_ns;
    int64_t next_stats_ns;
    int64_t next_republish_ns;
    int64_t next_flush_ns;             /* the next round of quiet track updates */
    size_t flush_left;                 /* tracks the current round has still to write */
    int64_t next_done_ns;              /* confirmations wait at most until then */
    bool republish;                    /* a publish failed: try the outbox again */
    bool unretain_failing;             /* a removal failed (logged once until one works) */
    uint64_t connects_seen;

    struct {
        struct track *track;
        uint64_t seq;
        bool removal;                  /* the empty message removing the retained alert */
    } *mids;                           /* MQTT message id -> the change it carried */

    struct track **done;               /* confirmed tracks to take out of the outbox */
    size_t n_done, cap_done;
    struct track **pick;               /* the tracks one commit writes */
    size_t n_pick, cap_pick;

    struct ack acks[ACKS_PER_TURN];    /* taken from MQTT, not yet committed */
    size_t n_acks;

    uint64_t stats[STAT_COUNT];        /* counted, not yet written */
    uint64_t dropped_seen;             /* mqtt_link_dropped already counted */
    struct engine_stats engine_seen;   /* the engine's counters already in stats */
};

/*
 * Publishes alert (the change seq of t), QoS 1, retained. A failure is logged once,
 * counted, and leaves the change to the outbox (a->republish).
 */
void publish_alert(struct alerting *a, struct track *t, const struct alert *alert,
                   uint64_t seq);

/*
 * Publishes an empty retained message (QoS 1) to the topic of t's alert: the broker
 * removes the retained alert. Its PUBACK sets t->unretained_seq to the change it
 * removed (forget.h). A failure is counted, and logged once until a removal works;
 * the next check tries again.
 */
void publish_removal(struct alerting *a, struct track *t);

/* Publishes the current alert of every track whose newest change is not confirmed. */
void republish_pending(struct alerting *a, bool again);

/*
 * Takes the broker's confirmations. A track whose newest change is confirmed leaves the
 * outbox with the next commit. Returns 0, or -ENOMEM.
 */
int take_pubacks(struct alerting *a);

#endif
