// SPDX-License-Identifier: MIT
/*
 * The worker process (worker.h): its arguments and configuration, signals and the
 * supervisor's stdin pipe, the synchronous Redis link with its reconnect backoff,
 * following the route key, the status hash, and the loop that schedules reads,
 * claims, heartbeats and route checks. Reading and handing entries to the callback
 * is in worker_batch.c.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "worker_internal.h"

#define CONNECT_TIMEOUT_MS 2000
#define READ_TIMEOUT_EXTRA_MS 3000  /* the read timeout is block_ms plus this */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define ROUTE_INTERVAL_MS 2000      /* route re-read while one is followed */
#define ROUTE_WAIT_INTERVAL_MS 250  /* route re-read while none exists yet */
#define ROUTE_WAIT_LOG_MS 30000
#define WAIT_SLICE_MS 250           /* longest sleep between checks of the stop flags */
#define INSTANCE_MAX 9999

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int signo)
{
    stop_signal = signo;
}

int64_t worker_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool worker_stopping(const struct worker *w)
{
    return w->stop || stop_signal;
}

static bool stopping(const struct worker *w)
{
    return worker_stopping(w);
}

static int backoff_next(int ms)
{
    return ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2;
}

/* ------------------------------------------------------------------------------------------ */
/* Standard input: the supervisor's pipe */

/*
 * A pipe or socket on stdin at start is the supervisor's: its end means the hub is
 * gone. A terminal, /dev/null or a file means no supervisor.
 */
static void stdin_init(struct worker *w)
{
    struct stat st;

    w->stdin_watched = fstat(STDIN_FILENO, &st) == 0 &&
                       (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/* Reads and drops what the supervisor wrote; sets w->stop at end of file. Never blocks. */
static void stdin_check(struct worker *w)
{
    for (int round = 0; w->stdin_watched && round < 16; round++) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        char buf[512];
        ssize_t n;

        if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
            return;
        if (p.revents & POLLNVAL) {
            n = 0;
        } else {
            n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        }
        if (n <= 0) {
            log_info(w->component, "standard input closed (the hub is gone): stopping");
            w->stdin_watched = false;
            w->stop = true;
            return;
        }
    }
}

/* Sleeps up to ms (at most WAIT_SLICE_MS); a signal or input on stdin ends it early. */
static void wait_ms(struct worker *w, int64_t ms)
{
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};

    if (ms <= 0 || stopping(w))
        return;
    if (ms > WAIT_SLICE_MS)
        ms = WAIT_SLICE_MS;
    poll(&p, w->stdin_watched ? 1 : 0, (int)ms);
}

/* ------------------------------------------------------------------------------------------ */
/* The Redis link */

void worker_link_failed(struct worker *w, const char *what)
{
    if (!w->redis)
        return;
    log_warn(w->component, "redis link lost (%s: %s); reconnecting", what,
             w->redis->errstr[0] ? w->redis->errstr : "no reply");
    redisFree(w->redis);
    w->redis = NULL;
    w->link_down = true;
    w->connect_backoff_ms = BACKOFF_MIN_MS;
    w->next_connect_ms = worker_now_ms() + BACKOFF_MIN_MS;
    w->status_dirty = true;
}

redisReply *worker_command(struct worker *w, int argc, const char **argv, const size_t *lens)
{
    redisReply *reply;

    if (!w->redis)
        return NULL;
    reply = redisCommandArgv(w->redis, argc, argv, lens);
    if (!reply || w->redis->err) {
        freeReplyObject(reply);
        worker_link_failed(w, argv[0]);
        return NULL;
    }
    return reply;
}

/*
 * Connects, with FD_CLOEXEC, TCP_NODELAY, keep-alive, a read timeout a bit above
 * block_ms (a hung Redis must not hang the worker) and AUTH when configured.
 * Returns 0, or -ENOTCONN (logged when the link was up or never tried; the next try is
 * scheduled with backoff).
 */
