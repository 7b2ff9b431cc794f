// SPDX-License-Identifier: MIT
/*
 * The entries the analytics worker has counted and that may not be acknowledged yet:
 * one record per stored batch, kept in Redis next to the windows it changed (the hash
 * <prefix>analytics:applied, field "<stream> <first entry id>", value one
 * "<stream> <entry id>" per line) and here, sorted, for lookups. A redelivered entry
 * (after a crash between storing a batch and its XACK, or a lost XACK) that is in a
 * record is not counted again. A record goes once none of its entries is pending in
 * the group any more: such an entry can never be delivered again. So the records hold
 * about one batch in normal running, and never more than the group's pending entries.
 */
#ifndef RHEINHUB_ANALYTICS_APPLIED_H
#define RHEINHUB_ANALYTICS_APPLIED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct applied_id {
    uint32_t stream; /* index into applied.streams */
    uint64_t ms, seq;
};

struct applied_record {
    char *field;            /* its field in the Redis hash, owned */
    struct applied_id *ids; /* sorted */
    size_t n;
};

/* The pending entries of one stream's group (XPENDING <stream> <group>, the summary). */
struct applied_pending {
    bool known;
    uint64_t count;
    uint64_t min_ms, min_seq; /* the smallest pending id, when count > 0 */
};

struct applied {
    char **streams;         /* stream keys, interned, owned */
    size_t n_streams;
    struct applied_record *records;
    size_t n_records, cap_records;
    struct applied_id *cur; /* the batch in hand */
    size_t n_cur, cap_cur;
};

void applied_init(struct applied *ap);
/* Frees everything. */
void applied_close(struct applied *ap);
/* Drops the records and the batch in hand (the stream names stay). */
void applied_clear(struct applied *ap);

/* Parses a stream entry id "<ms>-<seq>" (text up to a NUL, space or newline). 0, -EINVAL. */
int applied_id_parse(const char *text, uint64_t *ms, uint64_t *seq);
/* The index of stream key s[0..n), added when new. >= 0, or -ENOMEM. */
int applied_stream(struct applied *ap, const char *s, size_t n);

/* Whether the entry is in a record. */
bool applied_contains(const struct applied *ap, uint32_t stream, uint64_t ms, uint64_t seq);
/* Whether record r holds the entry. */
bool applied_record_has(const struct applied_record *r, uint32_t stream, uint64_t ms,
                        uint64_t seq);

/* Adds an entry to the batch in hand. 0, -ENOMEM. */
int applied_add(struct applied *ap, uint32_t stream, uint64_t ms, uint64_t seq);
/*
 * The record of the batch in hand as its Redis field and text (both new strings, the
 * caller's), or -ENOMEM; -ENOENT when the batch is empty (nothing to record).
 */
int applied_format(const struct applied *ap, char **field, char **text);
/* The batch in hand is stored: it becomes a record with this field (taken). 0, -ENOMEM. */
int applied_commit(struct applied *ap, char *field);
/* Forgets the batch in hand (it was not stored). */
void applied_discard(struct applied *ap);

/* Adds a record read back from Redis. 0, -EINVAL (a line does not parse), -ENOMEM. */
int applied_load(struct applied *ap, const char *field, size_t field_len, const char *text,
                 size_t len);

/*
 * Whether record i is done by the pending summaries (pending[] indexed by stream; a
 * stream not known counts as pending): every entry's stream has nothing pending, or
 * the entry is older than the stream's smallest pending id.
 */
bool applied_record_done(const struct applied *ap, size_t i, const struct applied_pending *pending);
/* Removes record i (the last record takes its place). */
void applied_drop(struct applied *ap, size_t i);

#endif
