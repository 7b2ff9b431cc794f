// SPDX-License-Identifier: MIT
/* Finding the Redis master directly or through Sentinel, and checking its ROLE. */
#include "redis_master.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool redis_master_via_sentinel(const struct hub_config *cfg)
{
    return cfg->redis.n_sentinels > 0;
}

/* "ip:port" (or "[ipv6]:port") into host and port. Returns 0 or -EINVAL. */
static int split_addr(const char *addr, char *host, size_t size, int *port)
{
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t len;
    char *end;
    long p;

    if (!colon)
        return -EINVAL;
    len = (size_t)(colon - addr);
    if (addr[0] == '[' && len >= 2 && addr[len - 1] == ']')
        h = addr + 1, len -= 2;
    p = strtol(colon + 1, &end, 10);
    if (len == 0 || len >= size || *end || p < 1 || p > 65535)
        return -EINVAL;
    memcpy(host, h, len);
    host[len] = '\0';
    *port = (int)p;
    return 0;
}

/* What one Sentinel says of the master: where it is, and the configuration epoch it
 * knows it by (one higher after each failover). */
struct sentinel_answer {
    char host[REDIS_MASTER_HOST_MAX];
    int port;
    unsigned long long epoch;
};

/* The value of field name in a SENTINEL MASTER reply (a flat array of names and
 * values), or NULL. */
static const redisReply *field_of(const redisReply *reply, const char *name)
{
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *v = reply->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0 &&
            v->type == REDIS_REPLY_STRING)
            return v;
    }
    return NULL;
}

/* Reads a SENTINEL MASTER reply into a. Returns 0, or -1 with the reason. */
static int read_answer(const redisReply *reply, const char *addr, const char *name,
                       struct sentinel_answer *a, char *why, size_t why_size)
{
    const redisReply *ip, *port, *epoch;
    char *end;
    long p;

    if (reply->type == REDIS_REPLY_ERROR) {
        snprintf(why, why_size, "%s: %s", addr, reply->str);
        return -1;
    }
    if (reply->type != REDIS_REPLY_ARRAY ||
        !(ip = field_of(reply, "ip")) || !(port = field_of(reply, "port"))) {
        snprintf(why, why_size, "%s: does not know master %s", addr, name);
        return -1;
    }
    p = strtol(port->str, &end, 10);
    if (*end || p < 1 || p > 65535 || ip->len >= sizeof(a->host)) {
        snprintf(why, why_size, "%s: bad address in its answer", addr);
        return -1;
    }
    memcpy(a->host, ip->str, ip->len + 1);
    a->port = (int)p;
    epoch = field_of(reply, "config-epoch");
    a->epoch = epoch ? strtoull(epoch->str, NULL, 10) : 0;
    return 0;
}

/* Asks one Sentinel. Returns 0 with a filled, or -1 with the reason. */
static int ask_sentinel(const char *addr, const char *name, int timeout_ms,
                        struct sentinel_answer *a, char *why, size_t why_size)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    char shost[REDIS_MASTER_HOST_MAX];
    int sport, r = -1;
    redisContext *c;
    redisReply *reply;

    if (split_addr(addr, shost, sizeof(shost), &sport) < 0) {
        snprintf(why, why_size, "%s: not an address ip:port", addr);
        return -1;
    }
    c = redisConnectWithTimeout(shost, sport, tv);
    if (!c || c->err) {
        snprintf(why, why_size, "%s: %s", addr, c ? c->errstr : "out of memory");
        redisFree(c);
        return -1;
    }
    (void)redisSetTimeout(c, tv);
    reply = redisCommand(c, "SENTINEL MASTER %s", name);
    if (!reply)
        snprintf(why, why_size, "%s: %s", addr, c->errstr);
    else
        r = read_answer(reply, addr, name, a, why, why_size);
    freeReplyObject(reply);
    redisFree(c);
    return r;
}

/* Every Sentinel is asked, beginning with m->next_sentinel, and the newest
 * configuration wins: after a failover a Sentinel that has not heard of it yet names
 * the old master, which, restarted, says "master" to ROLE until it is demoted. Among
 * answers of one epoch the first in turn wins, so that a Sentinel passed over (its
 * master refused the link or was a replica) is asked after the others next time. */
