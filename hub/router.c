// SPDX-License-Identifier: MIT
/*
 * Route publication. Commands go on the writer's link ahead of any event of that
 * link (they are sent from its link_up callback, or on a reload between events), so
 * a group exists before the first event it is meant to receive.
 */
#include "router.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "log.h"

static const char *const internal_types[] = {
#define X(name) name,
    ROUTER_INTERNAL_TYPES(X)
#undef X
};

size_t router_type_count(const struct catalog *cat)
{
    return catalog_size(cat) + sizeof(internal_types) / sizeof(internal_types[0]);
}

const char *router_type(const struct catalog *cat, size_t i)
{
    return i < catalog_size(cat) ? catalog_type(cat, i) : internal_types[i - catalog_size(cat)];
}

bool router_routes(const struct worker_config *w, const char *event_type)
{
    for (int i = 0; i < w->n_types; i++)
        if (fnmatch(w->types[i], event_type, 0) == 0)
            return true;
    return false;
}

static void on_group(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;

    if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0)
        log_error("router", "cannot create a consumer group: %s", reply->str);
}

static void on_set(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;

    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_error("router", "cannot publish a route: %s", reply->str);
}

static json_t *string_array(const char (*items)[CONFIG_NAME_MAX], int n)
{
    json_t *a = json_array();

    for (int i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

static int apply_kind(struct redis_out *out, const struct hub_config *cfg,
                      const struct catalog *cat, const struct worker_config *w, long long version)
{
    char key[256];
    json_t *route = json_object(), *streams = json_array();
    char *text = NULL;
    int r = 0, n = 0;

    if (!route || !streams) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < router_type_count(cat) && r == 0; i++) {
        const char *type = router_type(cat, i);
        char stream[256];
        const char *argv[] = {"XGROUP", "CREATE", stream, w->name, "$", "MKSTREAM"};
        size_t lens[6];

        if (!router_routes(w, type))
            continue;
        snprintf(stream, sizeof(stream), "%sevents:%s", cfg->redis.stream_prefix, type);
        for (int k = 0; k < 6; k++)
            lens[k] = strlen(argv[k]);
        r = redis_out_command(out, on_group, NULL, 6, argv, lens);
        json_array_append_new(streams, json_string(stream));
        n++;
    }
    if (r < 0)
        goto out;
    json_object_set_new(route, "kind", json_string(w->name));
    json_object_set(route, "streams", streams);
    json_object_set_new(route, "municipalities", string_array(w->municipalities,
                                                               w->n_municipalities));
    json_object_set_new(route, "subjects", string_array(w->subjects, w->n_subjects));
    json_object_set_new(route, "version", json_integer(version));
    if (!(text = json_dumps(route, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
        r = -ENOMEM;
        goto out;
    }
    snprintf(key, sizeof(key), "%sroute:%s", cfg->redis.stream_prefix, w->name);
    {
        const char *argv[] = {"SET", key, text};
        size_t lens[] = {3, strlen(key), strlen(text)};
        r = redis_out_command(out, on_set, NULL, 3, argv, lens);
    }
    if (r == 0)
        log_info("router", "%s reads %d event streams", w->name, n);
out:
    free(text);
    json_decref(streams);
    json_decref(route);
    return r;
}

int router_apply(struct redis_out *out, const struct hub_config *cfg, const struct catalog *cat)
{
    struct timespec ts;
    long long version;
    int r = 0;

    clock_gettime(CLOCK_REALTIME, &ts);
    version = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    for (int i = 0; i < cfg->n_workers && r == 0; i++)
        r = apply_kind(out, cfg, cat, &cfg->workers[i], version);
    if (r == -ENOMEM)
        log_error("router", "out of memory publishing the routes");
    return r;
}
