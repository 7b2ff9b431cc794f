// SPDX-License-Identifier: MIT
/*
 * What a source counts, and the HTTP endpoint that shows it: GET /metrics (Prometheus
 * text, every series labelled source="<name>") and GET /healthz (200 when the source
 * is connected to our broker and its upstream works; 503 with the reasons when not).
 * Counters are atomics: the MQTT threads write them, the HTTP thread reads them.
 */
#ifndef RHEINHUB_SOURCE_METRICS_H
#define RHEINHUB_SOURCE_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "source_file.h"
#include "source_reason.h"

#define STATION_ERROR_MAX 160

/* One PEGELONLINE gauge's polling state. */
struct station_status {
    char station[128];
    atomic_bool up;                  /* the last request succeeded (200 or 304) */
    atomic_uint_fast64_t requests, errors, not_modified;
    atomic_int_fast64_t last_ok_s;   /* unix time of the last success; 0: none yet */
    char last_error[STATION_ERROR_MAX]; /* under the metrics lock */
};

struct source_metrics {
    const char *source;              /* "ttn", "chirpstack", "pegelonline" */
    atomic_uint_fast64_t received;   /* uplinks or measurements read */
    atomic_uint_fast64_t published;  /* events our broker acknowledged (PUBACK) */
    atomic_uint_fast64_t skipped;    /* measurements published before (PEGELONLINE) */
    atomic_uint_fast64_t deadletters[SOURCE_REASON_COUNT];
    atomic_uint_fast64_t deadletter_failures; /* could not be written to Redis */
    atomic_int queued;               /* published, not yet acknowledged */
    atomic_uint_fast64_t refused[256]; /* PUBACKs refusing an event, by MQTT v5 reason code */
    atomic_uint_fast64_t resent;     /* events sent again after a refusal */
    atomic_int unsettled;            /* events refused and not yet taken */
    atomic_bool broker_up;           /* connected to our broker */
    atomic_bool upstream_up;         /* connected to the network server, every filter
                                        subscribed */
    atomic_int upstream_refused;     /* topic filters it refused at the last SUBSCRIBE */
    bool has_upstream;               /* a network server source */
    struct station_status stations[SOURCE_STATIONS_MAX];
    int n_stations;
    pthread_mutex_t lock;
    struct MHD_Daemon *daemon;
    struct log_repeat log_repeat;    /* libmicrohttpd's messages (its thread) */
};

void source_metrics_init(struct source_metrics *m, const char *source);
void source_metrics_close(struct source_metrics *m);

/* Records a station's failure with its text (copied). */
void source_metrics_station_error(struct source_metrics *m, int station, const char *text);

/*
 * Serves /metrics and /healthz on bind:port from a thread of libmicrohttpd's own.
 * port 0 serves nothing. Returns 0, or -EADDRINUSE style negative errno.
 */
int source_metrics_serve(struct source_metrics *m, const char *bind, int port);

#endif
