// SPDX-License-Identifier: MIT
/*
 * Unit tests of the worker SDK's reply arena: a reply read into the arena has the same
 * shape and bytes as hiredis's own (XREADGROUP entries, integers, nil, errors, empty and
 * nested arrays, binary strings, strings larger than a chunk), also fed a byte at a
 * time; a protocol error leaves nothing of ours in the reader; the reader's own
 * functions are back after each read; many replies and resets in a row.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "worker_reply.h"

/* Fails, naming the path, unless the two replies have the same shape and bytes. */
static void assert_same(const redisReply *a, const redisReply *b, const char *path)
{
    char sub[256];

    if (a->type != b->type)
        fail_msg("%s: type %d, expected %d", path, b->type, a->type);
    switch (a->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        assert_int_equal(b->len, a->len);
        assert_memory_equal(b->str, a->str, a->len);
        assert_int_equal(b->str[b->len], '\0');
        break;
    case REDIS_REPLY_INTEGER:
        assert_int_equal(b->integer, a->integer);
        break;
    case REDIS_REPLY_ARRAY:
        assert_int_equal(b->elements, a->elements);
        for (size_t i = 0; i < a->elements; i++) {
            snprintf(sub, sizeof(sub), "%s/%zu", path, i);
            assert_same(a->element[i], b->element[i], sub);
        }
        break;
    default:
        break;
    }
}

/* Reads text with hiredis's own functions: the reference reply (freeReplyObject). */
static redisReply *reference(const char *text, size_t len)
{
    redisReader *r = redisReaderCreate();
    void *reply = NULL;

    assert_non_null(r);
    assert_int_equal(redisReaderFeed(r, text, len), REDIS_OK);
    assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
    assert_non_null(reply);
    redisReaderFree(r);
    return reply;
}

/* Reads text into the arena, fed whole or a byte at a time, and compares. */
static void check(struct worker_reply_arena *a, const char *text, size_t len, bool bytewise)
{
    redisReply *want = reference(text, len), *got = NULL;
    redisReader *r = redisReaderCreate();
    redisReplyObjectFunctions *own;

    assert_non_null(r);
    own = r->fn;
    if (!bytewise) {
        assert_int_equal(redisReaderFeed(r, text, len), REDIS_OK);
        assert_int_equal(worker_reply_read(a, r, &got), REDIS_OK);
    } else {
        for (size_t i = 0; i < len; i++) {
            assert_null(got);
            assert_int_equal(redisReaderFeed(r, text + i, 1), REDIS_OK);
            assert_int_equal(worker_reply_read(a, r, &got), REDIS_OK);
        }
    }
    assert_non_null(got);
    assert_ptr_equal(r->fn, own);
    assert_null(r->privdata);
    assert_same(want, got, "");
    redisReaderFree(r);
    freeReplyObject(want);
}

#define XREAD                                                                              \
    "*2\r\n"                                                                               \
    "*2\r\n$33\r\nrheinhub:events:sensor.waterlevel\r\n"                                   \
    "*2\r\n"                                                                               \
    "*2\r\n$15\r\n1733300000000-0\r\n*4\r\n$2\r\nid\r\n$4\r\nab12\r\n$3\r\nenv\r\n"          \
    "$5\r\n\x8a\x00\r\n\xff\r\n"                                                           \
    "*2\r\n$15\r\n1733300000000-1\r\n*-1\r\n"                                             \
    "*2\r\n$10\r\nrheinhub:x\r\n*0\r\n"

static void worker_reply_matches_hiredis(void **state)
{
    static const char *const texts[] = {
        XREAD,
        ":-42\r\n",
        "$-1\r\n",
        "*-1\r\n",
        "-NOGROUP No such key\r\n",
        "+OK\r\n",
        "*3\r\n:1\r\n*1\r\n*1\r\n*0\r\n$0\r\n\r\n",
    };
    struct worker_reply_arena a = {0};

    (void)state;
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
            size_t len = i == 0 ? sizeof(XREAD) - 1 : strlen(texts[i]);
            check(&a, texts[i], len, bytewise);
            worker_reply_reset(&a);
        }
    }
    worker_reply_close(&a);
}

/* Strings larger than a chunk, and many replies before one reset. */
static void worker_reply_large_and_many(void **state)
{
    size_t big = 200 * 1024;
    char *text = malloc(big + 64);
    struct worker_reply_arena a = {0};
    int n;

    (void)state;
    assert_non_null(text);
    n = snprintf(text, 64, "*2\r\n$%zu\r\n", big);
    memset(text + n, 'x', big);
    memcpy(text + n + big, "\r\n:7\r\n", 6);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20; i++)
            check(&a, text, (size_t)n + big + 6, false);
        check(&a, XREAD, sizeof(XREAD) - 1, false);
        worker_reply_reset(&a);
    }
    worker_reply_close(&a);
    worker_reply_close(&a); /* closed twice: still empty */
    free(text);
}

/* A protocol error: hiredis gives up on the half reply; nothing of ours stays in it. */
static void worker_reply_protocol_error(void **state)
{
    static const char text[] = "*3\r\n$2\r\nab\r\n!oops\r\n";
    struct worker_reply_arena a = {0};
    redisReader *r = redisReaderCreate();
    redisReply *got = NULL;

    (void)state;
    assert_non_null(r);
    assert_int_equal(redisReaderFeed(r, text, sizeof(text) - 1), REDIS_OK);
    assert_int_equal(worker_reply_read(&a, r, &got), REDIS_ERR);
    assert_null(got);
    assert_null(r->reply);
    assert_int_not_equal(r->err, 0);
    redisReaderFree(r); /* must not free arena memory */
    worker_reply_close(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(worker_reply_matches_hiredis),
        cmocka_unit_test(worker_reply_large_and_many),
        cmocka_unit_test(worker_reply_protocol_error),
    };

    return cmocka_run_group_tests_name("worker_reply", tests, NULL, NULL);
}
