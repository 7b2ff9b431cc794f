// SPDX-License-Identifier: MIT
/*
 * A source's metrics and health over HTTP (source_metrics.h), with libmicrohttpd's
 * internal polling thread: the source's own threads never wait for a scrape.
 */
#include "source_metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "log.h"
#include "prom_text.h"

void source_metrics_init(struct source_metrics *m, const char *source)
{
    memset(m, 0, sizeof(*m));
    m->source = source;
    pthread_mutex_init(&m->lock, NULL);
}

void source_metrics_close(struct source_metrics *m)
{
    if (m->daemon)
        MHD_stop_daemon(m->daemon);
    m->daemon = NULL;
    pthread_mutex_destroy(&m->lock);
}

void source_metrics_station_error(struct source_metrics *m, int station, const char *text)
{
    struct station_status *s = &m->stations[station];

    atomic_store(&s->up, false);
    atomic_fetch_add(&s->errors, 1);
    pthread_mutex_lock(&m->lock);
    snprintf(s->last_error, sizeof(s->last_error), "%s", text);
    pthread_mutex_unlock(&m->lock);
}

static void series(FILE *out, const struct source_metrics *m, const char *name, const char *type,
                   const char *help, uint64_t value)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s{source=\"%s\"} %llu\n", name, help, name, type,
            name, m->source, (unsigned long long)value);
}

/*
 * One station's sample, name{source="...",station="..."} value. The station comes from
 * the source's file and may hold any character: escaped (prom_text.h).
 */
static void station_sample(FILE *out, const struct source_metrics *m, const char *name,
                           int station, unsigned long long value)
{
    fprintf(out, "%s{source=\"%s\",station=\"", name, m->source);
    prom_label_value(out, m->stations[station].station);
    fprintf(out, "\"} %llu\n", value);
}

static void render_metrics(struct source_metrics *m, FILE *out)
{
    series(out, m, "rheinhub_source_received_total", "counter",
           "Uplinks or measurements the source read.", atomic_load(&m->received));
    series(out, m, "rheinhub_source_published_total", "counter",
           "Events our broker acknowledged.", atomic_load(&m->published));
    series(out, m, "rheinhub_source_skipped_total", "counter",
           "Measurements not published again (published before).", atomic_load(&m->skipped));
    series(out, m, "rheinhub_source_queued", "gauge",
           "Events published and not yet acknowledged.", (uint64_t)atomic_load(&m->queued));
    fprintf(out, "# HELP rheinhub_source_refused_total PUBACKs of our broker that refused an "
                 "event (MQTT v5 reason code not 0), by reason code.\n"
                 "# TYPE rheinhub_source_refused_total counter\n");
    /* 0x10 (no matching subscribers, e.g. after a broker restart) always, others once seen. */
    for (int rc = 1; rc < 256; rc++) {
        uint64_t n = atomic_load(&m->refused[rc]);
        if (n > 0 || rc == 0x10)
            fprintf(out, "rheinhub_source_refused_total{source=\"%s\",reason_code=\"0x%02x\"} "
                         "%llu\n", m->source, rc, (unsigned long long)n);
    }
    series(out, m, "rheinhub_source_resent_total", "counter",
           "Events sent again after our broker refused them.", atomic_load(&m->resent));
    series(out, m, "rheinhub_source_refused_pending", "gauge",
           "Events our broker refused and has not yet taken.",
           (uint64_t)atomic_load(&m->unsettled));
    series(out, m, "rheinhub_source_broker_up", "gauge", "Connected to our broker.",
           atomic_load(&m->broker_up));
    if (m->has_upstream)
        series(out, m, "rheinhub_source_upstream_up", "gauge",
               "Connected to the network server and subscribed to every topic filter.",
               atomic_load(&m->upstream_up));
    series(out, m, "rheinhub_source_deadletter_failures_total", "counter",
           "Dead letters that could not be written to Redis.",
           atomic_load(&m->deadletter_failures));
    fprintf(out, "# HELP rheinhub_source_deadletters_total Input sent to the dead-letter "
                 "stream, by reason.\n# TYPE rheinhub_source_deadletters_total counter\n");
    for (int r = 0; r < SOURCE_REASON_COUNT; r++)
        fprintf(out, "rheinhub_source_deadletters_total{source=\"%s\",reason=\"%s\"} %llu\n",
                m->source, source_reason_name((enum source_reason)r),
                (unsigned long long)atomic_load(&m->deadletters[r]));
    if (m->n_stations == 0)
        return;
    fprintf(out, "# HELP rheinhub_source_station_up The station's last request succeeded.\n"
                 "# TYPE rheinhub_source_station_up gauge\n");
    for (int i = 0; i < m->n_stations; i++)
        station_sample(out, m, "rheinhub_source_station_up", i,
                       atomic_load(&m->stations[i].up) ? 1 : 0);
#define STATION_SERIES(field, name, help)                                                          \
    fprintf(out, "# HELP " name " " help "\n# TYPE " name " counter\n");                           \
    for (int i = 0; i < m->n_stations; i++)                                                        \
        station_sample(out, m, name, i, (unsigned long long)atomic_load(&m->stations[i].field));
    STATION_SERIES(requests, "rheinhub_source_station_requests_total", "HTTP requests made.")
    STATION_SERIES(errors, "rheinhub_source_station_errors_total",
                   "Requests that failed (network, timeout, HTTP status, body).")
    STATION_SERIES(not_modified, "rheinhub_source_station_not_modified_total",
                   "Requests answered 304 Not Modified.")
#undef STATION_SERIES
    fprintf(out, "# HELP rheinhub_source_station_last_ok_seconds Unix time of the last "
                 "success.\n# TYPE rheinhub_source_station_last_ok_seconds gauge\n");
    for (int i = 0; i < m->n_stations; i++)
        station_sample(out, m, "rheinhub_source_station_last_ok_seconds", i,
                       (unsigned long long)atomic_load(&m->stations[i].last_ok_s));
}

