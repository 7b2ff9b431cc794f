// SPDX-License-Identifier: MIT
/*
 * Tracks to and from JSON (state.h). The layout, one object per track:
 *
 *   {"m": municipality, "r": rule, "s": subject, "type": last event type,
 *    "t": last event time (ns), "time": its text, "id": its event id,
 *    "seen": hub receive time of the last event (ns), "holds": bool,
 *    "pend": since when the condition holds without an alert (ns) or null,
 *    "tested": value, "thr": value, "sev": severity,
 *    "smp": [[time ns, value], ...] (rate rules), "seq": n, "pub": n,
 *    "ntf": last notification (ns), "esc": raise or last escalation (ns),
 *    "alert": the alert JSON (as published) or null}
 *
 * Unknown members are ignored, so that a later version may add some.
 */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))

static bool put(json_t *o, const char *key, json_t *v)
{
    return v && json_object_set_new(o, key, v) == 0;
}

/* The alert JSON of t's alert, or JSON null when it has none; NULL without memory. */
static json_t *alert_json(const struct track *t)
{
    struct alert full;

    if (!t->alert)
        return json_null();
    alert_pack_unpack(t->alert, &full);
    return alert_to_json(&full);
}

static json_t *kept_json(const struct value_kept *k)
{
    struct value v;

    value_kept_get(k, &v);
    return value_to_json(&v);
}

char *state_track_dumps(const struct track *t, size_t *len)
{
    json_t *o = json_object(), *smp = json_array();
    char *text = NULL;
    bool ok = o && smp;

    for (int i = 0; ok && i < t->n_samples; i++) {
        const struct engine_sample *s = &t->samples[i];
        json_t *pair = json_pack("[I,o]", (json_int_t)s->time_ns,
                                 s->v.is_int ? json_integer(s->v.i) : json_real(s->v.d));
        ok = pair && json_array_append_new(smp, pair) == 0;
    }
    ok = ok && put(o, "m", json_string(t->municipality)) && put(o, "r", json_string(t->rule->name)) &&
         put(o, "s", json_string(t->subject)) && put(o, "type", json_string(t->ev.type)) &&
         put(o, "t", json_integer(t->time_ns)) && put(o, "time", json_string(t->ev.event_time)) &&
         put(o, "id", json_string(t->ev.event_id)) && put(o, "seen", json_integer(t->seen_ns)) &&
         put(o, "holds", json_boolean(t->holds)) &&
         put(o, "pend", t->pending ? json_integer(t->pending_ns) : json_null()) &&
         put(o, "tested", kept_json(&t->tested)) && put(o, "thr", kept_json(&t->threshold)) &&
         put(o, "sev", json_string(severity_name(t->severity))) && put(o, "smp", json_incref(smp)) &&
         put(o, "seq", json_integer((json_int_t)t->seq)) &&
         put(o, "pub", json_integer((json_int_t)t->published_seq)) &&
         put(o, "ntf", json_integer(t->notified_ns)) && put(o, "esc", json_integer(t->escalated_ns)) &&
         put(o, "alert", alert_json(t));
    if (ok && (text = json_dumps(o, JSON_FLAGS)) && len)
        *len = strlen(text);
    json_decref(smp);
    json_decref(o);
    return text;
}

static const char *str_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t int_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

int state_track_load(struct engine *e, const char *text, size_t len, char *why, size_t why_size)
{
    json_error_t jerr;
    json_t *o = json_loadb(text, len, 0, &jerr), *smp, *alert;
    const char *m, *r, *s, *type, *time, *id, *sev;
    struct track *t;
    struct value v;
    int ret = -EINVAL;

    if (!o || !json_is_object(o)) {
        snprintf(why, why_size, "not a JSON object%s%s", o ? "" : ": ", o ? "" : jerr.text);
        goto out;
    }
    m = str_of(o, "m");
    r = str_of(o, "r");
    s = str_of(o, "s");
    type = str_of(o, "type");
    time = str_of(o, "time");
    id = str_of(o, "id");
    sev = str_of(o, "sev");
    if (!m || !r || !s || !type || !time || !id || !sev) {
        snprintf(why, why_size, "a member of m, r, s, type, time, id, sev is missing");
        goto out;
    }
    if (!(t = engine_track_make(e, m, r, s))) {
        ret = errno == ENOENT ? -ENOENT : errno == ENOMEM ? -ENOMEM : -EINVAL;
        snprintf(why, why_size, errno == ENOENT ? "rule %s is no longer in the rules file"
                                                : "bad municipality or subject", r);
        goto out;
    }
    if (event_text_set(&t->ev, id, time, type) < 0)
        goto no_memory;
    t->has_event = true;
    t->stored = true;
    t->time_ns = int_of(o, "t");
    t->seen_ns = int_of(o, "seen");
    t->holds = json_is_true(json_object_get(o, "holds"));
    t->pending = json_is_integer(json_object_get(o, "pend"));
    t->pending_ns = int_of(o, "pend");
    if (value_from_json(json_object_get(o, "tested"), &v) < 0)
        value_set_null(&v);
    if (value_keep(&t->tested, &v) < 0)
        goto no_memory;
    if (value_from_json(json_object_get(o, "thr"), &v) < 0)
        value_set_null(&v);
    if (value_keep(&t->threshold, &v) < 0)
        goto no_memory;
    if (severity_parse(sev, &t->severity) < 0)
        t->severity = t->rule->severity;
    t->seq = (uint64_t)int_of(o, "seq");
    t->published_seq = (uint64_t)int_of(o, "pub");
    t->notified_ns = int_of(o, "ntf");
    t->escalated_ns = int_of(o, "esc");
    t->n_samples = 0;
    smp = json_object_get(o, "smp");
    if (t->rule->rate_ns && json_is_array(smp) &&
        engine_samples_reserve(t, (int)(json_array_size(smp) < ENGINE_RATE_SAMPLES
                                            ? json_array_size(smp)
                                            : ENGINE_RATE_SAMPLES)) < 0)
        goto no_memory;
    if (t->rule->rate_ns && json_is_array(smp)) {
        size_t i;
        json_t *pair;
        json_array_foreach(smp, i, pair) {
            const json_t *tv = json_array_get(pair, 0), *vv = json_array_get(pair, 1);
            struct engine_sample *sm;
            if (t->n_samples == ENGINE_RATE_SAMPLES || !json_is_integer(tv) || !json_is_number(vv))
                continue;
            sm = &t->samples[t->n_samples++];
            sm->time_ns = (int64_t)json_integer_value(tv);
            sm->v.is_int = json_is_integer(vv);
            sm->v.i = json_is_integer(vv) ? (int64_t)json_integer_value(vv) : 0;
            sm->v.d = json_number_value(vv);
        }
    }
    alert = json_object_get(o, "alert");
    if (json_is_object(alert)) {
        struct alert full; /* read in full, kept packed */
        struct alert_pack *p;
        if (alert_from_json(alert, &full, why, why_size) < 0) {
            alert_pack_free(t->alert);
            t->alert = NULL;
            goto out;
        }
        if (!(p = alert_pack_new(&full)))
            goto no_memory;
        alert_pack_free(t->alert);
        t->alert = p;
    }
    ret = 0;
    goto out;
no_memory:
    ret = -ENOMEM;
    snprintf(why, why_size, "no memory");
out:
    json_decref(o);
    return ret;
}
