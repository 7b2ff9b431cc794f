// SPDX-License-Identifier: MIT
/*
 * The console's live picture and its event ring (board.h); its aggregates are in
 * board_aggregates.c. Alerts are kept by topic as the alerting worker publishes them
 * (retained, so a restarted console has them all again at once); a cleared alert
 * leaves the map for the recent list. Every change becomes one SSE event in a ring of
 * BOARD_RING; each open stream reads the ring at its own pace and is parked (its
 * connection suspended) while it has read everything. A stream that falls a whole ring
 * behind is ended: the browser reconnects by itself and starts again from a fresh
 * snapshot. After each connect of the console's session, a resync removes what the
 * broker's replay no longer has.
 */
#include "board.h"
#include "board_internal.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/*
 * The first bytes of a stream: "retry: 1000\n" and the snapshot event. One copy per
 * state of the alerts, shared by every stream that opened in that state, so that
 * memory grows with the alerts and not with streams times alerts.
 */
struct snapshot {
    int refs;           /* the board's cache and each stream still sending it; board lock */
    size_t len;
    char *text;
};

struct board_client {
    struct board_client *prev, *next;
    void *conn;
    char session[80];
    struct snapshot *head; /* sent before the ring; a reference until sent */
    size_t head_off;
    uint64_t next_seq;   /* the ring event to send next */
    size_t off;          /* bytes of it already sent */
    bool parked;
    bool ended;
};

struct board *board_new(board_conn_cb park, board_conn_cb wake)
{
    struct board *b = calloc(1, sizeof(*b));

    if (!b)
        return NULL;
    b->park = park;
    b->wake = wake;
    b->alerts = json_object();
    b->recent = json_array();
    b->gauges = json_object();
    if (!b->alerts || !b->recent || !b->gauges || pthread_mutex_init(&b->lock, NULL) != 0) {
        json_decref(b->alerts);
        json_decref(b->recent);
        json_decref(b->gauges);
        free(b);
        return NULL;
    }
    return b;
}

/* Drops one reference. Lock held (or the board no longer shared). Accepts NULL. */
static void snapshot_unref(struct snapshot *s)
{
    if (s && --s->refs == 0) {
        free(s->text);
        free(s);
    }
}