static int link_connect(struct worker *w)
{
    const struct timeval connect_tv = {CONNECT_TIMEOUT_MS / 1000, 0};
    int read_ms = w->cfg.worker.block_ms + READ_TIMEOUT_EXTRA_MS;
    const struct timeval read_tv = {read_ms / 1000, (read_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(w->cfg.redis.host, w->cfg.redis.port, connect_tv);
    char why[256];
    int one = 1;

    if (!c || c->err) {
        snprintf(why, sizeof(why), "%s", c ? c->errstr : "out of memory");
        goto err;
    }
    if (fcntl(c->fd, F_SETFD, FD_CLOEXEC) < 0 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
        snprintf(why, sizeof(why), "socket options: %s", strerror(errno));
        goto err;
    }
    if (redisSetTimeout(c, read_tv) != REDIS_OK || redisEnableKeepAlive(c) != REDIS_OK) {
        snprintf(why, sizeof(why), "socket options: %s", c->errstr);
        goto err;
    }
    if (w->cfg.redis.password[0]) {
        const char *argv[] = {"AUTH", w->cfg.redis.password};
        redisReply *reply = redisCommandArgv(c, 2, argv, NULL);
        if (!reply || reply->type == REDIS_REPLY_ERROR) {
            snprintf(why, sizeof(why), "AUTH: %s", reply ? reply->str : c->errstr);
            freeReplyObject(reply);
            goto err;
        }
        freeReplyObject(reply);
    }
    if (w->link_down)
        log_info(w->component, "redis link up again");
    else
        log_info(w->component, "connected to redis %s:%d as consumer %s of group %s",
                 w->cfg.redis.host, w->cfg.redis.port, w->consumer, w->kind);
    w->redis = c;
    w->link_down = false;
    w->connect_backoff_ms = BACKOFF_MIN_MS;
    /* Whatever was read and not acknowledged is ours: read it again, re-check groups. */
    for (size_t i = 0; i < w->n_streams; i++)
        w->streams[i].ready = false;
    worker_streams_rewind(w);
    w->next_route_ms = 0;
    w->status_dirty = true;
    return 0;
err:
    if (!w->link_down)
        log_warn(w->component, "redis %s:%d: %s; retrying", w->cfg.redis.host, w->cfg.redis.port,
                 why);
    else
        log_debug(w->component, "redis %s:%d: %s; retrying in %d ms", w->cfg.redis.host,
                  w->cfg.redis.port, why, w->connect_backoff_ms);
    if (c)
        redisFree(c);
    w->link_down = true;
    w->next_connect_ms = worker_now_ms() + w->connect_backoff_ms;
    w->connect_backoff_ms = backoff_next(w->connect_backoff_ms);
    return -ENOTCONN;
}

/* ------------------------------------------------------------------------------------------ */
/* Streams and the route */

void worker_streams_rewind(struct worker *w)
{
    for (size_t i = 0; i < w->n_streams; i++) {
        w->streams[i].history = true;
        snprintf(w->streams[i].cursor, sizeof(w->streams[i].cursor), "0");
    }
}

/*
 * XGROUP CREATE <stream> <kind> $ MKSTREAM, BUSYGROUP being fine (the hub did it). A
 * stream whose group cannot be made stays out of the reads until the next route check.
 */
static void stream_ensure_group(struct worker *w, struct worker_stream *s)
{
    const char *argv[] = {"XGROUP", "CREATE", s->key, w->kind, "$", "MKSTREAM"};
    redisReply *reply = worker_command(w, 6, argv, NULL);

    if (!reply)
        return;
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0) {
        log_warn(w->component, "cannot create group %s on %s: %s", w->kind, s->key, reply->str);
    } else {
        s->ready = true;
        if (reply->type != REDIS_REPLY_ERROR)
            log_info(w->component, "created group %s on %s", w->kind, s->key);
    }
    freeReplyObject(reply);
}

/* Makes w->scratch the route followed: streams kept keep their state, new ones start. */
static void route_apply(struct worker *w)
{
    struct worker_stream *old = malloc(sizeof(w->streams));
    size_t n_old = w->n_streams, added = 0;

    if (!old) {
        log_error(w->component, "out of memory applying the route");
        return;
    }
    memcpy(old, w->streams, sizeof(w->streams));
    w->n_streams = 0;
    for (size_t i = 0; i < w->scratch.n_streams; i++) {
        struct worker_stream *s = &w->streams[w->n_streams++];
        size_t k;

        for (k = 0; k < n_old; k++)
            if (strcmp(old[k].key, w->scratch.streams[i]) == 0)
                break;
        if (k < n_old) {
            *s = old[k];
            continue;
        }
        memset(s, 0, sizeof(*s));
        snprintf(s->key, sizeof(s->key), "%s", w->scratch.streams[i]);
        s->history = true; /* pending entries of ours from an earlier run come first */
        snprintf(s->cursor, sizeof(s->cursor), "0");
        snprintf(s->claim_cursor, sizeof(s->claim_cursor), "0-0");
        added++;
    }
    log_info(w->component, "route %s version %lld: %zu streams (%zu new, %zu left)",
             w->route_key, w->scratch.version, w->n_streams, added,
             n_old + added - w->n_streams);
    free(old);
    w->route = w->scratch;
    w->have_route = true;
    w->status_dirty = true;
}

/*
 * Reads the route key; applies a changed route; creates the group on streams that
 * are not ready yet. A missing or unparsable route leaves the current one in force.
 */
static void route_refresh(struct worker *w)
{
    const char *argv[] = {"GET", w->route_key};
    int64_t now = worker_now_ms();
    redisReply *reply = worker_command(w, 2, argv, NULL);

    w->next_route_ms = now + (w->have_route ? ROUTE_INTERVAL_MS : ROUTE_WAIT_INTERVAL_MS);
    if (!reply)
        return;
    if (reply->type == REDIS_REPLY_NIL) {
        if (!w->have_route && now - w->route_wait_logged_ms >= ROUTE_WAIT_LOG_MS) {
            log_info(w->component, "waiting for the route at %s (the hub publishes it)",
                     w->route_key);
            w->route_wait_logged_ms = now;
        } else if (w->have_route && w->route_text) {
            log_warn(w->component, "route %s is gone; keeping the last one", w->route_key);
            free(w->route_text);
            w->route_text = NULL;
        }
    } else if (reply->type != REDIS_REPLY_STRING) {
        log_warn(w->component, "route %s is not a string", w->route_key);
    } else if (!w->route_text || strlen(w->route_text) != reply->len ||
               memcmp(w->route_text, reply->str, reply->len) != 0) {
        char why[200];
        char *text = malloc(reply->len + 1);

        if (!text) {
            freeReplyObject(reply);
            return;
        }
        memcpy(text, reply->str, reply->len);
        text[reply->len] = '\0';
        free(w->route_text);
        w->route_text = text; /* a bad text is reported once, not at every check */
        if (worker_route_parse(&w->scratch, reply->str, reply->len, w->kind, why, sizeof(why)) <
            0)
            log_warn(w->component, "route %s ignored: %s", w->route_key, why);
        else
            route_apply(w);
    }
    freeReplyObject(reply);
    for (size_t i = 0; i < w->n_streams && w->redis; i++)
        if (!w->streams[i].ready)
            stream_ensure_group(w, &w->streams[i]);
}

/* ------------------------------------------------------------------------------------------ */
/* Health and the status key */

void worker_batch_failed(struct worker *w, const char *detail)
{
    if (!w->batch_error || strcmp(w->batch_detail, detail) != 0)
        log_warn(w->component, "%s; trying again in %d ms", detail, w->batch_backoff_ms);
    w->batch_error = true;
    snprintf(w->batch_detail, sizeof(w->batch_detail), "%s", detail);
    w->next_read_ms = worker_now_ms() + w->batch_backoff_ms;
    w->batch_backoff_ms = backoff_next(w->batch_backoff_ms);
    worker_streams_rewind(w);
    w->status_dirty = true;
}

void worker_batch_succeeded(struct worker *w)
{
    if (w->batch_error) {
        log_info(w->component, "batches succeed again");
        w->status_dirty = true;
    }
    w->batch_error = false;
    w->batch_detail[0] = '\0';
    w->batch_backoff_ms = BACKOFF_MIN_MS;
}

static bool healthy(const struct worker *w, const char **detail)
{
    if (w->batch_error) {
        *detail = w->batch_detail;
        return false;
    }
    if (w->user_unhealthy) {
        *detail = w->user_detail;
        return false;
    }
    if (w->tick_error) {
        *detail = w->tick_detail;
        return false;
    }
    if (!w->have_route) {
        *detail = "waiting for the route";
        return false;
    }
    *detail = w->user_detail;
    return true;
}

/* HSET <prefix>worker:<kind>:<consumer> ... and PEXPIRE it, in one round trip. */
static void status_write(struct worker *w)
{
    char processed[24], failed[24], deadlettered[24], skipped[24], pid[24], updated[24],
        expire[24];
    const char *detail;
    bool ok = healthy(w, &detail);
    const char *hset[] = {"HSET",      w->status_key, "state",        ok ? "ok" : "unhealthy",
                          "detail",    detail,        "processed",    processed,
                          "failed",    failed,        "deadlettered", deadlettered,
                          "skipped",   skipped,       "pid",          pid,
                          "updated_ms", updated};
    const char *pexpire[] = {"PEXPIRE", w->status_key, expire};
    redisReply *reply;

    snprintf(processed, sizeof(processed), "%llu", (unsigned long long)w->processed);
    snprintf(failed, sizeof(failed), "%llu", (unsigned long long)w->failed);
    snprintf(deadlettered, sizeof(deadlettered), "%llu", (unsigned long long)w->deadlettered);
    snprintf(skipped, sizeof(skipped), "%llu", (unsigned long long)w->skipped);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    snprintf(updated, sizeof(updated), "%lld", (long long)wall_ms());
    snprintf(expire, sizeof(expire), "%d", 5 * w->cfg.worker.heartbeat_ms);
    w->next_status_ms = worker_now_ms() + w->cfg.worker.heartbeat_ms;
    w->status_dirty = false;
    if (redisAppendCommandArgv(w->redis, sizeof(hset) / sizeof(hset[0]), hset, NULL) != REDIS_OK ||
        redisAppendCommandArgv(w->redis, 3, pexpire, NULL) != REDIS_OK) {
        worker_link_failed(w, "status");
        return;
    }
    for (int i = 0; i < 2; i++) {
        if (redisGetReply(w->redis, (void **)&reply) != REDIS_OK) {
            worker_link_failed(w, "status");
            return;
        }
        if (reply->type == REDIS_REPLY_ERROR)
            log_warn(w->component, "status %s: %s", w->status_key, reply->str);
        freeReplyObject(reply);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The loop */

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static size_t ready_streams(const struct worker *w)
{
    size_t n = 0;

    for (size_t i = 0; i < w->n_streams; i++)
        n += w->streams[i].ready;
    return n;
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
    while (!stopping(w)) {
        int64_t now = worker_now_ms(), next;

        stdin_check(w);
        if (stopping(w))
            break;
        if (!w->redis) {
            if (now >= w->next_connect_ms)
                link_connect(w);
            if (!w->redis) {
                run_tick(w);
                wait_ms(w, w->next_connect_ms - worker_now_ms());
                continue;
            }
        }
        if (now >= w->next_route_ms)
            route_refresh(w);
        if (w->redis && (w->status_dirty || now >= w->next_status_ms))
            status_write(w);
        run_tick(w);
        if (!w->redis || stopping(w))
            continue;
        now = worker_now_ms();
        next = min64(w->next_route_ms, w->next_status_ms);
        if (!w->have_route || ready_streams(w) == 0) {
            wait_ms(w, next - now);
            continue;
        }
        if (now < w->next_read_ms) {
            wait_ms(w, min64(next, w->next_read_ms) - now);
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

static void signals_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal; /* no SA_RESTART: a sleep ends at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL); /* a dropped link is an error return, not a death */
}

/* Deletes the status key: a worker that stopped on purpose reports nothing. */
static void status_remove(struct worker *w)
{
    const char *argv[] = {"DEL", w->status_key};
    redisReply *reply = worker_command(w, 2, argv, NULL);

    freeReplyObject(reply);
}

static void worker_free(struct worker *w)
{
    if (!w)
        return;
    if (w->redis)
        redisFree(w->redis);
    worker_history_free(w->history);
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
    w->batch_backoff_ms = w->connect_backoff_ms = BACKOFF_MIN_MS;
    w->route_wait_logged_ms = INT64_MIN / 2;
    if (!(w->history = worker_history_new(WORKER_HISTORY_ENTRIES))) {
        log_error(w->component, "out of memory");
        worker_free(w);
        return 1;
    }
    signals_init();
    stdin_init(w);

    while (!w->redis && !stopping(w)) {
        stdin_check(w);
        if (worker_now_ms() >= w->next_connect_ms)
            link_connect(w);
        if (!w->redis)
            wait_ms(w, w->next_connect_ms - worker_now_ms());
    }
    if (w->redis && !stopping(w)) {
        if (def->start && (status = def->start(w, def->data)) != 0) {
            log_error(w->component, "start failed (%d): stopping", status);
            worker_free(w);
            return 1;
        }
        started = true;
        run(w);
    }
    if (stop_signal)
        log_info(w->component, "signal %d: stopping", (int)stop_signal);
    if (w->redis)
        status_remove(w);
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
    return w->redis;
}

const char *worker_consumer(const struct worker *w)
{
    return w->consumer;
}

void worker_set_batch_max(struct worker *w, int n)
{
    w->cfg.worker.batch_max = n < 1 ? 1 : n > 10000 ? 10000 : n;
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
