// SPDX-License-Identifier: MIT
/*
 * The analytics worker's event-time clock (clock.h): the wall clock, or the time in
 * the test clock file, never going back.
 */
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "window.h"

static int64_t wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * WINDOW_NS_PER_S + ts.tv_nsec;
}

/* The test clock: an RFC 3339 date-time in a file. False when it cannot be read. */
static bool clock_file_read(const char *path, int64_t *ns)
{
    char buf[128];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r'))
        n--;
    return window_time_parse(buf, (size_t)n, ns) == 0;
}

int64_t clock_now(struct analytics *a)
{
    int64_t t;

    if (!a->clock_file)
        t = wall_ns();
    else if (!clock_file_read(a->clock_file, &t))
        t = a->now_ns;
    if (t > a->now_ns)
        a->now_ns = t;
    return a->now_ns;
}

int clock_restore(struct analytics *a)
{
    redisContext *c = worker_redis(a->w);
    redisReply *reply;
    char *end;
    long long ns;

    if (!c || !(reply = redisCommand(c, "GET %s", a->clock_key)))
        return -EIO;
    if (reply->type == REDIS_REPLY_STRING) {
        errno = 0;
        ns = strtoll(reply->str, &end, 10);
        if (errno || end == reply->str || *end || ns < 0)
            log_error(a->component, "%s: \"%s\" is not a time in ns: left out", a->clock_key,
                      reply->str);
        else if (ns > a->now_ns)
            a->now_ns = ns;
    } else if (reply->type != REDIS_REPLY_NIL) {
        log_warn(a->component, "GET %s: %s", a->clock_key,
                 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        freeReplyObject(reply);
        return -EIO;
    }
    freeReplyObject(reply);
    return 0;
}
