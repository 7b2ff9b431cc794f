// SPDX-License-Identifier: MIT
/*
 * The engine's table of tracks (engine_table.h): making and freeing the engine and its
 * tracks (each in one allocation with its names), the chained hash table, the lists of
 * dirty tracks and of changes.
 */
#include "engine.h"
#include "engine_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define BUCKETS_MIN 256

struct engine *engine_new(const struct rules *rules)
{
    struct engine *e = calloc(1, sizeof(*e));

    if (!e)
        return NULL;
    e->rules = rules;
    e->n_buckets = BUCKETS_MIN;
    if (!(e->buckets = calloc(e->n_buckets, sizeof(*e->buckets)))) {
        free(e);
        errno = ENOMEM;
        return NULL;
    }
    return e;
}

void engine_track_free(struct track *t)
{
    if (!t)
        return;
    free(t->samples);
    alert_pack_free(t->alert);
    event_text_close(&t->ev);
    value_kept_close(&t->tested);
    value_kept_close(&t->threshold);
    free(t);
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_tracks; i++)
        engine_track_free(e->all[i]);
    free(e->all);
    free(e->buckets);
    free(e->changes);
    free(e->dirty);
    free(e);
}

int engine_reserve(void **arr, size_t *cap, size_t n, size_t elem)
{
    size_t new_cap;
    void *p;

    if (n < *cap)
        return 0;
    new_cap = *cap ? *cap * 2 : 64;
    if (!(p = realloc(*arr, new_cap * elem)))
        return -ENOMEM;
    *arr = p;
    *cap = new_cap;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Tracks */

size_t engine_bucket(const struct engine *e, const char *key)
{
    return (size_t)XXH3_64bits(key, strlen(key)) & (e->n_buckets - 1);
}

struct track *engine_track(const struct engine *e, const char *key)
{
    for (struct track *t = e->buckets[engine_bucket(e, key)]; t; t = t->next)
        if (strcmp(t->key, key) == 0)
            return t;
    return NULL;
}

static void rehash(struct engine *e)
{
    size_t n = e->n_buckets * 2;
    struct track **b = calloc(n, sizeof(*b));

    if (!b)
        return; /* longer chains, still correct */
    free(e->buckets);
    e->buckets = b;
    e->n_buckets = n;
    for (size_t i = 0; i < e->n_tracks; i++) {
        struct track *t = e->all[i];
        size_t k = engine_bucket(e, t->key);
        t->next = b[k];
        b[k] = t;
    }
}

static bool part_ok(const char *s, size_t max)
{
    size_t n = strlen(s);

    return n > 0 && n <= max && !strchr(s, '/');
}

struct track *engine_track_get(struct engine *e, const struct rule *r, const char *municipality,
                               const char *subject)
{
    char key[ENGINE_KEY_MAX];
    size_t m, rn, sn;
    struct track *t;
    size_t k;

    if (!part_ok(municipality, TOPIC_MUNICIPALITY_MAX) || !part_ok(subject, TOPIC_SUBJECT_MAX)) {
        errno = EINVAL;
        return NULL;
    }
    m = strlen(municipality);
    rn = strlen(r->name);
    sn = strlen(subject);
    memcpy(key, municipality, m);
    key[m] = '/';
    memcpy(key + m + 1, r->name, rn);
    key[m + 1 + rn] = '/';
    memcpy(key + m + 2 + rn, subject, sn + 1); /* part_ok bounded the three */
    if ((t = engine_track(e, key)))
        return t;
    /* names: the key, whose end is the subject, then the municipality. */
    if (engine_reserve((void **)&e->all, &e->cap_tracks, e->n_tracks, sizeof(*e->all)) < 0 ||
        !(t = calloc(1, sizeof(*t) + m + rn + sn + 3 + m + 1))) {
        errno = ENOMEM;
        return NULL;
    }
    t->key = memcpy(t->names, key, m + rn + sn + 3);
    t->subject = t->key + m + rn + 2;
    t->municipality = memcpy(t->key + m + rn + sn + 3, municipality, m + 1);
    event_text_init(&t->ev);
    t->rule = r;
    t->severity = r->severity;
    value_kept_init(&t->tested);
    value_kept_init(&t->threshold);
    k = engine_bucket(e, t->key);
    t->next = e->buckets[k];
    e->buckets[k] = t;
    e->all[e->n_tracks++] = t;
    if (e->n_tracks > e->n_buckets)
        rehash(e); /* every track, this one too, into a table twice the size */
    return t;
}

int engine_samples_reserve(struct track *t, int n)
{
    int cap = t->cap_samples ? t->cap_samples : 4;
    struct engine_sample *p;

    if (n > ENGINE_RATE_SAMPLES)
        n = ENGINE_RATE_SAMPLES;
    if (n <= t->cap_samples)
        return 0;
    while (cap < n)
        cap *= 2;
    if (cap > ENGINE_RATE_SAMPLES)
        cap = ENGINE_RATE_SAMPLES;
    if (!(p = realloc(t->samples, (size_t)cap * sizeof(*p))))
        return -ENOMEM;
    t->samples = p;
    t->cap_samples = cap;
    return 0;
}

struct track *engine_track_make(struct engine *e, const char *municipality, const char *rule,
                                const char *subject)
{
    const struct rule *r = rules_find(e->rules, rule);

    if (!r) {
        errno = ENOENT;
        return NULL;
    }
    return engine_track_get(e, r, municipality, subject);
}

struct track *const *engine_tracks(const struct engine *e, size_t *n)
{
    *n = e->n_tracks;
    return e->all;
}

void engine_mark_dirty(struct engine *e, struct track *t)
{
    if (t->dirty)
        return;
    if (engine_reserve((void **)&e->dirty, &e->cap_dirty, e->n_dirty, sizeof(*e->dirty)) < 0)
        return; /* the caller persists it with the next change that fits */
    t->dirty = true;
    e->dirty[e->n_dirty++] = t;
}

struct track *const *engine_dirty(const struct engine *e, size_t *n)
{
    *n = e->n_dirty;
    return e->dirty;
}

void engine_dirty_clear(struct engine *e)
{
    for (size_t i = 0; i < e->n_dirty; i++)
        e->dirty[i]->dirty = false;
    e->n_dirty = 0;
}

void engine_dirty_compact(struct engine *e)
{
    size_t kept = 0;

    for (size_t i = 0; i < e->n_dirty; i++)
        if (e->dirty[i]->dirty)
            e->dirty[kept++] = e->dirty[i];
    e->n_dirty = kept;
}

const struct engine_change *engine_changes(const struct engine *e, size_t *n)
{
    *n = e->n_changes;
    return e->changes;
}

void engine_changes_clear(struct engine *e)
{
    e->n_changes = 0;
}

const struct engine_stats *engine_stats(const struct engine *e)
{
    return &e->stats;
}
