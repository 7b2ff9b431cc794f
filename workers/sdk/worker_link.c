// SPDX-License-Identifier: MIT
/*
 * The worker's Redis link (worker_link.h): the master found as the hub finds it
 * (redis_master.h: directly, or through Sentinel with a ROLE check), the socket
 * options, and the reconnect schedule after an error.
 */
#include "worker_link.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "redis_master.h"
#include "worker_internal.h"
#include "worker_stop.h"

#define CONNECT_TIMEOUT_MS 2000
#define READ_TIMEOUT_EXTRA_MS 3000  /* the read timeout is block_ms plus this */

void worker_link_failed(struct worker *w, const char *what)
{
    if (!w->redis)
        return;
    log_warn(w->component, "redis link lost (%s: %s); reconnecting", what,
             w->redis->errstr[0] ? w->redis->errstr : "no reply");
    redisFree(w->redis);
    w->redis = NULL;
    w->unread_replies = 0;
    w->link_down = true;
    w->connect_backoff_ms = WORKER_BACKOFF_MIN_MS;
    w->next_connect_ms = worker_now_ms() + WORKER_BACKOFF_MIN_MS;
    w->status_dirty = true;
}

int worker_link_drain(struct worker *w)
{
    while (w->redis && w->unread_replies > 0) {
        redisReply *reply;

        if (redisGetReply(w->redis, (void **)&reply) != REDIS_OK) {
            worker_link_failed(w, "XACK");
            return -ENOTCONN;
        }
        w->unread_replies--;
        if (reply->type == REDIS_REPLY_ERROR && redis_master_lost(reply->str)) {
            /* Demoted by a failover: the next link goes to the new master. */
            log_warn(w->component, "redis %s:%d: %s", w->master.host, w->master.port,
                     reply->str);
            freeReplyObject(reply);
            worker_link_failed(w, "XACK");
            return -ENOTCONN;
        }
        if (reply->type == REDIS_REPLY_ERROR)
            log_warn(w->component, "XACK: %s", reply->str);
        freeReplyObject(reply);
    }
    return w->redis ? 0 : -ENOTCONN;
}

redisReply *worker_command(struct worker *w, int argc, const char **argv, const size_t *lens)
{
    redisReply *reply;

    if (!w->redis || worker_link_drain(w) < 0)
        return NULL;
    reply = redisCommandArgv(w->redis, argc, argv, lens);
    if (!reply || w->redis->err) {
        freeReplyObject(reply);
        worker_link_failed(w, argv[0]);
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR && redis_master_lost(reply->str)) {
        /* Demoted by a failover: the next link goes to the new master. */
        log_warn(w->component, "redis %s:%d: %s", w->master.host, w->master.port, reply->str);
        freeReplyObject(reply);
        worker_link_failed(w, argv[0]);
        return NULL;
    }
    return reply;
}

int worker_link_connect(struct worker *w)
{
    int read_ms = w->cfg.worker.block_ms + READ_TIMEOUT_EXTRA_MS;
    const struct timeval read_tv = {read_ms / 1000, (read_ms % 1000) * 1000};
    char why[REDIS_MASTER_WHY_MAX];
    redisContext *c = redis_master_connect(&w->cfg, &w->master, CONNECT_TIMEOUT_MS, why);
    int one = 1;

    if (!c)
        goto err;
    if (fcntl(c->fd, F_SETFD, FD_CLOEXEC) < 0 ||
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
        snprintf(why, sizeof(why), "socket options: %s", strerror(errno));
        goto err;
    }
    if (redisSetTimeout(c, read_tv) != REDIS_OK || redisEnableKeepAlive(c) != REDIS_OK) {
        snprintf(why, sizeof(why), "socket options: %s", c->errstr);
        goto err;
    }
    if (w->link_down)
        log_info(w->component, "redis link up again (%s:%d)", w->master.host, w->master.port);
    else
        log_info(w->component, "connected to redis %s:%d as consumer %s of group %s",
                 w->master.host, w->master.port, w->consumer, w->kind);
    w->redis = c;
    w->link_down = false;
    w->connect_backoff_ms = WORKER_BACKOFF_MIN_MS;
    w->status_dirty = true;
    return 0;
err:
    if (!w->link_down)
        log_warn(w->component, "redis: %s; retrying", why);
    else
        log_debug(w->component, "redis: %s; retrying in %d ms", why, w->connect_backoff_ms);
    if (c)
        redisFree(c);
    w->link_down = true;
    w->next_connect_ms = worker_now_ms() + w->connect_backoff_ms;
    w->connect_backoff_ms = worker_backoff_next(w->connect_backoff_ms);
    return -ENOTCONN;
}
