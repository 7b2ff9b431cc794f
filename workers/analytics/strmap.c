// SPDX-License-Identifier: MIT
/* Separate chaining with a power-of-two bucket array, doubled at load 1; FNV-1a keys. */
#include "strmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    void *value;
    const char *key; /* NUL-terminated: text, or the caller's when borrowed */
    uint64_t hash;
    size_t len;
    char text[]; /* the copy of the key; nothing when borrowed */
};

struct strmap {
    struct node **buckets;
    size_t n_buckets; /* a power of two */
    size_t size;
};

static uint64_t hash_key(const char *key, size_t n)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

struct strmap *strmap_new(void)
{
    struct strmap *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    m->n_buckets = 64;
    if (!(m->buckets = calloc(m->n_buckets, sizeof(*m->buckets)))) {
        free(m);
        return NULL;
    }
    return m;
}

void strmap_free(struct strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_buckets; i++) {
        struct node *n = m->buckets[i];
        while (n) {
            struct node *next = n->next;
            free(n);
            n = next;
        }
    }
    free(m->buckets);
    free(m);
}

static struct node **find(const struct strmap *m, const char *key, size_t n, uint64_t h)
{
    struct node **p = &m->buckets[h & (m->n_buckets - 1)];

    for (; *p; p = &(*p)->next)
        if ((*p)->hash == h && (*p)->len == n && memcmp((*p)->key, key, n) == 0)
            return p;
    return p;
}

void *strmap_get(const struct strmap *m, const char *key, size_t n)
{
    struct node **p = find(m, key, n, hash_key(key, n));

    return *p ? (*p)->value : NULL;
}

/* Doubles the bucket array; on ENOMEM the map stays as it is (only slower). */
static void grow(struct strmap *m)
{
    size_t nb = m->n_buckets * 2;
    struct node **b = calloc(nb, sizeof(*b));

    if (!b)
        return;
    for (size_t i = 0; i < m->n_buckets; i++) {
        struct node *n = m->buckets[i];
        while (n) {
            struct node *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->n_buckets = nb;
}

/* strmap_put, with a copy of the key in the node, or the caller's key when borrowed. */
static int put(struct strmap *m, const char *key, size_t n, void *value, bool borrowed)
{
    uint64_t h = hash_key(key, n);
    struct node **p = find(m, key, n, h), *node;

    if (*p) {
        (*p)->value = value;
        if (borrowed && (*p)->key != (*p)->text)
            (*p)->key = key; /* the old key may go with the old value */
        return 0;
    }
    if (!(node = malloc(sizeof(*node) + (borrowed ? 0 : n + 1))))
        return -ENOMEM;
    node->next = NULL;
    node->value = value;
    node->hash = h;
    node->len = n;
    if (borrowed) {
        node->key = key;
    } else {
        memcpy(node->text, key, n);
        node->text[n] = '\0';
        node->key = node->text;
    }
    *p = node;
    if (++m->size > m->n_buckets)
        grow(m);
    return 0;
}

int strmap_put(struct strmap *m, const char *key, size_t n, void *value)
{
    return put(m, key, n, value, false);
}

int strmap_put_borrowed(struct strmap *m, const char *key, size_t n, void *value)
{
    return put(m, key, n, value, true);
}

void *strmap_remove(struct strmap *m, const char *key, size_t n)
{
    struct node **p = find(m, key, n, hash_key(key, n)), *node = *p;
    void *value;

    if (!node)
        return NULL;
    *p = node->next;
    value = node->value;
    free(node);
    m->size--;
    return value;
}

size_t strmap_size(const struct strmap *m)
{
    return m->size;
}

int strmap_each(struct strmap *m, int (*fn)(const char *key, void *value, void *data), void *data)
{
    for (size_t i = 0; i < m->n_buckets; i++) {
        struct node *n = m->buckets[i];
        while (n) {
            struct node *next = n->next; /* fn may remove n */
            int r = fn(n->key, n->value, data);
            if (r)
                return r;
            n = next;
        }
    }
    return 0;
}
