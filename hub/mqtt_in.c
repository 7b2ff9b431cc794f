// SPDX-License-Identifier: MIT
/*
 * libmosquitto on the libuv loop (PITFALLS.md, "External loop"):
 *
 * - a uv_poll_t on mosquitto_socket() calls loop_read / loop_write; after every
 *   library call the poll is re-armed for writing when mosquitto_want_write() says
 *   so, since packets queued inside callbacks are only written then;
 * - a 1 s timer calls loop_misc (keepalive);
 * - the library closes the socket itself on errors and calls on_disconnect: the poll
 *   handle is closed there, and each connection gets a new one (the fd can differ);
 * - mosquitto_connect_bind_v5() blocks (there is no asynchronous v5 connect in
 *   2.0), so a non-blocking TCP probe runs first: an unreachable broker then costs
 *   the loop nothing, and the blocking connect only runs against a listening port;
 * - the v5 session expiry is sent with every connect, or the session would end with
 *   the connection.
 *
 * libmosquitto acknowledges a QoS 1 message before on_message runs. To take over
 * responsibility before the broker lets go, the client runs in libmosquitto's
 * "threaded" mode: a packet queued by the library (PUBACK, PINGREQ, DISCONNECT) is then
 * only written by mosquitto_loop_write, never from inside loop_read. After each read
 * pass the flush hook runs (the hub writes its crash journal there) and only when it
 * succeeds are the pass's acknowledgements written; when it fails they are held, and
 * reading stops, until mqtt_in_release. A pass's acknowledgements are written corked,
 * so that they leave as one TCP segment.
 */
#include "mqtt_in.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "backoff.h"
#include "cloexec.h"
#include "http.h"
#include "log.h"

#define MISC_INTERVAL_MS 1000
#define RECONNECT_MIN_MS 250
#define RECONNECT_MAX_MS 10000
/*
 * With a shared subscription, Mosquitto 2.0.11 forgets it in a restart and drops what
 * arrives until we subscribe again (docs/reliability.md, "The broker restart"): come
 * back within a second of the broker, not up to ten.
 */
#define RECONNECT_MAX_SHARED_MS 1000
#define RECEIVE_MAXIMUM 1000
#define READ_BATCH_MAX 256
#define LINGER_MS 2000
#define CORK_MIN_ACKS 2 /* a pass's acknowledgements are corked from this many on */

enum mqtt_state { MQ_DOWN, MQ_PROBING, MQ_CONNECTING, MQ_UP };

struct mqtt_in {
    uv_loop_t *loop;
    const struct hub_config *cfg;
    struct metrics *m;
    mqtt_in_message_cb on_message;
    mqtt_in_flush_cb flush;
    void *data;
    mqtt_in_stopped_cb stopped;
    void *stopped_data;

    struct mosquitto *mosq;
    enum mqtt_state state;
    uv_poll_t *poll;  /* one per connection, freed in its close callback */
    int poll_events;  /* what poll is armed for; -1: not yet (each arming costs syscalls) */
    uv_tcp_t *probe;  /* the reachability probe while MQ_PROBING */
    uv_poll_t *linger; /* after DISCONNECT: the connection kept open until the broker closes */
    int linger_fd;
    uv_timer_t linger_timer;
    bool finished;
    uv_connect_t probe_req;
    uv_timer_t misc, reconnect;
    unsigned backoff_ms;
    bool paused, stopping, ever_up;
    bool held; /* the flush hook failed: no acknowledgement and no reading until released */
    int open_handles;

    /* The topic filters as sent (with $share/<group>/ when shared), and per filter why it
     * is not subscribed: the broker's reason (SUBACK code >= 0x80) or the library's error
     * (static text), NULL once a SUBACK granted it. Kept across reconnects until the
     * next SUBACK, so that a refusal stays visible while the link is re-made. */
    char filters[CONFIG_SUBSCRIPTIONS_MAX][sizeof("$share//") + 2 * (CONFIG_NAME_MAX - 1)];
    int n_filters;
    int subscribe_mid; /* of the SUBSCRIBE whose SUBACK is awaited */
    bool subscribing;  /* that SUBACK has not come yet on this connection */
    const char *refused[CONFIG_SUBSCRIPTIONS_MAX];
};

