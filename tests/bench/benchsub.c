// SPDX-License-Identifier: MIT
/*
 * rheinhub-benchsub: the bare subscriber of the ingest benchmark. It subscribes to one
 * filter with a clean session, counts the messages that arrive until it has the
 * expected number or its time is up, and reports the rate from the first message to
 * the last. That rate is the broker's delivery ceiling against which the hub is
 * measured, so it does as little per message as a client can: libmosquitto's own
 * acknowledgement, one counter, one clock read. It prints `ready` once the broker
 * granted the subscription, so a driver knows when to start publishing.
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#define NSEC_PER_SEC 1000000000LL
#define CONNECT_TIMEOUT_NS (10 * NSEC_PER_SEC)
#define KEEPALIVE_S 60
/*
 * QoS 1/2 messages the broker may have in flight to us (MQTT v5 receive maximum). The
 * same as max_inflight_messages in broker-config/mosquitto.conf.in; libmosquitto's
 * default of 20 would make the ceiling a measure of round trips, not of the broker.
 */
#define RECEIVE_MAXIMUM 1000

struct benchsub_opts {
    const char *host;
    int port;
    const char *filter;
    int qos;
    uint64_t count;
    uint64_t timeout_s;
    char client_id[128];
};

struct benchsub {
    struct mosquitto *mosq;
    const struct benchsub_opts *opts;
    bool connected;
    bool connack_seen;
    int connack_rc;       /* CONNACK reason code, 0 on success */
    bool subscribed;      /* SUBACK granted the filter */
    bool failed;          /* SUBACK refused, or the connection dropped */
    int sub_mid;          /* message id of our SUBSCRIBE */
    uint64_t received;    /* messages counted (at most opts->count) */
    int64_t first_ns;     /* monotonic time of the first message, ns */
    int64_t last_ns;      /* monotonic time of the last counted message, ns */
    int64_t last_misc_ns; /* monotonic time of the last keepalive check, ns */
};

static void usage(FILE *out)
{
    fprintf(out, "usage: rheinhub-benchsub [options]\n"
                 "Count the messages that arrive on one MQTT subscription and report their rate.\n"
                 "\n"
                 "  -H host     broker address (127.0.0.1)\n"
                 "  -p port     broker port (1883)\n"
                 "  -t filter   topic filter (+/sensor/#)\n"
                 "  -q qos      0, 1 or 2 (1)\n"
                 "  -n count    messages to wait for (10000)\n"
                 "  -w seconds  give up this long after the subscription was granted (60)\n"
                 "  -i id       MQTT client id (rheinhub-benchsub-<pid>)\n"
                 "  -h          this help\n"
                 "\n"
                 "Prints 'ready' once subscribed, then 'received N in S s (R msg/s)' timed\n"
                 "from the first message to the last; exits 0 when all arrived, 1 when not,\n"
                 "2 on bad usage.\n");
}

static int64_t now_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        perror("clock_gettime");
        exit(1);
    }
    return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Parses a whole decimal number in [min, max]; returns false on anything else. */
static bool parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (text[0] == '\0' || text[0] == '-' || text[0] == '+')
        return false;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Fills *o from argv; prints the reason and returns false on bad usage. */
static bool parse_args(int argc, char **argv, struct benchsub_opts *o)
{
    uint64_t v;
    int c;

    *o = (struct benchsub_opts){
        .host = "127.0.0.1",
        .port = 1883,
        .filter = "+/sensor/#",
        .qos = 1,
        .count = 10000,
        .timeout_s = 60,
    };
    snprintf(o->client_id, sizeof(o->client_id), "rheinhub-benchsub-%ld", (long)getpid());

    while ((c = getopt(argc, argv, "H:p:t:q:n:w:i:h")) != -1) {
        switch (c) {
        case 'H':
            o->host = optarg;
            break;
        case 'p':
            if (!parse_u64(optarg, 1, 65535, &v)) {
                fprintf(stderr, "rheinhub-benchsub: bad port '%s'\n", optarg);
                return false;
            }
            o->port = (int)v;
            break;
        case 't':
            if (mosquitto_sub_topic_check(optarg) != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "rheinhub-benchsub: bad topic filter '%s'\n", optarg);
                return false;
            }
            o->filter = optarg;
            break;
        case 'q':
            if (!parse_u64(optarg, 0, 2, &v)) {
                fprintf(stderr, "rheinhub-benchsub: bad qos '%s'\n", optarg);
                return false;
            }
            o->qos = (int)v;
            break;
        case 'n':
            if (!parse_u64(optarg, 1, UINT64_MAX, &o->count)) {
                fprintf(stderr, "rheinhub-benchsub: bad count '%s'\n", optarg);
                return false;
            }
            break;
        case 'w':
            if (!parse_u64(optarg, 1, 86400, &o->timeout_s)) {
                fprintf(stderr, "rheinhub-benchsub: bad timeout '%s'\n", optarg);
                return false;
            }
            break;
        case 'i':
            if (optarg[0] == '\0' || strlen(optarg) >= sizeof(o->client_id)) {
                fprintf(stderr, "rheinhub-benchsub: bad client id '%s'\n", optarg);
                return false;
            }
            strcpy(o->client_id, optarg);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return false;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "rheinhub-benchsub: unexpected argument '%s'\n", argv[optind]);
        return false;
    }
    return true;
}

