// SPDX-License-Identifier: MIT
/*
 * The parts of rheinhub-console that the HTTP handlers share (main.c builds them):
 * the configuration, the live board, the operator sessions, the login throttle, the
 * page's files, the readers of the database and Redis, the console's own MQTT session
 * and its counters.
 */
#ifndef RHEINHUB_CONSOLE_H
#define RHEINHUB_CONSOLE_H

#include <stdbool.h>

#include "board.h"
#include "config.h"
#include "counters.h"
#include "files.h"
#include "history.h"
#include "session.h"
#include "throttle.h"

struct watch;

struct console {
    const struct hub_config *cfg;
    const char *broker_host;
    int broker_port;
    bool tls;                 /* HTTPS: the cookie is Secure, HSTS is sent */
    struct board *board;
    struct sessions *sessions;
    struct throttle *throttle; /* the API's POST thread only (web.c) */
    struct files *files;
    struct history history;
    struct watch *watch;      /* its own MQTT session, for /healthz and /metrics */
    struct counters counters; /* what /metrics counts (counters.h) */
};

#endif
