// SPDX-License-Identifier: MIT
/*
 * The network server side of a LoRaWAN source (lorawan.h) on libmosquitto's threaded
 * loop. Each uplink is handled in the message callback: parsed, mapped, checked and
 * published (or dead-lettered) before the next is read; when our broker lags, the
 * publish waits, and so does the reading of the network server's session.
 *
 * libmosquitto acknowledges a QoS 1 message to the network server before the callback
 * runs (there is no manual acknowledgement in 2.0): a source killed with SIGKILL loses
 * the uplink it is handling and those our broker has not acknowledged (at most
 * sources.queue_max + 1). What the network server queued for the persistent session
 * while the source was away is delivered after the restart.
 */
#include "lorawan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mosquitto.h>

#include "log.h"
#include "topic.h"

#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 60

struct lorawan {
    struct source *s;
    uplink_parse_fn parse;
};

void lorawan_handle(struct source *s, uplink_parse_fn parse, const char *topic,
                    const void *payload, size_t len)
{
    struct source_input in = {.topic = topic, .payload = payload, .len = len};
    char detail[MAPPING_DETAIL_MAX], subject[TOPIC_SUBJECT_MAX + 1];
    const struct device_rule *rule;
    enum source_reason reason;
    struct uplink up;
    json_error_t jerr;
    json_t *root, *data;
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
    memset(&up, 0, sizeof(up));
    if (!json_is_object(root)) {
        source_reject(s, SOURCE_REASON_BAD_FORMAT, "the message is not a JSON object", &in);
        goto out;
    }
    if ((r = parse(root, &up, detail)) != 0) {
        source_reject(s, (enum source_reason)r, detail, &in);
        goto out;
    }
    if (!(rule = mapping_find(&s->sf, up.device, up.dev_eui))) {
        snprintf(detail, sizeof(detail), "no device rule matches device %s (DevEUI %s)",
                 up.device, up.dev_eui ? up.dev_eui : "-");
        source_reject(s, SOURCE_REASON_UNKNOWN_DEVICE, detail, &in);
        goto out;
    }
    if (!up.decoded) {
        snprintf(detail, sizeof(detail), "device %s: the uplink has no decoded payload (set "
                 "up a payload formatter or codec at the network server)", up.device);
        source_reject(s, SOURCE_REASON_NO_DECODED_PAYLOAD, detail, &in);
        goto out;
    }
    if (mapping_subject(rule, up.device, up.dev_eui, subject, sizeof(subject)) < 0) {
        snprintf(detail, sizeof(detail), "device %s: subject template \"%s\" gives no valid "
                 "subject ([A-Za-z0-9._-]{1,128})", up.device, rule->subject);
        source_reject(s, SOURCE_REASON_BAD_SUBJECT, detail, &in);
        goto out;
    }
    if (!(data = mapping_apply(rule, up.decoded, up.time, &up.radio, &reason, detail))) {
        char full[MAPPING_DETAIL_MAX + 160];
        snprintf(full, sizeof(full), "device %s, rule of line %d: %s", up.device, rule->line,
                 detail);
        source_reject(s, reason, full, &in);
        goto out;
    }
    {
        struct source_event ev = {.municipality = rule->municipality,
                                  .event_type = rule->event_type,
                                  .subject = subject,
                                  .id = up.id,
                                  .time = up.time,
                                  .ce_source = up.ce_source,
                                  .data = data};
        source_emit(s, &ev, &in);
    }
    json_decref(data);
out:
    json_decref(root);
}

static void on_message(struct mosquitto *mosq, void *data, const struct mosquitto_message *msg)
{
    struct lorawan *lw = data;

    lorawan_handle(lw->s, lw->parse, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

static void on_connect(struct mosquitto *mosq, void *data, int rc)
{
    struct lorawan *lw = data;
    const struct source_file *sf = &lw->s->sf;

    if (rc != 0) {
        log_warn("netserver", "the network server refused the connection: %s",
                 mosquitto_connack_string(rc));
        return;
    }
    atomic_store(&lw->s->m.upstream_up, true);
    log_info("netserver", "connected to %s:%d as %s", sf->server.host, sf->server.port,
             sf->server.client_id);
    for (int i = 0; i < sf->server.n_topics; i++) {
        int r = mosquitto_subscribe(mosq, NULL, sf->server.topics[i], 1);
        if (r != MOSQ_ERR_SUCCESS)
            log_error("netserver", "cannot subscribe to %s: %s", sf->server.topics[i],
                      mosquitto_strerror(r));
    }
}

static void on_disconnect(struct mosquitto *mosq, void *data, int rc)
{
    struct lorawan *lw = data;

    if (atomic_exchange(&lw->s->m.upstream_up, false) && rc != 0)
        log_warn("netserver", "lost the network server (%s): reconnecting",
                 mosquitto_strerror(rc));
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

int lorawan_run(struct source *s, uplink_parse_fn parse)
{
    const struct source_file *sf = &s->sf;
    struct lorawan lw = {.s = s, .parse = parse};
    struct mosquitto *mosq;
    int rc, status = 0;

    if (!(mosq = mosquitto_new(sf->server.client_id, false, &lw))) {
        log_error("netserver", "out of memory");
        return 1;
    }
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_reconnect_delay_set(mosq, RECONNECT_MIN_S, RECONNECT_MAX_S, true);
    if (sf->server.username[0])
        mosquitto_username_pw_set(mosq, sf->server.username,
                                  sf->server.password[0] ? sf->server.password : NULL);
    if (sf->server.tls && setup_tls(mosq, sf) < 0) {
        status = 1;
        goto out;
    }
    mosquitto_connect_callback_set(mosq, on_connect);
    mosquitto_disconnect_callback_set(mosq, on_disconnect);
    mosquitto_message_callback_set(mosq, on_message);
    rc = mosquitto_connect_async(mosq, sf->server.host, sf->server.port, sf->server.keepalive_s);
    if (rc != MOSQ_ERR_SUCCESS)
        log_warn("netserver", "cannot connect to %s:%d yet: %s", sf->server.host,
                 sf->server.port, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    if ((rc = mosquitto_loop_start(mosq)) != MOSQ_ERR_SUCCESS) {
        log_error("netserver", "cannot start the MQTT thread: %s", mosquitto_strerror(rc));
        status = 1;
        goto out;
    }
    while (!source_stopping())
        source_sleep_ms(1000);
    /* Stop reading first; the uplink in hand finishes (a publish no longer waits). */
    mosquitto_disconnect(mosq);
    pthread_mutex_lock(&s->pub.lock);
    s->pub.stopping = true;
    pthread_cond_broadcast(&s->pub.cond);
    pthread_mutex_unlock(&s->pub.lock);
    mosquitto_loop_stop(mosq, false);
out:
    mosquitto_destroy(mosq);
    return status;
}
