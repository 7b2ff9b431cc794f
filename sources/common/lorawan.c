// SPDX-License-Identifier: MIT
/*
 * The network server side of a LoRaWAN source (lorawan.h). One thread drives both MQTT
 * clients, the network server's and our broker's, from one poll() loop (libmosquitto's
 * loop_read/loop_write/loop_misc): an uplink is handled in the message callback,
 * parsed, mapped, checked, and published (or dead-lettered) straight onto our
 * broker's socket, with no hand-over between threads. When sources.queue_max events
 * wait for our broker's PUBACK, the loop stops reading the network server, whose
 * session then holds the uplinks.
 *
 * libmosquitto acknowledges a QoS 1 message to the network server before the callback
 * runs (there is no manual acknowledgement in 2.0): a source killed with SIGKILL loses
 * the uplink it is handling and those our broker has not acknowledged (at most
 * sources.queue_max + 1). What the network server queued for the persistent session
 * while the source was away is delivered after the restart.
 */
#include "lorawan.h"

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <string.h>

#include <mosquitto.h>

#include "json_arena.h"
#include "mqtt_link.h"
#include "log.h"
#include "topic.h"


struct lorawan {
    struct source *s;
    uplink_parse_fn parse;
    struct json_arena arena;   /* the JSON of the uplink in hand */
    int subscribe_mid;         /* of the SUBSCRIBE whose SUBACK is awaited */
    bool connected;            /* the network server accepted the connection */
};


int lorawan_event(const struct source_file *sf, uplink_parse_fn parse, const json_t *root,
                  struct uplink *up, char subject[TOPIC_SUBJECT_MAX + 1], struct source_event *ev,
                  char *detail)
{
    const struct device_rule *rule;
    enum source_reason reason;
    json_t *data;
    int r;

    memset(up, 0, sizeof(*up));
    if (!json_is_object(root)) {
        snprintf(detail, MAPPING_DETAIL_MAX, "the message is not a JSON object");
        return SOURCE_REASON_BAD_FORMAT;
    }
    if ((r = parse(root, up, detail)) != 0)
        return r;
    if (!(rule = mapping_find(sf, up->device, up->dev_eui))) {
        snprintf(detail, MAPPING_DETAIL_MAX, "no device rule matches device %s (DevEUI %s)",
                 up->device, up->dev_eui ? up->dev_eui : "-");
        return SOURCE_REASON_UNKNOWN_DEVICE;
    }
    if (!up->decoded) {
        snprintf(detail, MAPPING_DETAIL_MAX, "device %s: the uplink has no decoded payload "
                 "(set up a payload formatter or codec at the network server)", up->device);
        return SOURCE_REASON_NO_DECODED_PAYLOAD;
    }
    if (mapping_subject(rule, up->device, up->dev_eui, subject, TOPIC_SUBJECT_MAX + 1) < 0) {
        snprintf(detail, MAPPING_DETAIL_MAX, "device %s: subject template \"%s\" gives no "
                 "valid subject ([A-Za-z0-9._-]{1,128})", up->device, rule->subject);
        return SOURCE_REASON_BAD_SUBJECT;
    }
    if (!(data = mapping_apply(rule, up->decoded, up->time, &up->radio, &reason, detail))) {
        char why[MAPPING_DETAIL_MAX];
        snprintf(why, sizeof(why), "%s", detail);
        snprintf(detail, MAPPING_DETAIL_MAX, "device %s, rule of line %d: %s", up->device,
                 rule->line, why);
        return (int)reason;
    }
    *ev = (struct source_event){.municipality = rule->municipality,
                                .event_type = rule->event_type,
                                .subject = subject,
                                .id = up->id,
                                .time = up->time,
                                .ce_source = up->ce_source,
                                .data = data};
    return 0;
}

