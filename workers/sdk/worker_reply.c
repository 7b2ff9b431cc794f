// SPDX-License-Identifier: MIT
/*
 * Replies in an arena. hiredis builds every reply object with a calloc, its string with a
 * malloc, and frees each again in freeReplyObject: for an XREADGROUP reply seven objects
 * per entry, a fifth of a worker's instructions per event. The reader's object
 * functions (redisReplyObjectFunctions, hiredis's documented hook) are swapped for the
 * length of one reply for functions that take the same redisReply structs and strings
 * from chunks of an arena, which is emptied when the caller is done with the reply.
 * The protocol is still parsed by hiredis.
 */
#include "worker_reply.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_BYTES (64 * 1024) /* an XREADGROUP reply of ~100 entries of ~400 bytes */

struct worker_reply_chunk {
    struct worker_reply_chunk *next;
    size_t size;                          /* bytes in data */
    alignas(max_align_t) unsigned char data[];
};

/* n bytes, aligned for any object, from the newest chunk or a new one; NULL when out of
 * memory. */
static void *arena_alloc(struct worker_reply_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    struct worker_reply_chunk *c = a->chunks;
    size_t at = (a->used + align - 1) & ~(align - 1);

    if (!c || at > c->size || c->size - at < n) {
        size_t size = n > CHUNK_BYTES ? n : CHUNK_BYTES;
        if (!(c = malloc(sizeof(*c) + size)))
            return NULL;
        c->next = a->chunks;
        c->size = size;
        a->chunks = c;
        at = 0;
    }
    a->used = at + n;
    return c->data + at;
}

/* A reply object of type, linked into its parent array as hiredis's own would be. */
static redisReply *object(const redisReadTask *task, int type)
{
    redisReply *r = arena_alloc(task->privdata, sizeof(*r));

    if (!r)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->type = type;
    if (task->parent)
        ((redisReply *)task->parent->obj)->element[task->idx] = r;
    return r;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
    redisReply *r;
    char *buf;

    if (len == SIZE_MAX || !(buf = arena_alloc(task->privdata, len + 1)))
        return NULL;
    if (!(r = object(task, task->type)))
        return NULL;
    memcpy(buf, str, len);
    buf[len] = '\0';
    r->str = buf;
    r->len = len;
    return r;
}

static void *create_array(const redisReadTask *task, int elements)
{
    redisReply *r;
    redisReply **element = NULL;

    if (elements < 0)
        return NULL;
    if (elements > 0) {
        if (!(element = arena_alloc(task->privdata, (size_t)elements * sizeof(*element))))
            return NULL;
        memset(element, 0, (size_t)elements * sizeof(*element));
    }
    if (!(r = object(task, REDIS_REPLY_ARRAY)))
        return NULL;
    r->element = element;
    r->elements = (size_t)elements;
    return r;
}

static void *create_integer(const redisReadTask *task, long long value)
{
    redisReply *r = object(task, REDIS_REPLY_INTEGER);

    if (r)
        r->integer = value;
    return r;
}

static void *create_nil(const redisReadTask *task)
{
    return object(task, REDIS_REPLY_NIL);
}

/* hiredis frees a reply it gives up on (a protocol error): the arena keeps it until reset. */
static void free_object(void *reply)
{
    (void)reply;
}

static redisReplyObjectFunctions arena_functions = {
    create_string, create_array, create_integer, create_nil, free_object,
};

int worker_reply_read(struct worker_reply_arena *a, redisReader *r, redisReply **reply)
{
    redisReplyObjectFunctions *fn = r->fn;
    void *privdata = r->privdata;
    int rc;

    *reply = NULL;
    r->fn = &arena_functions;
    r->privdata = a;
    rc = redisReaderGetReply(r, (void **)reply);
    /* Half a reply of ours must never reach the reader's own freeObject. Incomplete
     * input is no error: the reply is finished by the next call, with this arena. */
    if (rc != REDIS_OK)
        r->reply = NULL;
    r->fn = fn;
    r->privdata = privdata;
    return rc;
}

int worker_reply_get(struct worker_reply_arena *a, redisContext *c, redisReply **reply)
{
    redisReader *r = c->reader;
    redisReplyObjectFunctions *fn = r->fn;
    void *privdata = r->privdata;
    int rc;

    *reply = NULL;
    r->fn = &arena_functions;
    r->privdata = a;
    rc = redisGetReply(c, (void **)reply);
    if (rc != REDIS_OK)
        r->reply = NULL; /* what it had of the reply is ours, not its freeObject's */
    r->fn = fn;
    r->privdata = privdata;
    return rc == REDIS_OK && *reply ? 0 : -1;
}

void worker_reply_reset(struct worker_reply_arena *a)
{
    struct worker_reply_chunk *keep = NULL;

    while (a->chunks) {
        struct worker_reply_chunk *c = a->chunks;
        a->chunks = c->next;
        if (!keep && c->size == CHUNK_BYTES) {
            keep = c;
            continue;
        }
        free(c);
    }
    if (keep)
        keep->next = NULL;
    a->chunks = keep;
    a->used = 0;
}

void worker_reply_close(struct worker_reply_arena *a)
{
    worker_reply_reset(a);
    free(a->chunks);
    a->chunks = NULL;
}
