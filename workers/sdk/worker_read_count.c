// SPDX-License-Identifier: MIT
/*
 * The COUNT of a read, in entries. Until a read has returned entries, at most
 * FIRST_READ_ENTRIES; then batch_max divided by the events per entry of the last read
 * that returned any, so that a backlog of wide entries is not read (and held in
 * memory) many batches at a time, and a read of entries of mixed sizes still fills
 * about one batch. It grows at most to twice what the last read returned (or
 * FIRST_READ_ENTRIES): after reads of one narrow entry at a time, a backlog of wide
 * ones (the database was away, the hub packs under load) is first read a few entries
 * at a time, not batch_max of them. And a read holds at most about READ_BYTES_MAX
 * bytes of envelopes, by the mean size of the last read's entries: batch_max counts
 * events, which may be as large as the hub's ingest.max_payload_bytes, and a read is
 * held in memory, raw and decoded, until its batches are done.
 */
#include "worker_read_count.h"

#include "worker_internal.h"

/* Entries asked for before a read has shown how many events an entry holds. */
#define FIRST_READ_ENTRIES 64
/* Envelope bytes a read asks for at most: 8 MiB is 4,096 water levels four times over. */
#define READ_BYTES_MAX (8u << 20)

int worker_read_count(const struct worker *w)
{
    int max = w->cfg.worker.batch_max;

    if (w->read_entries > 0)
        return w->read_entries;
    return max < FIRST_READ_ENTRIES ? max : FIRST_READ_ENTRIES;
}

void worker_read_count_learn(struct worker *w, size_t entries, size_t events, size_t bytes)
{
    size_t count, grow;

    if (entries == 0 || events == 0)
        return;
    count = (size_t)w->cfg.worker.batch_max * entries / events;
    if (bytes > 0 && count > (size_t)READ_BYTES_MAX * entries / bytes)
        count = (size_t)READ_BYTES_MAX * entries / bytes;
    grow = 2 * entries > FIRST_READ_ENTRIES ? 2 * entries : FIRST_READ_ENTRIES;
    if (count > grow)
        count = grow;
    w->read_entries = count < 1 ? 1 : (int)count;
}