void lorawan_handle(struct source *s, uplink_parse_fn parse, const char *topic,
                    const void *payload, size_t len)
{
    struct source_input in = {.topic = topic, .payload = payload, .len = len};
    char detail[MAPPING_DETAIL_MAX], subject[TOPIC_SUBJECT_MAX + 1];
    struct source_event ev;
    struct uplink up;
    json_error_t jerr;
    json_t *root;
    int r;

    atomic_fetch_add(&s->m.received, 1);
    if (len > (size_t)s->sf.server.max_payload_bytes) {
        snprintf(detail, sizeof(detail), "%zu bytes; the limit is server.max_payload_bytes = %d",
                 len, s->sf.server.max_payload_bytes);
        source_reject(s, SOURCE_REASON_TOO_LARGE, detail, &in);
        return;
    }
    if (!(root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr))) {
        snprintf(detail, sizeof(detail), "line %d, column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        source_reject(s, SOURCE_REASON_BAD_JSON, detail, &in);
        return;
    }
    if ((r = lorawan_event(&s->sf, parse, root, &up, subject, &ev, detail)) != 0) {
        source_reject(s, (enum source_reason)r, detail, &in);
    } else {
        source_emit(s, &ev, &in);
        json_decref(ev.data);
    }
    json_arena_release(root);
}

static void on_message(struct mosquitto *mosq, void *data, const struct mosquitto_message *msg)
{
    struct lorawan *lw = data;

    json_arena_begin(&lw->arena);
    lorawan_handle(lw->s, lw->parse, msg->topic, msg->payload, (size_t)msg->payloadlen);
    json_arena_end();
}

/*
 * Connected: one SUBSCRIBE for every topic filter. The source counts as up (the metric
 * rheinhub_source_upstream_up, /healthz) only once the SUBACK grants them all: until
 * then uplinks may still be published where nobody reads them, and a network server
 * that refuses a filter (its ACL) would otherwise leave a source that looks healthy and
 * receives nothing.
 */
static void on_connect(struct mosquitto *mosq, void *data, int rc)
{
    struct lorawan *lw = data;
    const struct source_file *sf = &lw->s->sf;
    char *subs[SOURCE_TOPICS_MAX];

    if (rc != 0) {
        log_warn("netserver", "the network server refused the connection: %s",
                 mosquitto_connack_string(rc));
        return;
    }
    lw->connected = true;
    log_info("netserver", "connected to %s:%d as %s", sf->server.host, sf->server.port,
             sf->server.client_id);
    for (int i = 0; i < sf->server.n_topics; i++)
        subs[i] = (char *)sf->server.topics[i];
    rc = mosquitto_subscribe_multiple(mosq, &lw->subscribe_mid, sf->server.n_topics, subs, 1, 0,
                                      NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        /* Nothing was sent: the next connection tries again. */
        log_error("netserver", "cannot subscribe: %s", mosquitto_strerror(rc));
        atomic_store(&lw->s->m.upstream_refused, sf->server.n_topics);
    }
}

static void on_subscribe(struct mosquitto *mosq, void *data, int mid, int qos_count,
                         const int *granted)
{
    struct lorawan *lw = data;
    const struct source_file *sf = &lw->s->sf;
    int refused = 0;

    if (mid != lw->subscribe_mid)
        return;
    for (int i = 0; i < sf->server.n_topics; i++) {
        /* A SUBACK with fewer codes than filters leaves the rest unconfirmed. */
        int code = i < qos_count ? granted[i] : 0x80;

        if (code >= 0x80) {
            log_error("netserver", "the network server refused the subscription to %s "
                      "(its access rules for user %s?)", sf->server.topics[i],
                      sf->server.username[0] ? sf->server.username : "-");
            refused++;
        } else if (code < 1) {
            log_warn("netserver", "subscription to %s granted at QoS 0 only: uplinks sent "
                     "while the source is away are lost", sf->server.topics[i]);
        }
    }
    atomic_store(&lw->s->m.upstream_refused, refused);
    if (refused == 0) {
        atomic_store(&lw->s->m.upstream_up, true);
        log_info("netserver", "subscribed to %d topic filters", sf->server.n_topics);
    }
}

