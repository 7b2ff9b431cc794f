// SPDX-License-Identifier: MIT
/* Entries for Redis: RESP encoding once, and the lists they travel through. */
#include "out_item.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfc3339.h"

void out_list_push(struct out_list *l, struct out_item *it)
{
    it->next = NULL;
    if (l->tail)
        l->tail->next = it;
    else
        l->head = it;
    l->tail = it;
    l->len++;
}

struct out_item *out_list_pop(struct out_list *l)
{
    struct out_item *it = l->head;

    if (!it)
        return NULL;
    l->head = it->next;
    if (!l->head)
        l->tail = NULL;
    l->len--;
    it->next = NULL;
    return it;
}

/* Moves all of src in front of dst. */
void out_list_prepend(struct out_list *dst, struct out_list *src)
{
    if (!src->head)
        return;
    src->tail->next = dst->head;
    if (!dst->tail)
        dst->tail = src->tail;
    dst->head = src->head;
    dst->len += src->len;
    src->head = src->tail = NULL;
    src->len = 0;
}

void out_list_free(struct out_list *l)
{
    struct out_item *it;

    while ((it = out_list_pop(l)))
        free(it);
}

static size_t decimal_digits(size_t v)
{
    size_t n = 1;

    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static char *put_decimal(char *p, size_t v)
{
    char *end = p + decimal_digits(v);

    p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/*
 * Queues a command of n bulk strings, RESP-encoded once into one allocation so that
 * sending it is a copy into hiredis's buffer. extras are NUL-terminated copies kept
 * after the command. pos[i] receives where part i lies inside the command.
 */
struct out_item *out_item_new(int n, const char *const *parts, const size_t *lens,
                                 const char **pos, int n_extra, const char *const *extras,
                                 const char **extra_pos)
{
    struct out_item *it;
    size_t cmd_len = 1 + decimal_digits((size_t)n) + 2, extra_len = 0;
    char *p;

    for (int i = 0; i < n; i++)
        cmd_len += 1 + decimal_digits(lens[i]) + 2 + lens[i] + 2;
    for (int i = 0; i < n_extra; i++)
        extra_len += strlen(extras[i]) + 1;
    if (!(it = malloc(sizeof(*it) + cmd_len + extra_len)))
        return NULL;
    memset(it, 0, sizeof(*it));
    p = it->buf;
    *p++ = '*';
    p = put_decimal(p, (size_t)n);
    *p++ = '\r', *p++ = '\n';
    for (int i = 0; i < n; i++) {
        *p++ = '$';
        p = put_decimal(p, lens[i]);
        *p++ = '\r', *p++ = '\n';
        memcpy(p, parts[i], lens[i]);
        if (pos)
            pos[i] = p;
        p += lens[i];
        *p++ = '\r', *p++ = '\n';
    }
    it->cmd = it->buf;
    it->cmd_len = cmd_len;
    for (int i = 0; i < n_extra; i++) {
        size_t len = strlen(extras[i]) + 1;
        memcpy(p, extras[i], len);
        extra_pos[i] = p;
        p += len;
    }
    return it;
}


struct out_item *out_item_event_new(const char *key, const char *id, const char *env,
                                    size_t env_len, const char *topic)
{
    const char *parts[] = {"XADD", key, "*", "id", id, "env", env};
    size_t lens[] = {4, strlen(key), 1, 2, strlen(id), 3, env_len};
    const char *extras[] = {key, id, topic};
    const char *pos[7], *extra_pos[3];
    struct out_item *it = out_item_new(7, parts, lens, pos, 3, extras, extra_pos);

    if (!it)
        return NULL;
    it->is_event = true;
    it->key = extra_pos[0];
    it->id = extra_pos[1];
    it->topic = extra_pos[2];
    it->env = pos[6];
    it->env_len = env_len;
    return it;
}

struct out_item *out_item_raw_new(const char *cmd, size_t len)
{
    struct out_item *it = malloc(sizeof(*it) + len);

    if (!it)
        return NULL;
    memset(it, 0, sizeof(*it));
    memcpy(it->buf, cmd, len);
    it->cmd = it->buf;
    it->cmd_len = len;
    return it;
}

#define DEADLETTER_PARTS 18

struct out_item *out_item_deadletter_new(const char *key, const char *maxlen, const char *topic,
                                         const char *reason, const char *detail,
                                         const void *payload, size_t payload_len)
{
    char size[24], when[40];
    size_t keep = payload_len < DEADLETTER_PAYLOAD_MAX ? payload_len : DEADLETTER_PAYLOAD_MAX;
    const char *parts[] = {"XADD", key, "MAXLEN", "~", maxlen, "*", "topic", topic,
                           "reason", reason, "detail", detail,
                           "payload", payload ? payload : "", "size", size, "time", when};
    size_t lens[DEADLETTER_PARTS];

    snprintf(size, sizeof(size), "%zu", payload_len);
    rfc3339_now_ms(when, sizeof(when));
    for (int i = 0; i < DEADLETTER_PARTS; i++)
        lens[i] = strlen(parts[i]);
    lens[13] = payload ? keep : 0;
    return out_item_new(DEADLETTER_PARTS, parts, lens, NULL, 0, NULL, NULL);
}
