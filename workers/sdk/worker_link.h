// SPDX-License-Identifier: MIT
/*
 * The worker's synchronous Redis link: connecting (with its options and AUTH),
 * one command at a time, and dropping the link after an error so that the loop
 * reconnects with backoff.
 */
#ifndef RHEINHUB_WORKER_LINK_H
#define RHEINHUB_WORKER_LINK_H

#include <stddef.h>

#include <hiredis/hiredis.h>

struct worker;

/*
 * Connects, with FD_CLOEXEC, TCP_NODELAY, keep-alive, a read timeout a bit above
 * block_ms (a hung Redis must not hang the worker) and AUTH when configured.
 * Returns 0, or -ENOTCONN (logged when the link was up or never tried; the next try is
 * scheduled with backoff). The caller re-reads what the link held (worker.c).
 */
int worker_link_connect(struct worker *w);

/* Frees the Redis link after an error (what failed, for the log); reconnects later. */
void worker_link_failed(struct worker *w, const char *what);

/*
 * Reads the replies of commands sent ahead (w->unread_replies, the XACKs that travel
 * with the next read) and logs refusals. Every use of the link other than that read
 * comes after it. Returns 0, or -ENOTCONN (the link failed and is down).
 */
int worker_link_drain(struct worker *w);

/*
 * One command on the link, after the replies sent ahead; NULL when the link failed (it is then down). lens may be
 * NULL for NUL-terminated arguments. The caller frees the reply.
 */
redisReply *worker_command(struct worker *w, int argc, const char **argv, const size_t *lens);

#endif
