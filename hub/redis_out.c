// SPDX-License-Identifier: MIT
/*
 * The Redis writer. Entries move through four lists:
 *
 *   queue ──pump──▶ in_flight ──reply──▶ confirmed (freed)
 *     ▲  ▲              │ │
 *     │  └── retry ◀────┘ │ transient error reply (OOM, LOADING, ...): back off, re-send
 *     │                   ▼
 *     └─(dead letters)─ in_doubt   link lost before the reply: maybe written, maybe not
 *
 * Replies arrive in the order commands were sent, so in_flight is a FIFO whose head
 * is always the entry the next reply answers.
 *
 * In-doubt events are re-sent once the link is back, by a script that adds each one
 * only if no entry of the stream's recent tail carries its id. For that check to be
 * final, the lost connection must not execute anything afterwards: Redis may still
 * hold its unread commands (a server paused by DEBUG SLEEP or SIGSTOP reads them when
 * it wakes). So every new connection first kills the lost ones by client id and
 * local address, before any data is sent, and data is only sent on a connection
 * whose CLIENT ID has been answered.
 */
#include "redis_out.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "redis_uv.h"

#define OUT_PARTS_MAX 18
#define DEADLETTER_PAYLOAD_MAX 256
#define STALE_MAX 8
#define RESEND_BATCH_MAX 512
#define RESEND_SCAN_LIMIT "100000"
#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 5000
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 2000

/* KEYS[1] stream; ARGV[1] lowest id to look at; ARGV[2] scan limit; then id, env pairs. */
static const char resend_script[] =
    "local seen = {}\n"
    "local tail = redis.call('XREVRANGE', KEYS[1], '+', ARGV[1], 'COUNT', ARGV[2])\n"
    "for _, e in ipairs(tail) do\n"
    "  local f = e[2]\n"
    "  for i = 1, #f, 2 do\n"
    "    if f[i] == 'id' then seen[f[i + 1]] = true break end\n"
    "  end\n"
    "end\n"
    "local added = 0\n"
    "for i = 3, #ARGV, 2 do\n"
    "  if not seen[ARGV[i]] then\n"
    "    redis.call('XADD', KEYS[1], '*', 'id', ARGV[i], 'env', ARGV[i + 1])\n"
    "    seen[ARGV[i]] = true\n"
    "    added = added + 1\n"
    "  end\n"
    "end\n"
    "return added\n";

struct out_item {
    struct out_item *next;
    uint64_t sent_ns;
    uint64_t after_ms; /* newest confirmed stream time when this was sent */
    uint32_t batch;    /* in flight: items this item's reply answers (1, or an EVAL batch) */
    bool is_event;
    bool resend;       /* sent through the add-if-absent script */
    const char *cmd;   /* the command, RESP-encoded once when queued */
    size_t cmd_len;
    /* Events only: NUL-terminated copies, and the envelope inside cmd. */
    const char *key, *id, *topic;
    const char *env;
    size_t env_len;
    char buf[];
};

struct out_list {
    struct out_item *head, *tail;
    size_t len;
};

enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_HANDSHAKE, LINK_READY };

struct stale_conn {
    long long id;
    char addr[64];
};

struct redis_out {
    uv_loop_t *loop;
    const struct hub_config *cfg;
    struct metrics *m;
    redis_out_progress_cb progress;
    redis_out_closed_cb closed;
    void *data, *closed_data;

    redisAsyncContext *ac;
    enum link_state state;
    uint64_t state_since_ns;
    long long client_id;
    char local_addr[64];
    bool ping_pending;
    uint64_t ping_sent_ns;
    unsigned reconnect_ms, retry_ms;
    bool ever_ready, retry_wait, closing, closed_done;
    uint64_t last_confirmed_ms;
    struct stale_conn stale[STALE_MAX];
    int n_stale;

    struct out_list queue, retry, in_flight, in_doubt;
    uv_timer_t tick, reconnect, retry_timer;
    int open_handles;
    char deadletter_key[128];
    char deadletter_maxlen[24];
};

