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
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mosquitto.h>

#include "bench_client.h"

#define SUBACK_TIMEOUT_NS (10 * NSEC_PER_SEC)
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
    struct bench_client c; /* first: the callbacks' userdata */
    const struct benchsub_opts *opts;
    bool subscribed;   /* SUBACK granted the filter (a refusal fails the client) */
    int sub_mid;       /* message id of our SUBSCRIBE */
    uint64_t received; /* messages counted (at most opts->count) */
    int64_t first_ns;  /* monotonic time of the first message, ns */
    int64_t last_ns;   /* monotonic time of the last counted message, ns */
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
            if (!bench_parse_u64(optarg, 1, 65535, &v)) {
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
            if (!bench_parse_u64(optarg, 0, 2, &v)) {
                fprintf(stderr, "rheinhub-benchsub: bad qos '%s'\n", optarg);
                return false;
            }
            o->qos = (int)v;
            break;
        case 'n':
            if (!bench_parse_u64(optarg, 1, UINT64_MAX, &o->count)) {
                fprintf(stderr, "rheinhub-benchsub: bad count '%s'\n", optarg);
                return false;
            }
            break;
        case 'w':
            if (!bench_parse_u64(optarg, 1, 86400, &o->timeout_s)) {
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

static void on_subscribe(struct mosquitto *mosq, void *arg, int mid, int qos_count,
                         const int *granted_qos, const mosquitto_property *props)
{
    struct benchsub *bs = arg;

    if (mid != bs->sub_mid)
        return;
    if (qos_count < 1 || granted_qos[0] >= 0x80) {
        fprintf(stderr, "rheinhub-benchsub: subscription to '%s' refused: %s\n", bs->opts->filter,
                qos_count < 1 ? "empty SUBACK" : mosquitto_reason_string(granted_qos[0]));
        bs->c.failed = true;
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
    t = bench_now_ns();
    if (bs->received == 0)
        bs->first_ns = t;
    bs->last_ns = t;
    bs->received++;
}

/* Connects, subscribes and waits for the SUBACK. Returns 0 or -1 with the reason printed. */
static int subscribe(struct benchsub *bs)
{
    const struct benchsub_opts *o = bs->opts;
    int64_t deadline;
    int rc;

    if (bench_client_connect(&bs->c, o->host, o->port) != 0)
        return -1;
    rc = mosquitto_subscribe_v5(bs->c.mosq, &bs->sub_mid, o->filter, o->qos, 0, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "rheinhub-benchsub: subscribe '%s': %s\n", o->filter,
                mosquitto_strerror(rc));
        return -1;
    }
    deadline = bench_now_ns() + SUBACK_TIMEOUT_NS;
    while (!bs->subscribed) {
        if (bench_now_ns() >= deadline) {
            fprintf(stderr, "rheinhub-benchsub: no SUBACK for '%s'\n", o->filter);
            return -1;
        }
        if (bench_client_pump(&bs->c, NSEC_PER_SEC / 10) != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct benchsub_opts o;
    struct benchsub bs = {0};
    int64_t deadline;
    double secs;
    int status = 1;

    if (!parse_args(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    bs.opts = &o;
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        perror("rheinhub-benchsub: signal");
        return 1;
    }

    bs.c.progress = &bs.received;
    if (bench_client_open(&bs.c, "rheinhub-benchsub", o.client_id, MOSQ_OPT_RECEIVE_MAXIMUM,
                          RECEIVE_MAXIMUM) != 0)
        goto out;
    mosquitto_subscribe_v5_callback_set(bs.c.mosq, on_subscribe);
    mosquitto_message_v5_callback_set(bs.c.mosq, on_message);

    if (subscribe(&bs) != 0)
        goto out;
    if (printf("ready\n") < 0 || fflush(stdout) != 0) {
        perror("rheinhub-benchsub: stdout");
        goto out;
    }

    deadline = bench_now_ns() + (int64_t)o.timeout_s * NSEC_PER_SEC;
    while (bs.received < o.count) {
        int64_t left = deadline - bench_now_ns();

        if (left <= 0)
            break;
        if (bench_client_pump(&bs.c, left < NSEC_PER_SEC ? left : NSEC_PER_SEC) != 0)
            break;
    }
    /* Flush the last PUBACKs before saying goodbye. */
    if (mosquitto_socket(bs.c.mosq) >= 0 && mosquitto_want_write(bs.c.mosq))
        (void)bench_client_pump(&bs.c, 0);
    bench_client_disconnect(&bs.c);

    secs = bs.received > 1 ? (double)(bs.last_ns - bs.first_ns) / (double)NSEC_PER_SEC : 0.0;
    if (printf("received %" PRIu64 " in %.3f s (%.0f msg/s)\n", bs.received, secs,
               secs > 0 ? (double)bs.received / secs : 0.0) < 0 ||
        fflush(stdout) != 0) {
        perror("rheinhub-benchsub: stdout");
        goto out;
    }
    if (bs.received < o.count) {
        fprintf(stderr, "rheinhub-benchsub: %" PRIu64 " of %" PRIu64 " messages missing\n",
                o.count - bs.received, o.count);
        goto out;
    }
    status = 0;

out:
    bench_client_close(&bs.c);
    return status;
}
