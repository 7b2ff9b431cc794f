// SPDX-License-Identifier: MIT
/* Unit tests for the hub's crash journal (hub/journal.c): what a restart takes over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal.h"
#include "log.h"
#include "out_item.h"

static char dir[64];

static int count_segments(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)))
        n += strncmp(e->d_name, "journal-", 8) == 0;
    closedir(d);
    return n;
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/test_journal.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

/* Removes the files of dir, which stays. */
static void empty_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[128];

    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
}

static int teardown(void **state)
{
    empty_dir();
    rmdir(dir);
    return 0;
}

static struct journal *open_journal(struct out_list *leftover, size_t segment_bytes)
{
    struct journal_options opt = {
        .dir = dir, .max_bytes = 1 << 20, .segment_bytes = segment_bytes, .fsync = false};
    struct journal *j = journal_open(&opt, leftover);

    assert_non_null(j);
    return j;
}

static struct out_item *event(int k)
{
    char id[32], env[64];
    struct out_item *it;
    int n;

    snprintf(id, sizeof(id), "id-%d", k);
    n = snprintf(env, sizeof(env), "envelope %d\r\n", k);
    memcpy(env + n, "\0 bytes", 8); /* binary: a NUL inside */
    it = out_item_event_new("p:events:sensor.x", id, env, (size_t)n + 8, "linz/sensor/x/a");
    assert_non_null(it);
    return it;
}

/* Simulates a crash: the file descriptors go, nothing is cleaned up. */
static void crash(struct journal *j)
{
    /* journal_close removes the segments only when everything is done; with events
     * outstanding it leaves them exactly as a killed process would. */
    assert_true(journal_outstanding(j) > 0);
    journal_close(j);
}

static void journal_takes_over_what_is_not_done(void **state)
{
    struct out_list leftover = {0}, items = {0};
    struct journal *j = open_journal(&leftover, 1 << 20);
    struct out_item *it;

    assert_int_equal(leftover.len, 0);
    for (int k = 0; k < 10; k++) {
        it = event(k);
        assert_int_equal(journal_append(j, it, 1000 + (uint64_t)k), 0);
        out_list_push(&items, it);
    }
    assert_int_equal(journal_flush(j), 0);
    /* 0..6 confirmed; 3 of them marked in a later flush than the rest. */
    for (it = items.head; it; it = it->next)
        if (strcmp(it->id, "id-7") < 0 && strcmp(it->id, "id-3") != 0)
            journal_done(j, it->jseq);
    assert_int_equal(journal_flush(j), 0);
    journal_done(j, items.head->next->next->next->jseq);
    assert_int_equal(journal_flush(j), 0);
    assert_int_equal(journal_outstanding(j), 3);
    crash(j);

    j = open_journal(&leftover, 1 << 20);
    assert_int_equal(leftover.len, 3);
    assert_string_equal(leftover.head->id, "id-7");
    assert_int_equal(leftover.head->after_ms, 1007);
    assert_int_equal(leftover.head->env_len, strlen("envelope 7\r\n") + 8);
    assert_memory_equal(leftover.head->env, "envelope 7\r\n\x00 bytes", leftover.head->env_len);
    assert_string_equal(leftover.tail->id, "id-9");
    assert_string_equal(leftover.head->topic, "linz/sensor/x/a");
    /* Taken over and journaled again: the old segment is gone, one new one holds them. */
    assert_int_equal(journal_outstanding(j), 3);
    assert_int_equal(count_segments(), 1);
    for (it = leftover.head; it; it = it->next)
        journal_done(j, it->jseq);
    journal_close(j);
    assert_int_equal(count_segments(), 0);
    out_list_free(&leftover);
    out_list_free(&items);
}

static void journal_torn_tail_keeps_what_came_before(void **state)
{
    struct out_list leftover = {0}, items = {0};
    struct journal *j = open_journal(&leftover, 1 << 20);
    char path[128];
    struct stat st;

    for (int k = 0; k < 4; k++) {
        struct out_item *it = event(k);
        assert_int_equal(journal_append(j, it, 0), 0);
        out_list_push(&items, it);
    }
    assert_int_equal(journal_flush(j), 0);
    crash(j);
    snprintf(path, sizeof(path), "%s/journal-1.log", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 3), 0); /* the last record cut short */

    j = open_journal(&leftover, 1 << 20);
    assert_int_equal(leftover.len, 3);
    assert_string_equal(leftover.tail->id, "id-2");
    journal_close(j);
    out_list_free(&leftover);
    out_list_free(&items);
}

