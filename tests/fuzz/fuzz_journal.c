// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: a crash journal's segment as a restarted hub finds it on disk
 * (hub/journal_load.c), whatever a torn write or a damaged disk made of it. The input
 * is the segment's bytes, read from a memory file. Loading never fails but for memory,
 * takes no event whose fields overrun the input, and stays within its budget of
 * checksums (a slow input is a libFuzzer timeout). The seeds in
 * tests/fuzz/corpus/journal/ are segments the hub wrote.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "journal_load.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct journal_loaded l = {0};
    char path[64];
    size_t n = 0;
    int fd, r;

    log_set_level(LOG_LEVEL_ERROR); /* a damaged input's warnings, per input */
    fd = memfd_create("segment", MFD_CLOEXEC);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
        fuzz_fail("cannot write the memory file", strerror(errno));
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    r = journal_load_segment(&l, path);
    close(fd);
    if (r < 0)
        fuzz_fail("journal_load_segment failed", strerror(-r));
    for (struct out_item *it = l.events.head; it; it = it->next) {
        n++;
        if (it->jseq > l.max_seq)
            fuzz_fail("an event's seq above max_seq", it->id);
        if (it->env_len > size || strlen(it->id) > size || strlen(it->topic) > size)
            fuzz_fail("an event's field longer than the segment", it->id);
    }
    if (n * (JOURNAL_RECORD_HEAD + JOURNAL_EVENT_FIXED + JOURNAL_RECORD_SUM) > size)
        fuzz_fail("more events than the segment can hold", NULL);
    journal_loaded_merge(&l);
    for (size_t i = 1; i < l.n_done; i++)
        if (l.done[i - 1].hi == UINT64_MAX || l.done[i].lo <= l.done[i - 1].hi + 1 ||
            l.done[i].lo > l.done[i].hi)
            fuzz_fail("done ranges not merged", NULL);
    journal_loaded_free(&l);
    return 0;
}
