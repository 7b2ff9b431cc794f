// SPDX-License-Identifier: MIT
/*
 * The failure history (worker_history.h): a fixed array of slots, found through a
 * chained hash table on "stream NUL entry id"; each slot keeps a small ring of error
 * strings. Eviction looks for the slot added first, which costs one pass over the
 * slots, and happens only when a new entry fails while the table is full.
 */
#include "worker_history.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define NIL UINT32_MAX

struct slot {
    char *key;         /* stream, NUL, entry id, NUL; NULL: slot free */
    size_t key_len;    /* both parts and the middle NUL */
    uint64_t seq;      /* when it was added: the smallest is evicted first */
    uint32_t next;     /* next slot in the bucket's chain */
    unsigned first;    /* ring index of the oldest kept error */
    unsigned n;        /* errors kept */
    size_t failures;   /* every error added */
    char *errors[WORKER_HISTORY_ERRORS];
};

struct worker_history {
    struct slot *slots;
    size_t capacity;
    size_t size;
    uint32_t *buckets; /* heads of the chains, NIL when empty */
    size_t n_buckets;  /* a power of two */
    uint32_t free_head; /* free slots, chained through next */
    uint64_t seq;
};

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Writes "stream\0id" to buf (size bytes); returns its length, or 0 when too long. */
static size_t make_key(char *buf, size_t size, const char *stream, const char *entry_id)
{
    size_t a = strlen(stream), b = strlen(entry_id);

    if (a + b + 2 > size)
        return 0;
    memcpy(buf, stream, a + 1);
    memcpy(buf + a + 1, entry_id, b + 1);
    return a + 1 + b;
}

struct worker_history *worker_history_new(size_t capacity)
{
    struct worker_history *h;

    if (capacity == 0 || capacity >= NIL / 2) {
        errno = EINVAL;
        return NULL;
    }
    if (!(h = calloc(1, sizeof(*h))))
        return NULL;
    h->capacity = capacity;
    h->n_buckets = 16;
    while (h->n_buckets < 2 * capacity)
        h->n_buckets *= 2;
    h->slots = calloc(capacity, sizeof(*h->slots));
    h->buckets = malloc(h->n_buckets * sizeof(*h->buckets));
    if (!h->slots || !h->buckets)
        goto err;
    for (size_t i = 0; i < h->n_buckets; i++)
        h->buckets[i] = NIL;
    for (size_t i = 0; i < capacity; i++)
        h->slots[i].next = i + 1 < capacity ? (uint32_t)(i + 1) : NIL;
    h->free_head = 0;
    return h;
err:
    free(h->slots);
    free(h->buckets);
    free(h);
    errno = ENOMEM;
    return NULL;
}

static void slot_clear(struct slot *s)
{
    for (unsigned i = 0; i < WORKER_HISTORY_ERRORS; i++) {
        free(s->errors[i]);
        s->errors[i] = NULL;
    }
    free(s->key);
    s->key = NULL;
    s->n = s->first = 0;
    s->failures = 0;
}

void worker_history_free(struct worker_history *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->capacity; i++)
        slot_clear(&h->slots[i]);
    free(h->slots);
    free(h->buckets);
    free(h);
}

/* The slot index holding key, or NIL; *prev_out gets its predecessor in the chain. */
static uint32_t lookup(const struct worker_history *h, const char *key, size_t key_len,
                       uint32_t *prev_out)
{
    uint32_t prev = NIL;
    uint32_t i = h->buckets[hash(key, key_len) & (h->n_buckets - 1)];

    while (i != NIL) {
        const struct slot *s = &h->slots[i];
        if (s->key_len == key_len && memcmp(s->key, key, key_len) == 0)
            break;
        prev = i;
        i = s->next;
    }
    if (prev_out)
        *prev_out = prev;
    return i;
}

/* Unlinks and frees slot i (which holds a key). */
static void drop(struct worker_history *h, uint32_t i)
{
    struct slot *s = &h->slots[i];
    uint32_t prev;
    uint32_t found = lookup(h, s->key, s->key_len, &prev);

    (void)found; /* it is i: every held key is in its chain */
    if (prev == NIL)
        h->buckets[hash(s->key, s->key_len) & (h->n_buckets - 1)] = s->next;
    else
        h->slots[prev].next = s->next;
    slot_clear(s);
    s->next = h->free_head;
    h->free_head = i;
    h->size--;
}

