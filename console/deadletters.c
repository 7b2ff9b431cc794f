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

/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    size_t n;

    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0 && p[0] >= 0xc2)
        n = 2;
    else if ((p[0] & 0xf0) == 0xe0)
        n = 3;
    else if ((p[0] & 0xf8) == 0xf0 && p[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    /* No overlong forms, no UTF-16 surrogates, nothing past U+10FFFF (RFC 3629). */
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return n;
}

json_t *deadletters_text(const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    char *buf = malloc(len * 4 + 1);
    size_t o = 0;
    json_t *s;

    if (!buf)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_len(u + i, len - i);
        if (n == 0 || (n == 1 && u[i] < 0x20 && u[i] != '\n' && u[i] != '\t')) {
            o += (size_t)sprintf(buf + o, "\\x%02x", u[i]);
            i++;
        } else {
            memcpy(buf + o, u + i, n);
            o += n;
            i += n;
        }
    }
    s = json_stringn(buf, o);
    free(buf);
    return s;
}

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
    json_object_set_new(o, "id", deadletters_text(e->element[0]->str, e->element[0]->len));
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
            json_object_set_new(o, "payload", deadletters_text(v->str, n));
            json_object_set_new(o, "payload_cut", json_boolean(n < v->len));
            continue;
        }
        for (size_t j = 0; j < sizeof(keep) / sizeof(keep[0]); j++)
            if (strcmp(key, keep[j]) == 0)
                json_object_set_new(o, key, deadletters_text(v->str, v->len));
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
