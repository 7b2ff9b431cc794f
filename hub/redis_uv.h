// SPDX-License-Identifier: MIT
/*
 * The glue between hiredis's async API and libuv. Debian's hiredis 0.14 ships an
 * adapter that drops poll errors, so a refused connect never calls back and hangs
 * (PITFALLS.md); this one passes every error on to hiredis.
 */
#ifndef RHEINHUB_REDIS_UV_H
#define RHEINHUB_REDIS_UV_H

#include <hiredis/async.h>
#include <uv.h>

/* Attaches ac to loop. Returns 0, or a negative errno (ac is then untouched). */
int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
