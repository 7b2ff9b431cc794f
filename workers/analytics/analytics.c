// SPDX-License-Identifier: MIT
/*
 * The analytics worker's life cycle and its counting: each event of a batch goes into
 * the open windows of its type (one per configured length, for its subject and for
 * the roll-up "_all"), unless its window has closed already (late) or it was counted
 * before (a redelivery); then the batch's changes go to Redis in one transaction
 * before the callback returns, so that the SDK acknowledges only what is stored.
 */
#include "analytics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "close.h"
#include "crash.h"
#include "forget.h"
#include "instance.h"
#include "localday.h"
#include "log.h"
#include "state.h"
#include "window.h"

/* Applied records (stored batches) that make a prune due before its second is up. */
#define APPLIED_RECORDS_PRUNE 64
/*
 * Batches: up to this many entries per stream and read, and after a batch that
 * drained the streams, no read before this long after it began. Windows are a minute
 * or longer, so waiting 50 ms costs nothing that shows, and each batch's transaction
 * (the touched windows, the applied record) and round trips serve many more events.
 */
#define ANALYTICS_BATCH_MAX 1024
#define ANALYTICS_BATCH_INTERVAL_MS 50
/* An MQTT link down this long makes the worker unhealthy (a start or a reconnect is not). */
#define ANALYTICS_LINK_GRACE_MS 5000

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------------------------ */
/* Event types */

static const struct windows_type *type_get(struct analytics *a, const char *name, size_t n)
{
    struct windows_type *t = strmap_get(a->types, name, n);
    char text[ACC_NAME_MAX + 8];

    if (t)
        return t;
    if (n >= sizeof(text))
        return NULL;
    memcpy(text, name, n);
    text[n] = '\0';
    if (!(t = malloc(sizeof(*t))))
        return NULL;
    if (windows_file_resolve(&a->wf, text, a->cfg->schemas.dir, t) < 0 ||
        strmap_put(a->types, name, n, t) < 0) {
        free(t);
        return NULL;
    }
    log_info(a->component, "type %s: %d windows, %d categorical fields, %d ignored", text,
             t->n_windows, t->n_categorical, t->n_ignore);
    return t;
}

/* ------------------------------------------------------------------------------------------ */
/* Counting */

static int counter_add(struct strmap *m, const char *key, uint64_t k)
{
    uint64_t *v = strmap_get(m, key, strlen(key));

    if (!v) {
        if (!(v = calloc(1, sizeof(*v))))
            return -ENOMEM;
        if (strmap_put(m, key, strlen(key), v) < 0) {
            free(v);
            return -ENOMEM;
        }
    }
    *v += k;
    return 0;
}

static int touch(struct analytics *a, struct acc *acc)
{
    if (acc->dirty)
        return 0; /* listed already */
    if (a->n_touched == a->cap_touched) {
        size_t c = a->cap_touched ? a->cap_touched * 2 : 256;
        struct acc **p = realloc(a->touched, c * sizeof(*p));
        if (!p)
            return -ENOMEM;
        a->touched = p;
        a->cap_touched = c;
    }
    a->touched[a->n_touched++] = acc;
    acc->dirty = true;
    return 0;
}

/* The open window key, made when new. NULL with *err: -ENOSPC (cap), -EINVAL, -ENOMEM. */
static struct acc *window_get(struct analytics *a, const char *key, bool *created, int *err)
{
    struct acc *acc = strmap_get(a->windows, key, strlen(key));
    int64_t close_ns;

    *created = false;
    if (acc)
        return acc;
    if (strmap_size(a->windows) >= ANALYTICS_WINDOWS_MAX) {
        *err = -ENOSPC;
        return NULL;
    }
    if (!(acc = acc_new(key))) {
        *err = errno == ENOMEM ? -ENOMEM : -EINVAL;
        return NULL;
    }
    if (strmap_put_borrowed(a->windows, acc->key, strlen(acc->key), acc) < 0) {
        acc_free(acc);
        *err = -ENOMEM;
        return NULL;
    }
    close_ns = acc->end_ns + a->lateness_ns;
    if (close_ns < a->next_close_ns)
        a->next_close_ns = close_ns;
    *created = true;
    return acc;
}

