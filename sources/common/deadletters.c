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
#include "utf8.h"

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
    d->cfg = cfg;
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
    char why[REDIS_MASTER_WHY_MAX];

    if (now_ms() < d->next_connect_ms)
        return -ENOTCONN;
    d->next_connect_ms = now_ms() + CONNECT_PAUSE_MS;
    /* The master as the hub finds it: directly, or through Sentinel with a ROLE check. */
    d->c = redis_master_connect(d->cfg, &d->master, REDIS_TIMEOUT_MS, why);
    if (!d->c) {
        log_warn("deadletter", "cannot connect to redis: %s", why);
        return -ENOTCONN;
    }
    return 0;
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
    enum { ARGC = sizeof(argv) / sizeof(argv[0]), DETAIL = 11, PAYLOAD = 13 };
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
    lens[DETAIL] = utf8_cut(argv[DETAIL], lens[DETAIL]); /* a detail cut inside a character */

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
        if (redis_master_lost(reply->str)) { /* demoted: the next add finds the master */
            redisFree(d->c);
            d->c = NULL;
        }
    }
    freeReplyObject(reply);
out:
    pthread_mutex_unlock(&d->lock);
    if (r < 0)
        atomic_fetch_add(&d->m->deadletter_failures, 1);
    return r;
}
