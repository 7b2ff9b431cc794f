// SPDX-License-Identifier: MIT
/*
 * The alerting engine (engine.h): the conditions (levels with hysteresis, rates,
 * equality, silence, durations), the alert lifecycle (active -> acknowledged ->
 * cleared), severity levels, escalation and re-notification. Its table of tracks is
 * engine_table.c.
 */
#include "engine.h"
#include "engine_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "times.h"
#include "until.h"

static const char *const reason_names[] = {
#define X(name, text) text,
    ENGINE_REASON_MAP(X)
#undef X
};

const char *engine_reason_name(enum engine_reason r)
{
    return (unsigned)r < ENGINE_REASON_COUNT ? reason_names[r] : "?";
}

/* ------------------------------------------------------------------------------------------ */
/* The alert lifecycle */

static bool alert_open(const struct track *t)
{
    return t->alert && t->alert->state != ALERT_CLEARED;
}

/*
 * Notes the clock's now. When it is earlier than the engine saw before, the wall clock
 * stepped back: the starts of the escalation and re-notification intervals of open
 * alerts move back as much, so that those come after their interval of elapsed time
 * and not as much later. (Published times never go back: change_time.)
 */
static void clock_seen(struct engine *e, int64_t now)
{
    if (e->clock_ns && now < e->clock_ns) {
        int64_t back = e->clock_ns - now;

        for (size_t i = 0; i < e->n_tracks; i++) {
            struct track *t = e->all[i];
            if (alert_open(t)) {
                t->escalated_ns -= back;
                t->notified_ns -= back;
            }
        }
    }
    e->clock_ns = now;
}

/*
 * Records a state change of t's alert, published now by the clock (the start of the
 * re-notification interval; the change's own time may be later, change_time). Returns 0,
 * or -ENOMEM (the change is not made).
 */
static int emit(struct engine *e, struct track *t, enum engine_reason reason, int64_t now)
{
    struct engine_change *c;

    if (engine_reserve((void **)&e->changes, &e->cap_changes, e->n_changes, sizeof(*e->changes)) < 0)
        return -ENOMEM;
    c = &e->changes[e->n_changes++];
    t->seq++;
    t->notified_ns = now;
    c->track = t;
    c->seq = t->seq;
    c->reason = reason;
    alert_pack_unpack(t->alert, &c->alert);
    e->stats.changes[reason]++;
    engine_mark_dirty(e, t);
    return 0;
}

/* Renders the message of a, an alert of t's rule. */
static void render_message(const struct track *t, struct alert *a, const msgpack_object *data)
{
    const struct rule *r = t->rule;
    char duration[32] = "";
    struct template_values v = {.value = &a->value, .threshold = &a->threshold, .data = data};

    if (r->rate_ns || r->silence_ns || r->for_ns)
        times_duration_format(r->rate_ns ? r->rate_ns : r->silence_ns ? r->silence_ns : r->for_ns,
                              duration, sizeof(duration));
    v.text[TEMPLATE_FIELD_RULE] = r->name;
    v.text[TEMPLATE_FIELD_MUNICIPALITY] = a->municipality;
    v.text[TEMPLATE_FIELD_TYPE] = a->type;
    v.text[TEMPLATE_FIELD_SUBJECT] = a->subject;
    v.text[TEMPLATE_FIELD_FIELD] = r->field;
    v.text[TEMPLATE_FIELD_SEVERITY] = severity_name(a->severity);
    v.text[TEMPLATE_FIELD_DURATION] = duration;
    v.text[TEMPLATE_FIELD_EVENT_ID] = a->event_id;
    v.text[TEMPLATE_FIELD_EVENT_TIME] = a->event_time;
    template_render(r->message, &v, a->message);
    if (!a->message[0]) /* the schema wants at least one character */
        snprintf(a->message, sizeof(a->message), "%s: %s", r->name, a->subject);
}

/* Copies the texts of t's last event to its alert. Returns 0, or -ENOMEM (unchanged). */
static int copy_event(struct track *t)
{
    return event_text_set(&t->alert->ev, t->ev.event_id, t->ev.event_time, t->ev.type);
}

/* Replaces t's alert with a pack of a. Returns 0, or -ENOMEM (t's alert unchanged). */
static int repack(struct track *t, const struct alert *a)
{
    struct alert_pack *p = alert_pack_new(a);

    if (!p)
        return -ENOMEM;
    alert_pack_free(t->alert);
    t->alert = p;
    return 0;
}

/*
 * The time of a change of t's alert, or of its next alert: now, but at least one
 * millisecond (the precision of the published times) after the alert's last time, so
 * that subscribers tell every change apart by (id, state, updated_at), and an alert
 * raised again after its clear has another id, also when a backlog is applied at one
 * instant or the clock stepped back.
 */
