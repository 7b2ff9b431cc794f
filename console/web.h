// SPDX-License-Identifier: MIT
/*
 * The console's HTTP(S) server (web.c): libmicrohttpd on its own thread, the page's
 * files, the JSON API (api.h) and the live stream of Server-Sent Events, whose
 * connections are suspended while they have nothing to send.
 */
#ifndef RHEINHUB_CONSOLE_WEB_H
#define RHEINHUB_CONSOLE_WEB_H

#include "console.h"

struct web;

/*
 * Listens on cfg->console.bind:port; with cert_pem and key_pem (NULL for plain HTTP)
 * over TLS. Returns NULL with a message on err.
 */
struct web *web_start(struct console *c, const char *cert_pem, const char *key_pem, char *err,
                      size_t err_size);

/* The board's park and wake callbacks: suspend and resume a stream's connection. */
void web_park(void *conn);
void web_wake(void *conn);

/* The port it listens on (useful with port 0). */
int web_port(struct web *w);

/* Ends the live streams, then stops the server. */
void web_stop(struct web *w);

#endif
