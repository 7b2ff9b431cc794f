// SPDX-License-Identifier: MIT
/*
 * rheinhub, the hub daemon: wires the MQTT input, the ingest path, the Redis writer
 * and the HTTP endpoints onto one libuv loop, applies backpressure between them,
 * and runs the ordered shutdown:
 *
 *   SIGTERM/SIGINT ─▶ pause MQTT reading ─▶ drain the Redis writer (bounded by
 *   shutdown.drain_timeout_s) ─▶ MQTT DISCONNECT (the broker keeps the session) ─▶
 *   close HTTP and signals ─▶ the loop ends.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <uv.h>

#include "catalog.h"
#include "config.h"
#include "http.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "mqtt_in.h"
#include "notify.h"
#include "redis_out.h"
#include "router.h"
#include "streams.h"
#include "supervisor.h"
#include "validate_cmd.h"

#define WORKER_STOP_TIMEOUT_MS 10000
#define SPOOL_RETRY_MS 1000 /* a stop that cannot write the spool tries again */

#ifndef RHEINHUB_VERSION
#define RHEINHUB_VERSION "unknown"
#endif

struct hub {
    uv_loop_t *loop;
    const char *config_path;
    struct hub_config cfg;
    struct catalog *catalog;
    struct metrics metrics;
    struct mqtt_in *mqtt;
    struct redis_out *redis;
    struct ingest ingest;
    struct http_server *http;
    struct supervisor *supervisor;
    struct streams *streams;
    struct notify *notify;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t drain_deadline;
    uv_timer_t journal_tick; /* done marks out, and retries while the journal cannot write */
    bool stopping;
    int exit_status; /* 1 when the hub stopped itself on an error */
};

static void on_message(void *data, const char *topic, const void *payload, size_t len)
{
    struct hub *hub = data;
    size_t queued;

    ingest_message(&hub->ingest, topic, payload, len);
    if (mqtt_in_paused(hub->mqtt))
        return;
    queued = redis_out_queued(hub->redis);
    if (queued >= (size_t)hub->cfg.ingest.queue_max) {
        log_info("hub", "pausing MQTT input: %zu entries wait for Redis", queued);
        mqtt_in_pause(hub->mqtt, true);
    } else if (redis_out_journal_full(hub->redis)) {
        log_warn("hub", "pausing MQTT input: the journal is at journal.max_mb (%d MB)",
                 hub->cfg.journal.max_mb);
        mqtt_in_pause(hub->mqtt, true);
    }
}

/*
 * After a read pass, before its acknowledgements leave: the pass's events go to the
 * journal. When that fails, input stops until the retry in on_journal_tick succeeds.
 */
static int on_mqtt_flush(void *data)
{
    struct hub *hub = data;
    int r = redis_out_journal_flush(hub->redis);

    if (r < 0)
        mqtt_in_pause(hub->mqtt, true);
    return r;
}

/* Resumes reading once the queue is down to half, so that pauses do not flap. */
static void on_redis_progress(void *data)
{
    struct hub *hub = data;

    if (hub->stopping || !hub->mqtt || !mqtt_in_paused(hub->mqtt))
        return;
    if (redis_out_queued(hub->redis) <= (size_t)hub->cfg.ingest.queue_max / 2 &&
        !redis_out_journal_full(hub->redis)) {
        log_info("hub", "resuming MQTT input");
        mqtt_in_pause(hub->mqtt, false);
    }
}

/* Each second: done marks go to the journal; a journal that could not write is retried. */
static void on_journal_tick(uv_timer_t *t)
{
    struct hub *hub = t->data;

    if (redis_out_journal_flush(hub->redis) < 0 || !hub->mqtt)
        return;
    mqtt_in_release(hub->mqtt);
    on_redis_progress(hub);
}

static void gauges(struct hub *hub, struct metrics_gauges *g)
{
    memset(g, 0, sizeof(*g));
    redis_out_gauges(hub->redis, g);
    g->mqtt_connected = hub->mqtt && mqtt_in_connected(hub->mqtt);
    g->mqtt_paused = hub->mqtt && mqtt_in_paused(hub->mqtt);
    g->mqtt_refused = hub->mqtt ? (uint64_t)mqtt_in_refused(hub->mqtt) : 0;
}