/* The files of dir removed, then path written with data[0..len). */
static void write_only(const char *path, const unsigned char *data, size_t len)
{
    FILE *f;

    empty_dir();
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Takes over the journal in dir; the ids taken, in order, in ids (k for "id-k"). */
static size_t take_over(int ids[8])
{
    struct out_list leftover = {0};
    struct journal *j = open_journal(&leftover, 1 << 20);
    size_t n = 0;

    for (struct out_item *it = leftover.head; it; it = it->next) {
        assert_true(n < 8);
        assert_int_equal(sscanf(it->id, "id-%d", &ids[n]), 1);
        n++;
    }
    journal_close(j);
    out_list_free(&leftover);
    return n;
}

/*
 * Four events, id-0 to id-3, journaled (id-0 marked done when done0: it is in Redis),
 * then a crash: the segment's bytes (malloc'd) and their count; its path in path.
 */
static unsigned char *crashed_segment(bool done0, char path[128], size_t *size)
{
    struct out_list items = {0};
    struct journal *j = open_journal(&items, 1 << 20);
    unsigned char *data;
    struct stat st;
    FILE *f;

    for (int k = 0; k < 4; k++) {
        struct out_item *it = event(k);
        assert_int_equal(journal_append(j, it, 0), 0);
        out_list_push(&items, it);
        if (k == 1 && done0)
            journal_done(j, items.head->jseq);
    }
    assert_int_equal(journal_flush(j), 0);
    crash(j);
    out_list_free(&items);
    snprintf(path, 128, "%s/journal-1.log", dir);
    assert_int_equal(stat(path, &st), 0);
    *size = (size_t)st.st_size;
    assert_non_null(data = malloc(*size));
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(data, 1, *size, f), *size);
    fclose(f);
    return data;
}

/* Where record i of a segment's bytes begins (the magic is 8 bytes). */
static size_t record_offset(const unsigned char *data, int i)
{
    size_t off = 8;

    while (i-- > 0)
        off += 5 + ((size_t)data[off + 1] << 24 | (size_t)data[off + 2] << 16 |
                    (size_t)data[off + 3] << 8 | data[off + 4]) + 4;
    return off;
}

/* The record of crashed_segment(true, ...) that holds byte at: 0 to 3 the events id-0
 * to id-3, 4 the done mark of id-0, -1 the magic. */
static int record_holding(const unsigned char *data, size_t size, size_t at)
{
    assert_int_equal(record_offset(data, 5), size);
    if (at < 8)
        return -1;
    for (int i = 0;; i++) {
        assert_int_equal(data[record_offset(data, i)], i < 4 ? 'E' : 'D');
        if (at < record_offset(data, i + 1))
            return i;
    }
}

/*
 * A segment cut at every length, and one with each of its bytes damaged: what a power
 * cut or a bad disk leaves. The take-over never fails, never takes an event twice or
 * out of order, keeps every whole event before the cut, and brings back the one marked
 * done only while its mark is cut off (sending it again is harmless: the re-send
 * skips what the stream holds). A damaged byte, in a record's tag, length, body or
 * checksum, or in the magic, costs only the record it is in.
 */
static void journal_cut_or_damaged_anywhere(void **state)
{
    unsigned char *data;
    char path[128];
    size_t size, last = 0;
    int ids[8];

    (void)state;
    log_set_level(LOG_LEVEL_ERROR); /* a take-over's lines, a thousand times over */
    data = crashed_segment(true, path, &size);

    for (size_t cut = 0; cut <= size; cut++) {
        size_t n, kept = 0;

        write_only(path, data, cut);
        n = take_over(ids);
        for (size_t i = 0; i < n; i++) {
            assert_true(ids[i] >= 0 && ids[i] <= 3 && (i == 0 || ids[i] > ids[i - 1]));
            kept += ids[i] > 0; /* id-0 comes back only while its done mark is cut off */
        }
        assert_true(kept >= last); /* a longer file keeps at least as much */
        last = kept;
        if (cut == size)
            assert_true(n == 3 && ids[0] == 1);
    }
    assert_int_equal(last, 3);
    for (size_t at = 0; at < size; at++) {
        int hit = record_holding(data, size, at), want[4], n_want = 0;
        size_t n;

        /* A damaged byte costs the record it is in, never another: id-0 (done) comes
         * back only when its done mark, record 4, is the one hit. */
        for (int k = hit == 4 ? 0 : 1; k <= 3; k++)
            if (k != hit)
                want[n_want++] = k;
        data[at] ^= 0x5a;
        write_only(path, data, size);
        n = take_over(ids);
        data[at] ^= 0x5a;
        assert_int_equal(n, (size_t)n_want);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(ids[i], want[i]);
    }
    free(data);
    log_set_level(LOG_LEVEL_INFO);
}

