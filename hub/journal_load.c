// SPDX-License-Identifier: MIT
/*
 * Reading an earlier run's journal segments (journal_load.h). Records are read with
 * stdio one at a time; a record cut short, of an unknown tag or too long ends the
 * segment; a whole record failing its checksum is skipped, with a log line, and the
 * records after it are read.
 */
#include "journal_load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int take_event(struct journal_loaded *l, const unsigned char *b, size_t len)
{
    const unsigned char *p = b + 16, *end = b + len;
    const char *field[4];
    size_t flen[4];
    struct out_item *it;
    char *copies[3];

    if (len < JOURNAL_EVENT_FIXED)
        return -EINVAL;
    for (int i = 0; i < 4; i++) {
        if (end - p < 4 || (size_t)(end - p - 4) < journal_get_u32(p))
            return -EINVAL;
        flen[i] = journal_get_u32(p);
        field[i] = (const char *)p + 4;
        p += 4 + flen[i];
    }
    for (int i = 0; i < 3; i++) {
        if (!(copies[i] = strndup(field[i], flen[i]))) {
            free(copies[0]);
            free(copies[1]);
            return -ENOMEM;
        }
    }
    it = out_item_event_new(copies[0], copies[1], field[3], flen[3], copies[2]);
    for (int i = 0; i < 3; i++)
        free(copies[i]);
    if (!it)
        return -ENOMEM;
    it->jseq = journal_get_u64(b);
    it->after_ms = journal_get_u64(b + 8);
    if (it->jseq > l->max_seq)
        l->max_seq = it->jseq;
    out_list_push(&l->events, it);
    return 0;
}

static int take_done(struct journal_loaded *l, const unsigned char *b, size_t len)
{
    uint64_t lo, hi;

    if (len != JOURNAL_DONE_BODY)
        return -EINVAL;
    lo = journal_get_u64(b);
    hi = journal_get_u64(b + 8);
    if (journal_ranges_push(&l->done, &l->n_done, &l->cap_done, lo, hi) < 0)
        return -ENOMEM;
    if (hi > l->max_seq)
        l->max_seq = hi;
    return 0;
}

/* Reads one segment's records into l. A torn tail ends it quietly, a damaged record is
 * skipped with a warning; -ENOMEM is fatal. */
int journal_load_segment(struct journal_loaded *l, const char *path)
{
    FILE *f = fopen(path, "rbe");
    char magic[JOURNAL_MAGIC_LEN];
    unsigned char head[JOURNAL_RECORD_HEAD], *body = NULL;
    uint32_t (*sum_of)(const void *, size_t) = NULL;
    size_t cap = 0;
    int r = 0;

    if (!f)
        return errno == ENOENT ? 0 : -errno;
    if (fread(magic, 1, sizeof(magic), f) == sizeof(magic)) {
        if (memcmp(magic, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN) == 0)
            sum_of = journal_sum;
        else if (memcmp(magic, JOURNAL_MAGIC_V1, JOURNAL_MAGIC_LEN) == 0)
            sum_of = journal_sum_v1;
    }
    if (!sum_of)
        goto out;
    while (fread(head, 1, sizeof(head), f) == sizeof(head)) {
        uint32_t len = journal_get_u32(head + 1);
        unsigned char sum[JOURNAL_RECORD_SUM];

        if ((head[0] != 'E' && head[0] != 'D') || len > JOURNAL_BODY_MAX)
            break;
        if (len > cap) {
            unsigned char *b = realloc(body, len);
            if (!b) {
                r = -ENOMEM;
                break;
            }
            body = b;
            cap = len;
        }
        if (fread(body, 1, len, f) != len || fread(sum, 1, sizeof(sum), f) != sizeof(sum))
            break;
        if (journal_get_u32(sum) != sum_of(body, len)) {
            log_warn("journal", "%s: the record of %u bytes ending at byte %ld fails its "
                     "checksum; skipped", path, (unsigned)len, ftell(f));
            continue;
        }
        r = head[0] == 'E' ? take_event(l, body, len) : take_done(l, body, len);
        if (r == -EINVAL) {
            r = 0;
            break;
        }
        if (r < 0)
            break;
    }
out:
    free(body);
    fclose(f);
    return r;
}

static int range_cmp(const void *a, const void *b)
{
    const struct seq_range *x = a, *y = b;

    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges the done ranges; then a seq is done when the range before it covers it. */
void journal_loaded_merge(struct journal_loaded *l)
{
    size_t n = 0;

    if (l->n_done == 0)
        return;
    qsort(l->done, l->n_done, sizeof(*l->done), range_cmp);
    for (size_t i = 0; i < l->n_done; i++) {
        if (n > 0 && l->done[i].lo <= l->done[n - 1].hi + 1) {
            if (l->done[i].hi > l->done[n - 1].hi)
                l->done[n - 1].hi = l->done[i].hi;
        } else {
            l->done[n++] = l->done[i];
        }
    }
    l->n_done = n;
}

bool journal_loaded_is_done(const struct journal_loaded *l, uint64_t seq)
{
    size_t lo = 0, hi = l->n_done;

    while (lo < hi) { /* first range with lo > seq */
        size_t mid = (lo + hi) / 2;
        if (l->done[mid].lo <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && l->done[lo - 1].hi >= seq;
}

void journal_loaded_free(struct journal_loaded *l)
{
    out_list_free(&l->events);
    free(l->done);
    l->done = NULL;
    l->n_done = l->cap_done = 0;
}
