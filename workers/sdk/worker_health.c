// SPDX-License-Identifier: MIT
/*
 * The worker's health (worker_health.h): what makes it unhealthy (a failed batch or
 * read, the worker's own word, a failed tick, no route yet), the batch backoff, and
 * the status hash written at each heartbeat and on every change.
 */
#include "worker_health.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "worker_internal.h"
#include "worker_link.h"
#include "worker_stop.h"
#include "worker_streams.h"

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void worker_batch_failed(struct worker *w, const char *detail)
{
    if (!w->batch_error || strcmp(w->batch_detail, detail) != 0)
        log_warn(w->component, "%s; trying again in %d ms", detail, w->batch_backoff_ms);
    w->batch_error = true;
    w->batch_failures++;
    snprintf(w->batch_detail, sizeof(w->batch_detail), "%s", detail);
    w->next_read_ms = worker_now_ms() + w->batch_backoff_ms;
    w->batch_backoff_ms = worker_backoff_next(w->batch_backoff_ms);
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
    w->batch_backoff_ms = WORKER_BACKOFF_MIN_MS;
}

void worker_read_settled(struct worker *w, unsigned long long failures_before)
{
    if (w->batch_error && w->batch_failures == failures_before)
        worker_batch_succeeded(w);
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

void worker_status_write(struct worker *w)
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
    if (worker_link_drain(w) < 0)
        return;
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
        /* Refused at every heartbeat while Redis takes no writes: said once. */
        if (reply->type == REDIS_REPLY_ERROR && !w->status_refused) {
            log_warn(w->component, "status %s: %s (said once, until it is written again)",
                     w->status_key, reply->str);
            w->status_refused = true;
        } else if (i == 0 && reply->type != REDIS_REPLY_ERROR && w->status_refused) {
            log_info(w->component, "status %s written again", w->status_key);
            w->status_refused = false;
        }
        freeReplyObject(reply);
    }
}

void worker_status_remove(struct worker *w)
{
    const char *argv[] = {"DEL", w->status_key};
    redisReply *reply = worker_command(w, 2, argv, NULL);

    freeReplyObject(reply);
}