static void on_disconnect(struct mosquitto *mosq, void *data, int rc)
{
    struct lorawan *lw = data;

    atomic_store(&lw->s->m.upstream_up, false);
    atomic_store(&lw->s->m.upstream_refused, 0);
    if (lw->connected && rc != 0)
        log_warn("netserver", "lost the network server (%s): reconnecting",
                 mosquitto_strerror(rc));
    lw->connected = false;
}

/* TLS with the file's CA (or the system's), the peer and its host name verified. */
static int setup_tls(struct mosquitto *mosq, const struct source_file *sf)
{
    const char *ca = sf->server.ca_file[0] ? sf->server.ca_file : NULL;
    int rc;

    rc = mosquitto_tls_set(mosq, ca, ca ? NULL : "/etc/ssl/certs", NULL, NULL, NULL);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_tls_opts_set(mosq, 1, NULL, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_error("netserver", "TLS setup failed (ca_file %s): %s", ca ? ca : "-",
                  mosquitto_strerror(rc));
        return -EINVAL;
    }
    return 0;
}

/*
 * One round of the loop: waits up to timeout_ms for either socket, reads what came
 * (PUBACKs, uplinks: handled and published in the message callback), writes what is
 * queued. read_up false leaves the network server's socket unread.
 */
static void poll_round(struct mqtt_link *up, struct mqtt_link *pub, bool read_up, int timeout_ms)
{
    struct pollfd fds[2] = {mqtt_link_pollfd(pub, true), mqtt_link_pollfd(up, read_up)};

    if (poll(fds, 2, timeout_ms) < 0)
        return;
    mqtt_link_after_poll(pub, fds[0].revents);
    mqtt_link_after_poll(up, fds[1].revents);
    if (fds[1].revents & POLLIN) /* the uplinks' publishes: out now, not after the timeout */
        mqtt_link_after_poll(pub, 0);
}

int lorawan_run(struct source *s, uplink_parse_fn parse)
{
    const struct source_file *sf = &s->sf;
    struct lorawan lw = {.s = s, .parse = parse};
    struct mosquitto *mosq = NULL;
    struct mqtt_link up;
    int status = 0;

    if (json_arena_init(&lw.arena) < 0 || !(mosq = mosquitto_new(sf->server.client_id, false, &lw))) {
        log_error("netserver", "out of memory");
        json_arena_close(&lw.arena);
        return 1;
    }
    mqtt_link_init(&up, mosq, "netserver", sf->server.host, sf->server.port,
                   sf->server.keepalive_s);
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    if (sf->server.username[0])
        mosquitto_username_pw_set(mosq, sf->server.username,
                                  sf->server.password[0] ? sf->server.password : NULL);
    if (sf->server.tls && setup_tls(mosq, sf) < 0) {
        status = 1;
        goto out;
    }
    mosquitto_connect_callback_set(mosq, on_connect);
    mosquitto_subscribe_callback_set(mosq, on_subscribe);
    mosquitto_disconnect_callback_set(mosq, on_disconnect);
    mosquitto_message_callback_set(mosq, on_message);

    /* Our broker first, so that the first uplinks have somewhere to go. */
    publisher_service(&s->pub, mqtt_link_now_ms());
    while (!source_stopping()) {
        int64_t now = mqtt_link_now_ms();
        publisher_service(&s->pub, now); /* and the re-sends of what our broker refused */
        mqtt_link_service(&up, now);
        /* Uplinks are read only while our broker takes them: else the network server's
         * session holds them. */
        poll_round(&up, &s->pub.link, publisher_ready(&s->pub), 200);
    }
    /* Stop reading the network server; source_main then drains what we hold. */
    mosquitto_disconnect(mosq);
out:
    mosquitto_destroy(mosq);
    json_arena_close(&lw.arena);
    return status;
}