static void connect_now(struct redis_out *out);
static void pump(struct redis_out *out);
static void maybe_finish(struct redis_out *out);

static void list_push(struct out_list *l, struct out_item *it)
{
    it->next = NULL;
    if (l->tail)
        l->tail->next = it;
    else
        l->head = it;
    l->tail = it;
    l->len++;
}

static struct out_item *list_pop(struct out_list *l)
{
    struct out_item *it = l->head;

    if (!it)
        return NULL;
    l->head = it->next;
    if (!l->head)
        l->tail = NULL;
    l->len--;
    it->next = NULL;
    return it;
}

/* Moves all of src in front of dst. */
static void list_prepend(struct out_list *dst, struct out_list *src)
{
    if (!src->head)
        return;
    src->tail->next = dst->head;
    if (!dst->tail)
        dst->tail = src->tail;
    dst->head = src->head;
    dst->len += src->len;
    src->head = src->tail = NULL;
    src->len = 0;
}

static void list_free(struct out_list *l)
{
    struct out_item *it;

    while ((it = list_pop(l)))
        free(it);
}

static size_t decimal_digits(size_t v)
{
    size_t n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static char *put_decimal(char *p, size_t v)
{
    char *end = p + decimal_digits(v);

    p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/*
 * Queues a command of n bulk strings, RESP-encoded once into one allocation so that
 * sending it is a copy into hiredis's buffer. extras are NUL-terminated copies kept
 * after the command. pos[i] receives where part i lies inside the command.
 */
static struct out_item *item_new(int n, const char *const *parts, const size_t *lens,
                                 const char **pos, int n_extra, const char *const *extras,
                                 const char **extra_pos)
{
    struct out_item *it;
    size_t cmd_len = 1 + decimal_digits((size_t)n) + 2, extra_len = 0;
    char *p;

    for (int i = 0; i < n; i++)
        cmd_len += 1 + decimal_digits(lens[i]) + 2 + lens[i] + 2;
    for (int i = 0; i < n_extra; i++)
        extra_len += strlen(extras[i]) + 1;
    if (!(it = malloc(sizeof(*it) + cmd_len + extra_len)))
        return NULL;
    memset(it, 0, sizeof(*it));
    p = it->buf;
    *p++ = '*';
    p = put_decimal(p, (size_t)n);
    *p++ = '\r', *p++ = '\n';
    for (int i = 0; i < n; i++) {
        *p++ = '$';
        p = put_decimal(p, lens[i]);
        *p++ = '\r', *p++ = '\n';
        memcpy(p, parts[i], lens[i]);
        if (pos)
            pos[i] = p;
        p += lens[i];
        *p++ = '\r', *p++ = '\n';
    }
    it->cmd = it->buf;
    it->cmd_len = cmd_len;
    for (int i = 0; i < n_extra; i++) {
        size_t len = strlen(extras[i]) + 1;
        memcpy(p, extras[i], len);
        extra_pos[i] = p;
        p += len;
    }
    return it;
}

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

static void set_state(struct redis_out *out, enum link_state state)
{
    out->state = state;
    out->state_since_ns = now_ns();
}

int redis_out_add_event(struct redis_out *out, const char *key, const char *id, const char *env,
                        size_t env_len, const char *topic)
{
    const char *parts[] = {"XADD", key, "*", "id", id, "env", env};
    size_t lens[] = {4, strlen(key), 1, 2, strlen(id), 3, env_len};
    const char *extras[] = {key, id, topic};
    const char *pos[7], *extra_pos[3];
    struct out_item *it = item_new(7, parts, lens, pos, 3, extras, extra_pos);

    if (!it)
        return -ENOMEM;
    it->is_event = true;
    it->key = extra_pos[0];
    it->id = extra_pos[1];
    it->topic = extra_pos[2];
    it->env = pos[6];
    it->env_len = env_len;
    list_push(&out->queue, it);
    pump(out);
    return 0;
}

static void format_utc(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

int redis_out_add_deadletter(struct redis_out *out, const char *topic, enum reject_reason reason,
                             const char *detail, const void *payload, size_t payload_len)
{
    char size[24], when[40];
    const char *reason_name = reject_reason_name(reason);
    size_t keep = payload_len < DEADLETTER_PAYLOAD_MAX ? payload_len : DEADLETTER_PAYLOAD_MAX;
    const char *parts[] = {"XADD", out->deadletter_key, "MAXLEN", "~", out->deadletter_maxlen,
                           "*", "topic", topic, "reason", reason_name, "detail", detail,
                           "payload", payload ? payload : "", "size", size, "time", when};
    size_t lens[OUT_PARTS_MAX];
    struct out_item *it;

    snprintf(size, sizeof(size), "%zu", payload_len);
    format_utc(when, sizeof(when));
    for (int i = 0; i < OUT_PARTS_MAX; i++)
        lens[i] = strlen(parts[i]);
    lens[13] = keep;
    if (!(it = item_new(OUT_PARTS_MAX, parts, lens, NULL, 0, NULL, NULL)))
        return -ENOMEM;
    list_push(&out->queue, it);
    pump(out);
    return 0;
}

size_t redis_out_queued(const struct redis_out *out)
{
    return out->queue.len + out->retry.len;
}

size_t redis_out_pending(const struct redis_out *out)
{
    return out->queue.len + out->retry.len + out->in_flight.len + out->in_doubt.len;
}

bool redis_out_ready(const struct redis_out *out)
{
    return out->state == LINK_READY;
}

void redis_out_gauges(const struct redis_out *out, struct metrics_gauges *g)
{
    g->queued = redis_out_queued(out);
    g->in_flight = out->in_flight.len;
    g->in_doubt = out->in_doubt.len;
    g->redis_connected = out->state == LINK_READY;
}

/* Transient errors leave the entry queued; anything else is the entry's fault. */
static bool error_is_transient(const char *msg)
{
    return strncmp(msg, "ERR", 3) != 0 && strncmp(msg, "WRONGTYPE", 9) != 0;
}

static unsigned next_backoff(unsigned *ms, unsigned min, unsigned max)
{
    unsigned base = *ms ? *ms : min;
    unsigned jitter = base / 5;

    *ms = base * 2 > max ? max : base * 2;
    /* +-20 % so that many hubs do not reconnect in step. */
    return base - jitter + (jitter ? (unsigned)rand() % (2 * jitter + 1) : 0);
}

static void on_reconnect_timer(uv_timer_t *t)
{
    connect_now(t->data);
}

static void remember_stale(struct redis_out *out)
{
    if (out->client_id <= 0)
        return;
    if (out->n_stale == STALE_MAX) {
        log_warn("redis", "too many lost connections to fence; forgetting client %lld",
                 out->stale[0].id);
        memmove(&out->stale[0], &out->stale[1], sizeof(out->stale[0]) * (STALE_MAX - 1));
        out->n_stale--;
    }
    out->stale[out->n_stale].id = out->client_id;
    snprintf(out->stale[out->n_stale].addr, sizeof(out->stale[0].addr), "%s", out->local_addr);
    out->n_stale++;
    out->client_id = 0;
}

/* The link is gone (the context is freed or being freed): plan what comes next. */
static void link_down(struct redis_out *out)
{
    bool was_ready = out->state == LINK_READY;

    if (out->state == LINK_READY || out->state == LINK_HANDSHAKE)
        remember_stale(out);
    out->ac = NULL;
    out->ping_pending = false;
    set_state(out, LINK_DOWN);
    if (was_ready && out->closing && redis_out_pending(out) == 0)
        log_info("redis", "link to %s:%d closed", out->cfg->redis.host, out->cfg->redis.port);
    else if (was_ready)
        log_warn("redis", "link to %s:%d lost; %zu queued, %zu in doubt", out->cfg->redis.host,
                 out->cfg->redis.port, redis_out_queued(out), out->in_doubt.len);
    if (out->closed_done)
        return;
    if (out->closing && redis_out_pending(out) == 0) {
        maybe_finish(out);
        return;
    }
    uv_timer_start(&out->reconnect,
                   on_reconnect_timer,
                   next_backoff(&out->reconnect_ms, RECONNECT_MIN_MS, RECONNECT_MAX_MS), 0);
}

/* Drops the link from outside hiredis's callbacks (timers only). */
static void drop_link(struct redis_out *out, const char *why)
{
    redisAsyncContext *ac = out->ac;

    if (!ac)
        return;
    log_warn("redis", "dropping the link: %s", why);
    redisAsyncFree(ac); /* fails pending callbacks; calls on_disconnect if it was connected */
    if (out->ac == ac)
        link_down(out);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_out *out = ac->data;

    if (status != REDIS_OK && ac->errstr[0])
        log_warn("redis", "disconnected: %s", ac->errstr);
    link_down(out);
}

static void on_kill(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_out *out = ac->data;
    redisReply *reply = r;
    long long id = (long long)(intptr_t)privdata;

    if (!reply)
        return; /* not fenced yet: the next connection tries again */
    for (int i = 0; i < out->n_stale; i++) {
        if (out->stale[i].id == id) {
            memmove(&out->stale[i], &out->stale[i + 1],
                    sizeof(out->stale[0]) * (size_t)(out->n_stale - i - 1));
            out->n_stale--;
            break;
        }
    }
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);

/* Re-sends in-doubt entries: events through the add-if-absent script, per stream. */
static void resend_in_doubt(struct redis_out *out)
{
    struct out_list dead = {0}, rest = {0};
    struct out_item *it;

    while ((it = list_pop(&out->in_doubt)))
        list_push(it->is_event ? &rest : &dead, it);
    list_prepend(&out->queue, &dead); /* dead letters: a rare duplicate is harmless */

    while (rest.head) {
        struct out_list batch = {0}, others = {0};
        const char *key = rest.head->key;
        uint64_t after_ms = rest.head->after_ms;
        const char **argv;
        size_t *argvlen;
        char start[32];
        int argc = 0;

        while ((it = list_pop(&rest))) {
            if (batch.len < RESEND_BATCH_MAX && strcmp(it->key, key) == 0) {
                list_push(&batch, it);
                if (it->after_ms < after_ms)
                    after_ms = it->after_ms;
            } else {
                list_push(&others, it);
            }
        }
        rest = others;
        /* A second of margin for the clocks of different streams. */
        snprintf(start, sizeof(start), "%llu-0",
                 (unsigned long long)(after_ms > 1000 ? after_ms - 1000 : 0));
        argv = malloc(sizeof(*argv) * (6 + 2 * batch.len));
        argvlen = malloc(sizeof(*argvlen) * (6 + 2 * batch.len));
        if (!argv || !argvlen) {
            free(argv);
            free(argvlen);
            list_prepend(&out->in_doubt, &batch);
            list_prepend(&out->in_doubt, &rest);
            log_error("redis", "out of memory re-sending events; will retry");
            return;
        }
        argv[argc] = "EVAL", argvlen[argc++] = 4;
        argv[argc] = resend_script, argvlen[argc++] = sizeof(resend_script) - 1;
        argv[argc] = "1", argvlen[argc++] = 1;
        argv[argc] = key, argvlen[argc++] = strlen(key);
        argv[argc] = start, argvlen[argc++] = strlen(start);
        argv[argc] = RESEND_SCAN_LIMIT, argvlen[argc++] = sizeof(RESEND_SCAN_LIMIT) - 1;
        for (it = batch.head; it; it = it->next) {
            argv[argc] = it->id, argvlen[argc++] = strlen(it->id);
            argv[argc] = it->env, argvlen[argc++] = it->env_len;
        }
        for (it = batch.head; it; it = it->next)
            it->resend = true;
        batch.head->batch = (uint32_t)batch.len;
        batch.head->sent_ns = now_ns();
        if (redisAsyncCommandArgv(out->ac, on_reply, batch.head, argc, argv, argvlen) != REDIS_OK) {
            free(argv);
            free(argvlen);
            list_prepend(&out->in_doubt, &batch);
            list_prepend(&out->in_doubt, &rest);
            return;
        }
        free(argv);
        free(argvlen);
        log_info("redis", "re-sending %zu in-doubt events to %s", batch.len, key);
        while ((it = list_pop(&batch)))
            list_push(&out->in_flight, it);
    }
}

static void on_client_id(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_out *out = ac->data;
    redisReply *reply = r;

    if (!reply)
        return;
    if (reply->type != REDIS_REPLY_INTEGER) {
        log_error("redis", "handshake refused: %s",
                  reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply to CLIENT ID");
        return; /* the liveness deadline drops this link and tries again */
    }
    out->client_id = reply->integer;
    /* Fence the connections we lost before anything of ours runs on this one. */
    for (int i = 0; i < out->n_stale; i++) {
        char id[24];
        snprintf(id, sizeof(id), "%lld", out->stale[i].id);
        redisAsyncCommand(ac, on_kill, (void *)(intptr_t)out->stale[i].id,
                          "CLIENT KILL ID %s ADDR %s", id, out->stale[i].addr);
    }
    if (out->ever_ready)
        out->m->redis_reconnects++;
    out->ever_ready = true;
    out->reconnect_ms = 0;
    set_state(out, LINK_READY);
    log_info("redis", "connected to %s:%d (client %lld)", out->cfg->redis.host,
             out->cfg->redis.port, out->client_id);
    resend_in_doubt(out);
    pump(out);
    if (out->progress)
        out->progress(out->data);
}

static void on_auth(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;

    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_error("redis", "authentication failed: %s", reply->str);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    struct redis_out *out = ac->data;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (status != REDIS_OK) {
        log_warn("redis", "cannot connect to %s:%d: %s", out->cfg->redis.host,
                 out->cfg->redis.port, ac->errstr);
        link_down(out); /* hiredis frees the context after this returns */
        return;
    }
    if (getsockname(ac->c.fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
            port = ntohs(sin->sin_port);
            snprintf(out->local_addr, sizeof(out->local_addr), "%s:%d", host, port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
            port = ntohs(sin6->sin6_port);
            snprintf(out->local_addr, sizeof(out->local_addr), "[%s]:%d", host, port);
        }
    }
    set_state(out, LINK_HANDSHAKE);
    if (out->cfg->redis.password[0])
        redisAsyncCommand(ac, on_auth, NULL, "AUTH %s", out->cfg->redis.password);
    redisAsyncCommand(ac, on_client_id, NULL, "CLIENT ID");
}

static void connect_now(struct redis_out *out)
{
    redisAsyncContext *ac;
    int r;

    if (out->ac || out->closed_done)
        return;
    ac = redisAsyncConnect(out->cfg->redis.host, out->cfg->redis.port);
    if (!ac || ac->err) {
        log_warn("redis", "cannot connect to %s:%d: %s", out->cfg->redis.host,
                 out->cfg->redis.port, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        link_down(out);
        return;
    }
    /* Workers spawned later must not inherit the link. */
    (void)fcntl(ac->c.fd, F_SETFD, FD_CLOEXEC);
    if ((r = redis_uv_attach(ac, out->loop)) < 0) {
        log_error("redis", "cannot watch the Redis socket: %s", uv_strerror(r));
        redisAsyncFree(ac);
        link_down(out);
        return;
    }
    ac->data = out;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    out->ac = ac;
    set_state(out, LINK_CONNECTING);
}

static void on_retry_timer(uv_timer_t *t)
{
    struct redis_out *out = t->data;

    out->retry_wait = false;
    list_prepend(&out->queue, &out->retry);
    pump(out);
}

/* Sends what the in-flight cap allows, in queue order. */
static void pump(struct redis_out *out)
{
    struct out_item *it;

    while (out->state == LINK_READY && !out->retry_wait &&
           out->in_flight.len < (size_t)out->cfg->redis.max_in_flight &&
           (it = list_pop(&out->queue))) {
        it->batch = 1;
        it->resend = false;
        it->sent_ns = now_ns();
        it->after_ms = out->last_confirmed_ms;
        if (redisAsyncFormattedCommand(out->ac, on_reply, it, it->cmd, it->cmd_len) != REDIS_OK) {
            struct out_list one = {0};
            list_push(&one, it);
            list_prepend(&out->queue, &one);
            break;
        }
        list_push(&out->in_flight, it);
    }
    maybe_finish(out);
}

static void fail_for_good(struct redis_out *out, struct out_item *it, const char *error)
{
    if (it->is_event) {
        char detail[256];
        snprintf(detail, sizeof(detail), "Redis refused the event: %s", error);
        out->m->rejected[REJECT_STORE_FAILED]++;
        log_error("redis", "event %s refused by Redis: %s", it->id, error);
        redis_out_add_deadletter(out, it->topic, REJECT_STORE_FAILED, detail, it->env,
                                 it->env_len);
    } else {
        log_error("redis", "dead-letter entry refused by Redis, dropped: %s", error);
    }
    free(it);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_out *out = ac->data;
    redisReply *reply = r;
    struct out_item *first = privdata, *it;
    struct out_list done = {0};
    uint32_t n = first->batch;
    uint64_t now = now_ns();

    for (uint32_t i = 0; i < n; i++) {
        it = list_pop(&out->in_flight);
        if (i == 0 && it != first)
            log_error("redis", "reply order broken; continuing"); /* cannot happen */
        list_push(&done, it);
    }
    if (!reply) {
        /* The link went down first: maybe written, maybe not. */
        while ((it = list_pop(&done)))
            list_push(&out->in_doubt, it);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        out->m->redis_errors++;
        if (error_is_transient(reply->str)) {
            /* Re-sent entries stay in doubt; plain ones go back in order. */
            struct out_list *to = first->resend ? &out->in_doubt : &out->retry;
            if (!out->retry_wait) {
                unsigned ms = next_backoff(&out->retry_ms, RETRY_MIN_MS, RETRY_MAX_MS);
                log_warn("redis", "Redis is refusing writes (%s); retrying in %u ms", reply->str,
                         ms);
                out->retry_wait = true;
                uv_timer_start(&out->retry_timer, on_retry_timer, ms, 0);
            }
            while ((it = list_pop(&done)))
                list_push(to, it);
            return;
        }
        while ((it = list_pop(&done)))
            fail_for_good(out, it, reply->str);
        pump(out);
        return;
    }
    out->retry_ms = 0;
    if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS) {
        uint64_t ms = strtoull(reply->str, NULL, 10);
        if (ms > out->last_confirmed_ms)
            out->last_confirmed_ms = ms;
    }
    metrics_observe_xadd(out->m, now - first->sent_ns);
    if (first->resend)
        out->m->resent += n;
    while ((it = list_pop(&done))) {
        if (it->is_event)
            out->m->accepted++;
        else
            out->m->deadletters++;
        free(it);
    }
    pump(out);
    if (out->progress)
        out->progress(out->data);
}

static void on_pong(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_out *out = ac->data;

    if (r)
        out->ping_pending = false;
}

/* Liveness: a link that does not answer within the deadline is dropped. */
static void on_tick(uv_timer_t *t)
{
    struct redis_out *out = t->data;
    uint64_t now = now_ns();
    uint64_t limit = (uint64_t)out->cfg->redis.liveness_timeout_ms * 1000000u;
    char why[128];

    switch (out->state) {
    case LINK_DOWN:
        return;
    case LINK_CONNECTING:
    case LINK_HANDSHAKE:
        if (now - out->state_since_ns > limit) {
            snprintf(why, sizeof(why), "no answer within %d ms of connecting",
                     out->cfg->redis.liveness_timeout_ms);
            drop_link(out, why);
        }
        return;
    case LINK_READY:
        if ((out->ping_pending && now - out->ping_sent_ns > limit) ||
            (out->in_flight.head && now - out->in_flight.head->sent_ns > limit)) {
            snprintf(why, sizeof(why), "no reply within %d ms",
                     out->cfg->redis.liveness_timeout_ms);
            drop_link(out, why);
            return;
        }
        if (!out->ping_pending &&
            redisAsyncCommand(out->ac, on_pong, NULL, "PING") == REDIS_OK) {
            out->ping_pending = true;
            out->ping_sent_ns = now;
        }
        return;
    }
}

struct redis_out *redis_out_new(uv_loop_t *loop, const struct hub_config *cfg, struct metrics *m,
                                redis_out_progress_cb progress, void *data)
{
    struct redis_out *out = calloc(1, sizeof(*out));
    uv_timer_t *timers[3];

    if (!out)
        return NULL;
    out->loop = loop;
    out->cfg = cfg;
    out->m = m;
    out->progress = progress;
    out->data = data;
    snprintf(out->deadletter_key, sizeof(out->deadletter_key), "%sdeadletter",
             cfg->redis.stream_prefix);
    snprintf(out->deadletter_maxlen, sizeof(out->deadletter_maxlen), "%d",
             cfg->ingest.deadletter_maxlen);
    timers[0] = &out->tick;
    timers[1] = &out->reconnect;
    timers[2] = &out->retry_timer;
    for (int i = 0; i < 3; i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = out;
        out->open_handles++;
    }
    uv_timer_start(&out->tick, on_tick, (uint64_t)cfg->redis.ping_interval_ms,
                   (uint64_t)cfg->redis.ping_interval_ms);
    set_state(out, LINK_DOWN);
    connect_now(out);
    return out;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct redis_out *out = h->data;

    if (--out->open_handles == 0 && out->closed)
        out->closed(out->closed_data);
}

static void close_handles(struct redis_out *out)
{
    if (out->closed_done)
        return;
    out->closed_done = true;
    uv_close((uv_handle_t *)&out->tick, on_handle_closed);
    uv_close((uv_handle_t *)&out->reconnect, on_handle_closed);
    uv_close((uv_handle_t *)&out->retry_timer, on_handle_closed);
}

/* When draining and nothing is left: close the link, then the handles. */
static void maybe_finish(struct redis_out *out)
{
    if (!out->closing || out->closed_done || redis_out_pending(out) > 0)
        return;
    if (out->ac) {
        if (out->state == LINK_READY) {
            /* Graceful: hiredis waits for outstanding replies (PING), then calls
             * on_disconnect, which comes back here with out->ac cleared. */
            redisAsyncDisconnect(out->ac);
            return;
        }
        drop_link(out, "shutting down");
        return;
    }
    close_handles(out);
}

void redis_out_drain(struct redis_out *out, redis_out_closed_cb closed, void *data)
{
    out->closing = true;
    out->closed = closed;
    out->closed_data = data;
    maybe_finish(out);
}

void redis_out_abort(struct redis_out *out)
{
    size_t lost = redis_out_pending(out);

    if (lost)
        log_error("redis", "giving up on %zu entries Redis has not confirmed", lost);
    out->closing = true;
    close_handles(out); /* first, so that losing the link plans no reconnect */
    if (out->ac) {
        redisAsyncContext *ac = out->ac;
        redisAsyncFree(ac);
        out->ac = NULL;
    }
    list_free(&out->queue);
    list_free(&out->retry);
    list_free(&out->in_flight);
    list_free(&out->in_doubt);
    close_handles(out);
}

void redis_out_free(struct redis_out *out)
{
    if (!out)
        return;
    list_free(&out->queue);
    list_free(&out->retry);
    list_free(&out->in_flight);
    list_free(&out->in_doubt);
    free(out);
}
