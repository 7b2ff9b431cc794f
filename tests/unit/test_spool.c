// SPDX-License-Identifier: MIT
/* Unit tests for the shutdown spool (hub/spool.c) and the RESP-encoded entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "out_item.h"
#include "spool.h"

static char path[64];

static int setup(void **state)
{
    int fd;

    snprintf(path, sizeof(path), "/tmp/test_spool.XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    return 0;
}

static int teardown(void **state)
{
    char tmp[80];

    unlink(path);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(tmp);
    return 0;
}

static void spool_event_is_resp_xadd(void **state)
{
    static const char env[] = {'\x82', '\xa1', 'a', '\x01', '\0', '\r', '\n'};
    struct out_item *it = out_item_event_new("s:events:sensor.x", "abc", env, sizeof(env), "l/s/x/y");
    static const char expected[] = "*7\r\n$4\r\nXADD\r\n$17\r\ns:events:sensor.x\r\n$1\r\n*\r\n"
                                   "$2\r\nid\r\n$3\r\nabc\r\n$3\r\nenv\r\n$7\r\n";

    assert_non_null(it);
    assert_int_equal(it->cmd_len, sizeof(expected) - 1 + sizeof(env) + 2);
    assert_memory_equal(it->cmd, expected, sizeof(expected) - 1);
    assert_memory_equal(it->env, env, sizeof(env));
    assert_string_equal(it->key, "s:events:sensor.x");
    assert_string_equal(it->id, "abc");
    assert_string_equal(it->topic, "l/s/x/y");
    free(it);
}

static void spool_round_trip(void **state)
{
    struct out_list a = {0}, b = {0}, events = {0}, others = {0};
    struct out_list *lists[] = {&a, &b};
    char env[300];
    struct out_item *it;
    int n = 0;

    for (size_t i = 0; i < sizeof(env); i++)
        env[i] = (char)i;
    for (int i = 0; i < 50; i++) {
        char id[16];
        snprintf(id, sizeof(id), "id-%d", i);
        out_list_push(i % 2 ? &a : &b,
                      out_item_event_new("k", id, env, (size_t)i * 6, "m/sensor/t/s"));
    }
    out_list_push(&b, out_item_raw_new("*1\r\n$4\r\nPING\r\n", 14));
    assert_int_equal(spool_save(path, lists, 2), 51);
    /* The lists are left as they were. */
    assert_int_equal(a.len, 25);
    assert_int_equal(b.len, 26);
    assert_int_equal(spool_load(path, &events, &others), 51);
    assert_int_equal(events.len, 50);
    assert_int_equal(others.len, 1);
    for (it = events.head; it; it = it->next) {
        const struct out_item *orig = (n < 25) ? a.head : b.head;
        for (int k = 0; k < (n < 25 ? n : n - 25); k++)
            orig = orig->next;
        assert_true(it->from_spool);
        assert_string_equal(it->id, orig->id);
        assert_int_equal(it->env_len, orig->env_len);
        assert_memory_equal(it->env, orig->env, orig->env_len);
        assert_int_equal(it->cmd_len, orig->cmd_len);
        assert_memory_equal(it->cmd, orig->cmd, orig->cmd_len);
        n++;
    }
    assert_int_equal(others.head->cmd_len, 14);
    assert_memory_equal(others.head->cmd, "*1\r\n$4\r\nPING\r\n", 14);
    out_list_free(&a);
    out_list_free(&b);
    out_list_free(&events);
    out_list_free(&others);
}

static long file_size(const char *p)
{
    struct stat st;

    assert_int_equal(stat(p, &st), 0);
    return (long)st.st_size;
}

static void spool_missing_and_damaged(void **state)
{
    struct out_list events = {0}, others = {0};
    struct out_list one = {0};
    struct out_list *lists[] = {&one};
    FILE *f;
    long size;

    assert_int_equal(spool_load(path, &events, &others), -ENOENT);
    out_list_push(&one, out_item_event_new("k", "first", "e1", 2, "t"));
    out_list_push(&one, out_item_event_new("k", "second", "e2", 2, "t"));
    assert_int_equal(spool_save(path, lists, 1), 2);
    /* Cut the file inside the second record: the first survives, the load says -EINVAL. */
    size = file_size(path);
    assert_int_equal(truncate(path, size - 3), 0);
    assert_int_equal(spool_load(path, &events, &others), -EINVAL);
    assert_int_equal(events.len, 1);
    assert_string_equal(events.head->id, "first");
    out_list_free(&events);
    /* Cut inside a field's bytes, after its length: refused the same way (the field
     * read so far was freed twice before). */
    assert_int_equal(spool_save(path, lists, 1), 2);
    assert_int_equal(truncate(path, size - 1), 0);
    assert_int_equal(spool_load(path, &events, &others), -EINVAL);
    assert_int_equal(events.len, 1);
    out_list_free(&events);
    /* A forged length does not make it allocate gigabytes. */
    f = fopen(path, "wb");
    fputs("RHSPOOL1\nE\xff\xff\xff\xff", f);
    fclose(f);
    assert_int_equal(spool_load(path, &events, &others), -EINVAL);
    assert_int_equal(events.len, 0);
    /* Not a spool at all. */
    f = fopen(path, "wb");
    fputs("hello", f);
    fclose(f);
    assert_int_equal(spool_load(path, &events, &others), -EINVAL);
    out_list_free(&one);
}

/* A spool cut at every length, and with each byte damaged: never more than was saved,
 * what a cut keeps in order, and never a crash (the sanitizers' builds run this too). */
static void spool_cut_or_damaged_anywhere(void **state)
{
    struct out_list one = {0}, events = {0}, others = {0};
    struct out_list *lists[] = {&one};
    unsigned char *data;
    long size;
    FILE *f;

    out_list_push(&one, out_item_event_new("k", "first", "e1\0x", 4, "t"));
    out_list_push(&one, out_item_raw_new("*1\r\n$4\r\nPING\r\n", 14));
    out_list_push(&one, out_item_event_new("k", "second", "e2", 2, "t"));
    assert_int_equal(spool_save(path, lists, 1), 3);
    size = file_size(path);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_non_null(data = malloc((size_t)size));
    assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    for (long cut = 0; cut <= 2 * size; cut++) {
        long len = cut <= size ? cut : size, at = cut - size - 1;
        int r;

        if (at >= 0)
            data[at] ^= 0x5a;
        f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        if (at >= 0)
            data[at] ^= 0x5a;
        r = spool_load(path, &events, &others);
        assert_true(r == -EINVAL || (r >= 0 && (size_t)r == events.len + others.len));
        assert_true(events.len <= 2 && others.len <= 1);
        if (events.len == 2 && at < 0) /* the spool has no checksum: a damaged id stays */
            assert_string_equal(events.tail->id, "second");
        /* A command taken is a whole one: only its four letters may have changed (a
         * damaged length or marker sent to Redis would make it misread what follows). */
        if (others.len == 1) {
            assert_int_equal(others.head->cmd_len, 14);
            assert_memory_equal(others.head->cmd, "*1\r\n$4\r\n", 8);
            assert_memory_equal(others.head->cmd + 12, "\r\n", 2);
        }
        if (cut == size)
            assert_int_equal(r, 3);
        out_list_free(&events);
        out_list_free(&others);
    }
    free(data);
    out_list_free(&one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spool_event_is_resp_xadd),
        cmocka_unit_test_setup_teardown(spool_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(spool_missing_and_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(spool_cut_or_damaged_anywhere, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
