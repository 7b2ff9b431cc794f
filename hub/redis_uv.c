// SPDX-License-Identifier: MIT
/*
 * hiredis event hooks on a uv_poll_t. The poll handle belongs to the context: hiredis
 * calls cleanup when it frees the context, and the handle's memory goes with its
 * close callback. Poll errors are handed to hiredis as readiness, so its own read or
 * connect check sees the socket error and disconnects with a reason.
 */
#include "redis_uv.h"

#include <errno.h>
#include <stdlib.h>

struct redis_uv {
    uv_poll_t poll;
    redisAsyncContext *ac; /* NULL once hiredis has let go of us */
    int events;
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
    update(data, UV_WRITABLE, 0);
}

static void del_write(void *data)
{
    update(data, 0, UV_WRITABLE);
}

static void on_close(uv_handle_t *handle)
{
    free(handle->data);
}

static void cleanup(void *data)
{
    struct redis_uv *p = data;

    p->ac = NULL;
    uv_poll_stop(&p->poll);
    uv_close((uv_handle_t *)&p->poll, on_close);
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
    p->poll.data = p;
    p->ac = ac;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    ac->ev.data = p;
    return 0;
}
