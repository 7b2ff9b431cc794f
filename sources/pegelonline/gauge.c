// SPDX-License-Identifier: MIT
/*
 * A gauge's answers from PEGELONLINE (gauge.h) and what follows from them.
 *
 * PEGELONLINE gives times with the offset of German civil time (e.g.
 * 2026-11-26T07:00:00+01:00). Each is converted to UTC (2026-11-26T06:00:00Z) for the
 * event: the same instant has one text whatever the offset, so the id (a hash of
 * station and UTC time) is the same whether the measurement came from the current
 * measurement or from the gap fill, in summer time or in winter time.
 *
 * Failures (no answer, a timeout, an HTTP error, an answer that cannot be read) mark
 * the gauge down in metrics and health and back off: min(interval, 15 s) doubled per
 * failure in a row, at most api.backoff_max_s, longer when the API asks for it
 * (Retry-After). The next request after a failure fills the gap from the
 * measurements of api.backfill. An answer that cannot be read is also dead-lettered,
 * once per run of failures, with its body.
 */
#include "gauge.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mapping.h"
#include "measurement.h"
#include "rfc3339.h"

#define BACKOFF_BASE_MAX_S 15

/* Percent-encodes everything but unreserved characters (a station name like KÖLN). */
static void url_escape(const char *in, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)in; *p && n + 4 < size; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
}

void gauge_url(const struct gauge *g, const struct source *s, char *out, size_t size)
{
    char station[3 * sizeof(g->st->station)];

    url_escape(g->st->station, station, sizeof(station));
    if (g->backfill)
        snprintf(out, size, "%s/stations/%s/W/measurements.json?start=%s", s->sf.api.base_url,
                 station, s->sf.api.backfill);
    else
        snprintf(out, size, "%s/stations/%s/W/currentmeasurement.json", s->sf.api.base_url,
                 station);
}

