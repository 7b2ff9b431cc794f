// SPDX-License-Identifier: MIT
/*
 * A small HTTP server for /healthz and /metrics: libmicrohttpd in external-epoll
 * mode, driven by the hub's libuv loop, so that handlers read the hub's state
 * without locks.
 */
#ifndef RHEINHUB_HTTP_H
#define RHEINHUB_HTTP_H

#include <stdio.h>

#include <uv.h>

/* Writes the body of a GET on path to out and returns the HTTP status. */
typedef int (*http_render_cb)(void *data, FILE *out);

struct http_route {
    const char *path;
    const char *content_type;
    http_render_cb render;
};

struct http_server;

/*
 * Listens on bind:port and serves routes (a static table ending with a NULL path).
 * Returns NULL with errno set.
 */
struct http_server *http_server_new(uv_loop_t *loop, const char *bind, int port,
                                    const struct http_route *routes, void *data);

/* Writes s to out as a JSON string, quoted, with '"', '\\' and control characters escaped. */
void http_json_string(FILE *out, const char *s);

/* Stops listening and closes the loop's handles; the memory goes in their close callbacks. */
void http_server_close(struct http_server *srv);

#endif