static void schedule_reconnect(struct mqtt_in *in, bool now);
static void finish_stop(struct mqtt_in *in);

static void on_handle_closed(uv_handle_t *h)
{
    struct mqtt_in *in = h->data;

    if (h != (uv_handle_t *)&in->misc && h != (uv_handle_t *)&in->reconnect &&
        h != (uv_handle_t *)&in->linger_timer)
        free(h);
    if (--in->open_handles == 0 && in->stopping && in->stopped)
        in->stopped(in->stopped_data);
}

static void close_handle(struct mqtt_in *in, uv_handle_t *h)
{
    h->data = in;
    uv_close(h, on_handle_closed);
}

static void on_poll(uv_poll_t *handle, int status, int events);

/* Arms the poll for what the session needs now. */
static void update_poll(struct mqtt_in *in)
{
    int events = 0;

    if (!in->poll)
        return;
    if (!in->paused && !in->held)
        events |= UV_READABLE;
    if (!in->held && mosquitto_want_write(in->mosq))
        events |= UV_WRITABLE;
    /* uv_poll_start takes the fd out of epoll and puts it back: only on a change. */
    if (events == in->poll_events)
        return;
    in->poll_events = events;
    if (events)
        uv_poll_start(in->poll, events, on_poll);
    else
        uv_poll_stop(in->poll);
}

/*
 * libmosquitto writes each queued packet with a write of its own. A read pass's
 * PUBACKs (4 bytes each) would each go out as a TCP segment, and on loopback each
 * segment runs the broker's receive path and wakes it, charged to our write. Corked,
 * the pass's acknowledgements leave as one segment when the cork is pulled.
 */
