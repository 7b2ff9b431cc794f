// SPDX-License-Identifier: MIT
/*
 * An alert as a track keeps it between its changes: the fields of struct alert with its
 * texts at their real length in one allocation (id, rule, municipality, subject,
 * message, acked_by), the texts of its event (event_text.h) and its value, which change
 * with every event while the alert is open, inline and as a kept value (value_kept.h).
 * A struct alert (alert.h) holds every text at its largest (about 5.9 KiB); it stays
 * the form of a change, of the JSON and of loading: alert_pack_new makes a pack of
 * one, alert_pack_unpack makes one back.
 */
#ifndef RHEINHUB_ALERTING_ALERT_PACK_H
#define RHEINHUB_ALERTING_ALERT_PACK_H

#include <stdint.h>

#include "alert.h"
#include "event_text.h"
#include "rules.h"
#include "value.h"
#include "value_kept.h"

struct alert_pack {
    const char *id;             /* these six point into text */
    const char *rule;
    const char *municipality;
    const char *subject;
    const char *message;
    const char *acked_by;       /* "": not acknowledged (null) */
    enum severity severity;
    enum alert_state state;
    struct value_kept value;
    struct value_kept threshold;
    int64_t raised_ns;          /* worker clock, ns since the epoch */
    int64_t updated_ns;
    int64_t cleared_ns;         /* 0: not cleared (null) */
    struct event_text ev;       /* event_id, event_time, type */
    char text[];
};

/* A pack of a (copied), or NULL (ENOMEM). Free it with alert_pack_free. */
struct alert_pack *alert_pack_new(const struct alert *a);

/* Frees p and what it holds (or nothing when NULL). */
void alert_pack_free(struct alert_pack *p);

/* The alert that p holds, into out (every field set). */
void alert_pack_unpack(const struct alert_pack *p, struct alert *out);

#endif
