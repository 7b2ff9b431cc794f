// SPDX-License-Identifier: MIT
/*
 * rheinhub-testworker: a worker for the tests. For every event it handles it adds
 * the event id to the set <prefix>test:<kind>:ids and increments <prefix>test:<kind>:calls,
 * so that a test sees what was processed and what was processed twice; the size of
 * every batch goes to the list <prefix>test:<kind>:batches.
 *
 *   rheinhub-testworker -k KIND -c hub.yaml [-i N]
 *
 * Without -k the kind is $RHEINHUB_WORKER_KIND (the hub's supervisor sets it), else "test".
 * RHEINHUB_TEST_FAIL_SUBJECT=<glob>: events whose subject matches are marked failed
 * ("test failure"). RHEINHUB_TEST_DELAY_MS=<ms>: sleep that long per batch, before
 * recording it. RHEINHUB_TEST_BATCH_FAIL_FILE=<path>: while that file exists, every
 * batch fails as a whole (as with a database away) and <prefix>test:<kind>:batch_errors
 * counts the attempts.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

struct testworker {
    const char *kind;
    const char *fail_subject; /* a glob, or NULL */
    const char *batch_fail_file; /* or NULL */
    long delay_ms;
    char ids_key[256];
    char calls_key[256];
    char batches_key[256];
    char batch_errors_key[256];
};

static int tw_start(struct worker *w, void *data)
{
    struct testworker *tw = data;
    const struct hub_config *cfg = worker_config(w);

    snprintf(tw->ids_key, sizeof(tw->ids_key), "%stest:%s:ids", cfg->redis.stream_prefix,
             tw->kind);
    snprintf(tw->calls_key, sizeof(tw->calls_key), "%stest:%s:calls", cfg->redis.stream_prefix,
             tw->kind);
    snprintf(tw->batches_key, sizeof(tw->batches_key), "%stest:%s:batches",
             cfg->redis.stream_prefix, tw->kind);
    snprintf(tw->batch_errors_key, sizeof(tw->batch_errors_key), "%stest:%s:batch_errors",
             cfg->redis.stream_prefix, tw->kind);
    log_info(tw->kind, "test worker %s started as consumer %s (fail subject: %s, delay: %ld ms)",
             tw->kind, worker_consumer(w), tw->fail_subject ? tw->fail_subject : "none",
             tw->delay_ms);
    return 0;
}

/* Sleeps ms in full, signals or not: the batch must end as it would in a real worker. */
static void sleep_ms(long ms)
{
    struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&left, &left) < 0 && errno == EINTR)
        ;
}

static int tw_batch(struct worker *w, void *data, struct worker_event *events, size_t n)
{
    struct testworker *tw = data;
    redisContext *c = worker_redis(w);
    size_t sent = 0;
    int r = 0;

    if (tw->delay_ms > 0)
        sleep_ms(tw->delay_ms);
    if (tw->batch_fail_file && access(tw->batch_fail_file, F_OK) == 0) {
        redisReply *reply = redisCommand(c, "INCR %s", tw->batch_errors_key);
        freeReplyObject(reply);
        worker_set_health(w, false, "test: the batch failure file is there");
        return -EIO;
    }
    worker_set_health(w, true, "");
    {
        char size[24];
        const char *rpush[] = {"RPUSH", tw->batches_key, size};

        snprintf(size, sizeof(size), "%zu", n);
        if (redisAppendCommandArgv(c, 3, rpush, NULL) != REDIS_OK)
            return -EIO;
        sent++;
    }
    for (size_t i = 0; i < n; i++) {
        struct worker_event *ev = &events[i];
        char subject[256];
        size_t len = ev->env.subject.len < sizeof(subject) - 1 ? ev->env.subject.len
                                                                : sizeof(subject) - 1;
        const char *sadd[] = {"SADD", tw->ids_key, ev->env.id.ptr};
        size_t sadd_lens[] = {4, strlen(tw->ids_key), ev->env.id.len};
        const char *incr[] = {"INCR", tw->calls_key};

        memcpy(subject, ev->env.subject.ptr, len);
        subject[len] = '\0';
        if (tw->fail_subject && fnmatch(tw->fail_subject, subject, 0) == 0) {
            ev->failed = true;
            snprintf(ev->error, sizeof(ev->error), "test failure");
            continue;
        }
        if (redisAppendCommandArgv(c, 3, sadd, sadd_lens) != REDIS_OK ||
            redisAppendCommandArgv(c, 2, incr, NULL) != REDIS_OK)
            return -EIO;
        sent += 2;
    }
    while (sent--) {
        redisReply *reply;
        if (redisGetReply(c, (void **)&reply) != REDIS_OK)
            return -EIO;
        if (reply->type == REDIS_REPLY_ERROR)
            r = -EIO;
        freeReplyObject(reply);
    }
    return r;
}

int main(int argc, char **argv)
{
    static struct testworker tw;
    struct worker_def def = {
        .kind = "test",
        .start = tw_start,
        .batch = tw_batch,
        .data = &tw,
    };
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    const char *delay = getenv("RHEINHUB_TEST_DELAY_MS");
    const char *env_kind = getenv("RHEINHUB_WORKER_KIND");
    int n = 0, status;

    if (!args)
        return 1;
    if (env_kind && env_kind[0])
        def.kind = env_kind;
    /* -k KIND is ours; the rest is the SDK's. */
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "-k") == 0 && i + 1 < argc) {
            def.kind = argv[++i];
        } else if (i > 0 && strncmp(argv[i], "-k", 2) == 0 && argv[i][2]) {
            def.kind = argv[i] + 2;
        } else {
            args[n++] = argv[i];
        }
    }
    tw.kind = def.kind;
    tw.fail_subject = getenv("RHEINHUB_TEST_FAIL_SUBJECT");
    if (tw.fail_subject && !tw.fail_subject[0])
        tw.fail_subject = NULL;
    tw.batch_fail_file = getenv("RHEINHUB_TEST_BATCH_FAIL_FILE");
    if (tw.batch_fail_file && !tw.batch_fail_file[0])
        tw.batch_fail_file = NULL;
    tw.delay_ms = delay ? strtol(delay, NULL, 10) : 0;
    status = worker_main(&def, n, args);
    free(args);
    return status;
}
