// SPDX-License-Identifier: MIT
/*
 * Writes a worker's dead letters to the hub's dead-letter stream (worker_deadletter.h),
 * one XADD each: they are rare, and each must be in Redis before its entry is
 * acknowledged.
 */
#include "worker_deadletter.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rfc3339.h"


static const char *const reason_names[] = {
#define X(name, text) text,
    WORKER_DEADLETTER_REASON_MAP(X)
#undef X
};

const char *worker_deadletter_reason_name(enum worker_deadletter_reason reason)
{
    return reason_names[reason];
}

int worker_deadletter_add(redisContext *c, const char *key, long maxlen,
                          const struct worker_deadletter *dl)
{
    char maxlen_s[24], size_s[24], deliveries_s[16], when[40];
    size_t keep = dl->payload_len < WORKER_DEADLETTER_PAYLOAD_MAX ? dl->payload_len
                                                                  : WORKER_DEADLETTER_PAYLOAD_MAX;
    const char *argv[] = {
        "XADD",     key,
        "MAXLEN",   "~",
        maxlen_s,   "*",
        "topic",    dl->topic ? dl->topic : "",
        "reason",   worker_deadletter_reason_name(dl->reason),
        "detail",   dl->detail ? dl->detail : "",
        "payload",  dl->payload ? dl->payload : "",
        "size",     size_s,
        "time",     when,
        "stream",   dl->stream,
        "entry",    dl->entry_id,
        "group",    dl->group,
        "consumer", dl->consumer,
        "deliveries", deliveries_s,
        "history",  dl->history ? dl->history : "[]",
    };
    enum { ARGC = sizeof(argv) / sizeof(argv[0]), PAYLOAD = 13 };
    size_t lens[ARGC];
    redisReply *reply;
    int r = 0;

    assert(strcmp(argv[PAYLOAD - 1], "payload") == 0);
    snprintf(maxlen_s, sizeof(maxlen_s), "%ld", maxlen);
    snprintf(size_s, sizeof(size_s), "%zu", dl->payload_len);
    snprintf(deliveries_s, sizeof(deliveries_s), "%u", dl->deliveries);
    rfc3339_now_ms(when, sizeof(when));
    for (size_t i = 0; i < ARGC; i++)
        lens[i] = strlen(argv[i]);
    lens[PAYLOAD] = dl->payload ? keep : 0;
    reply = redisCommandArgv(c, ARGC, argv, lens);
    if (!reply)
        return -ENOTCONN;
    if (reply->type == REDIS_REPLY_ERROR)
        r = -EIO;
    freeReplyObject(reply);
    return r;
}
