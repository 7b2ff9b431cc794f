// SPDX-License-Identifier: MIT
/*
 * The crash journal (format and contract in journal.h): a write buffer filled per
 * MQTT read pass, the segment files it goes to, the done marks, and the take-over of
 * an earlier run's segments at start (journal_load.c reads them).
 */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal_format.h"
#include "journal_load.h"
#include "log.h"

struct segment {
    unsigned index;
    uint64_t first_seq, last_seq; /* events of this run in it; last < first: none */
    size_t outstanding;           /* events in it not done yet */
    size_t bytes;                 /* written to the file */
};

struct journal {
    struct journal_options opt;
    char dir[PATH_MAX];
    int lock_fd, fd;          /* fd: the active segment, the last of segs */
    struct segment *segs;
    size_t n_segs, cap_segs;
    uint64_t next_seq;
    size_t outstanding;
    char *buf;                /* records not written yet; written from off */
    size_t len, off, cap;
    size_t buffered_events;   /* events in buf: they belong to the active segment */
    uint64_t buf_first_seq;   /* the first of them (0: none) */
    size_t buffered_outstanding; /* of them, not done yet */
    size_t committed;         /* the active segment's size at its last whole record */
    struct seq_range *done;   /* done marks not encoded into buf yet */
    size_t n_done, cap_done;
    bool blocked, need_sync;
    /* The events taken over at start are in buf, not yet in the active segment: the old
     * segments are all that holds them, and stay until the buffer is written. */
    bool takeover_unwritten;
};

static void segment_path(const struct journal *j, unsigned index, char *path, size_t size)
{
    snprintf(path, size, "%s/journal-%u.log", j->dir, index);
}

/* Room for n more bytes in the write buffer. */
static int reserve(struct journal *j, size_t n)
{
    size_t cap = j->cap ? j->cap : 65536;
    char *b;

    if (j->len + n <= j->cap)
        return 0;
    while (cap < j->len + n)
        cap *= 2;
    if (!(b = realloc(j->buf, cap)))
        return -ENOMEM;
    j->buf = b;
    j->cap = cap;
    return 0;
}

/* Appends one record: tag, body length, the body (already at the end of buf), checksum. */
static char *record_begin(struct journal *j, char tag, size_t body_len)
{
    char *p;

    if (reserve(j, JOURNAL_RECORD_HEAD + body_len + JOURNAL_RECORD_SUM) < 0)
        return NULL;
    p = j->buf + j->len;
    p[0] = tag;
    journal_put_u32(p + 1, (uint32_t)body_len);
    return p + JOURNAL_RECORD_HEAD;
}

static void record_end(struct journal *j, size_t body_len)
{
    char *body = j->buf + j->len + JOURNAL_RECORD_HEAD;

    journal_put_u32(body + body_len, journal_sum(body, body_len));
    j->len += JOURNAL_RECORD_HEAD + body_len + JOURNAL_RECORD_SUM;
}

static char *put_field(char *p, const char *s, size_t len)
{
    journal_put_u32(p, (uint32_t)len);
    memcpy(p + 4, s, len);
    return p + 4 + len;
}

int journal_append(struct journal *j, struct out_item *it, uint64_t after_ms)
{
    size_t key_len = strlen(it->key), id_len = strlen(it->id), topic_len = strlen(it->topic);
    size_t body_len = JOURNAL_EVENT_FIXED + key_len + id_len + topic_len + it->env_len;
    struct segment *active = &j->segs[j->n_segs - 1];
    char *p = record_begin(j, 'E', body_len);

    if (!p)
        return -ENOMEM;
    it->jseq = j->next_seq++;
    journal_put_u64(p, it->jseq);
    journal_put_u64(p + 8, after_ms);
    p = put_field(p + 16, it->key, key_len);
    p = put_field(p, it->id, id_len);
    p = put_field(p, it->topic, topic_len);
    put_field(p, it->env, it->env_len);
    record_end(j, body_len);
    if (active->last_seq < active->first_seq)
        active->first_seq = it->jseq;
    active->last_seq = it->jseq;
    active->outstanding++;
    j->outstanding++;
    if (j->buffered_events++ == 0)
        j->buf_first_seq = it->jseq;
    j->buffered_outstanding++;
    return 0;
}

