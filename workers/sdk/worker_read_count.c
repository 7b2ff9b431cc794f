// SPDX-License-Identifier: MIT
/*
 * The COUNT of a read, in entries. Until a read has returned entries, at most
 * FIRST_READ_ENTRIES; then batch_max divided by the events per entry of the last read
 * that returned any, so that a backlog of wide entries is not read (and held in
 * memory) many batches at a time, and a read of entries of mixed sizes still fills
 * about one batch. It grows at most to twice what the last read returned (or
 * FIRST_READ_ENTRIES): after reads of one narrow entry at a time, a backlog of wide
 * ones (the database was away, the hub packs under load) is first read a few entries
 * at a time, not batch_max of them.
 */
#include "worker_read_count.h"

#include "worker_internal.h"

/* Entries asked for before a read has shown how many events an entry holds. */
#define FIRST_READ_ENTRIES 64

int worker_read_count(const struct worker *w)
{
    int max = w->cfg.worker.batch_max;

    if (w->read_entries > 0)
        return w->read_entries;
    return max < FIRST_READ_ENTRIES ? max : FIRST_READ_ENTRIES;
}

void worker_read_count_learn(struct worker *w, size_t entries, size_t events)
{
    size_t count, grow;

    if (entries == 0 || events == 0)
        return;
    count = (size_t)w->cfg.worker.batch_max * entries / events;
    grow = 2 * entries > FIRST_READ_ENTRIES ? 2 * entries : FIRST_READ_ENTRIES;
    if (count > grow)
        count = grow;
    w->read_entries = count < 1 ? 1 : (int)count;
}