static int64_t change_time(const struct track *t, int64_t now)
{
    int64_t next;

    if (!t->alert)
        return now;
    next = (t->alert->updated_ns / NS_PER_MS + 1) * NS_PER_MS;
    return now >= next ? now : next;
}

/* Raises a new alert on t from what its last event (or the clock) found. */
static int raise_alert(struct engine *e, struct track *t, int64_t now, const msgpack_object *data)
{
    struct alert full, *a = &full; /* the new alert in full, packed below */
    int64_t at = change_time(t, now);

    memset(a, 0, sizeof(*a));
    snprintf(a->rule, sizeof(a->rule), "%s", t->rule->name);
    snprintf(a->municipality, sizeof(a->municipality), "%s", t->municipality);
    snprintf(a->subject, sizeof(a->subject), "%s", t->subject);
    snprintf(a->event_id, sizeof(a->event_id), "%s", t->ev.event_id);
    snprintf(a->event_time, sizeof(a->event_time), "%s", t->ev.event_time);
    snprintf(a->type, sizeof(a->type), "%s", t->ev.type);
    a->severity = t->severity;
    a->state = ALERT_ACTIVE;
    value_kept_get(&t->tested, &a->value);
    value_kept_get(&t->threshold, &a->threshold);
    a->raised_ns = a->updated_ns = at;
    alert_make_id(a);
    render_message(t, a, data);
    if (repack(t, a) < 0)
        return -ENOMEM;
    t->pending = false;
    t->escalated_ns = now;
    return emit(e, t, ENGINE_RAISED, now);
}

/* Clears t's alert with the value t tested last. */
static int clear_alert(struct engine *e, struct track *t, int64_t now)
{
    struct alert_pack *a = t->alert;

    if (copy_event(t) < 0 || value_kept_copy(&a->value, &t->tested) < 0)
        return -ENOMEM;
    now = change_time(t, now);
    a->state = ALERT_CLEARED;
    a->updated_ns = a->cleared_ns = now;
    t->pending = false;
    return emit(e, t, ENGINE_CLEARED, now);
}

int engine_ack(struct engine *e, const char *key, const char *alert_id, const char *by,
               int64_t now_ns)
{
    struct track *t = engine_track(e, key);
    struct alert full, *a = &full; /* the acknowledged alert in full, packed below */
    size_t len;

    clock_seen(e, now_ns);
    if (!t || !t->alert)
        return -ENOENT;
    if (alert_id && alert_id[0] && strcmp(alert_id, t->alert->id) != 0)
        return -ESTALE;
    if (t->alert->state != ALERT_ACTIVE)
        return -EALREADY;
    alert_pack_unpack(t->alert, a);
    a->state = ALERT_ACKNOWLEDGED;
    len = value_utf8_prefix(by, strlen(by), sizeof(a->acked_by) - 1, ALERT_BY_CHARS);
    memcpy(a->acked_by, by, len);
    a->acked_by[len] = '\0';
    a->updated_ns = change_time(t, now_ns);
    if (repack(t, a) < 0)
        return -ENOMEM;
    return emit(e, t, ENGINE_ACKNOWLEDGED, now_ns);
}

/* ------------------------------------------------------------------------------------------ */
/* Conditions */

/* The severity and threshold a tested number x calls for under the rule's levels. */
static void level_of(const struct rule *r, double x, enum severity *sev, struct value *threshold)
{
    *sev = r->severity;
    value_set_real(threshold, r->raise);
    for (int i = 0; i < r->n_levels; i++) {
        bool past = r->kind == RULE_ABOVE ? x >= r->levels[i].at : x <= r->levels[i].at;
        if (past) {
            *sev = r->levels[i].severity;
            value_set_real(threshold, r->levels[i].at);
        }
    }
    /* A whole-number level reads as an integer in the alert (650, not 650.0). */
    if (threshold->d == (double)(int64_t)threshold->d && threshold->d > -9e15 &&
        threshold->d < 9e15)
        value_set_int(threshold, (int64_t)threshold->d);
}

/* later - earlier for two event times (later >= earlier), INT64_MAX where it overflows. */
static int64_t ns_since(int64_t later, int64_t earlier)
{
    int64_t d;

    return __builtin_sub_overflow(later, earlier, &d) ? INT64_MAX : d;
}

/*
 * Adds a sample to a rate track and returns in *delta the change of x since the oldest
 * sample within the window (0 for the first). Samples closer than window/STEPS to the
 * newest kept are not kept, so that the window needs at most STEPS + 1 of them.
 * Returns 0, or -ENOMEM (no room for the new sample).
 */
