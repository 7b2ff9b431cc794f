// SPDX-License-Identifier: MIT
/*
 * The worker process (worker.h): its arguments and configuration, the loop that
 * schedules connects, route checks, heartbeats, ticks, claims and reads, and the
 * accessors. The pieces it schedules are the layers below it (worker_internal.h).
 */
#include "worker.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "worker_batch.h"
#include "worker_health.h"
#include "worker_internal.h"
#include "worker_link.h"
#include "worker_stop.h"
#include "worker_streams.h"

#define INSTANCE_MAX 9999

/* ------------------------------------------------------------------------------------------ */
/* The loop */

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void run_tick(struct worker *w)
{
    int r;

    if (!w->def->tick)
        return;
    r = w->def->tick(w, w->def->data);
    if (r < 0 && !w->tick_error) {
        snprintf(w->tick_detail, sizeof(w->tick_detail), "tick: %s", strerror(-r));
        log_warn(w->component, "%s", w->tick_detail);
        w->tick_error = true;
        w->status_dirty = true;
    } else if (r >= 0 && w->tick_error) {
        w->tick_error = false;
        w->status_dirty = true;
    }
    if (w->redis && w->redis->err)
        worker_link_failed(w, "tick");
}

static void run(struct worker *w)
{
    while (!worker_stopping(w)) {
        int64_t now = worker_now_ms(), next;

        worker_stop_check(w);
        if (worker_stopping(w))
            break;
        if (!w->redis) {
            if (now >= w->next_connect_ms && worker_link_connect(w) == 0)
                worker_streams_reset(w);
            if (!w->redis) {
                run_tick(w);
                worker_wait_ms(w, w->next_connect_ms - worker_now_ms());
                continue;
            }
        }
        if (now >= w->next_route_ms)
            worker_streams_refresh(w);
        if (w->redis && (w->status_dirty || now >= w->next_status_ms))
            worker_status_write(w);
        run_tick(w);
        if (!w->redis || worker_stopping(w))
            continue;
        now = worker_now_ms();
        next = min64(w->next_route_ms, w->next_status_ms);
        if (!w->have_route || worker_streams_ready(w) == 0) {
            worker_wait_ms(w, next - now);
            continue;
        }
        if (now < w->next_read_ms) {
            worker_wait_ms(w, min64(next, w->next_read_ms) - now);
            continue;
        }
        if (!w->batch_error && (w->claim_more || now >= w->next_claim_ms)) {
            worker_claim(w);
            continue;
        }
        next = min64(next, w->next_claim_ms) - now;
        if (next > w->cfg.worker.block_ms)
            next = w->cfg.worker.block_ms;
        worker_read(w, next < 1 ? 1 : (int)next);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The process */

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s -c FILE [-i N] [--check]\n"
            "  -c, --config FILE   hub.yaml, the same file the hub uses\n"
            "  -i, --instance N    instance number, 1..%d (default: $RHEINHUB_WORKER_INSTANCE, "
            "else 1)\n"
            "      --check         check the configuration and exit\n",
            prog, INSTANCE_MAX);
}

static int parse_instance(const char *text, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 1 || v > INSTANCE_MAX)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

static bool kind_valid(const char *kind)
{
    size_t n = kind ? strlen(kind) : 0;

    if (n == 0 || n >= sizeof(((struct worker *)0)->kind) || kind[0] < 'a' || kind[0] > 'z')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((kind[i] >= 'a' && kind[i] <= 'z') || (kind[i] >= '0' && kind[i] <= '9') ||
              kind[i] == '_' || kind[i] == '-'))
            return false;
    return true;
}

static void worker_free(struct worker *w)
{
    if (!w)
        return;
    if (w->redis)
        redisFree(w->redis);
    worker_history_free(w->history);
    worker_reply_close(&w->read_replies);
    free(w->route_text);
    free(w);
}