/* A payload field that is aggregated, classified once per event. */
struct field {
    const char *name;
    size_t len;
    bool number;       /* else counted per value */
    double x;          /* the number */
    const char *text;  /* the value counted */
    size_t text_len;
};

#define EVENT_FIELDS_MAX 64

/* The payload's aggregated fields into out (at most EVENT_FIELDS_MAX); returns how many. */
static size_t classify(const struct windows_type *t, const msgpack_object *data, struct field *out)
{
    size_t n = 0;

    for (uint32_t i = 0; i < data->via.map.size && n < EVENT_FIELDS_MAX; i++) {
        const msgpack_object *k = &data->via.map.ptr[i].key, *v = &data->via.map.ptr[i].val;
        struct field *f = &out[n];

        if (k->type != MSGPACK_OBJECT_STR ||
            windows_type_is_ignored(t, k->via.str.ptr, k->via.str.size))
            continue;
        f->name = k->via.str.ptr;
        f->len = k->via.str.size;
        f->number = true;
        switch (v->type) {
        case MSGPACK_OBJECT_POSITIVE_INTEGER: f->x = (double)v->via.u64; break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: f->x = (double)v->via.i64; break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: f->x = v->via.f64; break;
        case MSGPACK_OBJECT_BOOLEAN:
            f->number = false;
            f->text = v->via.boolean ? "true" : "false";
            f->text_len = v->via.boolean ? 4 : 5;
            break;
        case MSGPACK_OBJECT_STR:
            if (!windows_type_is_categorical(t, f->name, f->len))
                continue;
            f->number = false;
            f->text = v->via.str.ptr;
            f->text_len = v->via.str.size;
            break;
        default:
            continue; /* nil, arrays, maps: not aggregated */
        }
        n++;
    }
    return n;
}

/* Adds an event's fields to acc. 0, or -ENOMEM. */
static int add_fields(struct analytics *a, struct acc *acc, const struct field *fields, size_t n,
                      int64_t t_ns)
{
    int r;

    if ((r = touch(a, acc)) < 0)
        return r;
    acc_add_event(acc);
    for (size_t i = 0; i < n; i++) {
        const struct field *f = &fields[i];
        r = f->number ? acc_add_number(acc, f->name, f->len, f->x, t_ns)
                      : acc_add_category(acc, f->name, f->len, f->text, f->text_len);
        if (r == -ENOMEM)
            return r; /* -EINVAL, -ENOSPC: a field that cannot be aggregated, left out */
    }
    return 0;
}

static bool str_eq(const struct envelope_str *s, const char *text)
{
    return s->len == strlen(text) && memcmp(s->ptr, text, s->len) == 0;
}

/* "<m>/<type>/<subject>" into out (ACC_KEY_MAX); its length, or 0 when too long. */
static size_t series_key(char *out, const struct envelope_view *env, const char *subject,
                         size_t subject_len)
{
    size_t n = env->municipality.len + 1 + env->type.len + 1 + subject_len;

    if (n >= ACC_KEY_MAX)
        return 0;
    memcpy(out, env->municipality.ptr, env->municipality.len);
    out[env->municipality.len] = '/';
    memcpy(out + env->municipality.len + 1, env->type.ptr, env->type.len);
    out[env->municipality.len + 1 + env->type.len] = '/';
    memcpy(out + n - subject_len, subject, subject_len);
    out[n] = '\0';
    return n;
}

/* The cache of series key[0..n), made when new; NULL (no cache) when memory is short. */
static struct series *series_get(struct analytics *a, const char *key, size_t n)
{
    struct series *s;

