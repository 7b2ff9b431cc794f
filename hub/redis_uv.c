// SPDX-License-Identifier: MIT
/*
 * hiredis event hooks on a uv_poll_t. The poll handle belongs to the context: hiredis
 * calls cleanup when it frees the context, and the handle's memory goes with its
 * close callback. Poll errors are handed to hiredis as readiness, so its own read or
 * connect check sees the socket error and disconnects with a reason.
 *
 * Writes: hiredis asks for write readiness after every command it queues. Arming the
 * poll for it and disarming it after the write would cost four epoll_ctl calls per
 * loop turn (uv_poll_start takes the fd out of epoll and puts it back). Instead a
 * prepare handle writes what the turn queued just before the loop waits for I/O, all
 * commands in one write; only when the socket does not take everything (or while the
 * connect is in progress) is the poll armed for writing.
 */
#include "redis_uv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

struct redis_uv {
    uv_poll_t poll;
    uv_prepare_t flush;    /* writes the turn's commands before the loop waits */
    redisAsyncContext *ac; /* NULL once hiredis has let go of us */
    int events;            /* what poll is armed for */
    bool want_write;       /* hiredis has output waiting for the flush */
    bool flushing;         /* inside the flush's write: a new write request means "full" */
    int open_handles;      /* freed when both handles are closed */
};

static void on_poll(uv_poll_t *handle, int status, int events)
{
    struct redis_uv *p = handle->data;

    if (status < 0) {
        /* Let hiredis find the error: a connect in progress is checked on write. */
        events = (p->ac && !(p->ac->c.flags & REDIS_CONNECTED)) ? UV_WRITABLE : UV_READABLE;
    }
    if (p->ac && (events & UV_READABLE))
        redisAsyncHandleRead(p->ac);
    if (p->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(p->ac);
}

static void update(struct redis_uv *p, int add, int del)
{
    int events = (p->events | add) & ~del;

    if (events == p->events)
        return;
    p->events = events;
    if (events)
        uv_poll_start(&p->poll, events, on_poll);
    else
        uv_poll_stop(&p->poll);
}

static void on_flush(uv_prepare_t *handle)
{
    struct redis_uv *p = handle->data;

    uv_prepare_stop(handle);
    if (!p->ac || !p->want_write)
        return;
    p->want_write = false;
    p->flushing = true;
    redisAsyncHandleWrite(p->ac); /* may free the context: p lives until the close callbacks */
    p->flushing = false;
}

static void add_read(void *data)
{
    update(data, UV_READABLE, 0);
}

static void del_read(void *data)
{
    update(data, 0, UV_READABLE);
}

static void add_write(void *data)
{
    struct redis_uv *p = data;

    if (p->flushing || !p->ac || !(p->ac->c.flags & REDIS_CONNECTED)) {
        update(p, UV_WRITABLE, 0); /* the socket is full, or the connect completes on write */
        return;
    }
    if (p->events & UV_WRITABLE)
        return; /* the poll writes the rest, this command with it */
    p->want_write = true;
    uv_prepare_start(&p->flush, on_flush);
}

static void del_write(void *data)
{
    struct redis_uv *p = data;

    p->want_write = false;
    update(p, 0, UV_WRITABLE);
}

static void on_close(uv_handle_t *handle)
{
    struct redis_uv *p = handle->data;

    if (--p->open_handles == 0)
        free(p);
}

static void cleanup(void *data)
{
    struct redis_uv *p = data;

    p->ac = NULL;
    p->want_write = false;
    uv_poll_stop(&p->poll);
    uv_prepare_stop(&p->flush);
    uv_close((uv_handle_t *)&p->poll, on_close);
    uv_close((uv_handle_t *)&p->flush, on_close);
}

int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    struct redis_uv *p;
    int r;

    if (ac->ev.data != NULL)
        return -EEXIST;
    if (!(p = calloc(1, sizeof(*p))))
        return -ENOMEM;
    if ((r = uv_poll_init_socket(loop, &p->poll, ac->c.fd)) < 0) {
        free(p);
        return r;
    }
    uv_prepare_init(loop, &p->flush); /* cannot fail */
    p->open_handles = 2;
    p->poll.data = p;
    p->flush.data = p;
    p->ac = ac;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = p;
    return 0;
}