int worker_main(const struct worker_def *def, int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"instance", required_argument, NULL, 'i'},
        {"check", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *prog = argc > 0 ? argv[0] : "rheinhub-worker";
    const char *config_path = NULL, *env_instance = getenv("RHEINHUB_WORKER_INSTANCE");
    struct worker *w;
    char host[HOST_NAME_MAX + 1];
    bool check = false, started = false;
    int opt, status = 0, instance = 1;

    if (!kind_valid(def->kind) || !def->batch) {
        fprintf(stderr, "%s: the worker kind must match [a-z][a-z0-9_-]* (at most 63 bytes) "
                        "and have a batch callback\n", prog);
        return 2;
    }
    if (env_instance && env_instance[0] && parse_instance(env_instance, &instance) < 0) {
        fprintf(stderr, "%s: RHEINHUB_WORKER_INSTANCE must be 1..%d\n", prog, INSTANCE_MAX);
        return 2;
    }
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:i:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'i':
            if (parse_instance(optarg, &instance) < 0) {
                fprintf(stderr, "%s: -i needs an instance number 1..%d\n", prog, INSTANCE_MAX);
                return 2;
            }
            break;
        case 'k': check = true; break;
        case 'h': usage(stdout, prog); return 0;
        default: usage(stderr, prog); return 2;
        }
    }
    if (!config_path || optind != argc) {
        usage(stderr, prog);
        return 2;
    }
    if (!(w = calloc(1, sizeof(*w)))) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    if (config_load(&w->cfg, config_path, stderr) != 0) {
        worker_free(w);
        return 2;
    }
    if (check) {
        printf("%s: configuration is valid for worker kind %s\n", config_path, def->kind);
        worker_free(w);
        return 0;
    }
    log_set_level(w->cfg.log.level);
    w->def = def;
    snprintf(w->kind, sizeof(w->kind), "%s", def->kind);
    w->component = w->kind;
    w->instance = instance;
    if (gethostname(host, sizeof(host)) < 0 || !host[0])
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(w->consumer, sizeof(w->consumer), "%s-%d", host, instance);
    snprintf(w->route_key, sizeof(w->route_key), "%sroute:%s", w->cfg.redis.stream_prefix,
             w->kind);
    snprintf(w->status_key, sizeof(w->status_key), "%sworker:%s:%s", w->cfg.redis.stream_prefix,
             w->kind, w->consumer);
    snprintf(w->deadletter_key, sizeof(w->deadletter_key), "%sdeadletter",
             w->cfg.redis.stream_prefix);
    w->batch_backoff_ms = w->connect_backoff_ms = WORKER_BACKOFF_MIN_MS;
    w->route_wait_logged_ms = INT64_MIN / 2;
    if (!(w->history = worker_history_new(WORKER_HISTORY_ENTRIES))) {
        log_error(w->component, "out of memory");
        worker_free(w);
        return 1;
    }
    worker_stop_init(w);

    while (!w->redis && !worker_stopping(w)) {
        worker_stop_check(w);
        if (worker_now_ms() >= w->next_connect_ms && worker_link_connect(w) == 0)
            worker_streams_reset(w);
        if (!w->redis)
            worker_wait_ms(w, w->next_connect_ms - worker_now_ms());
    }
    if (w->redis && !worker_stopping(w)) {
        if (def->start && (status = def->start(w, def->data)) != 0) {
            log_error(w->component, "start failed (%d): stopping", status);
            worker_free(w);
            return 1;
        }
        started = true;
        run(w);
    }
    if (worker_stop_signal())
        log_info(w->component, "signal %d: stopping", worker_stop_signal());
    if (w->redis)
        worker_status_remove(w);
    if (started && def->stop)
        def->stop(w, def->data);
    log_info(w->component, "stopped: %llu processed, %llu failed, %llu dead-lettered, "
             "%llu skipped", (unsigned long long)w->processed, (unsigned long long)w->failed,
             (unsigned long long)w->deadlettered, (unsigned long long)w->skipped);
    worker_free(w);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Accessors */

const struct hub_config *worker_config(const struct worker *w)
{
    return &w->cfg;
}

redisContext *worker_redis(struct worker *w)
{
    if (w->redis && worker_link_drain(w) < 0)
        return NULL;
    return w->redis;
}

const char *worker_consumer(const struct worker *w)
{
    return w->consumer;
}

void worker_set_batch_max(struct worker *w, int n)
{
    w->cfg.worker.batch_max = n < 1 ? 1 : n > 10000 ? 10000 : n;
    w->read_entries = 0; /* learnt again from the next read */
}

bool worker_read_drained(const struct worker *w)
{
    return w->read_drained;
}

void worker_delay_read(struct worker *w, int ms)
{
    int64_t until = worker_now_ms() + (ms > 0 ? ms : 0);

    if (until > w->next_read_ms)
        w->next_read_ms = until;
}

void worker_set_health(struct worker *w, bool ok, const char *detail)
{
    if (w->user_unhealthy == !ok && strcmp(w->user_detail, detail ? detail : "") == 0)
        return;
    w->user_unhealthy = !ok;
    snprintf(w->user_detail, sizeof(w->user_detail), "%s", detail ? detail : "");
    w->status_dirty = true;
}

void worker_request_stop(struct worker *w)
{
    w->stop = true;
}
