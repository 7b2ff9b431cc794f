// SPDX-License-Identifier: MIT
/*
 * The alerting worker (alerting_worker.h). Per batch of events: the engine applies
 * them; when an alert changed state, one MULTI/EXEC writes the changed tracks, an
 * envelope per state change (stream <prefix>events:rheinhub.alert) and the outbox
 * entries, then each change is published (QoS 1, retained), and only then does the
 * callback return, so that the SDK acknowledges the events after their effects are in
 * Redis. The broker's PUBACK removes the outbox entry; what the outbox still holds at a
 * start is published again, so a crash between the commit and the PUBACK loses no
 * publication. Track updates that change no alert (last event, last seen, rate
 * samples) are written behind, at most FLUSH_INTERVAL_NS late; a track's first event
 * is written at once, so that silence is watched after a restart for every subject
 * ever seen. A commit that fails leaves nothing behind: the engine is reloaded from Redis and the SDK hands the same
 * events over again.
 *
 * The tick: the MQTT link's work (reads, keep-alive, reconnects), acknowledgements and
 * confirmations (PUBACK) it received, and every alerting.check_interval_ms the
 * engine's clock (escalation, re-notification, and, once the worker has caught up with
 * its streams, silence and durations, and forgetting tracks quiet for
 * alerting.forget_after, a bounded number per check; one whose alert is retained on the
 * broker goes once the broker confirmed the removal of that retained message).
 * The publications and their confirmations are publish.c.
 */
#include "alerting_worker.h"
#include "alerting_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ack.h"
#include "catchup.h"
#include "config.h"
#include "engine.h"
#include "forget.h"
#include "log.h"
#include "mqtt_link.h"
#include "rules.h"
#include "stats.h"
#include "store.h"
#include "times.h"
#include "worker.h"

#define KIND "alerting"
#define CATCHUP_MAX_NS (60 * NS_PER_S)   /* silence is checked after this even if behind */
#define STATS_INTERVAL_NS (500 * NS_PER_MS)
/*
 * Track updates without alert changes are written this often, FLUSH_CHUNK tracks per
 * write (one per turn of the loop), so that no turn spends long on them: an alert
 * waits for the turn in progress.
 */
#define FLUSH_INTERVAL_NS (5 * NS_PER_S)
#define FLUSH_CHUNK 32
#define REPUBLISH_INTERVAL_NS (5 * NS_PER_S)
#define STOP_FLUSH_MS 2000               /* how long a stop waits for PUBACKs */
#define LINK_GRACE_MS 5000               /* a link down this long makes the worker unhealthy */
#define FORGET_SCAN 4096                 /* tracks looked at for forgetting per check */
#define FORGET_MAX 64                    /* tracks forgotten per check at most */

/* ------------------------------------------------------------------------------------------ */
/* State */

static void log_change(struct alerting *a, const struct engine_change *ch)
{
    char value[64];

    value_format(&ch->alert.value, value, sizeof(value));
    log_info(a->component, "%s: %s (%s, %s, value %s)%s%s", ch->track->key,
             engine_reason_name(ch->reason), severity_name(ch->alert.severity),
             alert_state_name(ch->alert.state), value, ch->alert.acked_by[0] ? " by " : "",
             ch->alert.acked_by);
}

