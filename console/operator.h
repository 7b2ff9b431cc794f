// SPDX-License-Identifier: MIT
/*
 * An operator's own MQTT session (operator.c). Logging in is connecting to the broker
 * with the operator's account: the broker checks the password, and everything the
 * person does afterwards (an acknowledgement) is published in that session, so that
 * the broker's ACL decides and the broker's log names the person.
 */
#ifndef RHEINHUB_CONSOLE_OPERATOR_H
#define RHEINHUB_CONSOLE_OPERATOR_H

#include <stdbool.h>
#include <stddef.h>

#define OPERATOR_TIMEOUT_MS 5000 /* connect and publish answers from the broker */

struct operator_link;

enum operator_result {
    OPERATOR_OK = 0,
    OPERATOR_REFUSED,     /* the broker refused the account or password */
    OPERATOR_UNREACHABLE, /* no broker connection, or no answer to a connect: not sent */
    OPERATOR_UNCONFIRMED, /* a publish went out or is queued without its PUBACK in time:
                           * libmosquitto sends it again after a reconnect, so it may
                           * still arrive */
    OPERATOR_DENIED,      /* the broker's ACL refused a publish (MQTT 5 reason >= 0x80) */
    OPERATOR_ERROR,       /* out of memory, a library error */
};

/*
 * Connects as user with password (MQTT 5, clean session) and waits for the broker's
 * answer. On OPERATOR_OK *out is the running session; otherwise *out is NULL.
 */
enum operator_result operator_connect(const char *host, int port, const char *client_id,
                                      const char *user, const char *password,
                                      struct operator_link **out);

/*
 * Publishes payload at QoS 1 in the session and waits for the broker's PUBACK. While
 * the session has no connection to the broker nothing is queued (OPERATOR_UNREACHABLE):
 * libmosquitto would keep the message and send it after the next reconnect, long after
 * the caller was told it failed.
 */
enum operator_result operator_publish(struct operator_link *l, const char *topic,
                                      const char *payload, size_t len);

/* Whether the session is usable: false after the broker refused a reconnect. */
bool operator_alive(struct operator_link *l);

/* Whether the session is connected to the broker now (false while it reconnects). */
bool operator_connected(struct operator_link *l);

/* Disconnects, stops the thread and frees. Accepts NULL. */
void operator_close(struct operator_link *l);

#endif
