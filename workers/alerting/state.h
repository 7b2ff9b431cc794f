// SPDX-License-Identifier: MIT
/*
 * The engine's tracks as JSON text, the form in which the worker keeps them in Redis
 * (one field per track in the hash <prefix>alerting:tracks) so that alerts, silence
 * and durations survive a restart.
 */
#ifndef RHEINHUB_ALERTING_STATE_H
#define RHEINHUB_ALERTING_STATE_H

#include <stddef.h>

#include "engine.h"

/* The track as compact JSON text (malloc'd; the caller frees), or NULL without memory. */
char *state_track_dumps(const struct track *t, size_t *len);

/*
 * Restores one track from its JSON text into the engine (making the track). Returns 0;
 * -ENOENT when its rule is no longer in the rules file (the track is dropped); -EINVAL
 * with the reason in why when the text is not a track; -ENOMEM.
 */
int state_track_load(struct engine *e, const char *text, size_t len, char *why,
                     size_t why_size);

#endif
