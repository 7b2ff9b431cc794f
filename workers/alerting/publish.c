// SPDX-License-Identifier: MIT
/*
 * The alerting worker's publications (alerting_internal.h): each alert change, QoS 1
 * and retained; the removal of a retained alert before its track is forgotten; what
 * the outbox holds, again; and the broker's PUBACKs, which say what is confirmed.
 */
#include "alerting_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "log.h"

void publish_alert(struct alerting *a, struct track *t, const struct alert *alert,
                   uint64_t seq)
{
    char topic[ALERT_TOPIC_MAX];
    size_t len;
    char *text = alert_dumps(alert, &len);
    int mid = 0, r;

    if (!text) {
        r = -ENOMEM;
    } else {
        alert_topic(alert, topic);
        r = mqtt_link_publish(a->mqtt, topic, text, len, &mid);
        free(text);
    }
    if (r < 0) {
        if (!a->republish)
            log_warn(a->component, "mqtt: publishing %s failed (%s); it stays in the outbox",
                     t->key, strerror(-r));
        a->stats[STAT_PUBLISH_ERRORS]++;
        a->republish = true;
        return;
    }
    a->stats[STAT_PUBLISHED]++;
    if (seq > t->sent_seq)
        t->sent_seq = seq;
    a->mids[mid & (MIDS - 1)].track = t;
    a->mids[mid & (MIDS - 1)].seq = seq;
    a->mids[mid & (MIDS - 1)].removal = false;
}

void publish_removal(struct alerting *a, struct track *t)
{
    char topic[ALERT_TOPIC_MAX];
    int mid = 0, r;

    snprintf(topic, sizeof(topic), "%s/alerts/%s/%s", t->alert->municipality, t->alert->rule,
             t->alert->subject); /* as alert_topic has it */
    r = mqtt_link_publish(a->mqtt, topic, "", 0, &mid);
    if (r < 0) {
        if (!a->unretain_failing)
            log_warn(a->component, "mqtt: removing the retained alert of %s failed (%s); it "
                     "is tried again before the track is forgotten", t->key, strerror(-r));
        a->unretain_failing = true;
        a->stats[STAT_PUBLISH_ERRORS]++;
        return;
    }
    a->unretain_failing = false;
    a->stats[STAT_PUBLISHED]++;
    t->unretain_sent_seq = t->seq;
    a->mids[mid & (MIDS - 1)].track = t;
    a->mids[mid & (MIDS - 1)].seq = t->seq;
    a->mids[mid & (MIDS - 1)].removal = true;
}

void republish_pending(struct alerting *a, bool again)
{
    size_t n, count = 0;
    struct track *const *tracks = engine_tracks(a->engine, &n);
    struct alert full; /* the alert of one track in full, for its JSON */

    a->republish = false;
    for (size_t i = 0; i < n; i++) {
        struct track *t = tracks[i];
        if (!t->alert || t->published_seq >= t->seq || (!again && t->sent_seq >= t->seq))
            continue;
        alert_pack_unpack(t->alert, &full);
        publish_alert(a, t, &full, t->seq);
        count++;
    }
    if (count)
        log_info(a->component, "mqtt: published %zu alerts again from the outbox", count);
}

/* No hurry to empty the outbox: a stale entry only means one more publication after a
 * crash. */
int take_pubacks(struct alerting *a)
{
    static int mids[PUBACKS_PER_TURN];
    size_t n;

    if (!a->mqtt || !(n = mqtt_link_take_pubacks(a->mqtt, mids, PUBACKS_PER_TURN)))
        return 0;
    if (a->n_done + n > a->cap_done) {
        size_t cap = (a->n_done + n) * 2;
        struct track **p = realloc(a->done, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        a->done = p;
        a->cap_done = cap;
    }
    for (size_t i = 0; i < n; i++) {
        int k = mids[i] & (MIDS - 1);
        struct track *t = a->mids[k].track;

        a->stats[STAT_CONFIRMED]++;
        if (!t)
            continue;
        if (a->mids[k].removal) { /* the retained alert of that change is gone */
            if (a->mids[k].seq > t->unretained_seq)
                t->unretained_seq = a->mids[k].seq;
            a->mids[k].track = NULL;
            continue;
        }
        if (a->mids[k].seq > t->published_seq)
            t->published_seq = a->mids[k].seq;
        if (t->published_seq >= t->seq)
            a->done[a->n_done++] = t;
        a->mids[k].track = NULL;
    }
    return 0;
}
