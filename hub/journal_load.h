// SPDX-License-Identifier: MIT
/*
 * Reading an earlier run's journal segments (journal.h): the events they hold and the
 * ranges marked done, so that journal_open can take over the events Redis may not have.
 */
#ifndef RHEINHUB_JOURNAL_LOAD_H
#define RHEINHUB_JOURNAL_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal_format.h"
#include "out_item.h"

struct journal_loaded {
    struct out_list events;   /* jseq: the seq of the earlier run */
    struct seq_range *done;
    size_t n_done, cap_done;
    uint64_t max_seq;         /* the highest seq of any record */
};

/*
 * Reads one segment's records into l: version 2 or 1 (journal.h). A missing file is
 * empty; a torn tail ends it quietly (what came before counts); damaged bytes are
 * skipped, with a warning, up to the next whole record. Returns 0, or a negative errno
 * (-ENOMEM, or the file could not be read).
 */
int journal_load_segment(struct journal_loaded *l, const char *path);

/* After the last segment: sorts and merges the done ranges for journal_loaded_is_done. */
void journal_loaded_merge(struct journal_loaded *l);

/* Whether seq was marked done (after journal_loaded_merge). */
bool journal_loaded_is_done(const struct journal_loaded *l, uint64_t seq);

/* Frees what l holds; the events left in l->events with it. */
void journal_loaded_free(struct journal_loaded *l);

#endif
