// SPDX-License-Identifier: MIT
/*
 * The shutdown spool: when the hub must stop before Redis has confirmed everything
 * (Redis away past shutdown.drain_timeout_s, or a second signal), the unconfirmed
 * entries go to a file, and the next start sends them first. Events from the spool
 * are treated as in doubt, so that re-sending them never writes one twice.
 *
 * File layout (all lengths u32 big-endian):
 *
 *   "RHSPOOL1\n"
 *   records: 'E' len key len id len topic len env   an event
 *            'C' len cmd                             a RESP command (dead letter)
 */
#ifndef RHEINHUB_SPOOL_H
#define RHEINHUB_SPOOL_H

#include <stdbool.h>

#include "out_item.h"

/*
 * Writes every entry of the n lists to path atomically (a temporary file, fsync,
 * rename). The lists are left as they are. Returns the number of entries written,
 * or a negative errno.
 */
int spool_save(const char *path, struct out_list *const *lists, int n);

/*
 * Reads path: events are appended to events, other commands to others, each marked
 * from_spool. Returns the number of entries, -ENOENT when there is no spool, or
 * another negative errno (-EINVAL for a damaged file, whose good records before the
 * damage are still returned in the lists). A command that is not exactly one RESP
 * array of bulk strings is damage.
 */
int spool_load(const char *path, struct out_list *events, struct out_list *others);

/*
 * Takes over what a previous run left in the spool at path: spool_load with its
 * logging; a damaged file is kept as path.damaged, an empty one removed. Returns the
 * number of entries now in the lists (0 when there was no spool).
 */
size_t spool_take(const char *path, struct out_list *events, struct out_list *others);

/*
 * The hub must stop with entries Redis has not confirmed: saves them to path (when
 * set) and logs what became of them; journaled: the crash journal holds the events.
 * final: a save that fails loses them (logged so); else the caller keeps them and
 * says why. Returns the entries saved (0 without a path), or a negative errno.
 */
int spool_keep(const char *path, struct out_list *const *lists, int n, bool journaled, bool final);

#endif
