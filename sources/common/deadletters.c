// SPDX-License-Identifier: MIT
/*
 * The source's link to the dead-letter stream (deadletters.h): hiredis, synchronous,
 * with connect and command timeouts so that a hung Redis cannot stall the source for
 * long, and a 5 s pause between connection attempts while Redis is away.
 */
#include "deadletters.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "rfc3339.h"

#define CONNECT_PAUSE_MS 5000
#define REDIS_TIMEOUT_MS 2000

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void deadletters_init(struct deadletters *d, const struct hub_config *cfg, const char *source,
                      struct source_metrics *m)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->host, sizeof(d->host), "%s", cfg->redis.host);
    d->port = cfg->redis.port;
    snprintf(d->password, sizeof(d->password), "%s", cfg->redis.password);
    snprintf(d->key, sizeof(d->key), "%sdeadletter", cfg->redis.stream_prefix);
    snprintf(d->maxlen, sizeof(d->maxlen), "%d", cfg->ingest.deadletter_maxlen);
    d->source = source;
    d->m = m;
    pthread_mutex_init(&d->lock, NULL);
}

void deadletters_close(struct deadletters *d)
{
    if (d->c)
        redisFree(d->c);
    d->c = NULL;
    pthread_mutex_destroy(&d->lock);
}

static int connect_redis(struct deadletters *d)
{
    struct timeval tv = {REDIS_TIMEOUT_MS / 1000, (REDIS_TIMEOUT_MS % 1000) * 1000};
    redisReply *reply;

    if (now_ms() < d->next_connect_ms)
        return -ENOTCONN;
    d->next_connect_ms = now_ms() + CONNECT_PAUSE_MS;
    d->c = redisConnectWithTimeout(d->host, d->port, tv);
    if (!d->c || d->c->err) {
        log_warn("deadletter", "cannot connect to redis %s:%d: %s", d->host, d->port,
                 d->c ? d->c->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(d->c, tv);
    if (d->password[0]) {
        reply = redisCommand(d->c, "AUTH %s", d->password);
        if (!reply || reply->type == REDIS_REPLY_ERROR) {
            log_warn("deadletter", "redis AUTH failed: %s", reply ? reply->str : d->c->errstr);
            freeReplyObject(reply);
            goto fail;
        }
        freeReplyObject(reply);
    }
    return 0;
fail:
    if (d->c)
        redisFree(d->c);
    d->c = NULL;
    return -ENOTCONN;
}

int deadletters_add(struct deadletters *d, enum source_reason reason, const char *topic,
                    const char *detail, const void *payload, size_t len)
{
    char size_s[24], when[40];
    size_t keep = len < DEADLETTER_PAYLOAD_MAX ? len : DEADLETTER_PAYLOAD_MAX;
    const char *argv[] = {
        "XADD",    d->key,
        "MAXLEN",  "~",
        d->maxlen, "*",
        "topic",   topic ? topic : "",
        "reason",  source_reason_name(reason),
        "detail",  detail ? detail : "",
        "payload", payload ? (const char *)payload : "",
        "size",    size_s,
        "time",    when,
        "source",  d->source,
    };
    enum { ARGC = sizeof(argv) / sizeof(argv[0]), PAYLOAD = 13 };
    size_t lens[ARGC];
    redisReply *reply;
    int r = 0;

    atomic_fetch_add(&d->m->deadletters[reason], 1);
    log_warn("deadletter", "%s from %s: %s", source_reason_name(reason), topic ? topic : "",
             detail ? detail : "");
    snprintf(size_s, sizeof(size_s), "%zu", len);
    rfc3339_now_ms(when, sizeof(when));
    for (size_t i = 0; i < ARGC; i++)
        lens[i] = strlen(argv[i]);
    lens[PAYLOAD] = payload ? keep : 0;

    pthread_mutex_lock(&d->lock);
    if (!d->c && connect_redis(d) < 0) {
        r = -ENOTCONN;
        goto out;
    }
    reply = redisCommandArgv(d->c, ARGC, argv, lens);
    if (!reply) {
        log_warn("deadletter", "redis link lost: %s", d->c->errstr);
        redisFree(d->c);
        d->c = NULL;
        r = -ENOTCONN;
        goto out;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        log_warn("deadletter", "redis refused the entry: %s", reply->str);
        r = -EIO;
    }
    freeReplyObject(reply);
out:
    pthread_mutex_unlock(&d->lock);
    if (r < 0)
        atomic_fetch_add(&d->m->deadletter_failures, 1);
    return r;
}