/* What fd 2 received while fn ran, in out (NUL-terminated, cut at size - 1). */
static void capture_stderr(void (*fn)(void *), void *arg, char *out, size_t size)
{
    FILE *tmp = tmpfile();
    int saved = dup(2);
    size_t n;

    assert_non_null(tmp);
    assert_true(saved >= 0);
    fflush(stderr);
    assert_true(dup2(fileno(tmp), 2) >= 0);
    fn(arg);
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    rewind(tmp);
    n = fread(out, 1, size - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
}

struct taken {
    int ids[8];
    size_t n;
};

static void take_over_into(void *arg)
{
    struct taken *t = arg;

    t->n = take_over(t->ids);
}

/* Damaged bytes (a bad sector) are skipped with a warning naming the segment and the
 * bytes; the whole records after them are taken over. */
static void journal_damaged_record_is_skipped(void **state)
{
    struct taken t = {{0}, 0};
    unsigned char *data;
    char path[128], log[4096];
    size_t size;

    (void)state;
    data = crashed_segment(false, path, &size);
    data[record_offset(data, 0) + 30] ^= 0x5a; /* id-0's body fails its checksum */
    data[record_offset(data, 2) + 4] ^= 0x01;  /* id-2's length one byte off */
    data[size - 1] ^= 0x5a;                    /* id-3's checksum */
    write_only(path, data, size);
    free(data);

    capture_stderr(take_over_into, &t, log, sizeof(log));
    assert_int_equal(t.n, 1);
    assert_int_equal(t.ids[0], 1);
    assert_non_null(strstr(log, "are damaged (no whole record); skipped, the records after "
                                "them taken over"));
    assert_non_null(strstr(log, ", its end, are damaged (no whole record); skipped"));
    assert_non_null(strstr(log, path));
}

static void journal_segments_roll_and_go_when_done(void **state)
{
    struct out_list leftover = {0}, items = {0};
    struct journal *j = open_journal(&leftover, 512);
    struct out_item *it;

    for (int k = 0; k < 40; k++) {
        it = event(k);
        assert_int_equal(journal_append(j, it, 0), 0);
        out_list_push(&items, it);
        assert_int_equal(journal_flush(j), 0);
    }
    assert_true(count_segments() > 3);
    for (it = items.head; it; it = it->next)
        journal_done(j, it->jseq);
    assert_int_equal(journal_flush(j), 0);
    assert_int_equal(count_segments(), 1); /* only the active one */
    assert_int_equal(journal_outstanding(j), 0);
    journal_close(j);
    assert_int_equal(count_segments(), 0);
    out_list_free(&items);
}

static void journal_full_at_max_bytes(void **state)
{
    struct out_list leftover = {0}, items = {0};
    struct journal_options opt = {.dir = dir, .max_bytes = 2048, .segment_bytes = 1024};
    struct journal *j = journal_open(&opt, &leftover);
    int k;

    assert_non_null(j);
    for (k = 0; k < 1000 && !journal_full(j); k++) {
        struct out_item *it = event(k);
        assert_int_equal(journal_append(j, it, 0), 0);
        out_list_push(&items, it);
        assert_int_equal(journal_flush(j), 0);
    }
    assert_true(journal_full(j));
    assert_true(k > 10 && k < 100);
    for (struct out_item *it = items.head; it; it = it->next)
        journal_done(j, it->jseq);
    assert_int_equal(journal_flush(j), 0);
    assert_false(journal_full(j));
    journal_close(j);
    out_list_free(&items);
}

static void journal_folder_is_locked(void **state)
{
    struct out_list leftover = {0};
    struct journal *j = open_journal(&leftover, 1 << 20);
    struct journal_options opt = {.dir = dir, .max_bytes = 1 << 20, .segment_bytes = 1 << 20};

    errno = 0;
    assert_null(journal_open(&opt, &leftover));
    assert_int_equal(errno, EWOULDBLOCK);
    journal_close(j);
}

/* Big-endian u32 and u64 into a byte buffer, as the journal writes them. */
static unsigned char *be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *p++ = (unsigned char)(v >> (8 * i));
    return p;
}

static unsigned char *field(unsigned char *p, const char *s, size_t len)
{
    p = be(p, len, 4);
    memcpy(p, s, len);
    return p + len;
}