static void fail(struct gauge *g, struct source *s, int64_t now_ms, long retry_after_s,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void fail(struct gauge *g, struct source *s, int64_t now_ms, long retry_after_s,
                 const char *fmt, ...)
{
    char text[STATION_ERROR_MAX];
    long base = s->sf.api.interval_s < BACKOFF_BASE_MAX_S ? s->sf.api.interval_s
                                                          : BACKOFF_BASE_MAX_S;
    long delay = base;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    g->failures++;
    for (int i = 1; i < g->failures && delay < s->sf.api.backoff_max_s; i++)
        delay *= 2;
    if (delay > s->sf.api.backoff_max_s)
        delay = s->sf.api.backoff_max_s;
    if (retry_after_s > delay)
        delay = retry_after_s;
    g->due_ms = now_ms + delay * 1000;
    g->backfill = true;
    source_metrics_station_error(&s->m, g->index, text);
    log_warn("pegelonline", "%s: %s (failure %d in a row; next try in %ld s)", g->st->station,
             text, g->failures, delay);
}

/* Dead-letters the answer, once per run of failures and reason. */
static void reject_once(struct gauge *g, struct source *s, enum source_reason reason,
                        const char *detail)
{
    struct source_input in = {.topic = g->req.url, .payload = g->req.body, .len = g->req.len};

    if (g->last_dead_letter == (int)reason)
        return;
    g->last_dead_letter = (int)reason;
    source_reject(s, reason, detail, &in);
}

/*
 * Dead-letters m, more than MEASUREMENT_FUTURE_MAX_S ahead of our clock now_s (UTC
 * seconds), once: a later poll or gap fill that reads it again adds no dead letter.
 */
static void reject_future(struct gauge *g, struct source *s, const struct measurement *m,
                          int64_t now_s)
{
    struct source_input in = {.topic = g->req.url, .payload = g->req.body, .len = g->req.len};
    char detail[MAPPING_DETAIL_MAX];

    if (m->s < g->future_s || (m->s == g->future_s && m->ns <= g->future_ns))
        return;
    g->future_s = m->s;
    g->future_ns = m->ns;
    snprintf(detail, sizeof(detail),
             "timestamp %s lies %lld s ahead of our clock (at most %d s): not published, "
             "and later measurements are not held back by it",
             json_string_value(json_object_get(m->obj, "timestamp")), (long long)(m->s - now_s),
             MEASUREMENT_FUTURE_MAX_S);
    source_reject(s, SOURCE_REASON_FUTURE_TIME, detail, &in);
}

/*
 * Publishes one measurement newer than the newest published; the state fields with it.
 * One more than MEASUREMENT_FUTURE_MAX_S ahead of our clock now_s is a dead letter.
 */
static void publish(struct gauge *g, struct source *s, const struct measurement *m,
                    int64_t now_s)
{
    struct source_input in = {.topic = g->req.url, .payload = g->req.body, .len = g->req.len};
    char time_text[RFC3339_UTC_MAX], ce_source[700];
    char id[SOURCE_ID_HEX + 1];
    json_t *data;

    atomic_fetch_add(&s->m.received, 1);
    if (m->s > now_s + MEASUREMENT_FUTURE_MAX_S) {
        reject_future(g, s, m, now_s);
        return;
    }
    if (m->s < g->newest_s || (m->s == g->newest_s && m->ns <= g->newest_ns)) {
        atomic_fetch_add(&s->m.skipped, 1);
        return;
    }
    if (!(data = measurement_data(m, time_text))) {
        log_error("pegelonline", "out of memory: %s %s not published", g->st->station,
                  time_text);
        return;
    }
    {
        const char *parts[] = {"pegelonline", g->st->station, time_text};
        source_event_id(id, parts, 3);
    }
    snprintf(ce_source, sizeof(ce_source), "%s/stations/%s", s->sf.api.base_url,
             g->st->station);
    {
        struct source_event ev = {.municipality = g->st->municipality,
                                  .event_type = "sensor.waterlevel",
                                  .subject = g->st->subject,
                                  .id = id,
                                  .time = time_text,
                                  .ce_source = ce_source,
                                  .data = data};
        /* A measurement that fails the schema is dead-lettered once, not asked for again. */
        source_emit(s, &ev, &in);
    }
    json_decref(data);
    g->newest_s = m->s;
    g->newest_ns = m->ns;
    g->dirty = true;
}

struct gap_fill {
    struct gauge *g;
    struct source *s;
};

/* measurement_bad_cb: a measurement of the gap fill that cannot be read is a dead letter
 * of its own, each time a gap fill reads it; the answer's others are published. */
static void reject_measurement(void *data, int reason, const char *detail)
{
    struct gap_fill *fill = data;
    struct fetch *f = &fill->g->req;
    struct source_input in = {.topic = f->url, .payload = f->body, .len = f->len};

    atomic_fetch_add(&fill->s->m.received, 1);
    source_reject(fill->s, (enum source_reason)reason, detail, &in);
}

/* Publishes the measurements of a 200 answer, oldest first. Returns 0 or a reason. */
static int handle_body(struct gauge *g, struct source *s, const json_t *root, char *detail,
                       size_t size)
{
    struct gap_fill fill = {.g = g, .s = s};
    struct measurement *m;
    size_t n;
    int r = measurements_read(root, g->backfill, &m, &n, reject_measurement, &fill, detail, size);

    if (r != 0)
        return r;
    for (size_t i = 0; i < n; i++)
        publish(g, s, &m[i], (int64_t)time(NULL));
    free(m);
    return 0;
}

void gauge_finish(struct gauge *g, struct source *s, int64_t now_ms)
{
    struct station_status *ss = &s->m.stations[g->index];
    struct fetch *f = &g->req;
    char detail[MAPPING_DETAIL_MAX];
    json_error_t jerr;
    json_t *root;
    long wait_s;
    int r;

    atomic_fetch_add(&ss->requests, 1);
    if (f->result != CURLE_OK) {
        fail(g, s, now_ms, -1, "no answer: %s", f->error);
        return;
    }
    if (f->status == 404) {
        snprintf(detail, sizeof(detail), "HTTP 404 for %s: PEGELONLINE knows no station %s",
                 f->url, g->st->station);
        reject_once(g, s, SOURCE_REASON_UNKNOWN_STATION, detail);
        fail(g, s, now_ms, f->retry_after_s, "HTTP 404: unknown station");
        return;
    }
    if (f->status == 304) {
        atomic_fetch_add(&ss->not_modified, 1);
    } else if (f->status != 200 && f->location[0]) {
        fail(g, s, now_ms, f->retry_after_s, "HTTP %ld, moved to %s", f->status, f->location);
        return;
    } else if (f->status != 200) {
        fail(g, s, now_ms, f->retry_after_s, "HTTP %ld", f->status);
        return;
    } else {
        if (!(root = json_loadb(f->body ? f->body : "", f->len, 0, &jerr))) {
            snprintf(detail, sizeof(detail), "%s: line %d, column %d: %s", f->url, jerr.line,
                     jerr.column, jerr.text);
            reject_once(g, s, SOURCE_REASON_BAD_JSON, detail);
            fail(g, s, now_ms, -1, "the answer is not JSON: %s", jerr.text);
            return;
        }
        r = handle_body(g, s, root, detail, sizeof(detail));
        json_decref(root);
        if (r != 0) {
            char full[MAPPING_DETAIL_MAX + 64];
            snprintf(full, sizeof(full), "%s: %s", f->url, detail);
            reject_once(g, s, (enum source_reason)r, full);
            fail(g, s, now_ms, -1, "%s", detail);
            return;
        }
        if (!g->backfill) {
            snprintf(g->etag, sizeof(g->etag), "%s", f->etag);
            snprintf(g->last_modified, sizeof(g->last_modified), "%s", f->last_modified);
        }
    }
    atomic_store(&ss->up, true);
    atomic_store(&ss->last_ok_s, (int_fast64_t)time(NULL));
    if (g->backfill) {
        g->backfill = false;
        g->due_ms = now_ms; /* the current measurement right after the gap fill */
        return;
    }
    /* Only the current measurement's answer ends a run of failures: a gap fill that
     * leaves out a bad value must not forgive the bad current measurement that made
     * the gauge fill the gap, or the two would alternate without backoff. */
    if (g->failures)
        log_info("pegelonline", "%s: answering again after %d failures", g->st->station,
                 g->failures);
    g->failures = 0;
    g->last_dead_letter = -1;
    wait_s = s->sf.api.interval_s;
    if (f->max_age_s > wait_s)
        wait_s = f->max_age_s; /* not before the answer expires (Cache-Control) */
    g->due_ms = now_ms + wait_s * 1000;
}