int redis_master_find(const struct hub_config *cfg, struct redis_master *m, int timeout_ms,
                      char why[REDIS_MASTER_WHY_MAX])
{
    unsigned n = (unsigned)cfg->redis.n_sentinels;
    struct sentinel_answer best = {.port = 0}, a;
    size_t used = 0;

    why[0] = '\0';
    if (n == 0) {
        snprintf(m->host, sizeof(m->host), "%s", cfg->redis.host);
        m->port = cfg->redis.port;
        return 0;
    }
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (m->next_sentinel + k) % n;
        char one[160];

        if (ask_sentinel(cfg->redis.sentinels[i], cfg->redis.master_name, timeout_ms, &a, one,
                         sizeof(one)) == 0) {
            if (best.port == 0 || a.epoch > best.epoch) {
                best = a;
                m->next_sentinel = i;
            }
            continue;
        }
        if (used < REDIS_MASTER_WHY_MAX - 1) {
            int w = snprintf(why + used, REDIS_MASTER_WHY_MAX - used, "%s%s", used ? "; " : "",
                             one);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    if (best.port == 0)
        return -EHOSTUNREACH;
    memcpy(m->host, best.host, sizeof(m->host));
    m->port = best.port;
    return 0;
}

int redis_master_check_reply(const redisReply *reply, struct redis_master *m,
                             char why[REDIS_MASTER_WHY_MAX])
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
        reply->element[0]->type != REDIS_REPLY_STRING) {
        snprintf(why, REDIS_MASTER_WHY_MAX, "ROLE: %s",
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        return -EIO;
    }
    if (strcmp(reply->element[0]->str, "master") == 0)
        return 0;
    snprintf(why, REDIS_MASTER_WHY_MAX, "%s:%d is a %s, not the master", m->host, m->port,
             reply->element[0]->str);
    m->next_sentinel++;
    return -EROFS;
}

int redis_master_check(redisContext *c, struct redis_master *m, char why[REDIS_MASTER_WHY_MAX])
{
    redisReply *reply = redisCommand(c, "ROLE");
    int r;

    if (!reply) {
        snprintf(why, REDIS_MASTER_WHY_MAX, "ROLE: %s", c->errstr);
        return -EIO;
    }
    r = redis_master_check_reply(reply, m, why);
    freeReplyObject(reply);
    return r;
}

void redis_master_skip(struct redis_master *m)
{
    m->next_sentinel++;
}

bool redis_master_lost(const char *error)
{
    return strncmp(error, "READONLY", 8) == 0 || strncmp(error, "MASTERDOWN", 10) == 0;
}

redisContext *redis_master_connect(const struct hub_config *cfg, struct redis_master *m,
                                   int timeout_ms, char why[REDIS_MASTER_WHY_MAX])
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c;
    int r;

    if (redis_master_find(cfg, m, timeout_ms, why) < 0)
        return NULL;
    c = redisConnectWithTimeout(m->host, m->port, tv);
    if (!c || c->err) {
        snprintf(why, REDIS_MASTER_WHY_MAX, "%s:%d: %s", m->host, m->port,
                 c ? c->errstr : "out of memory");
        redisFree(c);
        redis_master_skip(m);
        return NULL;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(why, REDIS_MASTER_WHY_MAX, "%s:%d: %s", m->host, m->port, c->errstr);
        redisFree(c);
        redis_master_skip(m);
        return NULL;
    }
    if (cfg->redis.password[0]) {
        const char *argv[] = {"AUTH", cfg->redis.password};
        redisReply *reply = redisCommandArgv(c, 2, argv, NULL);
        if (!reply || reply->type == REDIS_REPLY_ERROR) {
            snprintf(why, REDIS_MASTER_WHY_MAX, "AUTH: %s", reply ? reply->str : c->errstr);
            freeReplyObject(reply);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(reply);
    }
    r = redis_master_check(c, m, why);
    if (r < 0) {
        redisFree(c);
        if (r == -EIO)
            redis_master_skip(m); /* no answer to ROLE; after -EROFS it moved on already */
        return NULL;
    }
    return c;
}
