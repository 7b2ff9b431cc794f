// SPDX-License-Identifier: MIT
/*
 * Our broker's side of a source (publisher.h). Everything runs on the source's one
 * thread; the counters are atomics only because the metrics thread reads them.
 *
 * libmosquitto 2.0.11 (lib/handle_pubackcomp.c) reads a v5 PUBACK's reason code, frees
 * the message and calls on_publish_v5 with that code, whatever it is: the library
 * never sends a refused message again, so the publisher keeps its own copy.
 */
#include "publisher.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "log.h"

#define RESEND_MIN_MS 200
#define RESEND_MAX_MS 5000

static void on_connect(struct mosquitto *mosq, void *data, int rc)
{
    struct publisher *p = data;

    if (rc != 0) {
        log_warn("publisher", "our broker refused the connection: %s",
                 mosquitto_connack_string(rc));
        return;
    }
    atomic_store(&p->m->broker_up, true);
    log_info("publisher", "connected to our broker as %s", p->client_id);
}

static void on_disconnect(struct mosquitto *mosq, void *data, int rc)
{
    struct publisher *p = data;

    if (atomic_exchange(&p->m->broker_up, false) && rc != 0)
        log_warn("publisher", "lost our broker (%s): reconnecting", mosquitto_strerror(rc));
}

/* The entry at i is taken: it leaves the outbox; the episode ends with the last refused. */
static void taken(struct publisher *p, size_t i)
{
    struct outbox_entry *e = outbox_at(&p->out, i);

    if (e->was_refused && atomic_fetch_sub(&p->m->unsettled, 1) == 1 && p->refusing) {
        log_info("publisher", "our broker takes events again: %llu refusals and %llu "
                 "re-sends in %.1f s, nothing lost",
                 (unsigned long long)p->episode_refused, (unsigned long long)p->episode_resent,
                 (double)(mqtt_link_now_ms() - p->episode_ms) / 1000.0);
        p->refusing = false;
        p->resend_delay_ms = RESEND_MIN_MS;
    }
    outbox_take(&p->out, i);
    atomic_fetch_sub(&p->m->queued, 1);
    atomic_fetch_add(&p->m->published, 1);
}

/* The entry at i was refused with reason_code: kept, and sent again in the next round. */
static void refused(struct publisher *p, size_t i, int reason_code)
{
    struct outbox_entry *e = outbox_at(&p->out, i);
    int64_t now = mqtt_link_now_ms();

    atomic_fetch_add(&p->m->refused[reason_code & 0xff], 1);
    if (!e->was_refused)
        atomic_fetch_add(&p->m->unsettled, 1);
    if (!p->refusing) {
        p->refusing = true;
        p->episode_ms = now;
        p->episode_refused = p->episode_resent = 0;
        log_warn("publisher", "our broker refused the event on %s: reason code 0x%02x (%s); "
                 "sending what it refuses again, no new input until it takes them",
                 e->topic, reason_code, mosquitto_reason_string(reason_code));
    }
    p->episode_refused++;
    outbox_refuse(&p->out, i);
    if (p->resend_ms == 0)
        p->resend_ms = now + p->resend_delay_ms;
}

static void on_publish(struct mosquitto *mosq, void *data, int mid, int reason_code,
                       const mosquitto_property *props)
{
    struct publisher *p = data;
    long i = outbox_find_sent(&p->out, mid);

    if (i < 0) {
        log_debug("publisher", "PUBACK for message %d, which is not ours", mid);
        return;
    }
    if (reason_code == MQTT_RC_SUCCESS)
        taken(p, (size_t)i);
    else
        refused(p, (size_t)i, reason_code);
}

/* Sends every refused event again, oldest first. */
static void resend_round(struct publisher *p)
{
    unsigned long n = 0;

    for (size_t i = 0; i < p->out.count && p->out.refused > 0; i++) {
        struct outbox_entry *e = outbox_at(&p->out, i);
        int mid = 0, rc;

        if (e->state != OUTBOX_REFUSED)
            continue;
        rc = mosquitto_publish_v5(p->mosq, &mid, e->topic, (int)e->len, e->payload, 1, false,
                                  NULL);
        if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
            log_error("publisher", "cannot publish on %s again: %s (next round)", e->topic,
                      mosquitto_strerror(rc));
            break;
        }
        outbox_resent(&p->out, i, mid);
        n++;
    }
    atomic_fetch_add(&p->m->resent, n);
    p->episode_resent += n;
}

