// SPDX-License-Identifier: MIT
/*
 * The adapter between the hub and libsystemd's sd_notify: one timer on the hub's loop
 * that probes the hub and tells the service manager what state it is in. Because the
 * watchdog ping comes from this timer, a loop that hangs stops the pings and systemd
 * restarts the hub (WatchdogSec= in rheinhub.service). Messages, in the order a run
 * sends them:
 *
 *   STATUS=waiting for Redis and MQTT ─▶ READY=1 (both links up) ─▶ WATCHDOG=1 and
 *   STATUS=<rate> every tick ─▶ [RELOADING=1 … READY=1 per SIGHUP] ─▶ STOPPING=1
 *   (SIGTERM, while the hub drains) ─▶ the process exits.
 */
#include "notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "log.h"

#define COMPONENT "notify"
#define WAIT_TICK_MS 100       /* until ready: how soon READY follows the links */
#define RUN_TICK_MS 1000       /* after: watchdog and status, unless the watchdog is faster */
#define STATUS_INTERVAL_MS 5000

struct notify {
    uv_timer_t timer;
    notify_probe_cb probe;
    void *data;
    uint64_t tick_ms;         /* period once ready */
    bool watchdog;            /* WATCHDOG=1 on every tick */
    bool ready, stopping;
    uint64_t status_at_ms;    /* loop time of the last STATUS */
    uint64_t status_accepted; /* accepted events at that time */
};

/* Sends one message; an error is logged once, a lost datagram is not worth more. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    static bool warned;
    char msg[256];
    va_list ap;
    int r;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r = sd_notify(0, msg);
    if (r < 0 && !warned) {
        warned = true;
        log_warn(COMPONENT, "sd_notify: %s", strerror(-r));
    }
}

static void send_status(struct notify *n, const struct notify_probe *p, uint64_t now)
{
    uint64_t span = now - n->status_at_ms;
    double rate = span > 0 ? (double)(p->accepted - n->status_accepted) * 1000.0 / (double)span
                           : 0.0;

    say("STATUS=%s: %.1f events/s, %" PRIu64 " accepted, %zu queued",
         p->up ? "running" : "degraded (MQTT or Redis down)", rate, p->accepted, p->queued);
    n->status_at_ms = now;
    n->status_accepted = p->accepted;
}

/*
 * Each tick: WATCHDOG=1 when the watchdog is on; READY=1 the first time both links
 * are up, MQTT's subscriptions answered (then the tick slows to tick_ms); STATUS every
 * STATUS_INTERVAL_MS after.
 */
static void on_tick(uv_timer_t *t)
{
    struct notify *n = t->data;
    struct notify_probe p = {0};
    uint64_t now = uv_now(t->loop);

    n->probe(n->data, &p);
    if (n->watchdog)
        say("WATCHDOG=1");
    if (!n->ready && !n->stopping && p.up) {
        n->ready = true;
        n->status_at_ms = now;
        n->status_accepted = p.accepted;
        say("READY=1\nSTATUS=running: MQTT and Redis are up");
        log_info(COMPONENT, "told systemd: ready");
        uv_timer_set_repeat(t, n->tick_ms);
        return;
    }
    if (n->ready && !n->stopping && now - n->status_at_ms >= STATUS_INTERVAL_MS)
        send_status(n, &p, now);
}

struct notify *notify_new(uv_loop_t *loop, notify_probe_cb probe, void *data)
{
    struct notify *n = calloc(1, sizeof(*n));
    uint64_t usec = 0;

    if (!n)
        return NULL;
    n->probe = probe;
    n->data = data;
    n->tick_ms = RUN_TICK_MS;
    if (!getenv("NOTIFY_SOCKET"))
        return n; /* disabled: no timer, every call below does nothing */
    if (sd_watchdog_enabled(0, &usec) > 0) {
        n->watchdog = true;
        /* Twice per period, as sd_watchdog_enabled(3) advises; never below 10 ms. */
        if (usec / 2000 < n->tick_ms)
            n->tick_ms = usec / 2000 > 10 ? usec / 2000 : 10;
        log_info(COMPONENT, "systemd watchdog every %" PRIu64 " ms; pinging every %" PRIu64
                            " ms", usec / 1000, n->tick_ms);
    }
    uv_timer_init(loop, &n->timer);
    n->timer.data = n;
    say("STATUS=waiting for Redis and MQTT");
    uv_timer_start(&n->timer, on_tick, 0,
                   n->tick_ms < WAIT_TICK_MS ? n->tick_ms : WAIT_TICK_MS);
    return n;
}

static bool enabled(const struct notify *n)
{
    return n && n->timer.data == n;
}

void notify_reloading(struct notify *n)
{
    if (enabled(n) && n->ready && !n->stopping)
        say("RELOADING=1\nSTATUS=reloading the configuration");
}

void notify_reloaded(struct notify *n)
{
    if (enabled(n) && n->ready && !n->stopping)
        say("READY=1\nSTATUS=running: configuration reloaded");
}

void notify_stopping(struct notify *n, size_t pending)
{
    if (!enabled(n) || n->stopping)
        return;
    n->stopping = true;
    say("STOPPING=1\nSTATUS=stopping: draining %zu entries to Redis", pending);
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void notify_close(struct notify *n)
{
    if (!n)
        return;
    if (!enabled(n)) {
        free(n);
        return;
    }
    uv_timer_stop(&n->timer);
    uv_close((uv_handle_t *)&n->timer, on_closed);
}