static void on_connect(struct mosquitto *mosq, void *arg, int rc, int flags,
                       const mosquitto_property *props)
{
    struct benchsub *bs = arg;

    bs->connack_seen = true;
    bs->connack_rc = rc;
    bs->connected = rc == 0;
}

static void on_disconnect(struct mosquitto *mosq, void *arg, int rc,
                          const mosquitto_property *props)
{
    struct benchsub *bs = arg;

    if (rc != 0 && bs->connected) {
        fprintf(stderr, "rheinhub-benchsub: connection lost: %s\n", mosquitto_strerror(rc));
        bs->failed = true;
    }
    bs->connected = false;
}

static void on_subscribe(struct mosquitto *mosq, void *arg, int mid, int qos_count,
                         const int *granted_qos, const mosquitto_property *props)
{
    struct benchsub *bs = arg;

    if (mid != bs->sub_mid)
        return;
    if (qos_count < 1 || granted_qos[0] >= 0x80) {
        fprintf(stderr, "rheinhub-benchsub: subscription to '%s' refused: %s\n", bs->opts->filter,
                qos_count < 1 ? "empty SUBACK" : mosquitto_reason_string(granted_qos[0]));
        bs->failed = true;
        return;
    }
    bs->subscribed = true;
}

static void on_message(struct mosquitto *mosq, void *arg, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    struct benchsub *bs = arg;
    int64_t t;

    if (!bs->subscribed || bs->received >= bs->opts->count)
        return;
    t = now_ns();
    if (bs->received == 0)
        bs->first_ns = t;
    bs->last_ns = t;
    bs->received++;
}

/*
 * Waits up to timeout_ns for socket activity and lets libmosquitto read, write and
 * keep the connection alive. Returns 0, or -1 when the connection is gone.
 */
static int pump(struct benchsub *bs, int64_t timeout_ns)
{
    struct pollfd pfd;
    struct timespec ts;
    int fd = mosquitto_socket(bs->mosq);
    int rc;

    if (fd < 0)
        return -1;
    if (timeout_ns < 0)
        timeout_ns = 0;
    pfd.fd = fd;
    pfd.events = POLLIN | (mosquitto_want_write(bs->mosq) ? POLLOUT : 0);
    pfd.revents = 0;
    ts.tv_sec = (time_t)(timeout_ns / NSEC_PER_SEC);
    ts.tv_nsec = (long)(timeout_ns % NSEC_PER_SEC);
    rc = ppoll(&pfd, 1, &ts, NULL);
    if (rc < 0 && errno != EINTR) {
        perror("rheinhub-benchsub: ppoll");
        return -1;
    }
    if (rc > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP))) {
        /* Read on while packets keep delivering messages, as the hub does: one poll
         * per message would make the ceiling measure poll(), not the broker. */
        for (int i = 0; i < 256; i++) {
            uint64_t before = bs->received;
            rc = mosquitto_loop_read(bs->mosq, 1);
            if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "rheinhub-benchsub: read: %s\n", mosquitto_strerror(rc));
                return -1;
            }
            if (bs->received == before || bs->received >= bs->opts->count)
                break;
        }
    }
    /* PUBACKs queued while reading are written here, not by the library. */
    if (mosquitto_socket(bs->mosq) >= 0 && mosquitto_want_write(bs->mosq)) {
        rc = mosquitto_loop_write(bs->mosq, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "rheinhub-benchsub: write: %s\n", mosquitto_strerror(rc));
            return -1;
        }
    }
    if (now_ns() - bs->last_misc_ns >= NSEC_PER_SEC) {
        bs->last_misc_ns = now_ns();
        rc = mosquitto_loop_misc(bs->mosq);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "rheinhub-benchsub: keepalive: %s\n", mosquitto_strerror(rc));
            return -1;
        }
    }
    return bs->failed ? -1 : 0;
}