static void set_cork(struct mqtt_in *in, int on)
{
    (void)setsockopt(mosquitto_socket(in->mosq), IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
    struct mqtt_in *in = handle->data;
    uint64_t first = in->m->received;

    if (status < 0)
        events = UV_READABLE; /* let the library read the error and disconnect */
    if ((events & UV_READABLE) && ((!in->paused && !in->held) || status < 0)) {
        /*
         * loop_read takes one packet when the session has nothing queued, so one
         * wake-up per message would cost an epoll round trip each. Read on while
         * packets keep delivering messages, up to a bound that keeps the loop fair;
         * a level-triggered poll brings us back for the rest.
         */
        for (int i = 0; i < READ_BATCH_MAX && !in->paused && !in->held; i++) {
            uint64_t before = in->m->received;
            mosquitto_loop_read(in->mosq, 1);
            if (in->poll != handle)
                return; /* on_disconnect ran: this handle is closing */
            if (in->m->received == before)
                break;
        }
    }
    if (in->m->received != first && in->flush && !in->held && in->flush(in->data) < 0)
        in->held = true;
    /* The pass's acknowledgements go now, not a loop turn later. */
    if (((events & UV_WRITABLE) || in->m->received != first) && !in->held &&
        mosquitto_want_write(in->mosq)) {
        bool cork = in->m->received - first >= CORK_MIN_ACKS;

        if (cork)
            set_cork(in, 1);
        mosquitto_loop_write(in->mosq, 1);
        if (in->poll != handle)
            return;
        if (cork)
            set_cork(in, 0);
    }
    update_poll(in);
}

static void on_misc(uv_timer_t *t)
{
    struct mqtt_in *in = t->data;

    if (!in->poll)
        return; /* calls without a socket fire on_disconnect again */
    mosquitto_loop_misc(in->mosq);
    update_poll(in);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *text)
{
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
        log_warn("mqtt", "libmosquitto: %s", text);
    else
        log_debug("mqtt", "libmosquitto: %s", text);
}

/*
 * libmosquitto formats every line it logs, debug lines included, into a fresh
 * allocation whenever a log callback is set: two lines per received event (PUBLISH
 * in, PUBACK out), about 5,000 instructions, a tenth of the hub's work per event.
 * Its errors and warnings matter while a connection is made (TLS, CONNACK), so the
 * callback is set from the connect until the broker accepts the session, and all the
 * time only at debug level.
 */
static void watch_library_log(struct mqtt_in *in, bool connecting)
{
    bool want = connecting || log_enabled(LOG_LEVEL_DEBUG);

    mosquitto_log_callback_set(in->mosq, want ? on_log : NULL);
}

static void do_connect(struct mqtt_in *in)
{
    mosquitto_property *props = NULL;
    int rc, fd;

    mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                 (uint32_t)in->cfg->mqtt.session_expiry_s);
    watch_library_log(in, true);
    rc = mosquitto_connect_bind_v5(in->mosq, in->cfg->mqtt.host, in->cfg->mqtt.port,
                                   in->cfg->mqtt.keepalive_s, NULL, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_warn("mqtt", "cannot connect to %s:%d: %s", in->cfg->mqtt.host, in->cfg->mqtt.port,
                 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        in->state = MQ_DOWN;
        schedule_reconnect(in, false);
        return;
    }
    fd = mosquitto_socket(in->mosq);
    /* The socket and the library's socket pair must not leak into workers. */
    (void)cloexec_all();
    if (!(in->poll = malloc(sizeof(*in->poll))) ||
        uv_poll_init_socket(in->loop, in->poll, fd) < 0) {
        log_error("mqtt", "cannot watch the MQTT socket");
        free(in->poll);
        in->poll = NULL;
        mosquitto_disconnect(in->mosq);
        in->state = MQ_DOWN;
        schedule_reconnect(in, false);
        return;
    }
    in->open_handles++;
    in->poll->data = in;
    in->poll_events = -1;
    in->state = MQ_CONNECTING;
    update_poll(in);
}

static void on_probe(uv_connect_t *req, int status)
{
    struct mqtt_in *in = req->data;

    close_handle(in, (uv_handle_t *)in->probe);
    in->probe = NULL;
    if (in->stopping) {
        in->state = MQ_DOWN;
        return;
    }
    if (status < 0) {
        log_warn("mqtt", "broker %s:%d not reachable: %s", in->cfg->mqtt.host,
                 in->cfg->mqtt.port, uv_strerror(status));
        in->state = MQ_DOWN;
        schedule_reconnect(in, false);
        return;
    }
    do_connect(in);
}

static void start_probe(struct mqtt_in *in)
{
    struct sockaddr_storage addr;
    int r;

    if (uv_ip4_addr(in->cfg->mqtt.host, in->cfg->mqtt.port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(in->cfg->mqtt.host, in->cfg->mqtt.port, (struct sockaddr_in6 *)&addr) != 0) {
        log_error("mqtt", "broker address %s is not an IP address", in->cfg->mqtt.host);
        return;
    }
    if (!(in->probe = malloc(sizeof(*in->probe)))) {
        schedule_reconnect(in, false);
        return;
    }
    uv_tcp_init(in->loop, in->probe);
    in->open_handles++;
    in->probe->data = in;
    in->probe_req.data = in;
    r = uv_tcp_connect(&in->probe_req, in->probe, (struct sockaddr *)&addr, on_probe);
    if (r < 0) {
        log_warn("mqtt", "cannot reach %s:%d: %s", in->cfg->mqtt.host, in->cfg->mqtt.port,
                 uv_strerror(r));
        close_handle(in, (uv_handle_t *)in->probe);
        in->probe = NULL;
        schedule_reconnect(in, false);
        return;
    }
    in->state = MQ_PROBING;
}

static void on_reconnect_timer(uv_timer_t *t)
{
    struct mqtt_in *in = t->data;

    if (in->state == MQ_DOWN && !in->stopping && !in->paused)
        start_probe(in);
}

static void schedule_reconnect(struct mqtt_in *in, bool now)
{
    unsigned delay;

    if (in->stopping)
        return;
    delay = backoff_next(&in->backoff_ms, RECONNECT_MIN_MS,
                         in->cfg->mqtt.shared_group[0] ? RECONNECT_MAX_SHARED_MS
                                                       : RECONNECT_MAX_MS);
    uv_timer_start(&in->reconnect, on_reconnect_timer, now ? 0 : delay, 0);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    struct mqtt_in *in = obj;
    char *subs[CONFIG_SUBSCRIPTIONS_MAX];
    int n = in->cfg->mqtt.n_subscriptions;

    if (rc != 0) {
        log_error("mqtt", "broker refused the session: %s", mosquitto_reason_string(rc));
        return; /* the broker closes the connection; on_disconnect follows */
    }
    in->state = MQ_UP;
    in->backoff_ms = 0;
    watch_library_log(in, false);
    if (in->ever_up)
        in->m->mqtt_reconnects++;
    in->ever_up = true;
    log_info("mqtt", "connected to %s:%d as %s (%s session)", in->cfg->mqtt.host,
             in->cfg->mqtt.port, in->cfg->mqtt.client_id,
             (flags & 1) ? "resumed" : "new");
    for (int i = 0; i < n; i++) {
        if (in->cfg->mqtt.shared_group[0])
            snprintf(in->filters[i], sizeof(in->filters[i]), "$share/%s/%s",
                     in->cfg->mqtt.shared_group, in->cfg->mqtt.subscriptions[i]);
        else
            snprintf(in->filters[i], sizeof(in->filters[i]), "%s", in->cfg->mqtt.subscriptions[i]);
        subs[i] = in->filters[i];
    }
    in->n_filters = n;
    /* Retained messages only for a subscription the session did not have: a resumed
     * session (a hub or broker restart) is not handed every device's retained message
     * again, to be dead-lettered or dropped as a duplicate once more. */
    rc = mosquitto_subscribe_multiple(mosq, &in->subscribe_mid, n, subs, 1,
                                      MQTT_SUB_OPT_SEND_RETAIN_NEW, NULL);
    in->subscribing = rc == MOSQ_ERR_SUCCESS;
    if (rc != MOSQ_ERR_SUCCESS) {
        /* Nothing was sent: no filter is subscribed on this connection's account. A
         * reconnect tries again; meanwhile /healthz names the filters and the error. */
        log_error("mqtt", "cannot subscribe: %s", mosquitto_strerror(rc));
        for (int i = 0; i < n; i++)
            in->refused[i] = mosquitto_strerror(rc);
    }
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted, const mosquitto_property *props)
{
    struct mqtt_in *in = obj;
    int n_granted = 0;

    if (mid != in->subscribe_mid)
        return;
    in->subscribing = false;
    for (int i = 0; i < in->n_filters; i++) {
        /* A SUBACK with fewer codes than filters leaves the rest unconfirmed. */
        int code = i < qos_count ? granted[i] : MQTT_RC_UNSPECIFIED;

        if (code >= 0x80) {
            in->refused[i] = mosquitto_reason_string(code);
            in->m->mqtt_subscriptions_refused++;
            log_error("mqtt", "broker refused the subscription to %s: %s", in->filters[i],
                      in->refused[i]);
            continue;
        }
        in->refused[i] = NULL;
        n_granted++;
        if (code < 1)
            log_warn("mqtt", "subscription to %s granted at QoS %d only", in->filters[i], code);
    }
    log_info("mqtt", "subscribed to %d of %d topic filters", n_granted, in->n_filters);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
    struct mqtt_in *in = obj;

    if (!in->poll)
        return; /* already handled this connection's end */
    close_handle(in, (uv_handle_t *)in->poll);
    in->poll = NULL;
    in->state = MQ_DOWN;
    if (in->stopping) {
        finish_stop(in);
        return;
    }
    log_warn("mqtt", "connection to %s:%d lost: %s", in->cfg->mqtt.host, in->cfg->mqtt.port,
             rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    if (!in->paused)
        schedule_reconnect(in, false);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    struct mqtt_in *in = obj;

    in->m->received++;
    in->on_message(in->data, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

struct mqtt_in *mqtt_in_new(uv_loop_t *loop, const struct hub_config *cfg, struct metrics *m,
                            mqtt_in_message_cb on_message_cb, void *data)
{
    struct mqtt_in *in = calloc(1, sizeof(*in));
    const struct hub_config *c = cfg;

    if (!in)
        return NULL;
    in->loop = loop;
    in->cfg = cfg;
    in->m = m;
    in->on_message = on_message_cb;
    in->data = data;
    in->mosq = mosquitto_new(c->mqtt.client_id, false, in);
    if (!in->mosq) {
        free(in);
        return NULL;
    }
    /* Packets are written by loop_write only: see the top of this file. */
    mosquitto_threaded_set(in->mosq, true);
    mosquitto_int_option(in->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(in->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(in->mosq, MOSQ_OPT_RECEIVE_MAXIMUM, RECEIVE_MAXIMUM);
    if (c->mqtt.username[0] &&
        mosquitto_username_pw_set(in->mosq, c->mqtt.username,
                                  c->mqtt.password[0] ? c->mqtt.password : NULL) != 0) {
        mosquitto_destroy(in->mosq);
        free(in);
        errno = ENOMEM;
        return NULL;
    }
    mosquitto_connect_v5_callback_set(in->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(in->mosq, on_disconnect);
    mosquitto_message_v5_callback_set(in->mosq, on_message);
    mosquitto_subscribe_v5_callback_set(in->mosq, on_subscribe);

    uv_timer_init(loop, &in->misc);
    uv_timer_init(loop, &in->reconnect);
    uv_timer_init(loop, &in->linger_timer);
    in->misc.data = in;
    in->reconnect.data = in;
    in->linger_timer.data = in;
    in->linger_fd = -1;
    in->open_handles = 3;
    uv_timer_start(&in->misc, on_misc, MISC_INTERVAL_MS, MISC_INTERVAL_MS);
    schedule_reconnect(in, true);
    return in;
}

void mqtt_in_set_flush(struct mqtt_in *in, mqtt_in_flush_cb flush)
{
    in->flush = flush;
}

void mqtt_in_release(struct mqtt_in *in)
{
    if (!in->held)
        return;
    in->held = false;
    update_poll(in);
}

void mqtt_in_pause(struct mqtt_in *in, bool paused)
{
    if (in->paused == paused || in->stopping)
        return;
    in->paused = paused;
    if (paused)
        in->m->mqtt_pauses++;
    update_poll(in);
    if (!paused && in->state == MQ_DOWN)
        schedule_reconnect(in, true);
}

bool mqtt_in_paused(const struct mqtt_in *in)
{
    return in->paused;
}

bool mqtt_in_connected(const struct mqtt_in *in)
{
    return in->state == MQ_UP;
}

bool mqtt_in_subscribing(const struct mqtt_in *in)
{
    return in->state == MQ_UP && in->subscribing;
}

int mqtt_in_refused(const struct mqtt_in *in)
{
    int n = 0;

    for (int i = 0; i < in->n_filters; i++)
        n += in->refused[i] != NULL;
    return n;
}

/* s as a JSON string: topic filters come from hub.yaml and may hold any byte. */
void mqtt_in_render_refused(const struct mqtt_in *in, FILE *out)
{
    bool first = true;

    fputc('{', out);
    for (int i = 0; in && i < in->n_filters; i++) {
        if (!in->refused[i])
            continue;
        fputs(first ? "" : ",", out);
        http_json_string(out, in->filters[i]);
        fputc(':', out);
        http_json_string(out, in->refused[i]);
        first = false;
    }
    fputc('}', out);
}

/* The last step of a stop: once the session and the linger are over, close the rest. */
static void finish_stop(struct mqtt_in *in)
{
    if (in->poll || in->linger || in->finished)
        return;
    in->finished = true;
    in->state = MQ_DOWN;
    log_info("mqtt", "disconnected; the broker keeps the session");
    uv_close((uv_handle_t *)&in->misc, on_handle_closed);
    uv_close((uv_handle_t *)&in->reconnect, on_handle_closed);
    uv_close((uv_handle_t *)&in->linger_timer, on_handle_closed);
}

static void end_linger(struct mqtt_in *in)
{
    if (!in->linger)
        return;
    close_handle(in, (uv_handle_t *)in->linger);
    in->linger = NULL;
    close(in->linger_fd);
    in->linger_fd = -1;
    uv_timer_stop(&in->linger_timer);
    finish_stop(in);
}

/* Reads and drops what the broker still sends, until it closes its side. */
static void on_linger(uv_poll_t *handle, int status, int events)
{
    struct mqtt_in *in = handle->data;
    char buf[16384];
    ssize_t n;

    while ((n = recv(in->linger_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        ;
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || status < 0)
        end_linger(in);
}

static void on_linger_timeout(uv_timer_t *t)
{
    struct mqtt_in *in = t->data;

    log_warn("mqtt", "the broker did not close the connection within %d ms of DISCONNECT",
             LINGER_MS);
    end_linger(in);
}

/*
 * libmosquitto closes the socket as soon as DISCONNECT is written. If the broker
 * still sends (publishes the hub no longer reads), data arriving at a closed socket
 * is answered with a reset, and a reset can make the broker drop the
 * acknowledgements and the DISCONNECT it has not read yet; it would then send again,
 * after a restart, events the hub already took. So a duplicate of the descriptor
 * keeps the connection open, reading and dropping (those publishes are not
 * acknowledged: the broker keeps them for the session), until the broker closes.
 */
static void start_linger(struct mqtt_in *in, int fd)
{
    int keep = fcntl(fd, F_DUPFD_CLOEXEC, 3);

    if (keep < 0)
        return;
    if (!(in->linger = malloc(sizeof(*in->linger))) ||
        uv_poll_init_socket(in->loop, in->linger, keep) < 0) {
        free(in->linger);
        in->linger = NULL;
        close(keep);
        return;
    }
    in->open_handles++;
    in->linger->data = in;
    in->linger_fd = keep;
    uv_poll_start(in->linger, UV_READABLE, on_linger);
    uv_timer_start(&in->linger_timer, on_linger_timeout, LINGER_MS, 0);
}

void mqtt_in_stop(struct mqtt_in *in, mqtt_in_stopped_cb stopped, void *data)
{
    if (in->stopping)
        return;
    in->stopped = stopped;
    in->stopped_data = data;
    in->paused = true;
    in->stopping = true;
    update_poll(in);
    if (in->poll && in->held) {
        /* Acknowledgements of events the hub could not journal must not leave: end the
         * connection without DISCONNECT; the broker keeps them for the session. */
        log_warn("mqtt", "closing without DISCONNECT: acknowledgements are held back");
        close_handle(in, (uv_handle_t *)in->poll);
        in->poll = NULL;
        (void)shutdown(mosquitto_socket(in->mosq), SHUT_RDWR);
    }
    if (in->poll) {
        start_linger(in, mosquitto_socket(in->mosq));
        /* Writes DISCONNECT now if it can; on_disconnect closes the rest. */
        if (mosquitto_disconnect_v5(in->mosq, 0, NULL) == MOSQ_ERR_SUCCESS) {
            if (in->poll)
                update_poll(in);
            return;
        }
        close_handle(in, (uv_handle_t *)in->poll);
        in->poll = NULL;
        end_linger(in);
    }
    finish_stop(in);
}

void mqtt_in_free(struct mqtt_in *in)
{
    if (!in)
        return;
    mosquitto_destroy(in->mosq);
    free(in);
}
