// SPDX-License-Identifier: MIT
/*
 * The hub's side of systemd's service notification protocol (sd_notify(3)), through
 * libsystemd: READY=1 once MQTT and Redis are both up, WATCHDOG=1 from the event
 * loop, STATUS= with the event rate, RELOADING=1 around a SIGHUP reload and
 * STOPPING=1 while the hub drains. Without NOTIFY_SOCKET in the environment (not run
 * by systemd as Type=notify) it does nothing and starts no timer.
 */
#ifndef RHEINHUB_NOTIFY_H
#define RHEINHUB_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* What the hub reports on each tick: both links up, events accepted so far, queued. */
struct notify_probe {
    bool up;
    uint64_t accepted;
    size_t queued;
};

typedef void (*notify_probe_cb)(void *data, struct notify_probe *out);

struct notify;

/*
 * Starts notifying when NOTIFY_SOCKET is set: a timer on loop probes the hub (probe,
 * with data) and sends READY=1 the first time it is up, WATCHDOG=1 on every tick when
 * systemd's watchdog is on for this process, and STATUS= every few seconds.
 * Returns the notifier (free it with notify_close), or NULL with errno set when out of
 * memory; returns a disabled notifier when there is no socket to notify.
 */
struct notify *notify_new(uv_loop_t *loop, notify_probe_cb probe, void *data);

/* RELOADING=1 before a reload and READY=1 after it (reload done or refused). */
void notify_reloading(struct notify *n);
void notify_reloaded(struct notify *n);

/* STOPPING=1 and a STATUS naming what is left to drain; the watchdog keeps ticking. */
void notify_stopping(struct notify *n, size_t pending);

/* Stops the timer; n is freed once libuv has closed it. Accepts NULL. */
void notify_close(struct notify *n);

#endif
