// SPDX-License-Identifier: MIT
/*
 * The alerting engine: what the rules make of events, acknowledgements and the passing
 * of time, without I/O. It keeps one track per (municipality, rule, subject): the last
 * event applied (to ignore redeliveries and stale events), when the subject was last
 * seen (silence), whether the rule's condition holds and since when (durations), the
 * samples of a rate, and the latest alert. Every state change of an alert is recorded
 * as a change for the caller to write and publish; tracks whose state changed are
 * marked dirty for the caller to persist. Times are passed in (ns since the epoch), so
 * that tests drive it with a fake clock.
 *
 * Clocks: events are ordered by their own time (RFC 3339, as sent) and rates are
 * measured on it; silence and durations ("for") use the hub's receive time of events
 * and the caller's clock (now), which is the worker's; alert times are the caller's
 * clock.
 */
#ifndef RHEINHUB_ALERTING_ENGINE_H
#define RHEINHUB_ALERTING_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "alert.h"
#include "alert_pack.h"
#include "event_text.h"
#include "rules.h"
#include "value.h"
#include "value_kept.h"

/* "<municipality>/<rule>/<subject>" and its NUL, at the longest. */
#define ENGINE_KEY_MAX (TOPIC_MUNICIPALITY_MAX + RULE_NAME_MAX + TOPIC_SUBJECT_MAX + 3)
/* Samples kept per rate track: one per 1/32 of the window at most, and the newest. */
#define ENGINE_RATE_SAMPLES 40
#define ENGINE_RATE_STEPS 32

/* One event, as the engine needs it; strings NUL-terminated, borrowed for the call. */
struct engine_event {
    const char *id;
    const char *type;           /* <category>.<type> */
    const char *subject;
    const char *municipality;
    const char *time;           /* RFC 3339, as sent */
    int64_t time_ns;            /* the same, parsed */
    int64_t received_ns;        /* the hub's receive time */
    const msgpack_object *data; /* the payload, a map */
};

struct engine_sample {
    int64_t time_ns;
    struct value_num {
        bool is_int;
        int64_t i;
        double d;
    } v;
};

/*
 * One (municipality, rule, subject). Its names are in one allocation with it (names[]),
 * at their real length; the texts of its last event inline when they fit (event_text.h);
 * its values as kept values (value_kept.h); its alert at the size of its texts
 * (alert_pack.h).
 */
struct track {
    char *key;                             /* "<municipality>/<rule>/<subject>", in names */
    const char *municipality;              /* in names */
    const char *subject;                   /* in names */
    const struct rule *rule;
    struct event_text ev;                  /* id, time and type of the last event applied */
    bool has_event;
    int64_t time_ns;                       /* event time of the last event applied */
    int64_t seen_ns;                       /* hub receive time of the last event applied */
    bool holds;                            /* the raise condition held at the last event */
    bool pending;                          /* it holds, no alert is open: waiting for "for" */
    int64_t pending_ns;                    /* since when (hub receive time) */
    struct value_kept tested;              /* what the rule tested at the last event */
    struct value_kept threshold;           /* and the level it calls for */
    enum severity severity;                /* the severity it calls for */
    struct engine_sample *samples;         /* rate rules: oldest first; NULL before one */
    int n_samples;
    int cap_samples;                       /* room at samples, grown up to ENGINE_RATE_SAMPLES */
    uint64_t seq;                          /* state changes of this track's alerts so far */
    uint64_t published_seq;                /* the last one the broker confirmed */
    uint64_t sent_seq;                     /* the caller's: the last one handed to MQTT */
    uint64_t unretain_sent_seq;            /* the caller's: the change whose retained alert
                                              it asked the broker to remove (forget.h) */
    uint64_t unretained_seq;               /* ... and the broker confirmed removed */
    bool stored;                           /* the caller's: written to Redis once */
    struct alert_pack *alert;              /* the latest alert, any state; NULL before one */
    int64_t notified_ns;                   /* last publication of the open alert */
    int64_t escalated_ns;                  /* its raise, or its last escalation */
    bool dirty;                            /* changed since the caller last persisted it */
    struct track *next;                    /* hash chain */
    char names[];                          /* key, municipality, subject, NUL-terminated */
};

