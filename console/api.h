// SPDX-License-Identifier: MIT
/*
 * The console's JSON API (api.c), called by web.c for every /api/ request except the
 * event stream. Each handler gets the parsed request and fills a reply: a status, a
 * JSON body and at most one Set-Cookie header. Errors are {"error": code, "message":
 * text}; the page shows its own translation of the code.
 */
#ifndef RHEINHUB_CONSOLE_API_H
#define RHEINHUB_CONSOLE_API_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "console.h"

struct api_request {
    const char *method;     /* GET or POST */
    const char *path;       /* after /api */
    const char *session;    /* the cookie's token, or NULL */
    const char *csrf;       /* X-CSRF-Token, or NULL */
    const char *client;     /* the peer's address, for the login throttle */
    const char *body;       /* POST: the JSON body (NUL-terminated), or NULL */
    size_t body_len;
    const char *(*arg)(void *conn, const char *name); /* query argument, or NULL */
    void *conn;
};

struct api_reply {
    int status;
    json_t *body;           /* owned; NULL: no body */
    char *text;             /* owned: the body as JSON text, sent instead of body; or NULL */
    char cookie[256];       /* Set-Cookie value, or "" */
    int retry_after_s;      /* 429: Retry-After */
};

/* Handles one request. */
void api_handle(struct console *c, const struct api_request *req, struct api_reply *reply);

#define API_COOKIE "rheinhub_console"

#endif
