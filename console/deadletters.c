// SPDX-License-Identifier: MIT
/*
 * Dead letters from Redis (deadletters.h): one connection per request, XREVRANGE of
 * the newest DEADLETTERS_SCAN entries, filtered by topic prefix here. The stream's
 * fields are the hub's (topic, reason, detail, payload, size, time) and the workers'
 * own; unknown fields are left out.
 */
#include "deadletters.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "redis_master.h"
#include "text.h"

static bool starts_with(const redisReply *r, const char *prefix)
{
    size_t n = strlen(prefix);

    return r->type == REDIS_REPLY_STRING && r->len >= n && memcmp(r->str, prefix, n) == 0;
}

/* One stream entry [id, [field, value, ...]] as an object; NULL when malformed. */
static json_t *entry_json(const redisReply *e)
{
    static const char *const keep[] = {"topic", "reason", "detail", "size", "time", "source",
                                       "worker", "kind"};
    const redisReply *fields;
    json_t *o;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    fields = e->element[1];
    if (!(o = json_object()))
        return NULL;
    json_object_set_new(o, "id", text_json(e->element[0]->str, e->element[0]->len));
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        char key[32];

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || k->len >= sizeof(key))
            continue;
        memcpy(key, k->str, k->len);
        key[k->len] = '\0';
        if (strcmp(key, "payload") == 0) {
            size_t n = v->len < DEADLETTERS_PAYLOAD ? v->len : DEADLETTERS_PAYLOAD;
            /* Cut at a character boundary, so that a cut sequence shows as text. */
            while (n > 0 && n < v->len && ((unsigned char)v->str[n] & 0xc0) == 0x80)
                n--;
            json_object_set_new(o, "payload", text_json(v->str, n));
            json_object_set_new(o, "payload_cut", json_boolean(n < v->len));
            continue;
        }
        for (size_t j = 0; j < sizeof(keep) / sizeof(keep[0]); j++)
            if (strcmp(key, keep[j]) == 0)
                json_object_set_new(o, key, text_json(v->str, v->len));
    }
    return o;
}

int deadletters_read(const struct hub_config *cfg, const char *prefix, int limit, json_t **out,
                     char *err, size_t err_size)
{
    struct redis_master master = {0};
    char stream[160], count[16], why[REDIS_MASTER_WHY_MAX];
    redisContext *c;
    redisReply *reply = NULL;
    int r = 0;

    *out = NULL;
    if (limit <= 0 || limit > DEADLETTERS_MAX)
        limit = DEADLETTERS_MAX;
    c = redis_master_connect(cfg, &master, DEADLETTERS_TIMEOUT_MS, why);
    if (!c) {
        snprintf(err, err_size, "redis: %s", why);
        return -EIO;
    }
    snprintf(stream, sizeof(stream), "%sdeadletter", cfg->redis.stream_prefix);
    snprintf(count, sizeof(count), "%d", DEADLETTERS_SCAN);
    {
        const char *argv[] = {"XREVRANGE", stream, "+", "-", "COUNT", count};
        reply = redisCommandArgv(c, 6, argv, NULL);
    }
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        snprintf(err, err_size, "redis XREVRANGE: %s",
                 reply && reply->type == REDIS_REPLY_ERROR ? reply->str : c->errstr);
        r = -EIO;
        goto out;
    }
    if (!(*out = json_array())) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < reply->elements && json_array_size(*out) < (size_t)limit; i++) {
        const redisReply *e = reply->element[i];
        bool match = !prefix[0];
        json_t *o;

        if (!match && e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
            e->element[1]->type == REDIS_REPLY_ARRAY) {
            const redisReply *f = e->element[1];
            for (size_t k = 0; k + 1 < f->elements; k += 2)
                if (f->element[k]->type == REDIS_REPLY_STRING && f->element[k]->len == 5 &&
                    memcmp(f->element[k]->str, "topic", 5) == 0)
                    match = starts_with(f->element[k + 1], prefix);
        }
        if (match && (o = entry_json(e)))
            json_array_append_new(*out, o);
    }
out:
    freeReplyObject(reply);
    redisFree(c);
    return r;
}