static int render_metrics(void *data, FILE *out)
{
    struct hub *hub = data;
    struct metrics_gauges g;

    gauges(hub, &g);
    metrics_render(&hub->metrics, &g, out);
    streams_render(hub->streams, out);
    supervisor_render_metrics(hub->supervisor, out);
    return 200;
}

static int render_health(void *data, FILE *out)
{
    struct hub *hub = data;
    struct metrics_gauges g;
    bool subscribed, ok;

    gauges(hub, &g);
    /* Connected is not enough: a refused filter's events never arrive, nor do those
     * published before the SUBACK of a new session. */
    subscribed = g.mqtt_connected && !mqtt_in_subscribing(hub->mqtt);
    ok = subscribed && g.mqtt_refused == 0 && g.redis_connected && !g.redis_refusing &&
         !hub->stopping && supervisor_failed(hub->supervisor) == 0;
    fprintf(out, "{\"status\":\"%s\",\"mqtt\":\"%s\",\"redis\":\"%s\",\"queued\":%llu,"
                 "\"workers\":",
            ok ? "ok" : (hub->stopping ? "stopping" : "degraded"),
            subscribed ? "up" : (g.mqtt_connected ? "subscribing" : "down"),
            g.redis_connected ? "up" : "down",
            (unsigned long long)g.queued);
    supervisor_render_health(hub->supervisor, out);
    fputs(",\"redis_refusing\":", out);
    if (g.redis_refusing)
        http_json_string(out, redis_out_refusing(hub->redis));
    else
        fputs("null", out);
    fputs(",\"subscriptions_refused\":", out);
    mqtt_in_render_refused(hub->mqtt, out);
    fprintf(out, ",\"unhealthy_consumers\":%d,\"consumers_unhealthy\":",
            streams_unhealthy_consumers(hub->streams));
    streams_render_unhealthy(hub->streams, out);
    fputs("}\n", out);
    return ok ? 200 : 503;
}

/* What systemd hears (notify.c): both links up, events accepted, entries queued. */
static void probe(void *data, struct notify_probe *out)
{
    struct hub *hub = data;
    struct metrics_gauges g;

    gauges(hub, &g);
    out->up = g.mqtt_connected && !mqtt_in_subscribing(hub->mqtt) && g.redis_connected;
    out->accepted = hub->metrics.accepted;
    out->queued = (size_t)g.queued;
}

static const struct http_route routes[] = {
    {"/healthz", "application/json", render_health},
    {"/metrics", "text/plain; version=0.0.4", render_metrics},
    {NULL, NULL, NULL},
};

static void on_recent_event(void *data, const char *source, size_t source_len, const char *id,
                            size_t id_len)
{
    struct hub *hub = data;

    ingest_recent_event(&hub->ingest, source, source_len, id, id_len);
}

static void start_stop(struct hub *hub, const char *why);

/* Redis is reachable and the recent ids are known: start taking events. */
static void on_redis_ready(void *data)
{
    struct hub *hub = data;

    if (hub->mqtt || hub->stopping)
        return;
    ingest_recent_done(&hub->ingest);
    hub->mqtt = mqtt_in_new(hub->loop, &hub->cfg, &hub->metrics, on_message, hub);
    if (!hub->mqtt) {
        log_error("hub", "cannot create the MQTT client: %s", strerror(errno));
        hub->exit_status = 1; /* so that systemd's Restart=on-failure tries again */
        start_stop(hub, "no MQTT client");
        return;
    }
    if (hub->cfg.journal.dir[0])
        mqtt_in_set_flush(hub->mqtt, on_mqtt_flush);
}

/* A new Redis link: consumer groups and routes go first, ahead of any event. */
static void on_redis_link_up(void *data)
{
    struct hub *hub = data;

    router_apply(hub->redis, &hub->cfg, hub->catalog);
}

static const struct redis_out_cbs redis_cbs = {
    .progress = on_redis_progress,
    .recent_event = on_recent_event,
    .ready = on_redis_ready,
    .link_up = on_redis_link_up,
};