static int rate_update(struct track *t, int64_t time_ns, const struct value *x, struct value *delta)
{
    int64_t window = t->rule->rate_ns, step = window / ENGINE_RATE_STEPS;
    struct value ref;
    int drop = 0;

    /* Samples are older than time_ns (apply() refuses the rest), so the difference is
     * positive; it saturates rather than overflow across the whole int64 range. */
    while (drop < t->n_samples && ns_since(time_ns, t->samples[drop].time_ns) > window)
        drop++;
    if (drop) {
        memmove(t->samples, t->samples + drop, (size_t)(t->n_samples - drop) * sizeof(*t->samples));
        t->n_samples -= drop;
    }
    if (t->n_samples == 0) {
        ref = *x;
    } else if (t->samples[0].v.is_int) {
        value_set_int(&ref, t->samples[0].v.i);
    } else {
        value_set_real(&ref, t->samples[0].v.d);
    }
    if (value_subtract(x, &ref, delta) < 0)
        value_set_int(delta, 0);
    if (t->n_samples == 0 || ns_since(time_ns, t->samples[t->n_samples - 1].time_ns) >= step) {
        struct engine_sample *s;
        if (engine_samples_reserve(t, t->n_samples + 1) < 0)
            return -ENOMEM;
        if (t->n_samples == ENGINE_RATE_SAMPLES) {
            memmove(t->samples, t->samples + 1, (ENGINE_RATE_SAMPLES - 1) * sizeof(*t->samples));
            t->n_samples--;
        }
        s = &t->samples[t->n_samples++];
        s->time_ns = time_ns;
        s->v.is_int = x->kind == VALUE_INT;
        s->v.i = x->i;
        s->v.d = x->d;
    }
    return 0;
}

/*
 * What an event found, applied to the alert: holds = the raise condition, clears = the
 * clear condition (both false between the two levels: hysteresis).
 */
static int evaluate(struct engine *e, struct track *t, bool holds, bool clears,
                    const struct engine_event *ev, int64_t now)
{
    struct alert_pack *a = t->alert;

    t->holds = holds;
    if (alert_open(t)) {
        if (clears)
            return clear_alert(e, t, now);
        /* A repeat while open updates the alert; only a higher severity is news. */
        if (copy_event(t) < 0 || value_kept_copy(&a->value, &t->tested) < 0)
            return -ENOMEM;
        if (holds && t->severity > a->severity) {
            struct alert full; /* the alert in full, for its new message */
            alert_pack_unpack(a, &full);
            full.updated_ns = change_time(t, now);
            full.severity = t->severity;
            value_kept_get(&t->threshold, &full.threshold);
            render_message(t, &full, ev->data);
            if (repack(t, &full) < 0)
                return -ENOMEM;
            return emit(e, t, ENGINE_SEVERITY, now);
        }
        if (now > a->updated_ns) /* carried by the next publication; never back */
            a->updated_ns = now;
        return 0;
    }
    if (!holds) {
        t->pending = false;
        return 0;
    }
    if (!t->pending) {
        t->pending = true;
        t->pending_ns = ev->received_ns;
    }
    if (t->rule->for_ns && ev->received_ns - t->pending_ns < t->rule->for_ns)
        return 0; /* not long enough yet: a later event or the clock raises it */
    return raise_alert(e, t, now, ev->data);
}

/* Reads the rule's field from the event: false when it is missing or not a scalar. */
static bool field_value(const struct rule *r, const struct engine_event *ev, struct value *out)
{
    const msgpack_object *o = ev->data ? value_lookup(ev->data, r->field) : NULL;

    return o && value_from_msgpack(o, out) == 0;
}