void journal_done(struct journal *j, uint64_t seq)
{
    struct seq_range *last = j->n_done ? &j->done[j->n_done - 1] : NULL;

    if (seq == 0)
        return;
    for (size_t i = 0; i < j->n_segs; i++) {
        struct segment *s = &j->segs[i];
        if (s->first_seq <= seq && seq <= s->last_seq && s->outstanding > 0) {
            s->outstanding--;
            j->outstanding--;
            if (j->buffered_events > 0 && seq >= j->buf_first_seq && j->buffered_outstanding > 0)
                j->buffered_outstanding--;
            break;
        }
    }
    if (last && last->hi + 1 == seq) {
        last->hi = seq;
        return;
    }
    /* On -ENOMEM the mark is lost: the event is only re-sent in vain after a crash. */
    (void)journal_ranges_push(&j->done, &j->n_done, &j->cap_done, seq, seq);
}

/* Moves the done marks into the write buffer, behind the events they follow. */
static void encode_done(struct journal *j)
{
    size_t i;

    for (i = 0; i < j->n_done; i++) {
        char *p = record_begin(j, 'D', JOURNAL_DONE_BODY);
        if (!p)
            break;
        journal_put_u64(p, j->done[i].lo);
        journal_put_u64(p + 8, j->done[i].hi);
        record_end(j, JOURNAL_DONE_BODY);
    }
    if (i > 0 && i < j->n_done)
        memmove(j->done, j->done + i, (j->n_done - i) * sizeof(*j->done));
    j->n_done -= i;
}