static void on_closed_handle(uv_handle_t *h)
{
}

static void on_workers_stopped(void *data)
{
    struct hub *hub = data;

    http_server_close(hub->http);
    hub->http = NULL;
    notify_close(hub->notify);
    hub->notify = NULL;
    uv_close((uv_handle_t *)&hub->sigterm, on_closed_handle);
    uv_close((uv_handle_t *)&hub->sigint, on_closed_handle);
    uv_close((uv_handle_t *)&hub->sighup, on_closed_handle);
    uv_close((uv_handle_t *)&hub->drain_deadline, on_closed_handle);
    uv_close((uv_handle_t *)&hub->journal_tick, on_closed_handle);
}

static void on_mqtt_stopped(void *data)
{
    struct hub *hub = data;

    supervisor_stop(hub->supervisor, WORKER_STOP_TIMEOUT_MS, on_workers_stopped, hub);
}

static void on_redis_closed(void *data)
{
    struct hub *hub = data;

    uv_timer_stop(&hub->drain_deadline);
    uv_timer_stop(&hub->journal_tick);
    /* Everything is in Redis: acknowledgements the journal held back may go now. */
    if (hub->mqtt && redis_out_pending(hub->redis) == 0)
        mqtt_in_release(hub->mqtt);
    log_info("hub", "Redis writer closed; %llu events accepted in this run",
             (unsigned long long)hub->metrics.accepted);
    if (hub->mqtt)
        mqtt_in_stop(hub->mqtt, on_mqtt_stopped, hub);
    else
        on_mqtt_stopped(hub);
}

/* The spool, or while it cannot be written (its disk full) the drain and a retry. */
static void on_spool_retry(uv_timer_t *t)
{
    struct hub *hub = t->data;

    if (redis_out_abort(hub->redis, false) < 0)
        uv_timer_start(&hub->drain_deadline, on_spool_retry, SPOOL_RETRY_MS, 0);
}

static void on_drain_deadline(uv_timer_t *t)
{
    struct hub *hub = t->data;

    log_error("hub", "Redis did not take everything within %d s",
              hub->cfg.shutdown.drain_timeout_s);
    on_spool_retry(t);
}

/*
 * SIGHUP: reads hub.yaml and the schemas again. A configuration with errors is
 * refused as a whole (the errors are logged) and the running one stays. What only a
 * restart can change (connections, HTTP, buffer sizes) is kept, with a warning.
 */
