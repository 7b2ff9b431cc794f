// SPDX-License-Identifier: MIT
/*
 * Operator sessions of the console (session.c): a random cookie token, a separate
 * CSRF token that the page sends with every state change, the operator's name and
 * MQTT session, and the time of the last request for the idle timeout. A fixed table
 * of at most console.max_sessions; the HTTP thread and the clock thread share it.
 */
#ifndef RHEINHUB_CONSOLE_SESSION_H
#define RHEINHUB_CONSOLE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "operator.h"

#define SESSION_TOKEN_LEN 64 /* hex characters of 32 random bytes */
#define SESSION_USER_MAX 129

struct sessions;

/* What a request may know of its session: copies, valid after the lock is gone. */
struct session_info {
    char token[SESSION_TOKEN_LEN + 1];
    char csrf[SESSION_TOKEN_LEN + 1];
    char user[SESSION_USER_MAX];
    bool broker; /* its MQTT link is connected now (sessions_get) */
};

struct sessions *sessions_new(int max, int idle_timeout_s);
/* Closes every session's MQTT link. */
void sessions_free(struct sessions *s);

/*
 * Opens a session for user over link (taken over, also on failure). Returns 0 and
 * fills *info, -ENOSPC when the table is full, -EIO without randomness.
 */
int sessions_open(struct sessions *s, const char *user, struct operator_link *link,
                  struct session_info *info);

/*
 * Finds the session of token and marks it used now (touch) or not. Returns true and
 * fills *info when it exists, has not idled out and its MQTT session is alive.
 */
bool sessions_get(struct sessions *s, const char *token, bool touch, struct session_info *info);

/* Whether csrf is the CSRF token of the session of token (constant time). */
bool sessions_csrf_ok(struct sessions *s, const char *token, const char *csrf);

/* Publishes in the session's MQTT link; OPERATOR_REFUSED when the session is gone. */
enum operator_result sessions_publish(struct sessions *s, const char *token, const char *topic,
                                      const char *payload, size_t len);

/* Ends one session. Returns 0, or -ENOENT when token is no session's. */
int sessions_close(struct sessions *s, const char *token);

/*
 * Ends the sessions idle longer than the timeout or whose MQTT link is dead; calls
 * ended(data, token) for each after its link is closed. Returns how many ended.
 */
int sessions_expire(struct sessions *s, void (*ended)(void *data, const char *token), void *data);

/* The sessions open now (ended ones whose link a publish still uses not counted). */
int sessions_count(struct sessions *s);

/* Random bytes as hex (2 * n characters and a NUL into out). Returns 0 or -EIO. */
int session_random_hex(char *out, size_t n);

#endif
