// SPDX-License-Identifier: MIT
/*
 * Forgetting tracks that have gone quiet for good (alerting.forget_after), so that the
 * state does not grow with every subject ever seen (a citizen report is a subject).
 * A track may be forgotten when all of these hold:
 *
 *   - its rule is not a silence rule (there, the absence of events is the point);
 *   - its alert is not open (never raised, or cleared), and no "for" is waiting;
 *   - no event arrived for it for after_ns, by the hub's receive time (as silence
 *     goes), and its alert's last change is as old;
 *   - nothing of it waits to be written or published: not dirty, its newest change
 *     confirmed by the broker (published_seq >= seq).
 *
 * The caller picks such tracks, deletes them from Redis, and only then takes them out
 * of the engine, so that a failed write leaves them in both.
 *
 * A track whose alert was ever raised has that alert (cleared by now) retained on the
 * broker at <m>/alerts/<rule>/<subject>. It is forgotten only once the broker has
 * confirmed the removal of that retained message (an empty retained publication): the
 * caller publishes the removal of each picked track forget_split sets apart, records
 * the broker's PUBACK in unretained_seq, and forgets the track at a later pick. A
 * crash before that confirmation leaves the track in Redis, so the restarted worker
 * picks it and publishes the removal again; nothing else has to be kept for it.
 */
#ifndef RHEINHUB_ALERTING_FORGET_H
#define RHEINHUB_ALERTING_FORGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* Whether t may be forgotten at now_ns (after_ns > 0), by the rules above. */
bool forget_may(const struct track *t, int64_t now_ns, int64_t after_ns);

/*
 * Looks at up to scan tracks, going on where the last look ended (round the table), and
 * puts up to max that may be forgotten into out. Picks none while the engine holds
 * changes the caller has not taken. Returns how many it put.
 */
size_t forget_pick(struct engine *e, int64_t now_ns, int64_t after_ns, size_t scan,
                   struct track **out, size_t max);

/*
 * Whether t still has a retained alert on the broker to remove before it is forgotten:
 * an alert was raised once (published), and the broker has not confirmed the removal
 * for its newest change (a later change publishes the alert again).
 */
bool forget_retained(const struct track *t);

/*
 * Sorts n picked tracks: those that may go now stay at the front of tracks, in order,
 * and their count is returned; those with a retained alert (forget_retained) go to
 * retained, *n_retained of them (retained holds n).
 */
size_t forget_split(struct track **tracks, size_t n, struct track **retained,
                    size_t *n_retained);

/*
 * Takes the n tracks (from forget_pick, not changed since) out of the engine and frees
 * them; counted in engine_stats()->forgotten. The next event of their subjects starts
 * a new track.
 */
void forget_tracks(struct engine *e, struct track *const *tracks, size_t n);

#endif