static void reload(struct hub *hub)
{
    struct hub_config *next = malloc(sizeof(*next));
    struct catalog *cat;

    log_info("hub", "SIGHUP: reloading %s", hub->config_path);
    if (!next) {
        log_error("hub", "reload: out of memory; keeping the running configuration");
        return;
    }
    if (config_load(next, hub->config_path, stderr) != 0) {
        log_error("hub", "reload: %s has errors (above); keeping the running configuration",
                  hub->config_path);
        free(next);
        return;
    }
    if (next->set_nothing) { /* every default: no workers, a loopback broker, ... */
        log_error("hub", "reload: %s sets nothing (empty, or a file cut short?); keeping the "
                  "running configuration", hub->config_path);
        free(next);
        return;
    }
    if (!(cat = catalog_load(next->schemas.dir, stderr))) {
        log_error("hub", "reload: the schemas in %s have errors (above); keeping the running "
                  "configuration", next->schemas.dir);
        free(next);
        return;
    }
#define KEEP(section)                                                                              \
    do {                                                                                           \
        if (memcmp(&next->section, &hub->cfg.section, sizeof(next->section)) != 0)                 \
            log_warn("hub", "reload: changes to '%s' need a restart; kept as they are", #section); \
        next->section = hub->cfg.section;                                                          \
    } while (0)
    KEEP(hub);
    KEEP(mqtt);
    KEEP(redis);
    KEEP(http);
    KEEP(shutdown);
    KEEP(journal);
#undef KEEP
#define WORKERS_READ(section)                                                                      \
    do {                                                                                           \
        if (memcmp(&next->section, &hub->cfg.section, sizeof(next->section)) != 0)                 \
            log_warn("hub", "reload: '%s' is read by the workers at their start: restart them "    \
                     "to apply it", #section);                                                     \
    } while (0)
    WORKERS_READ(worker);
    WORKERS_READ(storage);
    WORKERS_READ(alerting);
    WORKERS_READ(analytics);
    WORKERS_READ(sources);
    WORKERS_READ(console);
#undef WORKERS_READ
    if (next->ingest.dedupe_window != hub->cfg.ingest.dedupe_window) {
        log_warn("hub", "reload: ingest.dedupe_window needs a restart; kept");
        next->ingest.dedupe_window = hub->cfg.ingest.dedupe_window;
    }
    hub->cfg = *next;
    free(next);
    catalog_free(hub->catalog);
    hub->catalog = cat;
    hub->ingest.check_data = cat;
    log_set_level(hub->cfg.log.level);
    if (router_apply(hub->redis, &hub->cfg, hub->catalog) < 0)
        log_info("hub", "reload: routes go to Redis when the link is back");
    supervisor_apply(hub->supervisor, &hub->cfg);
    log_info("hub", "reload done: %zu event types, %d worker kinds", catalog_size(cat),
             hub->cfg.n_workers);
}

/* Pauses MQTT input and drains the Redis writer; the rest follows in on_redis_closed. */
static void start_stop(struct hub *hub, const char *why)
{
    hub->stopping = true;
    log_info("hub", "%s: stopping; draining %zu entries to Redis", why,
             redis_out_pending(hub->redis));
    notify_stopping(hub->notify, redis_out_pending(hub->redis));
    streams_close(hub->streams);
    hub->streams = NULL;
    if (hub->mqtt)
        mqtt_in_pause(hub->mqtt, true);
    uv_timer_start(&hub->drain_deadline, on_drain_deadline,
                   (uint64_t)hub->cfg.shutdown.drain_timeout_s * 1000u, 0);
    redis_out_drain(hub->redis, on_redis_closed, hub);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct hub *hub = s->data;

    if (signum == SIGHUP) {
        if (!hub->stopping) {
            notify_reloading(hub->notify);
            reload(hub);
            notify_reloaded(hub->notify);
        }
        return;
    }
    if (hub->stopping) {
        log_warn("hub", "second %s: giving up on the drain", strsignal(signum));
        redis_out_abort(hub->redis, true);
        return;
    }
    start_stop(hub, strsignal(signum));
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rheinhub -c FILE            run the hub\n"
            "       rheinhub --check -c FILE    check the configuration and the schemas\n"
            "       rheinhub validate SCHEMA.json [INSTANCE.json...]\n"
            "                                   check JSON documents against a schema\n"
            "       rheinhub --version\n"
            "\n"
            "  -c, --config FILE   hub configuration (YAML; see docs/configuration.md)\n"
            "      --check         report configuration errors as FILE:LINE: message;\n"
            "                      exit 0 when valid, 2 when not\n"
            "  -h, --help          this text\n");
}

static int run(struct hub *hub)
{
    int r;

    hub->loop = uv_default_loop();
    log_set_level(hub->cfg.log.level);
    /* The workers' lines reach the journal through the hub: they prefix them too. */
    if (log_to_journal() && setenv("RHEINHUB_LOG_PREFIX", "syslog", 1) < 0)
        log_warn("hub", "workers log without journal priorities: %s", strerror(errno));
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    signal(SIGPIPE, SIG_IGN);
    mosquitto_lib_init();

    /* MQTT input starts once Redis is up and its recent event ids are known. */
    hub->redis = redis_out_new(hub->loop, &hub->cfg, &hub->metrics, &redis_cbs, hub);
    if (!hub->redis) {
        log_error("hub", "cannot start the Redis writer: %s", strerror(errno));
        return 1;
    }
    if (ingest_init(&hub->ingest, &hub->cfg, &hub->metrics, hub->redis) < 0) {
        log_error("hub", "out of memory at start");
        return 1;
    }
    hub->ingest.check = ingest_catalog_check;
    hub->ingest.check_data = hub->catalog;
    hub->streams = streams_new(hub->loop, &hub->cfg, hub->redis, &hub->catalog);
    hub->supervisor = supervisor_new(hub->loop, hub->config_path);
    if (!hub->streams || !hub->supervisor) {
        log_error("hub", "out of memory at start");
        return 1;
    }
    supervisor_apply(hub->supervisor, &hub->cfg);
    if (!(hub->notify = notify_new(hub->loop, probe, hub))) {
        log_error("hub", "out of memory at start");
        return 1;
    }
    if (hub->cfg.http.port > 0) {
        hub->http = http_server_new(hub->loop, hub->cfg.http.bind, hub->cfg.http.port, routes,
                                    hub);
        if (!hub->http) {
            log_error("hub", "cannot serve HTTP on %s:%d: %s", hub->cfg.http.bind,
                      hub->cfg.http.port, strerror(errno));
            return 1;
        }
    }
    uv_signal_init(hub->loop, &hub->sigterm);
    uv_signal_init(hub->loop, &hub->sigint);
    uv_signal_init(hub->loop, &hub->sighup);
    uv_timer_init(hub->loop, &hub->drain_deadline);
    uv_timer_init(hub->loop, &hub->journal_tick);
    hub->sigterm.data = hub->sigint.data = hub->sighup.data = hub->drain_deadline.data = hub;
    hub->journal_tick.data = hub;
    if (hub->cfg.journal.dir[0])
        uv_timer_start(&hub->journal_tick, on_journal_tick, 1000, 1000);
    uv_signal_start(&hub->sigterm, on_signal, SIGTERM);
    uv_signal_start(&hub->sigint, on_signal, SIGINT);
    uv_signal_start(&hub->sighup, on_signal, SIGHUP);

    log_info("hub", "%zu event types from %s", catalog_size(hub->catalog), hub->cfg.schemas.dir);
    log_info("hub",
             "rheinhub %s, instance %s started: Redis %s:%d first, then MQTT %s:%d; HTTP %s:%d",
             RHEINHUB_VERSION, hub->cfg.hub.instance,
             hub->cfg.redis.host, hub->cfg.redis.port, hub->cfg.mqtt.host, hub->cfg.mqtt.port,
             hub->cfg.http.bind, hub->cfg.http.port);
    r = uv_run(hub->loop, UV_RUN_DEFAULT);
    if (r != 0)
        log_warn("hub", "loop ended with active handles");
    log_info("hub", "instance %s stopped: %llu received, %llu accepted, %llu duplicates",
             hub->cfg.hub.instance, (unsigned long long)hub->metrics.received,
             (unsigned long long)hub->metrics.accepted,
             (unsigned long long)hub->metrics.duplicates);
    return hub->exit_status;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    static struct hub hub;
    const char *config_path = NULL;
    bool check = false;
    int opt, r;

    if (argc > 1 && strcmp(argv[1], "validate") == 0)
        return validate_main(argc - 1, argv + 1);
    while ((opt = getopt_long(argc, argv, "c:hV", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'k': check = true; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("rheinhub %s\n", RHEINHUB_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!config_path || optind != argc) {
        usage(stderr);
        return 2;
    }
    hub.config_path = config_path;
    if (config_load(&hub.cfg, config_path, stderr) != 0)
        return 2;
    if (!(hub.catalog = catalog_load(hub.cfg.schemas.dir, stderr))) {
        fprintf(stderr, "%s: the schemas in %s cannot be used\n", config_path,
                hub.cfg.schemas.dir);
        return 2;
    }
    if (check) {
        printf("%s: configuration is valid; %zu event types in %s\n", config_path,
               catalog_size(hub.catalog), hub.cfg.schemas.dir);
        catalog_free(hub.catalog);
        return 0;
    }
    r = run(&hub);
    ingest_close(&hub.ingest);
    mqtt_in_free(hub.mqtt);
    redis_out_free(hub.redis);
    catalog_free(hub.catalog);
    supervisor_free(hub.supervisor);
    uv_loop_close(hub.loop);
    mosquitto_lib_cleanup();
    return r;
}
