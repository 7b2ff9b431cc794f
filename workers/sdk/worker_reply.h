// SPDX-License-Identifier: MIT
/*
 * Replies built in an arena (worker_reply.c): hiredis's reader makes a reply's objects
 * with the arena's functions instead of one calloc and one malloc each, and the whole
 * reply goes at once when the arena is reset. For the large replies of XREADGROUP.
 */
#ifndef RHEINHUB_WORKER_REPLY_H
#define RHEINHUB_WORKER_REPLY_H

#include <stddef.h>

#include <hiredis/hiredis.h>

struct worker_reply_chunk;

/* Zero-initialised is empty and ready. */
struct worker_reply_arena {
    struct worker_reply_chunk *chunks; /* the newest first */
    size_t used;                       /* bytes taken in the newest chunk */
};

/*
 * redisGetReply with the reply's objects in *a: 0 and *reply set, or -1 when hiredis
 * failed (c->err set; the link is to be dropped). The reply is a redisReply as usual but
 * must never reach freeReplyObject: it lives until worker_reply_reset(a). Replies read
 * otherwise on the same context are hiredis's own.
 */
int worker_reply_get(struct worker_reply_arena *a, redisContext *c, redisReply **reply);

/* The same on a bare reader (tests): redisReaderGetReply's result, *reply NULL when
 * the input holds no whole reply yet (the next call, with the same arena, goes on). */
int worker_reply_read(struct worker_reply_arena *a, redisReader *r, redisReply **reply);

/* Frees every reply read into *a; keeps one chunk for the next. */
void worker_reply_reset(struct worker_reply_arena *a);

/* Frees everything; *a is empty again. */
void worker_reply_close(struct worker_reply_arena *a);

#endif
