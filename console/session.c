// SPDX-License-Identifier: MIT
/*
 * The session table (session.h). Tokens come from getrandom(); lookups compare every
 * slot's token in constant time, so that timing tells nothing about a guessed one.
 * Publishing holds no table lock while it waits for the broker: the link is borrowed
 * under a use count, and a session that ends meanwhile is closed by its last user.
 */
#include "session.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"

struct slot {
    bool used;
    bool closing;               /* ended while a publish still uses the link */
    int users;                  /* publishes in progress on link */
    struct session_info info;
    struct operator_link *link;
    int64_t last_ms;            /* monotonic, the last request */
};

struct sessions {
    pthread_mutex_t lock;
    struct slot *slots;
    int max;
    int64_t idle_ms;
};

int session_random_hex(char *out, size_t n)
{
    unsigned char buf[64];
    static const char hex[] = "0123456789abcdef";

    if (n > sizeof(buf) || getrandom(buf, n, 0) != (ssize_t)n)
        return -EIO;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[buf[i] >> 4];
        out[2 * i + 1] = hex[buf[i] & 15];
    }
    out[2 * n] = '\0';
    return 0;
}

/* Constant-time comparison of two NUL-terminated strings of up to SESSION_TOKEN_LEN. */
static bool same_token(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned diff = (unsigned)(la ^ lb);

    if (la != SESSION_TOKEN_LEN || lb != SESSION_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < SESSION_TOKEN_LEN; i++)
        diff |= (unsigned)(a[i] ^ b[i]);
    return diff == 0;
}

struct sessions *sessions_new(int max, int idle_timeout_s)
{
    struct sessions *s = calloc(1, sizeof(*s));

    if (!s || !(s->slots = calloc((size_t)max, sizeof(*s->slots)))) {
        free(s);
        return NULL;
    }
    s->max = max;
    s->idle_ms = (int64_t)idle_timeout_s * 1000;
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

void sessions_free(struct sessions *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->max; i++)
        if (s->slots[i].used)
            operator_close(s->slots[i].link);
    pthread_mutex_destroy(&s->lock);
    free(s->slots);
    free(s);
}

int sessions_open(struct sessions *s, const char *user, struct operator_link *link,
                  struct session_info *info)
{
    struct slot *free_slot = NULL;

    memset(info, 0, sizeof(*info));
    if (session_random_hex(info->token, SESSION_TOKEN_LEN / 2) < 0 ||
        session_random_hex(info->csrf, SESSION_TOKEN_LEN / 2) < 0) {
        operator_close(link);
        return -EIO;
    }
    snprintf(info->user, sizeof(info->user), "%s", user);
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->max && !free_slot; i++)
        if (!s->slots[i].used)
            free_slot = &s->slots[i];
    if (free_slot) {
        memset(free_slot, 0, sizeof(*free_slot));
        free_slot->used = true;
        free_slot->info = *info;
        free_slot->link = link;
        free_slot->last_ms = clock_now_ms();
    }
    pthread_mutex_unlock(&s->lock);
    if (!free_slot) {
        operator_close(link);
        return -ENOSPC;
    }
    return 0;
}

/* The live slot of token, or NULL. Lock held. */
static struct slot *find(struct sessions *s, const char *token)
{
    struct slot *found = NULL;

    if (!token)
        return NULL;
    for (int i = 0; i < s->max; i++)
        if (s->slots[i].used && !s->slots[i].closing && same_token(s->slots[i].info.token, token))
            found = &s->slots[i];
    return found;
}

bool sessions_get(struct sessions *s, const char *token, bool touch, struct session_info *info)
{
    struct slot *sl;
    bool ok = false;

    pthread_mutex_lock(&s->lock);
    sl = find(s, token);
    if (sl && clock_now_ms() - sl->last_ms <= s->idle_ms && operator_alive(sl->link)) {
        if (touch)
            sl->last_ms = clock_now_ms();
        if (info) {
            *info = sl->info;
            info->broker = operator_connected(sl->link);
        }
        ok = true;
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

int sessions_count(struct sessions *s)
{
    int n = 0;

    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < s->max; i++)
        n += s->slots[i].used && !s->slots[i].closing;
    pthread_mutex_unlock(&s->lock);
    return n;
}

bool sessions_csrf_ok(struct sessions *s, const char *token, const char *csrf)
{
    struct slot *sl;
    bool ok;

    if (!csrf)
        return false;
    pthread_mutex_lock(&s->lock);
    sl = find(s, token);
    ok = sl && same_token(sl->info.csrf, csrf);
    pthread_mutex_unlock(&s->lock);
    return ok;
}

/* Frees the slot's link once nobody uses it. Lock held; returns the link to close. */
static struct operator_link *release(struct slot *sl)
{
    struct operator_link *link = NULL;

    if (sl->closing && sl->users == 0) {
        link = sl->link;
        memset(sl, 0, sizeof(*sl));
    }
    return link;
}

enum operator_result sessions_publish(struct sessions *s, const char *token, const char *topic,
                                      const char *payload, size_t len)
{
    struct slot *sl;
    struct operator_link *link, *gone;
    enum operator_result r;

    pthread_mutex_lock(&s->lock);
    if (!(sl = find(s, token))) {
        pthread_mutex_unlock(&s->lock);
        return OPERATOR_REFUSED;
    }
    sl->users++;
    link = sl->link;
    pthread_mutex_unlock(&s->lock);

    r = operator_publish(link, topic, payload, len);

    pthread_mutex_lock(&s->lock);
    sl->users--;
    gone = release(sl);
    pthread_mutex_unlock(&s->lock);
    operator_close(gone);
    return r;
}

int sessions_close(struct sessions *s, const char *token)
{
    struct slot *sl;
    struct operator_link *gone = NULL;
    int r = -ENOENT;

    pthread_mutex_lock(&s->lock);
    if ((sl = find(s, token))) {
        sl->closing = true;
        gone = release(sl);
        r = 0;
    }
    pthread_mutex_unlock(&s->lock);
    operator_close(gone);
    return r;
}

int sessions_expire(struct sessions *s, void (*ended)(void *data, const char *token), void *data)
{
    int n = 0;

    for (int i = 0; i < s->max; i++) {
        struct operator_link *gone = NULL;
        char token[SESSION_TOKEN_LEN + 1] = "";

        pthread_mutex_lock(&s->lock);
        struct slot *sl = &s->slots[i];
        if (sl->used && !sl->closing &&
            (clock_now_ms() - sl->last_ms > s->idle_ms || !operator_alive(sl->link))) {
            strcpy(token, sl->info.token);
            sl->closing = true;
            gone = release(sl);
        }
        pthread_mutex_unlock(&s->lock);
        if (token[0]) {
            operator_close(gone);
            ended(data, token);
            n++;
        }
    }
    return n;
}