/* A copy of error cut to WORKER_HISTORY_ERROR_MAX - 1 bytes, not inside a UTF-8 sequence. */
static char *copy_error(const char *error)
{
    size_t n = strlen(error);
    char *out;

    if (n > WORKER_HISTORY_ERROR_MAX - 1) {
        n = WORKER_HISTORY_ERROR_MAX - 1;
        while (n > 0 && ((unsigned char)error[n] & 0xc0) == 0x80)
            n--;
    }
    if (!(out = malloc(n + 1)))
        return NULL;
    memcpy(out, error, n);
    out[n] = '\0';
    return out;
}

int worker_history_add(struct worker_history *h, const char *stream, const char *entry_id,
                       const char *error)
{
    char buf[1024];
    size_t key_len = make_key(buf, sizeof(buf), stream, entry_id);
    uint32_t i;
    struct slot *s;
    char *copy;

    if (key_len == 0)
        return -ENOMEM; /* longer than any stream key and entry id Redis hands out */
    if (!(copy = copy_error(error ? error : "")))
        return -ENOMEM;
    i = lookup(h, buf, key_len, NULL);
    if (i == NIL) {
        char *key = malloc(key_len + 1);
        uint64_t b;

        if (!key) {
            free(copy);
            return -ENOMEM;
        }
        if (h->free_head == NIL) {
            uint32_t oldest = 0;
            for (uint32_t k = 1; k < h->capacity; k++)
                if (h->slots[k].seq < h->slots[oldest].seq)
                    oldest = k;
            drop(h, oldest);
        }
        i = h->free_head;
        s = &h->slots[i];
        h->free_head = s->next;
        memcpy(key, buf, key_len + 1);
        s->key = key;
        s->key_len = key_len;
        s->seq = ++h->seq;
        b = hash(key, key_len) & (h->n_buckets - 1);
        s->next = h->buckets[b];
        h->buckets[b] = i;
        h->size++;
    }
    s = &h->slots[i];
    if (s->n == WORKER_HISTORY_ERRORS) {
        free(s->errors[s->first]);
        s->errors[s->first] = copy;
        s->first = (s->first + 1) % WORKER_HISTORY_ERRORS;
    } else {
        s->errors[(s->first + s->n) % WORKER_HISTORY_ERRORS] = copy;
        s->n++;
    }
    s->failures++;
    return 0;
}

static const struct slot *find(const struct worker_history *h, const char *stream,
                               const char *entry_id)
{
    char buf[1024];
    size_t key_len;
    uint32_t i;

    if (h->size == 0 || !(key_len = make_key(buf, sizeof(buf), stream, entry_id)))
        return NULL;
    i = lookup(h, buf, key_len, NULL);
    return i == NIL ? NULL : &h->slots[i];
}

void worker_history_remove(struct worker_history *h, const char *stream, const char *entry_id)
{
    const struct slot *s = find(h, stream, entry_id);

    if (s)
        drop(h, (uint32_t)(s - h->slots));
}

size_t worker_history_count(const struct worker_history *h, const char *stream,
                            const char *entry_id)
{
    const struct slot *s = find(h, stream, entry_id);

    return s ? s->n : 0;
}

size_t worker_history_failures(const struct worker_history *h, const char *stream,
                               const char *entry_id)
{
    const struct slot *s = find(h, stream, entry_id);

    return s ? s->failures : 0;
}

const char *worker_history_error(const struct worker_history *h, const char *stream,
                                 const char *entry_id, size_t i)
{
    const struct slot *s = find(h, stream, entry_id);

    if (!s || i >= s->n)
        return NULL;
    return s->errors[(s->first + i) % WORKER_HISTORY_ERRORS];
}

/* A JSON string of s; bytes that are not valid UTF-8 become '?'. */
static json_t *text(const char *s)
{
    json_t *v = json_string(s);
    char *copy;

    if (v)
        return v;
    if (!(copy = strdup(s)))
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(copy);
    free(copy);
    return v;
}

char *worker_history_json(const struct worker_history *h, const char *stream,
                          const char *entry_id)
{
    const struct slot *s = find(h, stream, entry_id);
    json_t *arr = json_array();
    char *out;

    if (!arr)
        return NULL;
    for (unsigned i = 0; s && i < s->n; i++) {
        if (json_array_append_new(arr, text(s->errors[(s->first + i) % WORKER_HISTORY_ERRORS]))) {
            json_decref(arr);
            return NULL;
        }
    }
    out = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return out;
}

size_t worker_history_size(const struct worker_history *h)
{
    return h->size;
}