/* Creates segment index and makes it the active one. Returns 0 or a negative errno. */
static int open_segment(struct journal *j, unsigned index)
{
    char path[PATH_MAX + 32];
    struct segment *s;
    int fd;

    if (j->n_segs == j->cap_segs) {
        size_t cap = j->cap_segs ? j->cap_segs * 2 : 8;
        struct segment *segs = realloc(j->segs, cap * sizeof(*segs));
        if (!segs)
            return -ENOMEM;
        j->segs = segs;
        j->cap_segs = cap;
    }
    segment_path(j, index, path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (write(fd, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN) != JOURNAL_MAGIC_LEN) {
        int e = errno ? errno : EIO;
        close(fd);
        (void)unlink(path);
        return -e;
    }
    if (j->fd >= 0)
        close(j->fd);
    j->fd = fd;
    s = &j->segs[j->n_segs++];
    s->index = index;
    s->first_seq = j->next_seq;
    s->last_seq = j->next_seq - 1;
    s->outstanding = 0;
    s->bytes = JOURNAL_MAGIC_LEN;
    j->committed = JOURNAL_MAGIC_LEN;
    return 0;
}

/* Removes the closed segments whose events are all done, once the take-over is written. */
static void sweep(struct journal *j)
{
    size_t kept = 0;

    for (size_t i = 0; i < j->n_segs; i++) {
        struct segment *s = &j->segs[i];
        char path[PATH_MAX + 32];

        if (i + 1 < j->n_segs && s->outstanding == 0 && !j->takeover_unwritten) {
            segment_path(j, s->index, path, sizeof(path));
            if (unlink(path) == 0 || errno == ENOENT)
                continue;
            log_error("journal", "cannot remove %s: %s", path, strerror(errno));
        }
        j->segs[kept++] = *s;
    }
    j->n_segs = kept;
}

static int write_buffer(struct journal *j)
{
    struct segment *active = &j->segs[j->n_segs - 1];

    while (j->off < j->len) {
        ssize_t n = write(j->fd, j->buf + j->off, j->len - j->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        j->off += (size_t)n;
        active->bytes += (size_t)n;
        j->need_sync = true;
    }
    j->off = j->len = 0;
    j->buffered_events = j->buffered_outstanding = 0;
    j->buf_first_seq = 0;
    j->committed = active->bytes;
    j->takeover_unwritten = false;
    if (j->opt.fsync && j->need_sync) {
        if (fdatasync(j->fd) < 0)
            return -errno;
    }
    j->need_sync = false;
    return 0;
}

/*
 * A write failed (the disk is full): the active segment goes back to its last whole
 * record, so that the buffer can be written again from its start, and space the done
 * events hold is given back: closed segments wholly done are removed, and when every
 * event already written to the active segment is done, it is emptied. Returns true
 * when space was freed.
 */
static bool recover(struct journal *j)
{
    struct segment *active = &j->segs[j->n_segs - 1];
    size_t segs_before = j->n_segs;
    bool freed = false;

    if (ftruncate(j->fd, (off_t)j->committed) == 0) {
        active->bytes = j->committed;
        j->off = 0;
    }
    sweep(j);
    if (j->n_segs < segs_before)
        freed = true;
    if (j->off == 0 && active->outstanding == j->buffered_outstanding &&
        active->bytes > JOURNAL_MAGIC_LEN && ftruncate(j->fd, JOURNAL_MAGIC_LEN) == 0) {
        active->bytes = j->committed = JOURNAL_MAGIC_LEN;
        freed = true;
    }
    return freed;
}

int journal_flush(struct journal *j)
{
    struct segment *active;
    int r;

    encode_done(j);
    r = write_buffer(j);
    if (r < 0 && j->off < j->len && recover(j))
        r = write_buffer(j); /* once more, into the space given back */
    if (r < 0) {
        if (!j->blocked) {
            char path[PATH_MAX + 32];
            segment_path(j, j->segs[j->n_segs - 1].index, path, sizeof(path));
            log_error("journal", "cannot write %s: %s; MQTT input paused and acknowledgements "
                      "held until it can (the broker keeps the messages)", path, strerror(-r));
        }
        if (j->off < j->len)
            (void)recover(j);
        j->blocked = true;
        return r;
    }
    if (j->blocked)
        log_info("journal", "writing again; MQTT input resumes");
    j->blocked = false;
    active = &j->segs[j->n_segs - 1];
    if (active->bytes >= j->opt.segment_bytes &&
        (r = open_segment(j, active->index + 1)) < 0)
        log_error("journal", "cannot begin a new segment in %s: %s; appending to the old one",
                  j->dir, strerror(-r));
    sweep(j);
    return 0;
}

bool journal_blocked(const struct journal *j)
{
    return j->blocked;
}

size_t journal_bytes(const struct journal *j)
{
    size_t n = j->len - j->off;

    for (size_t i = 0; i < j->n_segs; i++)
        n += j->segs[i].bytes;
    return n;
}

size_t journal_outstanding(const struct journal *j)
{
    return j->outstanding;
}

bool journal_full(const struct journal *j)
{
    return journal_bytes(j) >= j->opt.max_bytes;
}

static int index_cmp(const void *a, const void *b)
{
    const struct segment *x = a, *y = b;

    return x->index < y->index ? -1 : x->index > y->index;
}

/* Lists the segment files of the folder into j->segs (closed, nothing outstanding). */
static int list_segments(struct journal *j)
{
    DIR *d = opendir(j->dir);
    struct dirent *e;

    if (!d)
        return -errno;
    while ((e = readdir(d))) {
        unsigned index;
        char tail;
        char path[PATH_MAX + 32];
        struct stat st;

        if (sscanf(e->d_name, "journal-%u.lo%c", &index, &tail) != 2 || tail != 'g')
            continue;
        if (j->n_segs == j->cap_segs) {
            size_t cap = j->cap_segs ? j->cap_segs * 2 : 8;
            struct segment *segs = realloc(j->segs, cap * sizeof(*segs));
            if (!segs) {
                closedir(d);
                return -ENOMEM;
            }
            j->segs = segs;
            j->cap_segs = cap;
        }
        segment_path(j, index, path, sizeof(path));
        memset(&j->segs[j->n_segs], 0, sizeof(j->segs[0]));
        j->segs[j->n_segs].index = index;
        j->segs[j->n_segs].first_seq = 1; /* empty: last < first */
        j->segs[j->n_segs].bytes = stat(path, &st) == 0 ? (size_t)st.st_size : 0;
        j->n_segs++;
    }
    closedir(d);
    if (j->n_segs > 1)
        qsort(j->segs, j->n_segs, sizeof(*j->segs), index_cmp);
    return 0;
}

static int lock_dir(struct journal *j)
{
    char path[PATH_MAX + 32];

    if (mkdir(j->dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    snprintf(path, sizeof(path), "%s/lock", j->dir);
    if ((j->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        return -errno;
    if (flock(j->lock_fd, LOCK_EX | LOCK_NB) < 0)
        return -errno;
    return 0;
}

/* Loads the old segments; the events not done go to leftover, journaled again. */
static int take_over(struct journal *j, struct out_list *leftover)
{
    struct journal_loaded l = {0};
    struct out_item *it;
    unsigned next_index = 1;
    size_t n = 0;
    int r = 0;

    for (size_t i = 0; i < j->n_segs && r >= 0; i++) {
        char path[PATH_MAX + 32];
        segment_path(j, j->segs[i].index, path, sizeof(path));
        r = journal_load_segment(&l, path);
        next_index = j->segs[i].index + 1;
    }
    j->next_seq = l.max_seq + 1;
    if (r >= 0)
        r = open_segment(j, next_index);
    journal_loaded_merge(&l);
    while (r >= 0 && (it = out_list_pop(&l.events))) {
        if (journal_loaded_is_done(&l, it->jseq)) {
            free(it);
            continue;
        }
        if ((r = journal_append(j, it, it->after_ms)) < 0) {
            free(it);
            break;
        }
        out_list_push(leftover, it);
        n++;
    }
    j->takeover_unwritten = n > 0;
    journal_loaded_free(&l);
    if (r < 0)
        return r;
    if (n > 0)
        log_info("journal", "took %zu events Redis may not have from %s; they go first", n,
                 j->dir);
    (void)journal_flush(j); /* a failure is logged and keeps the input paused */
    return 0;
}

/* Closes the journal's files and frees it, removing nothing. */
static void journal_free(struct journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    free(j->segs);
    free(j->buf);
    free(j->done);
    free(j);
}

struct journal *journal_open(const struct journal_options *opt, struct out_list *leftover)
{
    struct journal *j = calloc(1, sizeof(*j));
    int r;

    if (!j)
        return NULL;
    j->opt = *opt;
    j->lock_fd = j->fd = -1;
    j->next_seq = 1;
    if (snprintf(j->dir, sizeof(j->dir), "%s", opt->dir) >= (int)sizeof(j->dir)) {
        r = -ENAMETOOLONG;
        goto err;
    }
    j->opt.dir = j->dir;
    if ((r = lock_dir(j)) < 0 || (r = list_segments(j)) < 0 || (r = take_over(j, leftover)) < 0)
        goto err;
    return j;
err:
    journal_free(j);
    errno = -r;
    return NULL;
}

void journal_close(struct journal *j)
{
    if (!j)
        return;
    if (journal_flush(j) == 0 && j->outstanding == 0) {
        for (size_t i = 0; i < j->n_segs; i++) {
            char path[PATH_MAX + 32];
            segment_path(j, j->segs[i].index, path, sizeof(path));
            if (unlink(path) < 0 && errno != ENOENT)
                log_error("journal", "cannot remove %s: %s", path, strerror(errno));
        }
    } else if (j->outstanding > 0) {
        log_warn("journal", "%zu events Redis has not confirmed stay in %s for the next start",
                 j->outstanding, j->dir);
    }
    journal_free(j);
}
