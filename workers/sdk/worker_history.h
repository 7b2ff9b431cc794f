// SPDX-License-Identifier: MIT
/*
 * The failure history of stream entries: the error strings of the last attempts per
 * entry (stream key and entry id), kept in memory for the dead letter. Bounded: at
 * most a fixed number of entries, each with its last WORKER_HISTORY_ERRORS errors;
 * when full, the entry that failed first is forgotten. A restarted worker, or one
 * that claimed another consumer's entries, starts with no history for them.
 */
#ifndef RHEINHUB_WORKER_HISTORY_H
#define RHEINHUB_WORKER_HISTORY_H

#include <stddef.h>

#define WORKER_HISTORY_ERRORS 5
#define WORKER_HISTORY_ERROR_MAX 160 /* longer error strings are cut, bytes with NUL */

struct worker_history;

/* A history of at most capacity entries (>= 1), or NULL (errno set). */
struct worker_history *worker_history_new(size_t capacity);
void worker_history_free(struct worker_history *h);

/*
 * Appends error to the entry's history (creating it, which may forget the oldest
 * entry); of each entry the last WORKER_HISTORY_ERRORS errors are kept. Also counts
 * every failure, kept or not. Returns 0, or -ENOMEM (the history is unchanged).
 */
int worker_history_add(struct worker_history *h, const char *stream, const char *entry_id,
                       const char *error);

/* Forgets the entry (done or dead-lettered); nothing when it is not there. */
void worker_history_remove(struct worker_history *h, const char *stream, const char *entry_id);

/* Errors kept for the entry (0 when unknown), at most WORKER_HISTORY_ERRORS. */
size_t worker_history_count(const struct worker_history *h, const char *stream,
                            const char *entry_id);

/* Failures recorded for the entry since it was first added, kept or not. */
size_t worker_history_failures(const struct worker_history *h, const char *stream,
                               const char *entry_id);

/* The i-th kept error, oldest first, or NULL. Borrowed: valid until the next change. */
const char *worker_history_error(const struct worker_history *h, const char *stream,
                                 const char *entry_id, size_t i);

/*
 * The kept errors as a JSON array of strings, oldest first ("[]" when unknown), in a
 * new string the caller frees; NULL on -ENOMEM.
 */
char *worker_history_json(const struct worker_history *h, const char *stream,
                          const char *entry_id);

/* Entries held. */
size_t worker_history_size(const struct worker_history *h);

#endif
