// SPDX-License-Identifier: MIT
/*
 * Forgetting quiet tracks (forget.h): which may go, a bounded look per call, which must
 * first have their retained alert removed from the broker, and their removal from the
 * engine's hash chains and its list of tracks.
 */
#include "forget.h"

#include "engine_table.h"

bool forget_may(const struct track *t, int64_t now_ns, int64_t after_ns)
{
    int64_t last = t->seen_ns;

    if (after_ns <= 0 || t->rule->kind == RULE_SILENCE || t->pending || t->dirty)
        return false;
    if (t->alert) {
        if (t->alert->state != ALERT_CLEARED)
            return false;
        if (t->alert->updated_ns > last)
            last = t->alert->updated_ns;
    }
    if (t->published_seq < t->seq)
        return false; /* in the outbox: its publication is not confirmed */
    return now_ns - last >= after_ns;
}

size_t forget_pick(struct engine *e, int64_t now_ns, int64_t after_ns, size_t scan,
                   struct track **out, size_t max)
{
    size_t n = 0;

    if (after_ns <= 0 || e->n_changes || !e->n_tracks)
        return 0;
    if (scan > e->n_tracks)
        scan = e->n_tracks;
    for (size_t i = 0; i < scan && n < max; i++) {
        struct track *t;

        if (e->forget_next >= e->n_tracks)
            e->forget_next = 0;
        t = e->all[e->forget_next++];
        if (forget_may(t, now_ns, after_ns))
            out[n++] = t;
    }
    return n;
}

bool forget_retained(const struct track *t)
{
    return t->alert && t->unretained_seq < t->seq;
}

size_t forget_split(struct track **tracks, size_t n, struct track **retained,
                    size_t *n_retained)
{
    size_t kept = 0;

    *n_retained = 0;
    for (size_t i = 0; i < n; i++) {
        if (forget_retained(tracks[i]))
            retained[(*n_retained)++] = tracks[i];
        else
            tracks[kept++] = tracks[i];
    }
    return kept;
}

/* Takes t out of its hash chain. */
static void unlink_track(struct engine *e, struct track *t)
{
    struct track **p = &e->buckets[engine_bucket(e, t->key)];

    while (*p && *p != t)
        p = &(*p)->next;
    if (*p)
        *p = t->next;
}

void forget_tracks(struct engine *e, struct track *const *tracks, size_t n)
{
    size_t kept = 0, before_next = 0;

    if (!n)
        return;
    /* Out of the chains, marked by an empty key (a track's key never is empty). */
    for (size_t i = 0; i < n; i++) {
        unlink_track(e, tracks[i]);
        tracks[i]->key[0] = '\0';
    }
    /* One pass keeps the others in the order made; the next look starts where it would
     * have, less the tracks taken out before it. */
    for (size_t i = 0; i < e->n_tracks; i++) {
        struct track *t = e->all[i];
        if (!t->key[0]) {
            if (i < e->forget_next)
                before_next++;
            continue;
        }
        e->all[kept++] = t;
    }
    e->forget_next -= before_next;
    e->n_tracks = kept;
    for (size_t i = 0; i < n; i++)
        engine_track_free(tracks[i]);
    e->stats.forgotten += n;
}