/* A segment an older hub wrote ("RHJRNL1\n", FNV-1a checksums), after a crash: its
 * events not marked done are taken over by this version. */
static void journal_takes_over_a_version_1_segment(void **state)
{
    struct out_list leftover = {0};
    unsigned char rec[256], *p, *body;
    uint32_t h = 2166136261u;
    char path[128];
    struct journal *j;
    FILE *f;

    for (int k = 0; k < 2; k++) {
        char id[8];
        snprintf(id, sizeof(id), "id-%d", k);
        p = rec;
        *p++ = 'E';
        p += 4; /* body length, below */
        body = p;
        p = be(p, (uint64_t)k + 1, 8);
        p = be(p, 500, 8);
        p = field(p, "p:events:sensor.x", 17);
        p = field(p, id, strlen(id));
        p = field(p, "linz/sensor/x/a", 15);
        p = field(p, "env\0", 4);
        be(rec + 1, (uint64_t)(p - body), 4);
        h = 2166136261u;
        for (unsigned char *b = body; b < p; b++)
            h = (h ^ *b) * 16777619u;
        p = be(p, h, 4);
        snprintf(path, sizeof(path), "%s/journal-1.log", dir);
        f = fopen(path, k == 0 ? "wb" : "ab");
        assert_non_null(f);
        if (k == 0)
            assert_int_equal(fwrite("RHJRNL1\n", 1, 8, f), 8);
        assert_int_equal(fwrite(rec, 1, (size_t)(p - rec), f), (size_t)(p - rec));
        fclose(f);
    }
    /* A last record whose checksum is wrong is skipped, in version 1 too. */
    f = fopen(path, "ab");
    rec[p - rec - 1] ^= 1;
    assert_int_equal(fwrite(rec, 1, (size_t)(p - rec), f), (size_t)(p - rec));
    fclose(f);

    j = open_journal(&leftover, 1 << 20);
    assert_int_equal(leftover.len, 2);
    assert_string_equal(leftover.head->id, "id-0");
    assert_string_equal(leftover.tail->id, "id-1");
    assert_int_equal(leftover.tail->after_ms, 500);
    assert_int_equal(leftover.tail->env_len, 4);
    assert_memory_equal(leftover.tail->env, "env\0", 4);
    assert_string_equal(leftover.tail->topic, "linz/sensor/x/a");
    for (struct out_item *it = leftover.head; it; it = it->next)
        journal_done(j, it->jseq);
    journal_close(j);
    assert_int_equal(count_segments(), 0);
    out_list_free(&leftover);
}

/* Files this process writes may grow to max bytes (a full disk); write() then fails. */
static void limit_file_size(rlim_t max)
{
    struct rlimit rl;

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
    rl.rlim_cur = max;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/*
 * A start on a full disk: the events taken over cannot be written to the new segment.
 * The old segment must stay until they are, or a second crash loses them.
 */
static void journal_take_over_on_a_full_disk_keeps_the_old_segment(void **state)
{
    struct out_list leftover = {0}, items = {0};
    struct journal *j = open_journal(&leftover, 1 << 20);
    struct out_item *it;

    for (int k = 0; k < 3; k++) {
        it = event(k);
        assert_int_equal(journal_append(j, it, 0), 0);
        out_list_push(&items, it);
    }
    assert_int_equal(journal_flush(j), 0);
    crash(j);

    signal(SIGXFSZ, SIG_IGN);
    limit_file_size(16); /* the new segment takes its magic line, no record */
    j = open_journal(&leftover, 1 << 20);
    assert_int_equal(leftover.len, 3);
    assert_true(journal_blocked(j));
    crash(j); /* killed again before Redis confirmed them */
    limit_file_size(RLIM_INFINITY);
    out_list_free(&leftover);

    j = open_journal(&leftover, 1 << 20);
    assert_int_equal(leftover.len, 3);
    assert_string_equal(leftover.head->id, "id-0");
    assert_string_equal(leftover.tail->id, "id-2");
    for (it = leftover.head; it; it = it->next)
        journal_done(j, it->jseq);
    journal_close(j);
    assert_int_equal(count_segments(), 0);
    out_list_free(&leftover);
    out_list_free(&items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(journal_takes_over_what_is_not_done, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_torn_tail_keeps_what_came_before, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(journal_cut_or_damaged_anywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_damaged_record_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_segments_roll_and_go_when_done, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_full_at_max_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_folder_is_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_takes_over_a_version_1_segment, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(journal_take_over_on_a_full_disk_keeps_the_old_segment,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