#define ENGINE_REASON_MAP(X)                                                                       \
    X(RAISED, "raised")                                                                            \
    X(SEVERITY, "severity")                                                                        \
    X(ESCALATED, "escalated")                                                                      \
    X(RENOTIFIED, "renotified")                                                                    \
    X(ACKNOWLEDGED, "acknowledged")                                                                \
    X(CLEARED, "cleared")

enum engine_reason {
#define X(name, text) ENGINE_##name,
    ENGINE_REASON_MAP(X)
#undef X
        ENGINE_REASON_COUNT
};

/* One state change of an alert: publish it and write it to the alerts stream. */
struct engine_change {
    struct track *track;
    uint64_t seq;               /* the track's seq for this change */
    enum engine_reason reason;
    struct alert alert;         /* the alert as of this change */
};

struct engine_stats {
    uint64_t events;            /* applied to a track */
    uint64_t stale;             /* ignored: not newer than the last one of their track */
    uint64_t no_value;          /* the tested field was missing or of the wrong kind */
    uint64_t changes[ENGINE_REASON_COUNT];
    uint64_t forgotten;         /* tracks taken out by forget_tracks (forget.h) */
};

struct engine;

/* A new engine for rules (borrowed: it must outlive the engine), or NULL (ENOMEM). */
struct engine *engine_new(const struct rules *rules);
void engine_free(struct engine *e);

/* Applies one event to every rule it matches. Returns 0, or -ENOMEM. */
int engine_event(struct engine *e, const struct engine_event *ev, int64_t now_ns);

/*
 * The clock's part: escalation and re-notification of active alerts, and, when detect
 * is set, silence and durations ("for") that have run out. The caller clears detect
 * while it may still be behind on events (after a start or a lost link), so that a
 * backlog is not taken for silence. Returns 0, or -ENOMEM.
 */
int engine_tick(struct engine *e, int64_t now_ns, bool detect);

/*
 * An acknowledgement of the alert of track key by whom (at most ALERT_BY_CHARS
 * characters are kept). alert_id, when not NULL or "", names the alert the sender saw:
 * the track's alert must be that one. Returns 0 when an active alert became
 * acknowledged; -ENOENT when the track has no alert; -ESTALE when its alert is not the
 * one named (it cleared, the next was raised); -EALREADY when its alert is acknowledged
 * or cleared.
 */
int engine_ack(struct engine *e, const char *key, const char *alert_id, const char *by,
               int64_t now_ns);

/* The changes recorded since the last engine_changes_clear, oldest first. */
const struct engine_change *engine_changes(const struct engine *e, size_t *n);
void engine_changes_clear(struct engine *e);

/* The tracks marked dirty since the last engine_dirty_clear (which unmarks them). */
struct track *const *engine_dirty(const struct engine *e, size_t *n);
void engine_dirty_clear(struct engine *e);
/* Drops from the dirty list the tracks whose dirty flag the caller cleared. */
void engine_dirty_compact(struct engine *e);

/* Every track, in the order made. */
struct track *const *engine_tracks(const struct engine *e, size_t *n);

/* The track of key, or NULL. */
struct track *engine_track(const struct engine *e, const char *key);

/*
 * The track of (municipality, rule, subject), made when missing (for restoring state).
 * NULL with errno ENOENT when no rule has that name, EINVAL when a part is too long or
 * holds a '/', ENOMEM.
 */
struct track *engine_track_make(struct engine *e, const char *municipality, const char *rule,
                                const char *subject);

/*
 * Makes room at t->samples for n samples (at most ENGINE_RATE_SAMPLES), growing it in
 * steps, so that a rate track whose window holds few samples keeps few. Returns 0, or
 * -ENOMEM (t unchanged).
 */
int engine_samples_reserve(struct track *t, int n);

/* Marks a track dirty (after restoring it, when it needs writing back). */
void engine_mark_dirty(struct engine *e, struct track *t);

const struct engine_stats *engine_stats(const struct engine *e);
const char *engine_reason_name(enum engine_reason r);

#endif