/* Connects, subscribes and waits for the SUBACK. Returns 0 or -1 with the reason printed. */
static int subscribe(struct benchsub *bs)
{
    const struct benchsub_opts *o = bs->opts;
    int64_t deadline;
    int rc;

    rc = mosquitto_connect(bs->mosq, o->host, o->port, KEEPALIVE_S);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "rheinhub-benchsub: connect %s:%d: %s\n", o->host, o->port,
                rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        return -1;
    }
    deadline = now_ns() + CONNECT_TIMEOUT_NS;
    while (!bs->connack_seen) {
        if (now_ns() >= deadline) {
            fprintf(stderr, "rheinhub-benchsub: no CONNACK from %s:%d\n", o->host, o->port);
            return -1;
        }
        if (pump(bs, 100000000LL) != 0) {
            fprintf(stderr, "rheinhub-benchsub: connection to %s:%d closed\n", o->host, o->port);
            return -1;
        }
    }
    if (bs->connack_rc != 0) {
        fprintf(stderr, "rheinhub-benchsub: broker refused: %s\n",
                mosquitto_reason_string(bs->connack_rc));
        return -1;
    }

    rc = mosquitto_subscribe_v5(bs->mosq, &bs->sub_mid, o->filter, o->qos, 0, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "rheinhub-benchsub: subscribe '%s': %s\n", o->filter,
                mosquitto_strerror(rc));
        return -1;
    }
    deadline = now_ns() + CONNECT_TIMEOUT_NS;
    while (!bs->subscribed) {
        if (now_ns() >= deadline) {
            fprintf(stderr, "rheinhub-benchsub: no SUBACK for '%s'\n", o->filter);
            return -1;
        }
        if (pump(bs, 100000000LL) != 0)
            return -1;
    }
    return 0;
}

/* Sends DISCONNECT and lets it reach the socket; errors only matter as a message. */
static void disconnect_broker(struct benchsub *bs)
{
    int64_t deadline = now_ns() + NSEC_PER_SEC;
    int rc;

    if (!bs->connected)
        return;
    rc = mosquitto_disconnect_v5(bs->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL);
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
        fprintf(stderr, "rheinhub-benchsub: disconnect: %s\n", mosquitto_strerror(rc));
        return;
    }
    while (mosquitto_socket(bs->mosq) >= 0 && mosquitto_want_write(bs->mosq) &&
           now_ns() < deadline) {
        if (mosquitto_loop_write(bs->mosq, 1) != MOSQ_ERR_SUCCESS)
            break;
    }
}

int main(int argc, char **argv)
{
    struct benchsub_opts o;
    struct benchsub bs = {0};
    int64_t deadline;
    double secs;
    int rc, status = 1;

    if (!parse_args(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    bs.opts = &o;
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        perror("rheinhub-benchsub: signal");
        return 1;
    }

    rc = mosquitto_lib_init();
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "rheinhub-benchsub: mosquitto_lib_init: %s\n", mosquitto_strerror(rc));
        return 1;
    }
    bs.mosq = mosquitto_new(o.client_id, true, &bs);
    if (bs.mosq == NULL) {
        fprintf(stderr, "rheinhub-benchsub: mosquitto_new: %s\n", strerror(errno));
        goto out_lib;
    }
    if ((rc = mosquitto_int_option(bs.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5)) ||
        (rc = mosquitto_int_option(bs.mosq, MOSQ_OPT_TCP_NODELAY, 1)) ||
        (rc = mosquitto_int_option(bs.mosq, MOSQ_OPT_RECEIVE_MAXIMUM, RECEIVE_MAXIMUM))) {
        fprintf(stderr, "rheinhub-benchsub: option: %s\n", mosquitto_strerror(rc));
        goto out_mosq;
    }
    mosquitto_connect_v5_callback_set(bs.mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(bs.mosq, on_disconnect);
    mosquitto_subscribe_v5_callback_set(bs.mosq, on_subscribe);
    mosquitto_message_v5_callback_set(bs.mosq, on_message);

    if (subscribe(&bs) != 0)
        goto out_mosq;
    if (printf("ready\n") < 0 || fflush(stdout) != 0) {
        perror("rheinhub-benchsub: stdout");
        goto out_mosq;
    }

    deadline = now_ns() + (int64_t)o.timeout_s * NSEC_PER_SEC;
    while (bs.received < o.count) {
        int64_t left = deadline - now_ns();

        if (left <= 0)
            break;
        if (pump(&bs, left < NSEC_PER_SEC ? left : NSEC_PER_SEC) != 0)
            break;
    }
    /* Flush the last PUBACKs before saying goodbye. */
    if (mosquitto_socket(bs.mosq) >= 0 && mosquitto_want_write(bs.mosq))
        (void)pump(&bs, 0);
    disconnect_broker(&bs);

    secs = bs.received > 1 ? (double)(bs.last_ns - bs.first_ns) / (double)NSEC_PER_SEC : 0.0;
    if (printf("received %" PRIu64 " in %.3f s (%.0f msg/s)\n", bs.received, secs,
               secs > 0 ? (double)bs.received / secs : 0.0) < 0 ||
        fflush(stdout) != 0) {
        perror("rheinhub-benchsub: stdout");
        goto out_mosq;
    }
    if (bs.received < o.count) {
        fprintf(stderr, "rheinhub-benchsub: %" PRIu64 " of %" PRIu64 " messages missing\n",
                o.count - bs.received, o.count);
        goto out_mosq;
    }
    status = 0;

out_mosq:
    mosquitto_destroy(bs.mosq);
out_lib:
    mosquitto_lib_cleanup();
    return status;
}
