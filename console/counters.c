// SPDX-License-Identifier: MIT
/*
 * The console's counters and its /metrics page (counters.h). Every series of a labelled
 * metric is written from the first scrape on, at 0 until it happens, so that a rate()
 * or increase() sees its start.
 */
#include "counters.h"

#include <inttypes.h>

#include "prom_text.h"

static const char *const login_names[] = {
#define X(name) #name,
    COUNTERS_LOGIN_RESULTS(X)
#undef X
};

static const char *const ack_names[] = {
#define X(name) #name,
    COUNTERS_ACK_RESULTS(X)
#undef X
};

void counters_init(struct counters *c)
{
    for (int i = 0; i < COUNTERS_CLASSES; i++)
        atomic_init(&c->responses[i], 0);
    for (int i = 0; i < COUNTERS_LOGIN_COUNT; i++)
        atomic_init(&c->logins[i], 0);
    for (int i = 0; i < COUNTERS_ACK_COUNT; i++)
        atomic_init(&c->acks[i], 0);
}

void counters_response(struct counters *c, unsigned status)
{
    if (status >= 100 && status < 600)
        atomic_fetch_add(&c->responses[status / 100 - 1], 1);
}

void counters_login(struct counters *c, enum counters_login result)
{
    atomic_fetch_add(&c->logins[result], 1);
}

void counters_ack(struct counters *c, enum counters_ack result)
{
    atomic_fetch_add(&c->acks[result], 1);
}

/* One metric with one label: a series for each of n values. */
static void labelled(FILE *out, const char *name, const char *help, const char *label,
                     const char *const *values, atomic_uint_least64_t *counts, int n)
{
    prom_family(out, name, "counter", help);
    for (int i = 0; i < n; i++) {
        prom_series(out, name, label, values[i], NULL, NULL);
        fprintf(out, "%" PRIu64 "\n", (uint64_t)atomic_load(&counts[i]));
    }
}

void counters_render(struct counters *c, const struct counters_gauges *g, FILE *out)
{
    static const char *const classes[COUNTERS_CLASSES] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

    labelled(out, "rheinhub_console_requests_total",
             "HTTP responses the console sent, by status class.", "code", classes,
             c->responses, COUNTERS_CLASSES);
    labelled(out, "rheinhub_console_logins_total", "Login requests, by result.", "result",
             login_names, c->logins, COUNTERS_LOGIN_COUNT);
    labelled(out, "rheinhub_console_acks_total", "Acknowledgements, by result.", "result",
             ack_names, c->acks, COUNTERS_ACK_COUNT);
    prom_gauge(out, "rheinhub_console_broker_up",
               "1 while the console's own MQTT session (the board's feed) is connected and "
               "subscribed.",
               g->broker_up ? 1 : 0);
    prom_gauge(out, "rheinhub_console_alerts", "Active alerts on the board.", g->alerts);
    prom_gauge(out, "rheinhub_console_streams",
               "Open event streams: pages that show the board live.", g->streams);
    prom_gauge(out, "rheinhub_console_sessions", "Logged-in operator sessions.", g->sessions);
    prom_counter(out, "rheinhub_console_board_dropped_total",
                 "Alert or aggregate messages the board did not hold: malformed, too large or "
                 "over a cap.",
                 g->board_dropped);
}