/* Appends t to a->pick unless it is there. Returns 0, or -ENOMEM. */
static int pick(struct alerting *a, struct track *t)
{
    for (size_t i = 0; i < a->n_pick; i++)
        if (a->pick[i] == t)
            return 0;
    if (a->n_pick == a->cap_pick) {
        size_t cap = a->cap_pick ? a->cap_pick * 2 : 256;
        struct track **p = realloc(a->pick, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        a->pick = p;
        a->cap_pick = cap;
    }
    a->pick[a->n_pick++] = t;
    return 0;
}

/*
 * Writes what must be written now and publishes the alert changes. With changes: their
 * tracks, the tracks seen for the first time, and the outbox; nothing else, so that an
 * alert does not wait for seconds' worth of quiet updates. The other dirty tracks are
 * written in rounds every FLUSH_INTERVAL_NS: a round writes those dirty at its start,
 * FLUSH_CHUNK per turn (all at once when force is set). On failure the engine is
 * reloaded before anything else happens: Redis holds the truth.
 */
static int commit(struct alerting *a, redisContext *c, int64_t now, bool force)
{
    const struct engine_change *changes;
    struct track *const *dirty;
    size_t n, n_dirty, quota, from_quota = 0;
    int r = 0;

    changes = engine_changes(a->engine, &n);
    dirty = engine_dirty(a->engine, &n_dirty);
    if (!n)
        a->n_acks = 0; /* the acknowledgements taken changed nothing */
    if (!n && !n_dirty && !a->n_done)
        return 0;
    if (a->flush_left == 0 && now >= a->next_flush_ns) {
        a->flush_left = n_dirty; /* a new round: what is dirty now */
        a->next_flush_ns = now + FLUSH_INTERVAL_NS;
    }
    quota = force ? n_dirty : a->flush_left < FLUSH_CHUNK ? a->flush_left : FLUSH_CHUNK;
    a->n_pick = 0;
    for (size_t i = 0; i < n && r == 0; i++)
        r = pick(a, changes[i].track);
    for (size_t i = 0; i < n_dirty && r == 0; i++) {
        if (i < quota) {
            from_quota++;
            r = pick(a, dirty[i]);
        } else if (!dirty[i]->stored) {
            r = pick(a, dirty[i]);
        }
    }
    if (r < 0) {
        a->need_load = true;
        return r;
    }
    if (!a->n_pick && !(a->n_done && (force || now >= a->next_done_ns)))
        return 0; /* written behind: nothing an operator sees depends on it */
    r = store_commit(c, &a->keys, a->pick, a->n_pick, changes, n, a->done, a->n_done, NULL, 0,
                     now, a->component);
    if (r < 0) {
        log_warn(a->component, "commit failed (%s); reloading the state from redis",
                 strerror(-r));
        engine_changes_clear(a->engine);
        a->need_load = true;
        a->flush_left = 0;
        return r;
    }
    engine_dirty_compact(a->engine);
    a->flush_left -= from_quota < a->flush_left ? from_quota : a->flush_left;
    a->n_done = 0;
    a->next_done_ns = now + FLUSH_INTERVAL_NS;
    for (size_t i = 0; i < n; i++) {
        log_change(a, &changes[i]);
        publish_alert(a, changes[i].track, &changes[i].alert, changes[i].seq);
    }
    engine_changes_clear(a->engine);
    a->n_acks = 0; /* committed with the rest */
    return 0;
}

/* Moves the engine's counters into the stats, as deltas. */
static void collect_engine_stats(struct alerting *a)
{
    stats_take_engine(a->stats, &a->engine_seen, engine_stats(a->engine));
}

/* (Re)loads the engine from Redis when needed; republishes what the outbox holds. */
static int ensure_loaded(struct alerting *a, redisContext *c)
{
    struct engine *e;
    size_t dropped;
    int r;

    if (!a->need_load)
        return 0;
    if (!c)
        return -ENOTCONN;
    if (a->engine)
        collect_engine_stats(a);
    if (!(e = engine_new(&a->rules)))
        return -ENOMEM;
    if ((r = store_load(c, &a->keys, e, &dropped, a->component)) < 0) {
        engine_free(e);
        return r;
    }
    engine_free(a->engine);
    a->engine = e;
    memset(&a->engine_seen, 0, sizeof(a->engine_seen));
    memset(a->mids, 0, MIDS * sizeof(*a->mids));
    a->n_done = 0;
    a->need_load = false;
    republish_pending(a, true);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Forgetting quiet tracks (forget.h) */

/*
 * Publishes the removal of the retained alert of each track in retained (forget.h)
 * whose newest change has not been asked for yet; an unconfirmed one waits for its
 * PUBACK (libmosquitto sends it again after a reconnect; a reload of the state, after
 * a restart too, asks again). While the link is down, they wait for it.
 */
static void unretain(struct alerting *a, struct track *const *retained, size_t n)
{
    if (!mqtt_link_connected(a->mqtt))
        return;
    for (size_t i = 0; i < n; i++)
        if (retained[i]->unretain_sent_seq < retained[i]->seq)
            publish_removal(a, retained[i]);
}

/*
 * Forgets up to FORGET_MAX of the next FORGET_SCAN tracks that have been quiet for
 * after_ns: their fields leave the tracks hash (and the outbox, with the confirmed
 * entries) in one MULTI/EXEC, then they leave the engine. A track with a retained
 * alert goes only once the broker confirmed its removal: till then, the removal is
 * published. On failure the engine is reloaded, as after any failed commit.
 */
static int forget_quiet(struct alerting *a, redisContext *c, int64_t now, int64_t after_ns)
{
    struct track *gone[FORGET_MAX], *retained[FORGET_MAX];
    size_t n = forget_pick(a->engine, now, after_ns, FORGET_SCAN, gone, FORGET_MAX), n_retained;
    char after[32];
    int r;

    n = forget_split(gone, n, retained, &n_retained);
    unretain(a, retained, n_retained);
    if (!n)
        return 0;
    r = store_commit(c, &a->keys, NULL, 0, NULL, 0, a->done, a->n_done, gone, n, now,
                     a->component);
    if (r < 0) {
        log_warn(a->component, "forgetting %zu quiet tracks failed (%s); reloading the state "
                 "from redis", n, strerror(-r));
        a->need_load = true;
        return r;
    }
    a->n_done = 0;
    a->next_done_ns = now + FLUSH_INTERVAL_NS;
    for (size_t k = 0; k < MIDS; k++) /* older publications whose PUBACK never came */
        for (size_t i = 0; a->mids[k].track && i < n; i++)
            if (a->mids[k].track == gone[i])
                a->mids[k].track = NULL;
    times_duration_format(after_ns, after, sizeof(after));
    for (size_t i = 0; i < n; i++) {
        log_info(a->component, "%s: forgotten (no event for %s, no open alert%s)", gone[i]->key,
                 after, gone[i]->alert ? "; its retained alert removed from the broker" : "");
        if (gone[i]->alert)
            a->stats[STAT_ALERTS_UNRETAINED]++;
    }
    forget_tracks(a->engine, gone, n);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Acknowledgements */

static void take_acks(struct alerting *a)
{
    struct mqtt_link_message msgs[ACKS_PER_TURN];
    size_t n = mqtt_link_take_messages(a->mqtt, msgs, ACKS_PER_TURN - a->n_acks);

    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;

        /* A retained acknowledgement comes again at every subscription (a restart, a
         * reconnect): it would acknowledge whatever alert the topic has by then. */
        if (msgs[i].retained)
            why = "it is a retained message, handed over again at every subscription; "
                  "publish acknowledgements without the retain flag";
        if (why || ack_parse(msgs[i].topic, msgs[i].payload, msgs[i].len, &a->acks[a->n_acks],
                             &why) < 0) {
            log_warn(a->component, "acknowledgement on %s refused: %s", msgs[i].topic, why);
            a->stats[STAT_ACKS_INVALID]++;
        } else {
            a->n_acks++;
        }
        mqtt_link_message_free(&msgs[i]);
    }
}

static void apply_acks(struct alerting *a, int64_t now)
{
    for (size_t i = 0; i < a->n_acks; i++) {
        const struct ack *ack = &a->acks[i];
        int r = engine_ack(a->engine, ack->key, ack->alert_id, ack->by, now);

        if (r == 0) {
            log_info(a->component, "%s: acknowledged by %s%s%s", ack->key, ack->by,
                     ack->comment[0] ? ": " : "", ack->comment);
        } else if (r == -ESTALE) { /* the alert the sender saw cleared; the next was raised */
            log_info(a->component, "%s: acknowledgement by %s ignored: it names alert %s, the "
                     "current alert is %s", ack->key, ack->by, ack->alert_id,
                     engine_track(a->engine, ack->key)->alert->id);
            a->stats[STAT_ACKS_IGNORED]++;
        } else {
            log_info(a->component, "%s: acknowledgement by %s ignored: %s", ack->key, ack->by,
                     r == -ENOENT ? "no alert" : "the alert is not active");
            a->stats[STAT_ACKS_IGNORED]++;
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Catching up (catchup.c) */

static int caught_up(struct alerting *a, redisContext *c, int64_t now)
{
    int r;

    if (now - a->behind_since_ns >= CATCHUP_MAX_NS) {
        log_warn(a->component, "still behind on the streams after %lld s: checking silence "
                 "and durations anyway", (long long)(CATCHUP_MAX_NS / NS_PER_S));
        return 1;
    }
    r = catchup_check(c, a->route_key, KIND);
    if (r == 1)
        log_info(a->component, "caught up with the streams: silence and durations are "
                 "checked from now on");
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Statistics */

static int write_stats(struct alerting *a, redisContext *c)
{
    int r;

    if (a->engine)
        collect_engine_stats(a);
    if (a->mqtt) {
        uint64_t dropped = mqtt_link_dropped(a->mqtt);
        a->stats[STAT_ACKS_DROPPED] += dropped - a->dropped_seen;
        a->dropped_seen = dropped;
    }
    r = store_stats_add(c, &a->keys, stats_names, a->stats, STAT_COUNT);
    if (r == 0)
        memset(a->stats, 0, sizeof(a->stats));
    if (r == 0 && a->engine && !a->need_load) {
        size_t n;
        engine_tracks(a->engine, &n);
        r = store_stats_set(c, &a->keys, "tracks", n);
    }
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* The SDK's callbacks */

static int instance_of(const char *consumer)
{
    const char *dash = strrchr(consumer, '-');

    return dash ? atoi(dash + 1) : 1;
}

static int al_start(struct worker *w, void *data)
{
    struct alerting *a = data;
    const struct hub_config *cfg = worker_config(w);
    struct mqtt_link_config mc = {
        .host = cfg->mqtt.host,
        .port = cfg->mqtt.port,
        .client_id = a->client_id,
        .username = cfg->alerting.username[0] ? cfg->alerting.username : cfg->mqtt.username,
        .password = cfg->alerting.username[0] ? cfg->alerting.password : cfg->mqtt.password,
        .keepalive_s = cfg->mqtt.keepalive_s,
        .subscription = ACK_TOPIC_FILTER,
        .component = a->component,
    };
    int64_t now = times_now_ns();
    int r;

    store_keys_init(&a->keys, cfg->redis.stream_prefix);
    snprintf(a->route_key, sizeof(a->route_key), "%sroute:%s", cfg->redis.stream_prefix, KIND);
    snprintf(a->client_id, sizeof(a->client_id), "%s-%d", cfg->alerting.client_id,
             instance_of(worker_consumer(w)));
    if (!(a->mids = calloc(MIDS, sizeof(*a->mids))))
        return -ENOMEM;
    a->need_load = true;
    a->behind_since_ns = now;
    a->next_check_ns = now;
    a->next_stats_ns = now + STATS_INTERVAL_NS;
    if (!(a->mqtt = mqtt_link_new(&mc)))
        return -errno;
    if ((r = ensure_loaded(a, worker_redis(w))) < 0)
        log_warn(a->component, "loading the state from redis failed (%s); trying again",
                 strerror(-r));
    log_info(a->component, "%zu rules from %s; checks every %d ms", a->rules.n,
             a->rules_file, cfg->alerting.check_interval_ms);
    return 0;
}

/* Copies an envelope string into a NUL-terminated buffer; false when it does not fit. */
static bool copy_str(char *dst, size_t size, const struct envelope_str *s)
{
    if (s->len >= size || memchr(s->ptr, '\0', s->len))
        return false;
    memcpy(dst, s->ptr, s->len);
    dst[s->len] = '\0';
    return true;
}

/* An event the rules cannot look at: counted, and logged with its reason. */
static void skip(struct alerting *a, const struct worker_event *ev, const char *why)
{
    a->stats[STAT_SKIPPED]++;
    log_debug(a->component, "%s %s event %u skipped: %s", ev->stream, ev->entry_id,
              ev->entry_index, why);
}

static int al_batch(struct worker *w, void *data, struct worker_event *events, size_t n)
{
    struct alerting *a = data;
    redisContext *c = worker_redis(w);
    int64_t now;
    int r;

    if ((r = ensure_loaded(a, c)) < 0 || (r = take_pubacks(a)) < 0)
        return r;
    now = times_now_ns();
    for (size_t i = 0; i < n; i++) {
        const struct envelope_view *env = &events[i].env;
        char id[EVENT_ID_MAX + 1], type[TOPIC_EVENT_TYPE_MAX + 1], time[EVENT_TIME_MAX + 1];
        char subject[TOPIC_SUBJECT_MAX + 1], municipality[TOPIC_MUNICIPALITY_MAX + 1];
        struct engine_event ev = {.id = id, .type = type, .subject = subject,
                                  .municipality = municipality, .time = time,
                                  .received_ns = (int64_t)env->receivedtime_ns,
                                  .data = env->data};

        if (!copy_str(type, sizeof(type), &env->type) || strncmp(type, "rheinhub.", 9) == 0)
            continue; /* the workers' own streams (alerts, aggregates) are not events */
        if (!copy_str(id, sizeof(id), &env->id) || !copy_str(time, sizeof(time), &env->time) ||
            !copy_str(subject, sizeof(subject), &env->subject) ||
            !copy_str(municipality, sizeof(municipality), &env->municipality)) {
            skip(a, &events[i], "an envelope field is too long");
            continue;
        }
        if ((r = times_parse(time, strlen(time), &ev.time_ns)) < 0) {
            skip(a, &events[i], r == -ERANGE ? "its time is before 1677-09-21 or after 2262-04-11"
                                              : "its time is not RFC 3339");
            continue;
        }
        if ((r = engine_event(a->engine, &ev, now)) < 0) {
            a->need_load = true;
            return r;
        }
    }
    if (a->mqtt)
        take_acks(a);
    apply_acks(a, now);
    return commit(a, c, now, false);
}

/*
 * The worker is unhealthy (its status hash, rheinhub_worker_consumer_healthy) while its
 * MQTT link cannot do its work: alerts would reach nobody, acknowledgements nothing.
 */
static void link_health(struct alerting *a, struct worker *w)
{
    char buf[400];
    const char *problem = mqtt_link_problem(a->mqtt, LINK_GRACE_MS, buf, sizeof(buf));

    worker_set_health(w, !problem, problem ? problem : ""); /* a change only is written */
}

static int al_tick(struct worker *w, void *data)
{
    struct alerting *a = data;
    redisContext *c = worker_redis(w);
    int64_t now = times_now_ns();
    uint64_t connects;
    bool forget_due = false;
    int r;

    mqtt_link_run(a->mqtt); /* keep-alive and confirmations, also while Redis is away */
    link_health(a, w);
    if (!c) {
        if (a->detect)
            log_info(a->component, "redis link down: silence checks wait until the worker "
                     "has caught up again");
        a->detect = false;
        a->behind_since_ns = now;
        return 0;
    }
    if ((r = ensure_loaded(a, c)) < 0 || (r = take_pubacks(a)) < 0)
        return r;
    connects = mqtt_link_connects(a->mqtt);
    if (connects != a->connects_seen || (a->republish && now >= a->next_republish_ns)) {
        bool again = connects != a->connects_seen && a->connects_seen != 0;
        a->connects_seen = connects;
        a->next_republish_ns = now + REPUBLISH_INTERVAL_NS;
        if (a->republish || again)
            republish_pending(a, a->republish);
    }
    take_acks(a);
    apply_acks(a, now);
    if (now >= a->next_check_ns) {
        a->next_check_ns = now + (int64_t)worker_config(w)->alerting.check_interval_ms * NS_PER_MS;
        if (!a->detect) {
            r = caught_up(a, c, now);
            if (r < 0)
                return r;
            a->detect = r == 1;
        }
        if ((r = engine_tick(a->engine, now, a->detect)) < 0) {
            a->need_load = true;
            return r;
        }
        forget_due = a->detect; /* a backlog may hold a quiet track's next events */
    }
    if ((r = commit(a, c, now, false)) < 0)
        return r;
    if (forget_due &&
        (r = forget_quiet(a, c, now, worker_config(w)->alerting.forget_after_ns)) < 0)
        return r;
    if (now >= a->next_stats_ns) {
        a->next_stats_ns = now + STATS_INTERVAL_NS;
        write_stats(a, c);
    }
    return 0;
}

static void al_stop(struct worker *w, void *data)
{
    struct alerting *a = data;
    redisContext *c = worker_redis(w);

    /* Confirmations that come in now still empty the outbox. */
    for (int waited = 0; a->mqtt && c && waited < STOP_FLUSH_MS &&
                         mqtt_link_unconfirmed(a->mqtt) > 0 && mqtt_link_connected(a->mqtt);
         waited += 10) {
        struct timespec ts = {0, 10 * 1000000L};
        mqtt_link_run(a->mqtt);
        take_pubacks(a);
        if (mqtt_link_unconfirmed(a->mqtt) > 0)
            nanosleep(&ts, NULL);
    }
    if (c && a->engine && !a->need_load) {
        take_pubacks(a);
        commit(a, c, times_now_ns(), true); /* what was written behind */
        write_stats(a, c);
    }
    mqtt_link_free(a->mqtt, 0);
    a->mqtt = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* The process */

int alerting_worker_run(struct rules *rules, const char *rules_file, int argc, char **argv)
{
    static struct alerting a = {.component = KIND};
    struct worker_def def = {
        .kind = KIND,
        .start = al_start,
        .batch = al_batch,
        .tick = al_tick,
        .stop = al_stop,
        .data = &a,
    };
    int status;

    a.rules = *rules;
    memset(rules, 0, sizeof(*rules));
    a.rules_file = rules_file;
    status = worker_main(&def, argc, argv);
    engine_free(a.engine);
    free(a.mids);
    free(a.done);
    free(a.pick);
    rules_free(&a.rules);
    return status;
}