void publisher_service(struct publisher *p, int64_t now)
{
    mqtt_link_service(&p->link, now);
    if (p->resend_ms == 0 || now < p->resend_ms || !atomic_load(&p->m->broker_up))
        return;
    resend_round(p);
    p->resend_ms = p->out.refused > 0 ? now + p->resend_delay_ms : 0;
    p->resend_delay_ms = p->resend_delay_ms * 2 > RESEND_MAX_MS ? RESEND_MAX_MS
                                                                 : p->resend_delay_ms * 2;
}

int publisher_start(struct publisher *p, const struct hub_config *cfg, const char *source,
                    struct source_metrics *m)
{
    const char *user = cfg->sources.username[0] ? cfg->sources.username : cfg->mqtt.username;
    const char *pass = cfg->sources.username[0] ? cfg->sources.password : cfg->mqtt.password;

    memset(p, 0, sizeof(*p));
    p->m = m;
    p->queue_max = cfg->sources.queue_max;
    p->resend_delay_ms = RESEND_MIN_MS;
    outbox_init(&p->out);
    snprintf(p->client_id, sizeof(p->client_id), "%s-%s", cfg->sources.client_id, source);
    if (!(p->mosq = mosquitto_new(p->client_id, false, p)))
        return -ENOMEM;
    mosquitto_int_option(p->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(p->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(p->mosq, (unsigned)p->queue_max);
    if (user[0])
        mosquitto_username_pw_set(p->mosq, user, pass[0] ? pass : NULL);
    mosquitto_connect_callback_set(p->mosq, on_connect);
    mosquitto_disconnect_callback_set(p->mosq, on_disconnect);
    mosquitto_publish_v5_callback_set(p->mosq, on_publish); /* not on_publish too: both run */
    mqtt_link_init(&p->link, p->mosq, "publisher", cfg->mqtt.host, cfg->mqtt.port,
                   cfg->mqtt.keepalive_s);
    p->link.session_expiry_s = cfg->mqtt.session_expiry_s;
    return 0;
}

bool publisher_full(const struct publisher *p)
{
    return atomic_load(&p->m->queued) >= p->queue_max || atomic_load(&p->m->unsettled) > 0;
}

bool publisher_ready(const struct publisher *p)
{
    return atomic_load(&p->m->broker_up) && !publisher_full(p);
}

int publisher_publish(struct publisher *p, const char *topic, const char *payload, size_t len)
{
    long i = outbox_add(&p->out, topic, payload, len);
    int mid = 0, rc;

    if (i < 0) {
        log_error("publisher", "cannot publish on %s: %s", topic, strerror((int)-i));
        return (int)i;
    }
    rc = mosquitto_publish_v5(p->mosq, &mid, topic, (int)len, payload, 1, false, NULL);
    /* libmosquitto 2.0.11 keeps a QoS 1 message it could not send for want of a
     * connection in its outgoing queue and sends it after the next CONNACK; it still
     * answers MOSQ_ERR_NO_CONN. That is a success here, not a loss. */
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
        outbox_drop_newest(&p->out);
        log_error("publisher", "cannot publish on %s: %s", topic, mosquitto_strerror(rc));
        return rc == MOSQ_ERR_NOMEM ? -ENOMEM : -EIO;
    }
    outbox_at(&p->out, (size_t)i)->mid = mid;
    atomic_fetch_add(&p->m->queued, 1);
    return 0;
}

int publisher_drain(struct publisher *p, int timeout_ms)
{
    /* The first drain of a stop sets its deadline; a later one waits no longer. */
    if (p->drain_until_ms == 0)
        p->drain_until_ms = mqtt_link_now_ms() + timeout_ms;
    while (atomic_load(&p->m->queued) > 0 && mqtt_link_now_ms() < p->drain_until_ms) {
        struct pollfd fd;
        publisher_service(p, mqtt_link_now_ms());
        fd = mqtt_link_pollfd(&p->link, true);
        if (poll(&fd, 1, 100) > 0)
            mqtt_link_after_poll(&p->link, fd.revents);
    }
    return atomic_load(&p->m->queued);
}

void publisher_stop(struct publisher *p)
{
    int left;

    if (!p->mosq)
        return;
    left = atomic_load(&p->m->queued);
    if (left > 0)
        log_warn("publisher", "stopping with %d events our broker has not taken (%d of them "
                 "refused)", left, atomic_load(&p->m->unsettled));
    mosquitto_disconnect(p->mosq);
    mosquitto_destroy(p->mosq);
    p->mosq = NULL;
    outbox_close(&p->out);
}
