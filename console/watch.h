// SPDX-License-Identifier: MIT
/*
 * The console's own MQTT session (watch.c): it reads every alert state and aggregate
 * (retained and live) into the board, on libmosquitto's thread. It publishes nothing;
 * acknowledgements go out through each operator's own session (operator.h).
 */
#ifndef RHEINHUB_CONSOLE_WATCH_H
#define RHEINHUB_CONSOLE_WATCH_H

#include <stdbool.h>

#include "board.h"

struct watch;

struct watch_options {
    const char *host;
    int port;
    const char *client_id;
    const char *username; /* NULL or "": anonymous */
    const char *password;
    int keepalive_s;
};

/* Starts the session and its thread; it reconnects by itself. NULL with errno set. */
struct watch *watch_start(const struct watch_options *opt, struct board *board);

enum watch_state {
    WATCH_DOWN,        /* not connected */
    WATCH_SUBSCRIBING, /* connected, the SUBACK not in yet */
    WATCH_REFUSED,     /* the broker refused a subscription (its ACL): nothing comes */
    WATCH_UP,          /* connected, both subscriptions granted: the board is fed */
};

/* The session's state now (w may be NULL: down). */
enum watch_state watch_state(struct watch *w);
/* "down", "subscribing", "refused" or "up". */
const char *watch_state_name(enum watch_state s);

void watch_stop(struct watch *w);

#endif