static int apply(struct engine *e, struct track *t, const struct engine_event *ev, int64_t now)
{
    const struct rule *r = t->rule;
    int64_t prev_seen = t->seen_ns;
    struct value x;
    double d;

    /*
     * Redeliveries and late events are not applied twice. Levels go by event time;
     * silence by the hub's receive time: an event that arrives shows its subject alive,
     * also when the device's clock went back (a redelivery arrived no later than before).
     */
    if (t->has_event && (r->kind == RULE_SILENCE ? ev->received_ns <= t->seen_ns
                                                 : ev->time_ns <= t->time_ns)) {
        e->stats.stale++;
        return 0;
    }
    if (event_text_set(&t->ev, ev->id, ev->time, ev->type) < 0)
        return -ENOMEM;
    t->has_event = true;
    t->time_ns = ev->time_ns;
    if (ev->received_ns > t->seen_ns)
        t->seen_ns = ev->received_ns;
    engine_mark_dirty(e, t);
    e->stats.events++;

    if (r->kind != RULE_SILENCE && until_reached(r, ev->data)) {
        /* The subject is done (until.h): the condition no longer holds. */
        if (!r->rate_ns && field_value(r, ev, &x) && value_keep(&t->tested, &x) < 0)
            return -ENOMEM;
        return evaluate(e, t, false, true, ev, now);
    }
    switch (r->kind) {
    case RULE_SILENCE:
        if (!alert_open(t))
            return 0;
        /* The silence ended: how long it was, in seconds. */
        value_set_int(&x, prev_seen && t->seen_ns > prev_seen ? (t->seen_ns - prev_seen) / NS_PER_S
                                                              : 0);
        if (value_keep(&t->tested, &x) < 0)
            return -ENOMEM;
        return clear_alert(e, t, now);
    case RULE_EQUALS: {
        bool eq;
        if (!field_value(r, ev, &x)) {
            e->stats.no_value++;
            return 0;
        }
        eq = value_equal(&x, &r->equals);
        if (value_keep(&t->tested, &x) < 0 || value_keep(&t->threshold, &r->equals) < 0)
            return -ENOMEM;
        t->severity = r->severity;
        return evaluate(e, t, eq, !eq, ev, now);
    }
    case RULE_ABOVE:
    case RULE_BELOW: {
        struct value q, thr;
        if (!field_value(r, ev, &x) || !value_number(&x, &d)) {
            e->stats.no_value++;
            return 0;
        }
        if (r->rate_ns) {
            if (rate_update(t, ev->time_ns, &x, &q) < 0)
                return -ENOMEM;
            value_number(&q, &d);
        } else {
            q = x;
        }
        level_of(r, d, &t->severity, &thr);
        if (value_keep(&t->tested, &q) < 0 || value_keep(&t->threshold, &thr) < 0)
            return -ENOMEM;
        if (r->kind == RULE_ABOVE)
            return evaluate(e, t, d >= r->raise, d < r->clear, ev, now);
        return evaluate(e, t, d <= r->raise, d > r->clear, ev, now);
    }
    }
    return 0;
}

int engine_event(struct engine *e, const struct engine_event *ev, int64_t now_ns)
{
    clock_seen(e, now_ns);
    for (size_t i = 0; i < e->rules->n; i++) {
        const struct rule *r = &e->rules->rules[i];
        struct track *t;
        int ret;

        if (!rule_matches(r, ev->municipality, ev->type, ev->subject, ev->data))
            continue;
        if (!(t = engine_track_get(e, r, ev->municipality, ev->subject))) {
            if (errno == ENOMEM)
                return -ENOMEM;
            continue; /* a subject no topic can carry: nothing to track */
        }
        if ((ret = apply(e, t, ev, now_ns)) < 0)
            return ret;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The clock */

static int tick_track(struct engine *e, struct track *t, int64_t now, bool detect)
{
    const struct rule *r = t->rule;
    struct alert_pack *a = t->alert;

    if (a && a->state == ALERT_ACTIVE) {
        /* Started after now: the clock stepped back while the engine did not run (a
         * restart); the interval starts again now rather than after the step. */
        if (t->escalated_ns > now)
            t->escalated_ns = now;
        if (t->notified_ns > now)
            t->notified_ns = now;
        if (r->escalate_ns && a->severity < SEVERITY_CRITICAL &&
            now - t->escalated_ns >= r->escalate_ns) {
            a->severity++;
            a->updated_ns = change_time(t, now);
            t->escalated_ns = now;
            return emit(e, t, ENGINE_ESCALATED, now);
        }
        if (r->renotify_ns && now - t->notified_ns >= r->renotify_ns)
            return emit(e, t, ENGINE_RENOTIFIED, now);
        return 0;
    }
    if (!detect || alert_open(t) || !t->has_event)
        return 0;
    if (r->kind == RULE_SILENCE && now - t->seen_ns >= r->silence_ns) {
        int64_t whole = r->silence_ns / NS_PER_S;
        struct value v;
        value_set_int(&v, (now - t->seen_ns) / NS_PER_S);
        if (value_keep(&t->tested, &v) < 0)
            return -ENOMEM;
        if (whole * NS_PER_S == r->silence_ns)
            value_set_int(&v, whole);
        else
            value_set_real(&v, (double)r->silence_ns / NS_PER_S);
        if (value_keep(&t->threshold, &v) < 0)
            return -ENOMEM;
        t->severity = r->severity;
        return raise_alert(e, t, now, NULL);
    }
    if (r->for_ns && t->holds && t->pending && now - t->pending_ns >= r->for_ns)
        return raise_alert(e, t, now, NULL);
    return 0;
}

int engine_tick(struct engine *e, int64_t now_ns, bool detect)
{
    clock_seen(e, now_ns);
    for (size_t i = 0; i < e->n_tracks; i++) {
        int r = tick_track(e, e->all[i], now_ns, detect);
        if (r < 0)
            return r;
    }
    return 0;
}