void board_free(struct board *b)
{
    if (!b)
        return;
    while (b->clients) {
        struct board_client *c = b->clients;
        b->clients = c->next;
        snapshot_unref(c->head);
        free(c);
    }
    snapshot_unref(b->snap);
    for (size_t i = 0; i < BOARD_RING; i++)
        free(b->ring[i].text);
    json_decref(b->alerts);
    json_decref(b->recent);
    json_decref(b->gauges);
    json_decref(b->unconfirmed);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

/* "event: NAME\ndata: JSON\n\n" of a JSON text on one line, or NULL. */
static char *event_text_of(const char *name, const char *json, size_t *len)
{
    char *text = NULL;
    int n = asprintf(&text, "event: %s\ndata: %s\n\n", name, json);

    if (n < 0)
        return NULL;
    *len = (size_t)n;
    return text;
}

/* The same of a JSON value, or NULL. JSON_COMPACT keeps it on one line. */
static char *event_text(const char *name, const json_t *data, size_t *len)
{
    char *json = json_dumps(data, JSON_COMPACT);
    char *text;

    if (!json)
        return NULL;
    text = event_text_of(name, json, len);
    free(json);
    return text;
}

/* The held text of value (board_internal.h). */
json_t *board_held_text(const json_t *value)
{
    char *json = json_dumps(value, JSON_COMPACT);
    json_t *text;

    if (!json)
        return NULL;
    text = json_stringn_nocheck(json, strlen(json));
    free(json);
    return text;
}

/* The value of a held text (board_internal.h). */
json_t *board_held_value(const json_t *text)
{
    return json_loadb(json_string_value(text), json_string_length(text), 0, NULL);
}

static void wake_parked(struct board *b)
{
    for (struct board_client *c = b->clients; c; c = c->next) {
        if (c->parked) {
            c->parked = false;
            b->wake(c->conn);
        }
    }
}

/* Appends one event to the ring and wakes the parked streams. Lock held. */
static void append_text(struct board *b, char *text, size_t len)
{
    struct event *e = &b->ring[b->seq % BOARD_RING];

    free(e->text);
    e->text = text;
    e->len = len;
    b->seq++;
    wake_parked(b);
}

/* Appends the event of data (board_internal.h). */
void board_append(struct board *b, const char *name, const json_t *data)
{
    size_t len;
    char *text = event_text(name, data, &len);

    if (!text) {
        log_error("board", "out of memory writing a %s event", name);
        return;
    }
    append_text(b, text, len);
}

/* Splits topic into at most max levels; returns the count, or -1 when longer. */
static int split_topic(char *topic, char **levels, int max)
{
    int n = 0;

    for (char *p = topic;; p++) {
        char *slash = strchr(p, '/');
        if (n == max)
            return -1;
        levels[n++] = p;
        if (!slash)
            return n;
        *slash = '\0';
        p = slash;
    }
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Puts a cleared alert into the recent list, newest cleared_at first, once. */
static void add_recent(struct board *b, json_t *alert)
{
    size_t i, at = json_array_size(b->recent);
    const char *id = str(alert, "id"), *when = str(alert, "cleared_at");
    json_t *old;

    json_array_foreach(b->recent, i, old) {
        if (strcmp(str(old, "id"), id) == 0)
            return;
    }
    json_array_foreach(b->recent, i, old) {
        if (strcmp(str(old, "cleared_at"), when) < 0) {
            at = i;
            break;
        }
    }
    if (at >= BOARD_RECENT_MAX)
        return;
    json_array_insert(b->recent, at, alert);
    while (json_array_size(b->recent) > BOARD_RECENT_MAX)
        json_array_remove(b->recent, json_array_size(b->recent) - 1);
}

/* Confirms topic (board_internal.h). */
void board_confirm(struct board *b, const char *topic)
{
    if (b->unconfirmed)
        json_object_del(b->unconfirmed, topic);
}

/* The "removed" event of topic (board_internal.h). */
void board_append_removed(struct board *b, const char *topic)
{
    json_t *gone = json_pack("{s:s}", "topic", topic);

    if (gone)
        board_append(b, "removed", gone);
    else
        log_error("board", "out of memory writing a removed event");
    json_decref(gone);
}

/* Drops the cleared alerts of topic from the recent list; whether there were any. */
static bool remove_recent(struct board *b, const char *topic)
{
    bool removed = false;

    for (size_t i = json_array_size(b->recent); i-- > 0;) {
        if (strcmp(str(json_array_get(b->recent, i), "topic"), topic) == 0) {
            json_array_remove(b->recent, i);
            removed = true;
        }
    }
    return removed;
}

/* Removes a held alert, or its cleared one from the recent list, with its "removed"
 * event (board_internal.h). */
bool board_remove_alert(struct board *b, const char *topic)
{
    bool held = json_object_del(b->alerts, topic) == 0;

    if (!remove_recent(b, topic) && !held)
        return false;
    b->version++;
    board_append_removed(b, topic);
    return true;
}

void board_alert(struct board *b, const char *topic, const void *payload, size_t len)
{
    char copy[512], *levels[5];
    json_t *alert = NULL;
    json_t *held = NULL;
    json_error_t jerr;
    const char *state;

    if (strlen(topic) >= sizeof(copy))
        return;
    strcpy(copy, topic);
    if (split_topic(copy, levels, 5) != 4 || strcmp(levels[1], "alerts") != 0)
        return;
    pthread_mutex_lock(&b->lock);
    board_confirm(b, topic);
    if (len == 0) { /* a retained alert removed: forgotten by the worker, or by hand */
        board_remove_alert(b, topic);
        goto out;
    }
    if (len > BOARD_PAYLOAD_MAX ||
        !(alert = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr)) ||
        !json_is_object(alert) || !json_is_string(json_object_get(alert, "state"))) {
        b->dropped++;
        log_warn("board", "%s: not an alert, ignored", topic);
        goto out;
    }
    json_object_set_new(alert, "topic", json_string(topic));
    state = str(alert, "state");
    if (strcmp(state, "cleared") == 0) {
        json_object_del(b->alerts, topic);
        add_recent(b, alert);
    } else if (json_object_get(b->alerts, topic) || json_object_size(b->alerts) < BOARD_ALERTS_MAX) {
        if (!(held = board_held_text(alert)) || json_object_set_new(b->alerts, topic, held) < 0) {
            log_error("board", "%s: out of memory holding the alert", topic);
            goto out;
        }
    } else {
        b->dropped++;
        goto out;
    }
    b->version++;
    if (held) {
        size_t n;
        char *text = event_text_of("alert", json_string_value(held), &n);
        if (text)
            append_text(b, text, n);
        else
            log_error("board", "out of memory writing an alert event");
    } else {
        board_append(b, "alert", alert);
    }
out:
    pthread_mutex_unlock(&b->lock);
    json_decref(alert);
}

/* Splits an aggregate's topic into its levels (board_internal.h). */
bool board_aggregate_levels(const char *topic, char *copy, char **levels)
{
    if (strlen(topic) >= 512)
        return false;
    strcpy(copy, topic);
    return split_topic(copy, levels, 6) == 5 && strcmp(levels[1], "analytics") == 0 &&
           strcmp(levels[3], "_all") != 0;
}

void board_ping(struct board *b)
{
    static const char ping[] = ": ping\n\n";
    char *text = strdup(ping);

    if (!text)
        return;
    pthread_mutex_lock(&b->lock);
    append_text(b, text, sizeof(ping) - 1);
    pthread_mutex_unlock(&b->lock);
}

void board_end_session(struct board *b, const char *session)
{
    pthread_mutex_lock(&b->lock);
    for (struct board_client *c = b->clients; c; c = c->next) {
        if (strcmp(c->session, session) != 0)
            continue;
        c->ended = true;
        if (c->parked) {
            c->parked = false;
            b->wake(c->conn);
        }
    }
    pthread_mutex_unlock(&b->lock);
}

void board_wake_all(struct board *b)
{
    pthread_mutex_lock(&b->lock);
    for (struct board_client *c = b->clients; c; c = c->next)
        c->ended = true;
    wake_parked(b);
    pthread_mutex_unlock(&b->lock);
}

/* {"alerts":[...],"recent":[...]}. Lock held. */
static json_t *alerts_json(struct board *b)
{
    json_t *out = json_object(), *list = json_array(), *held;
    const char *topic;

    if (!out || !list) {
        json_decref(out);
        json_decref(list);
        return NULL;
    }
    json_object_set_new(out, "alerts", list);
    json_object_foreach(b->alerts, topic, held) {
        if (json_array_append_new(list, board_held_value(held)) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    if (json_object_set_new(out, "recent", json_deep_copy(b->recent)) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/*
 * before {"alerts":[...],"recent":[...]} after, joined from the held texts: the compact
 * JSON of alerts_json. Lock held; NULL without memory, else *len bytes and a NUL.
 */
static char *alerts_text(struct board *b, const char *before, const char *after, size_t *len)
{
    static const char head[] = "{\"alerts\":[", mid[] = "],\"recent\":";
    size_t nb = strlen(before), na = strlen(after), nr, n;
    char *recent, *text, *p;
    const char *topic;
    json_t *held;

    if (!(recent = json_dumps(b->recent, JSON_COMPACT)))
        return NULL;
    nr = strlen(recent);
    n = nb + sizeof(head) - 1 + sizeof(mid) - 1 + nr + 1 + na;
    json_object_foreach(b->alerts, topic, held)
        n += json_string_length(held) + 1;
    if (!(p = text = malloc(n + 1))) {
        free(recent);
        return NULL;
    }
    memcpy(p, before, nb);
    p += nb;
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;
    json_object_foreach(b->alerts, topic, held) {
        if (p[-1] != '[')
            *p++ = ',';
        memcpy(p, json_string_value(held), json_string_length(held));
        p += json_string_length(held);
    }
    memcpy(p, mid, sizeof(mid) - 1);
    p += sizeof(mid) - 1;
    memcpy(p, recent, nr);
    p += nr;
    *p++ = '}';
    memcpy(p, after, na + 1);
    p += na;
    free(recent);
    *len = (size_t)(p - text);
    return text;
}

/* The snapshot of the alerts now, built once per state. Lock held; NULL without memory. */
static struct snapshot *current_snapshot(struct board *b)
{
    struct snapshot *s;

    if (b->snap && b->snap_version == b->version)
        return b->snap;
    if (!(s = malloc(sizeof(*s))))
        return NULL;
    /* retry: 1 s, so that a page reconnects quickly after a console restart */
    if (!(s->text = alerts_text(b, "retry: 1000\nevent: snapshot\ndata: ", "\n\n", &s->len))) {
        free(s);
        return NULL;
    }
    s->refs = 1;
    snapshot_unref(b->snap);
    b->snap = s;
    b->snap_version = b->version;
    return s;
}

struct board_client *board_attach(struct board *b, void *conn, const char *session)
{
    struct board_client *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->conn = conn;
    snprintf(c->session, sizeof(c->session), "%s", session);
    pthread_mutex_lock(&b->lock);
    if (!(c->head = current_snapshot(b))) {
        pthread_mutex_unlock(&b->lock);
        free(c);
        return NULL;
    }
    c->head->refs++;
    c->next_seq = b->seq;
    c->next = b->clients;
    if (b->clients)
        b->clients->prev = c;
    b->clients = c;
    b->n_clients++;
    pthread_mutex_unlock(&b->lock);
    return c;
}

ssize_t board_read(struct board *b, struct board_client *c, char *buf, size_t max)
{
    size_t n = 0;

    pthread_mutex_lock(&b->lock);
    if (c->ended || b->seq - c->next_seq > BOARD_RING) {
        pthread_mutex_unlock(&b->lock);
        return -1;
    }
    if (c->head) {
        size_t k = c->head->len - c->head_off;
        if (k > max)
            k = max;
        memcpy(buf, c->head->text + c->head_off, k);
        c->head_off += k;
        n += k;
        if (c->head_off == c->head->len) {
            snapshot_unref(c->head);
            c->head = NULL;
        }
    }
    while (n < max && !c->head && c->next_seq < b->seq) {
        const struct event *e = &b->ring[c->next_seq % BOARD_RING];
        size_t k = e->len - c->off;
        if (k > max - n)
            k = max - n;
        memcpy(buf + n, e->text + c->off, k);
        n += k;
        c->off += k;
        if (c->off == e->len) {
            c->off = 0;
            c->next_seq++;
        }
    }
    if (n == 0) {
        c->parked = true;
        b->park(c->conn);
    }
    pthread_mutex_unlock(&b->lock);
    return (ssize_t)n;
}

void board_detach(struct board *b, struct board_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&b->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        b->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    b->n_clients--;
    snapshot_unref(c->head);
    pthread_mutex_unlock(&b->lock);
    free(c);
}

enum board_alert_match board_alert_match(struct board *b, const char *topic, const char *alert_id)
{
    enum board_alert_match m = BOARD_ALERT_NONE;
    json_t *held, *alert = NULL;

    pthread_mutex_lock(&b->lock);
    if ((held = json_object_get(b->alerts, topic))) {
        const char *id;
        alert = alert_id ? board_held_value(held) : NULL;
        id = json_string_value(json_object_get(alert, "id"));
        m = !alert_id || (id && strcmp(id, alert_id) == 0) ? BOARD_ALERT_HELD : BOARD_ALERT_OTHER;
    }
    pthread_mutex_unlock(&b->lock);
    json_decref(alert);
    return m;
}

json_t *board_alert_copy(struct board *b, const char *topic)
{
    json_t *copy, *held;

    pthread_mutex_lock(&b->lock);
    copy = (held = json_object_get(b->alerts, topic)) ? board_held_value(held) : NULL;
    pthread_mutex_unlock(&b->lock);
    return copy;
}

json_t *board_alerts_json(struct board *b)
{
    json_t *out;

    pthread_mutex_lock(&b->lock);
    out = alerts_json(b);
    pthread_mutex_unlock(&b->lock);
    return out;
}

char *board_alerts_text(struct board *b, size_t *len)
{
    char *text;
    size_t n;

    pthread_mutex_lock(&b->lock);
    text = alerts_text(b, "", "", &n);
    pthread_mutex_unlock(&b->lock);
    if (text && len)
        *len = n;
    return text;
}

int board_alerts_each(struct board *b, void (*fn)(const json_t *alert, void *data), void *data)
{
    const char *topic;
    json_t *held, *alert;
    int r = 0;

    pthread_mutex_lock(&b->lock);
    json_object_foreach(b->alerts, topic, held) {
        if (!(alert = board_held_value(held))) {
            r = -1;
            break;
        }
        fn(alert, data);
        json_decref(alert);
    }
    pthread_mutex_unlock(&b->lock);
    return r;
}

size_t board_clients(struct board *b)
{
    size_t n;

    pthread_mutex_lock(&b->lock);
    n = b->n_clients;
    pthread_mutex_unlock(&b->lock);
    return n;
}

void board_stats(struct board *b, size_t *alerts, uint64_t *dropped)
{
    pthread_mutex_lock(&b->lock);
    *alerts = json_object_size(b->alerts);
    *dropped = b->dropped;
    pthread_mutex_unlock(&b->lock);
}
