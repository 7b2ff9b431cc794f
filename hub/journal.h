// SPDX-License-Identifier: MIT
/*
 * The hub's crash journal. libmosquitto acknowledges a QoS 1 message to the broker as
 * soon as the acknowledgement is written, so an event the hub holds in memory is lost
 * when the hub dies before Redis confirmed it. The journal closes that window: every
 * event is appended to a local file before its acknowledgement leaves (the MQTT input
 * holds acknowledgements back until journal_flush succeeded), and marked done once
 * Redis confirmed it. The page cache survives a crash of the process, so no fsync is
 * needed per event; fsync per flush is an option against power loss.
 *
 * The journal is a folder of segment files journal-<n>.log; the newest one is
 * appended to, and a segment is removed once every event in it is done. At start the
 * events not marked done are taken over (to be re-sent through the add-if-absent
 * path), written to a fresh segment, and the old segments removed once that write
 * succeeded (on a full disk they stay, and hold those events, until it does).
 *
 * Segment layout (integers big-endian):
 *
 *   "RHJRNL2\n"
 *   records:  tag u8 | body length u32 | body | low 32 bits of XXH3-64 of the body u32
 *     'E' event:  seq u64 | after_ms u64 | len u32 key | len u32 id | len u32 topic |
 *                 len u32 env   (after_ms: newest stream time Redis had confirmed)
 *     'D' done:   seq u64 lo | seq u64 hi   (every seq in lo..hi is in Redis)
 *
 * A record cut short at the end of a segment (a crash in the middle of a write) ends
 * it; what came before it counts. Damaged bytes anywhere else (a bad sector) cost the
 * records they are in: the next whole record is found by its shape and checksum.
 * Segments of version 1 ("RHJRNL1\n", an older hub's, the same records with the
 * FNV-1a 32 checksum) are taken over too.
 */
#ifndef RHEINHUB_JOURNAL_H
#define RHEINHUB_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "out_item.h"

struct journal;

struct journal_options {
    const char *dir;       /* the folder; created if missing */
    size_t max_bytes;      /* all segments together; then journal_full() */
    size_t segment_bytes;  /* a segment is closed and a new one begun past this */
    bool fsync;            /* fdatasync after every flush */
};

/*
 * Opens the journal in opt->dir (locked against a second hub using the same folder)
 * and takes over what an earlier run left: the events not marked done are appended
 * to leftover as event items with jseq set (already journaled again), after_ms from
 * the record. Returns NULL with errno set (EWOULDBLOCK: the folder is in use).
 */
struct journal *journal_open(const struct journal_options *opt, struct out_list *leftover);

/*
 * Closes the journal. When every event is done, the segments are removed (a clean
 * stop leaves nothing behind); otherwise they stay for the next start. Accepts NULL.
 */
void journal_close(struct journal *j);

/*
 * Appends the event it (is_event) to the write buffer and sets it->jseq; after_ms as
 * in the record. Nothing is written until journal_flush. Returns 0, or -ENOMEM.
 */
int journal_append(struct journal *j, struct out_item *it, uint64_t after_ms);

/* Redis confirmed the event seq (0 is ignored): marked done at the next flush. */
void journal_done(struct journal *j, uint64_t seq);

/*
 * Writes what is buffered (events, then done marks), fdatasync if configured, and
 * removes segments that are wholly done. Returns 0 when everything appended so far is
 * in the file, or a negative errno (-ENOSPC, -EIO, ...) with the rest kept for the next
 * call; the error is logged once per episode.
 */
int journal_flush(struct journal *j);

/* The segments and the buffer hold max_bytes or more: stop taking input. */
bool journal_full(const struct journal *j);

/* The last flush failed: what is buffered is not in the file yet. */
bool journal_blocked(const struct journal *j);

/* Bytes in the segments and the buffer; events not done yet. */
size_t journal_bytes(const struct journal *j);
size_t journal_outstanding(const struct journal *j);

#endif