    if (n == 0)
        return NULL;
    if ((s = strmap_get(a->series, key, n)))
        return s;
    if (!(s = calloc(1, sizeof(*s))))
        return NULL;
    if (strmap_put(a->series, key, n, s) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

/*
 * The open window of length index i starting at start for a subject (or "_all"),
 * from the series cache or the windows, made when new. NULL with *err set.
 */
static struct acc *window_for(struct analytics *a, struct series *s, int i,
                              const struct envelope_view *env, const char *subject,
                              size_t subject_len, const char *window, int64_t start,
                              bool *created, int *err)
{
    char key[ACC_KEY_MAX];
    struct acc *acc;

    *created = false;
    if (s && s->acc[i] && s->acc[i]->start_ns == start)
        return s->acc[i];
    if (acc_key_build(key, env->municipality.ptr, env->municipality.len, env->type.ptr,
                      env->type.len, subject, subject_len, window, start) < 0) {
        *err = -EINVAL;
        return NULL;
    }
    if ((acc = window_get(a, key, created, err)) && s)
        s->acc[i] = acc;
    return acc;
}

/* One event into its windows. 0, or -ENOMEM (the batch fails and the state is reloaded). */
static int count_event(struct analytics *a, const struct worker_event *ev, int64_t now)
{
    const struct envelope_view *env = &ev->env;
    const struct windows_type *t;
    struct field fields[EVENT_FIELDS_MAX];
    char counter[ACC_NAME_MAX + 32], key[ACC_KEY_MAX];
    struct series *own_series = NULL, *all_series;
    bool own = !str_eq(&env->subject, ACC_ROLLUP_SUBJECT);
    size_t n_fields;
    int64_t t_ns;
    int r;

    if (!(t = type_get(a, env->type.ptr, env->type.len)) || env->data->type != MSGPACK_OBJECT_MAP ||
        window_time_parse(env->time.ptr, env->time.len, &t_ns) < 0) {
        a->invalid_total++;
        return 0;
    }
    if (t_ns > now + ANALYTICS_FUTURE_MAX_S * WINDOW_NS_PER_S) {
        snprintf(counter, sizeof(counter), "%s/future", t->name);
        return counter_add(a->late_delta, counter, 1);
    }
    n_fields = classify(t, env->data, fields);
    if (own)
        own_series = series_get(a, key, series_key(key, env, env->subject.ptr, env->subject.len));
    all_series = series_get(a, key, series_key(key, env, ACC_ROLLUP_SUBJECT,
                                               strlen(ACC_ROLLUP_SUBJECT)));
    for (int i = 0; i < t->n_windows; i++) {
        int64_t start = window_start(t_ns, t->windows[i]);
        int64_t end = window_end(start, t->windows[i]);
        struct acc *rollup, *subject = NULL;
        bool created;
        int err = 0;

        if (end + a->lateness_ns <= now) {
            snprintf(counter, sizeof(counter), "%s/%s", t->name, t->window_text[i]);
            if ((r = counter_add(a->late_delta, counter, 1)) < 0)
                return r;
            continue;
        }
        if (!(rollup = window_for(a, all_series, i, env, ACC_ROLLUP_SUBJECT,
                                  strlen(ACC_ROLLUP_SUBJECT), t->window_text[i], start, &created,
                                  &err)))
            goto cannot;
        if (own) {
            if (!(subject = window_for(a, own_series, i, env, env->subject.ptr, env->subject.len,
                                       t->window_text[i], start, &created, &err)))
                goto cannot;
            if (created) {
                if ((r = touch(a, rollup)) < 0)
                    return r;
                rollup->subjects++;
            }
            if ((r = add_fields(a, subject, fields, n_fields, t_ns)) < 0)
                return r;
        }
        if ((r = add_fields(a, rollup, fields, n_fields, t_ns)) < 0)
            return r;
        continue;
    cannot:
        if (err == -ENOMEM)
            return err;
        if (err == -ENOSPC)
            a->dropped_total++;
        else
            a->invalid_total++;
    }
    return 0;
}

/* Forgets the batch's work (after it was written, or before the state is reloaded). */
static void batch_reset(struct analytics *a)
{
    for (size_t i = 0; i < a->n_touched; i++)
        a->touched[i]->dirty = false;
    a->n_touched = 0;
    applied_discard(&a->applied);
    state_counters_clear(a->late_delta);
}

/*
 * The worker's health from both of its causes, in the SDK's one slot (worker_set_health),
 * so that neither hides the other: the last batch could not be written to Redis, or the
 * MQTT link has been down too long to publish the aggregates (they wait in the outbox).
 * Called after each batch and on every tick; only a change is written.
 */
static void health_update(struct analytics *a)
{
    static const char state_text[] = "analytics: the state could not be written to Redis";
    char link[300], both[sizeof(state_text) + 2 + sizeof(link)];
    const char *problem = NULL, *detail = "";

    if (a->mqtt)
        problem = mqtt_out_problem(a->mqtt, ANALYTICS_LINK_GRACE_MS, link, sizeof(link));
    if (a->state_failing && problem) {
        snprintf(both, sizeof(both), "%s; %s", state_text, problem);
        detail = both;
    } else if (a->state_failing) {
        detail = state_text;
    } else if (problem) {
        detail = problem;
    }
    worker_set_health(a->w, !a->state_failing && !problem, detail);
}

static int on_batch(struct worker *w, void *data, struct worker_event *events, size_t n)
{
    struct analytics *a = data;
    int64_t now, began_ms = mono_ms();
    size_t repeated = 0, repeated_events = 0, counted = 0;
    const struct worker_event *entry = NULL; /* the first event of the entry in hand */
    bool entry_repeated = false;
    int r = 0;

    if (a->reload && (r = state_load(a)) < 0)
        return r;
    now = clock_now(a);
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct worker_event *ev = &events[i];
        uint64_t ms, seq;
        int stream;

        if (ev->env.type.len > 9 && memcmp(ev->env.type.ptr, "rheinhub.", 9) == 0) {
            if (!a->rheinhub_logged)
                log_warn(a->component, "the route includes the workers' own streams (%.*s): "
                         "skipped; route analytics to sensor.*, service.*, citizen.* only",
                         (int)ev->env.type.len, ev->env.type.ptr);
            a->rheinhub_logged = true;
            continue;
        }
        if (applied_id_parse(ev->entry_id, &ms, &seq) < 0) {
            a->invalid_total++;
            continue;
        }
        /*
         * The records hold entries, and an entry may hold several events: the SDK hands
         * all of an entry's events in one batch, in order, and this batch is stored in
         * one transaction, so an entry is counted whole or not at all. Its first event
         * decides for all of them, and records the entry once.
         */
        if (!entry || strcmp(entry->entry_id, ev->entry_id) != 0 ||
            strcmp(entry->stream, ev->stream) != 0) {
            entry = ev;
            if ((stream = applied_stream(&a->applied, ev->stream, strlen(ev->stream))) < 0) {
                r = stream;
                break;
            }
            /*
             * A first delivery cannot have been counted; a later one may have been, by
             * this process or the one before it, if the acknowledgement never happened.
             */
            entry_repeated = ev->deliveries > 1 &&
                             applied_contains(&a->applied, (uint32_t)stream, ms, seq);
            if (entry_repeated)
                repeated++;
            else if ((r = applied_add(&a->applied, (uint32_t)stream, ms, seq)) < 0)
                break;
        }
        if (entry_repeated) {
            repeated_events++;
            continue;
        }
        if ((r = count_event(a, ev, now)) < 0)
            break;
        counted++;
    }
    if (r == 0)
        r = state_persist_batch(a);
    if (r < 0) {
        log_warn(a->component, "batch of %zu not stored (%s): the state is loaded again and the "
                 "batch comes back", n, strerror(-r));
        a->reload = true;
        batch_reset(a);
        a->state_failing = true;
        health_update(a);
        return r < 0 ? r : -EIO;
    }
    if (repeated)
        log_info(a->component, "%zu redelivered events (%zu entries) were counted before: "
                 "not again", repeated_events, repeated);
    a->state_failing = false;
    health_update(a);
    crash_point(a, "batch", counted);
    if (worker_read_drained(w))
        worker_delay_read(w, (int)(began_ms + ANALYTICS_BATCH_INTERVAL_MS - mono_ms()));
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Life cycle */

static void key_init(struct analytics *a, char *out, const char *name)
{
    snprintf(out, ANALYTICS_KEY_MAX, "%sanalytics:%s", a->cfg->redis.stream_prefix, name);
}

static int on_start(struct worker *w, void *data)
{
    struct analytics *a = data;
    const struct hub_config *cfg = worker_config(w);
    char client_id[CONFIG_NAME_MAX + 128];
    int r;

    a->w = w;
    a->cfg = cfg;
    worker_set_batch_max(w, ANALYTICS_BATCH_MAX);
    applied_init(&a->applied);
    a->lateness_ns = (int64_t)cfg->analytics.lateness_s * WINDOW_NS_PER_S;
    /* Before any thread starts: the zone is the process's (TZ). */
    if ((r = localday_zone_set(cfg->analytics.timezone)) < 0) {
        log_error(a->component, "analytics.timezone %s: %s", cfg->analytics.timezone,
                  strerror(-r));
        return r;
    }
    for (int i = 0; i < cfg->n_workers; i++) {
        if (strcmp(cfg->workers[i].name, ANALYTICS_KIND) == 0 && cfg->workers[i].instances > 1) {
            log_error(a->component, "workers: %s has instances: %d; the windows live in one "
                      "process, so run exactly one", ANALYTICS_KIND, cfg->workers[i].instances);
            return -EINVAL;
        }
    }
    if (cfg->analytics.windows_file[0]) {
        if (windows_file_load(&a->wf, cfg->analytics.windows_file, stderr) != 0)
            return -EINVAL;
    } else {
        windows_file_defaults(&a->wf);
    }
    key_init(a, a->windows_key, "windows");
    key_init(a, a->applied_key, "applied");
    key_init(a, a->late_key, "late");
    key_init(a, a->outbox_key, "outbox");
    key_init(a, a->lock_key, "lock");
    key_init(a, a->clock_key, "clock");
    snprintf(a->status_key, sizeof(a->status_key), "%sworker:%s:%s", cfg->redis.stream_prefix,
             ANALYTICS_KIND, worker_consumer(w));
    snprintf(a->aggregate_stream, sizeof(a->aggregate_stream), "%sevents:rheinhub.aggregate",
             cfg->redis.stream_prefix);
    if (!(a->types = strmap_new()) || !(a->windows = strmap_new()) ||
        !(a->series = strmap_new()) || !(a->late = strmap_new()) ||
        !(a->outbox = strmap_new()) || !(a->by_mid = strmap_new()) ||
        !(a->late_delta = strmap_new()))
        return -ENOMEM;
    a->next_close_ns = INT64_MAX;
    if ((r = forget_init(a)) < 0 || (r = state_lock(a)) < 0)
        return r;
    if ((r = state_load(a)) < 0) {
        log_error(a->component, "cannot load the state from Redis: %s", strerror(-r));
        return r;
    }
    snprintf(client_id, sizeof(client_id), "%s-%s", cfg->analytics.client_id, worker_consumer(w));
    if (!(a->mqtt = mqtt_out_new(cfg->mqtt.host, cfg->mqtt.port, client_id,
                                 cfg->analytics.username[0] ? cfg->analytics.username
                                                            : cfg->mqtt.username,
                                 cfg->analytics.username[0] ? cfg->analytics.password
                                                            : cfg->mqtt.password,
                                 a->component))) {
        log_error(a->component, "MQTT: %s", strerror(errno));
        return -errno;
    }
    log_info(a->component, "started as %s: %zu open windows, %zu aggregates to publish, "
             "lateness %d s, windows file %s", worker_consumer(w), strmap_size(a->windows),
             strmap_size(a->outbox), cfg->analytics.lateness_s,
             cfg->analytics.windows_file[0] ? cfg->analytics.windows_file : "(none: defaults)");
    return 0;
}

static int on_tick(struct worker *w, void *data)
{
    struct analytics *a = data;
    int64_t now_ms = mono_ms();
    int r = 0;

    health_update(a); /* the MQTT link's state changes between batches too */
    if (!worker_redis(w))
        return 0; /* the SDK reconnects; nothing can be written meanwhile */
    if (a->reload && (r = state_load(a)) < 0)
        return r;
    if (now_ms >= a->next_lock_ms) {
        a->next_lock_ms = now_ms + 5000;
        if (state_lock_refresh(a) < 0) {
            log_error(a->component, "lost %s to another process: stopping", a->lock_key);
            worker_request_stop(w);
            return -EBUSY;
        }
    }
    if (now_ms >= a->next_check_ms) {
        a->next_check_ms = now_ms + a->cfg->analytics.check_interval_ms;
        if (clock_now(a) >= a->next_close_ns && (r = close_due(a)) < 0)
            return r;
    }
    close_pump(a);
    forget_tick(a, now_ms);
    if (now_ms >= a->next_prune_ms || a->applied.n_records >= APPLIED_RECORDS_PRUNE) {
        a->next_prune_ms = now_ms + 1000;
        if ((r = state_prune_applied(a)) < 0)
            return r;
    }
    if (now_ms >= a->next_status_ms) {
        a->next_status_ms = now_ms + a->cfg->worker.heartbeat_ms;
        state_write_status(a);
    }
    if (now_ms >= a->next_log_ms) {
        a->next_log_ms = now_ms + 60000;
        if (a->late_total != a->late_logged || a->future_total != a->future_logged ||
            a->dropped_total != a->dropped_logged) {
            log_warn(a->component, "left out since the last report: %" PRIu64 " late events, "
                     "%" PRIu64 " too far in the future, %" PRIu64 " past the open-window cap "
                     "(totals: %" PRIu64 " late, %" PRIu64 " future; per type and window in %s)",
                     a->late_total - a->late_logged, a->future_total - a->future_logged,
                     a->dropped_total - a->dropped_logged, a->late_total, a->future_total,
                     a->late_key);
            a->late_logged = a->late_total;
            a->future_logged = a->future_total;
            a->dropped_logged = a->dropped_total;
        }
    }
    return 0;
}

static void on_stop(struct worker *w, void *data)
{
    struct analytics *a = data;

    /* Give PUBACKs that are on their way a moment; what is left stays in the outbox. */
    for (int i = 0; i < 50 && a->mqtt && strmap_size(a->outbox) > 0 &&
                    mqtt_out_connected(a->mqtt) && worker_redis(w);
         i++) {
        struct timespec ts = {0, 20 * 1000000L};
        close_pump(a);
        nanosleep(&ts, NULL);
    }
    mqtt_out_free(a->mqtt);
    a->mqtt = NULL;
    if (worker_redis(w))
        state_unlock(a);
    log_info(a->component, "stopping: %zu open windows kept in Redis, %" PRIu64 " windows closed, "
             "%" PRIu64 " late events", strmap_size(a->windows), a->closed_total, a->late_total);
}

static int free_type(const char *key, void *value, void *data)
{
    free(strmap_remove(data, key, strlen(key)));
    return 0;
}

static void analytics_free(struct analytics *a)
{
    mqtt_out_free(a->mqtt);
    forget_close(a);
    if (a->windows && a->series && a->late && a->outbox && a->by_mid)
        state_clear(a);
    applied_close(&a->applied);
    if (a->types)
        strmap_each(a->types, free_type, a->types);
    if (a->late_delta)
        state_counters_clear(a->late_delta);
    strmap_free(a->types);
    strmap_free(a->windows);
    strmap_free(a->series);
    strmap_free(a->late);
    strmap_free(a->outbox);
    strmap_free(a->by_mid);
    strmap_free(a->late_delta);
    free(a->touched);
}

int analytics_main(int argc, char **argv)
{
    static struct analytics a;
    struct worker_def def = {
        .kind = ANALYTICS_KIND,
        .start = on_start,
        .batch = on_batch,
        .tick = on_tick,
        .stop = on_stop,
        .data = &a,
    };
    const char *clock_file = getenv("RHEINHUB_ANALYTICS_CLOCK_FILE");
    const char *crash_file = getenv("RHEINHUB_ANALYTICS_CRASH_FILE");
    int status;

    a.component = ANALYTICS_KIND;
    a.clock_file = clock_file && clock_file[0] ? clock_file : NULL;
    a.crash_file = crash_file && crash_file[0] ? crash_file : NULL;
    status = worker_main(&def, argc, argv);
    analytics_free(&a);
    return status;
}