/* 200 "ok" when everything works, else 503 with one line per problem. */
static int render_health(struct source_metrics *m, FILE *out)
{
    int problems = 0;

    if (!atomic_load(&m->broker_up)) {
        fprintf(out, "not connected to our broker\n");
        problems++;
    }
    if (atomic_load(&m->unsettled) > 0) {
        fprintf(out, "our broker refused %d events: sending them again\n",
                atomic_load(&m->unsettled));
        problems++;
    }
    if (m->has_upstream && !atomic_load(&m->upstream_up)) {
        int refused = atomic_load(&m->upstream_refused);

        if (refused > 0)
            fprintf(out, "the network server refused %d of the source's topic filters "
                         "(server.topics, see the log)\n", refused);
        else
            fprintf(out, "not connected to the network server\n");
        problems++;
    }
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < m->n_stations; i++) {
        if (atomic_load(&m->stations[i].up))
            continue;
        fprintf(out, "station %s: %s\n", m->stations[i].station,
                m->stations[i].last_error[0] ? m->stations[i].last_error : "no answer yet");
        problems++;
    }
    pthread_mutex_unlock(&m->lock);
    if (problems)
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    fprintf(out, "ok\n");
    return MHD_HTTP_OK;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct source_metrics *m = cls;
    struct MHD_Response *resp;
    char *body = NULL;
    size_t len = 0;
    FILE *out;
    int status = MHD_HTTP_OK;
    enum MHD_Result r;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return MHD_NO;
    if (!(out = open_memstream(&body, &len)))
        return MHD_NO;
    if (strcmp(url, "/metrics") == 0)
        render_metrics(m, out);
    else if (strcmp(url, "/healthz") == 0)
        status = render_health(m, out);
    else {
        fprintf(out, "not found: try /healthz or /metrics\n");
        status = MHD_HTTP_NOT_FOUND;
    }
    if (fclose(out) != 0) {
        free(body);
        return MHD_NO;
    }
    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    r = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return r;
}

int source_metrics_serve(struct source_metrics *m, const char *bind, int port)
{
    struct sockaddr_storage addr;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

    if (port == 0)
        return 0;
    memset(&addr, 0, sizeof(addr));
    if (inet_pton(AF_INET, bind, &((struct sockaddr_in *)&addr)->sin_addr) == 1) {
        ((struct sockaddr_in *)&addr)->sin_family = AF_INET;
        ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, bind, &((struct sockaddr_in6 *)&addr)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)&addr)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        log_error("http", "http.bind %s is not an IP address", bind);
        return -EINVAL;
    }
    m->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, m,
                                 MHD_OPTION_EXTERNAL_LOGGER, log_http_server, &m->log_repeat,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_LIMIT, 16U,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
    if (!m->daemon) {
        log_error("http", "cannot listen on %s:%d", bind, port);
        return -EADDRINUSE;
    }
    return 0;
}
