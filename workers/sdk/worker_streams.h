// SPDX-License-Identifier: MIT
/*
 * The streams a worker reads, as its route names them: following the route key,
 * creating the consumer group where it is missing, and each stream's read cursors.
 */
#ifndef RHEINHUB_WORKER_STREAMS_H
#define RHEINHUB_WORKER_STREAMS_H

#include <stddef.h>

struct worker;

/* Every stream reads its own pending entries again, from the start. */
void worker_streams_rewind(struct worker *w);

/*
 * After a (re)connect: whatever was read and not acknowledged is ours, so read it
 * again; check the groups and the route at once.
 */
void worker_streams_reset(struct worker *w);

/*
 * Reads the route key; applies a changed route; creates the group on streams that
 * are not ready yet. A missing or unparsable route leaves the current one in force.
 */
void worker_streams_refresh(struct worker *w);

/* How many streams have their group and are read. */
size_t worker_streams_ready(const struct worker *w);

#endif
