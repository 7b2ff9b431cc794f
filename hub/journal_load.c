// SPDX-License-Identifier: MIT
/*
 * Reading an earlier run's journal segments (journal_load.h). A segment is read whole
 * (at most journal.segment_mb and one record) and walked record by record. A record
 * cut short at the end of the file ends it (a torn tail); damaged bytes anywhere else
 * (a tag, a length, a body or a checksum) are skipped, with a log line, up to the next
 * whole record, and the records after them are taken over.
 */
#include "journal_load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* An event's body, of the shape shape_ok checked. */
static int take_event(struct journal_loaded *l, const unsigned char *b)
{
    const unsigned char *p = b + 16;
    const char *field[4];
    size_t flen[4];
    struct out_item *it;
    char *copies[3] = {NULL, NULL, NULL};

    for (int i = 0; i < 4; i++) {
        flen[i] = journal_get_u32(p);
        field[i] = (const char *)p + 4;
        p += 4 + flen[i];
    }
    for (int i = 0; i < 3; i++) {
        if (!(copies[i] = strndup(field[i], flen[i]))) {
            free(copies[0]);
            free(copies[1]);
            return -ENOMEM; /* copies[i] and those after it are NULL */
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

/* A done mark's body, of the shape shape_ok checked. */
static int take_done(struct journal_loaded *l, const unsigned char *b)
{
    uint64_t lo = journal_get_u64(b), hi = journal_get_u64(b + 8);

    if (journal_ranges_push(&l->done, &l->n_done, &l->cap_done, lo, hi) < 0)
        return -ENOMEM;
    if (hi > l->max_seq)
        l->max_seq = hi;
    return 0;
}

/* One segment's bytes, read whole, and the checksum of its version. */
struct segment {
    const char *path;
    unsigned char *data;
    size_t size;
    uint32_t (*sum_of)(const void *, size_t);
    size_t sum_budget; /* bytes the search for a whole record may still checksum */
};

enum record_state { RECORD_WHOLE, RECORD_TORN, RECORD_DAMAGED };

/* Whether a body of tag holds what the writer puts there: for an event the fixed part
 * and four fields ending exactly at its end, for a done mark lo <= hi. */
static bool shape_ok(unsigned char tag, const unsigned char *b, uint32_t len)
{
    if (tag == 'D')
        return len == JOURNAL_DONE_BODY && journal_get_u64(b) <= journal_get_u64(b + 8);
    if (len < JOURNAL_EVENT_FIXED)
        return false;
    b += 16;
    len -= 16;
    for (int i = 0; i < 4; i++) {
        if (len < 4 || len - 4 < journal_get_u32(b))
            return false;
        len -= 4 + journal_get_u32(b);
        b += 4 + journal_get_u32(b);
    }
    return len == 0;
}

/* The record at off: RECORD_WHOLE (its body's length in *len) when its head, its
 * body's shape and its checksum hold, RECORD_TORN when it runs past the end of the
 * file, else RECORD_DAMAGED. A checksum is taken only when s->sum_budget allows it. */
static enum record_state record_at(struct segment *s, size_t off, uint32_t *len)
{
    const unsigned char *p = s->data + off;
    size_t left = s->size - off;
    uint32_t n;

    if (left < JOURNAL_RECORD_HEAD)
        return RECORD_TORN;
    if (p[0] != 'E' && p[0] != 'D')
        return RECORD_DAMAGED;
    n = journal_get_u32(p + 1);
    if (n > JOURNAL_BODY_MAX)
        return RECORD_DAMAGED;
    if (left - JOURNAL_RECORD_HEAD < (size_t)n + JOURNAL_RECORD_SUM)
        return RECORD_TORN;
    if (!shape_ok(p[0], p + JOURNAL_RECORD_HEAD, n) || s->sum_budget < n)
        return RECORD_DAMAGED;
    s->sum_budget -= n;
    if (journal_get_u32(p + JOURNAL_RECORD_HEAD + n) != s->sum_of(p + JOURNAL_RECORD_HEAD, n))
        return RECORD_DAMAGED;
    *len = n;
    return RECORD_WHOLE;
}

/* The first offset after off where a whole record begins, or s->size. A damaged byte
 * anywhere in a record (its tag, its length, its body or its checksum) costs that
 * record alone: the next one is found by its shape and checksum (a false match needs
 * 32 bits of checksum to agree). The checksums taken are bounded by s->sum_budget, so
 * that a start never spends more than a few passes over the segment. */
static size_t next_whole_record(struct segment *s, size_t off)
{
    uint32_t len;

    while (++off < s->size)
        if (record_at(s, off, &len) == RECORD_WHOLE)
            return off;
    return s->size;
}

static int take_record(struct journal_loaded *l, const unsigned char *p)
{
    const unsigned char *body = p + JOURNAL_RECORD_HEAD;

    return p[0] == 'E' ? take_event(l, body) : take_done(l, body);
}

/* The whole file at path in s->data (NULL and 0 when it is missing). */
static int read_segment(struct segment *s)
{
    int fd = open(s->path, O_RDONLY | O_CLOEXEC), r = 0;
    struct stat st;
    size_t got = 0;

    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    s->size = (size_t)st.st_size;
    if (!(s->data = malloc(s->size ? s->size : 1))) {
        r = -ENOMEM;
        goto out;
    }
    while (got < s->size) {
        ssize_t n = read(fd, s->data + got, s->size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    s->size = got;
out:
    close(fd);
    return r;
}

/* Reads one segment's records into l. A torn tail ends it quietly; damaged bytes are
 * skipped with a warning up to the next whole record; -ENOMEM is fatal. */
int journal_load_segment(struct journal_loaded *l, const char *path)
{
    struct segment s = {.path = path, .sum_of = journal_sum};
    size_t off = JOURNAL_MAGIC_LEN;
    int r = read_segment(&s);

    if (r < 0 || s.size < JOURNAL_MAGIC_LEN)
        goto out;
    s.sum_budget = s.size < SIZE_MAX / 16 ? 16 * s.size : SIZE_MAX;
    if (memcmp(s.data, JOURNAL_MAGIC_V1, JOURNAL_MAGIC_LEN) == 0)
        s.sum_of = journal_sum_v1;
    else if (memcmp(s.data, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN) != 0)
        log_warn("journal", "%s: its first %d bytes are not the journal's; its records "
                 "are looked for", path, JOURNAL_MAGIC_LEN);
    while (off < s.size) {
        uint32_t len;
        enum record_state st = record_at(&s, off, &len);
        size_t next;

        if (st == RECORD_WHOLE) {
            if ((r = take_record(l, s.data + off)) < 0)
                break;
            off += JOURNAL_RECORD_HEAD + (size_t)len + JOURNAL_RECORD_SUM;
            continue;
        }
        next = next_whole_record(&s, off);
        if (next < s.size)
            log_warn("journal", "%s: bytes %zu to %zu are damaged (no whole record); "
                     "skipped, the records after them taken over", path, off, next - 1);
        else if (st == RECORD_DAMAGED)
            log_warn("journal", "%s: bytes %zu to %zu, its end, are damaged (no whole "
                     "record); skipped", path, off, s.size - 1);
        off = next; /* a torn tail, a crash in the middle of a write, ends it quietly */
    }
out:
    free(s.data);
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
