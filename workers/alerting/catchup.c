// SPDX-License-Identifier: MIT
/*
 * Whether the alerting group has caught up with its streams (catchup.h): the route
 * (a JSON document at the route key, {"streams": [...]}) names the streams; for each,
 * XINFO GROUPS gives the group's last delivered id and its pending count, and
 * XREVRANGE the stream's newest id. Caught up when every stream's newest entry has
 * been delivered to the group and nothing is pending. Blocking hiredis calls, from
 * the worker's tick.
 */
#include "catchup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

/* Compares two stream ids "<ms>-<seq>". */
static int id_cmp(const char *x, const char *y)
{
    unsigned long long xm = 0, xs = 0, ym = 0, ys = 0;

    sscanf(x, "%llu-%llu", &xm, &xs);
    sscanf(y, "%llu-%llu", &ym, &ys);
    if (xm != ym)
        return xm < ym ? -1 : 1;
    return xs < ys ? -1 : xs > ys;
}

/*
 * Whether group has been handed everything in stream and holds nothing pending.
 * Returns 1, 0, or a negative errno.
 */
static int caught_up_on(redisContext *c, const char *stream, const char *group)
{
    redisReply *groups = redisCommand(c, "XINFO GROUPS %s", stream);
    redisReply *last = NULL;
    const char *delivered = NULL;
    long long pending = -1;
    int r = 0;

    if (!groups || c->err) {
        r = -ENOTCONN;
        goto out;
    }
    if (groups->type != REDIS_REPLY_ARRAY) {
        r = 1; /* no such stream: nothing to catch up with */
        goto out;
    }
    for (size_t g = 0; g < groups->elements; g++) {
        const redisReply *info = groups->element[g];
        const char *name = NULL;
        const char *last_id = NULL;
        long long pend = -1;
        for (size_t i = 0; info->type == REDIS_REPLY_ARRAY && i + 1 < info->elements; i += 2) {
            const redisReply *k = info->element[i], *v = info->element[i + 1];
            if (k->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(k->str, "name") == 0 && v->type == REDIS_REPLY_STRING)
                name = v->str;
            else if (strcmp(k->str, "pending") == 0 && v->type == REDIS_REPLY_INTEGER)
                pend = v->integer;
            else if (strcmp(k->str, "last-delivered-id") == 0 && v->type == REDIS_REPLY_STRING)
                last_id = v->str;
        }
        if (name && strcmp(name, group) == 0) {
            delivered = last_id;
            pending = pend;
        }
    }
    if (!delivered) {
        r = 1; /* our group is not there (yet): the SDK creates it at "$" */
        goto out;
    }
    if (pending != 0)
        goto out;
    last = redisCommand(c, "XREVRANGE %s + - COUNT 1", stream);
    if (!last || c->err) {
        r = -ENOTCONN;
        goto out;
    }
    if (last->type != REDIS_REPLY_ARRAY || last->elements == 0 ||
        last->element[0]->type != REDIS_REPLY_ARRAY || last->element[0]->elements < 1 ||
        last->element[0]->element[0]->type != REDIS_REPLY_STRING)
        r = 1;
    else
        r = id_cmp(delivered, last->element[0]->element[0]->str) >= 0;
out:
    freeReplyObject(groups);
    freeReplyObject(last);
    return r;
}

int catchup_check(redisContext *c, const char *route_key, const char *group)
{
    redisReply *route;
    json_t *root = NULL, *streams;
    size_t i;
    json_t *s;
    int r = 1;

    route = redisCommand(c, "GET %s", route_key);
    if (!route || c->err) {
        freeReplyObject(route);
        return -ENOTCONN;
    }
    if (route->type != REDIS_REPLY_STRING ||
        !(root = json_loadb(route->str, route->len, 0, NULL)) ||
        !json_is_array(streams = json_object_get(root, "streams"))) {
        freeReplyObject(route);
        json_decref(root);
        return 0; /* no route yet: no events yet */
    }
    freeReplyObject(route);
    json_array_foreach(streams, i, s) {
        if (!json_is_string(s))
            continue;
        if ((r = caught_up_on(c, json_string_value(s), group)) != 1)
            break;
    }
    json_decref(root);
    return r;
}

