// SPDX-License-Identifier: MIT
/*
 * rheinhub-loadgen: publishes a numbered stream of sensor events over MQTT at a given
 * rate, for the benchmarks and for load tests. Message k (offset <= k < offset + count)
 * is reading k / subjects of device d = k % subjects and goes to
 * `<m>/<category>/<type>/<prefix><d>`, the type being the (d % types)-th of the list
 * given; it carries k in the nanoseconds of its `time`, so a consumer can recover the
 * sequence number. The `time`'s seconds are a fixed instant, or the wall clock when
 * the message is written (-t), for consumers whose windows close by the clock. The
 * program drives libmosquitto from its own poll() loop on one thread:
 * publishes are written straight to the socket, PUBACKs are read between bursts. The
 * number of publishes not yet acknowledged (QoS 1/2) or not yet written (QoS 0) is
 * bounded, so memory stays flat at any rate. It exits 0 only when every message was
 * acknowledged (QoS 1/2) or written to the socket (QoS 0).
 */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "bench_client.h"

/* Publishes on their way (unacked, or unwritten for QoS 0) before we wait. */
#define MAX_UNACKED 1000
/* Publishes per burst before reading acknowledgements again. */
#define MAX_BURST 256
/* Shortest sleep between paced bursts, ns: at high rates a burst holds several. */
#define MIN_PACE_SLEEP_NS 1000000LL
/* Give up when nothing was acknowledged for this long, ns. */
#define STALL_TIMEOUT_NS (30 * NSEC_PER_SEC)
/* Sequence numbers live in the 9 nanosecond digits of `time`. */
#define MAX_SEQUENCE 1000000000ULL
/* Event types one run may spread its devices over (-T a,b,c). */
#define MAX_TYPES 8

/* The payloads the generator writes: a water level (also for any type it does not
 * know), a parking bay's state, an air quality station's reading. */
enum payload_kind { PAYLOAD_WATERLEVEL, PAYLOAD_PARKING, PAYLOAD_AIRQUALITY };

struct event_type {
    char category[64];
    char type[64];
    enum payload_kind kind;
};

struct loadgen_opts {
    const char *host;
    int port;
    uint64_t count;
    uint64_t rate; /* messages per second, 0: as fast as possible */
    int qos;
    const char *municipality;
    struct event_type types[MAX_TYPES];
    uint64_t ntypes;
    uint64_t subjects;
    const char *subject_prefix;
    uint64_t offset;
    char client_id[128];
    uint64_t bad_every; /* 0: off; else every bad_every-th message is schema-invalid */
    bool live_time;     /* `time` in the wall clock's second, not a fixed one */
};

struct loadgen {
    struct bench_client c; /* first: the callbacks' userdata; a refused publish fails it */
    uint64_t published;    /* mosquitto_publish calls that succeeded */
    uint64_t acked;        /* on_publish calls: PUBACK/PUBCOMP, or written for QoS 0 */
    int64_t last_ack_ns;   /* monotonic time of the last on_publish, ns */
};

static void usage(FILE *out)
{
    fprintf(out, "usage: rheinhub-loadgen [options]\n"
                 "Publish numbered sensor events to an MQTT broker.\n"
                 "\n"
                 "  -H host     broker address (127.0.0.1)\n"
                 "  -p port     broker port (1883)\n"
                 "  -n count    messages to publish (10000)\n"
                 "  -r rate     messages per second, 0 = as fast as possible (0)\n"
                 "  -q qos      0, 1 or 2 (1)\n"
                 "  -m name     municipality (linz)\n"
                 "  -T types    event types <category>.<type>, comma-separated, at most 8\n"
                 "              (sensor.waterlevel); device d sends the (d %% types)-th\n"
                 "  -s number   number of subjects, the devices (10)\n"
                 "  -t          time: the wall clock's second when written (default:\n"
                 "              2026-11-26T06:00:00Z), sequence number in the nanoseconds\n"
                 "  -S prefix   subject prefix (gauge-)\n"
                 "  -o offset   first sequence number (0); offset + count <= 1000000000\n"
                 "  -i id       MQTT client id (rheinhub-loadgen-<pid>)\n"
                 "  -B every    make every <every>-th message schema-invalid (off)\n"
                 "  -h          this help\n"
                 "\n"
                 "Topic: <m>/<category>/<type>/<prefix><d>, d = k %% subjects\n"
                 "Payloads: sensor.parking a bay's status, sensor.airquality pm10 and no2,\n"
                 "any other type a water level in cm. With one type the level of message k\n"
                 "is 300 + k %% 400; with several, each device's level rises by 10 cm per\n"
                 "reading (k / subjects) from 300 + d %% 400, wrapping from 699 to 300.\n"
                 "Prints 'published N in S s (R msg/s)'; exits 0 when every message was\n"
                 "acknowledged (QoS 0: written), 1 when not, 2 on bad usage.\n");
}

static bool topic_part_ok(const char *s)
{
    return s[0] != '\0' && strpbrk(s, "/+#") == NULL;
}

/* Splits "category.type" (len bytes of text) at its first dot into two parts that can
 * stand in a topic, and picks the payload the type gets. */
static bool parse_type(const char *text, size_t len, struct event_type *t)
{
    const char *dot = memchr(text, '.', len);
    size_t clen, tlen;

    if (dot == NULL)
        return false;
    clen = (size_t)(dot - text);
    tlen = len - clen - 1;
    if (clen == 0 || tlen == 0 || clen >= sizeof(t->category) || tlen >= sizeof(t->type))
        return false;
    memcpy(t->category, text, clen);
    t->category[clen] = '\0';
    memcpy(t->type, dot + 1, tlen);
    t->type[tlen] = '\0';
    if (!topic_part_ok(t->category) || !topic_part_ok(t->type))
        return false;
    t->kind = PAYLOAD_WATERLEVEL;
    if (strcmp(t->category, "sensor") == 0 && strcmp(t->type, "parking") == 0)
        t->kind = PAYLOAD_PARKING;
    else if (strcmp(t->category, "sensor") == 0 && strcmp(t->type, "airquality") == 0)
        t->kind = PAYLOAD_AIRQUALITY;
    return true;
}

/* Fills o->types from a comma-separated list of types. */
static bool parse_types(const char *text, struct loadgen_opts *o)
{
    o->ntypes = 0;
    for (;;) {
        size_t len = strcspn(text, ",");

        if (o->ntypes == MAX_TYPES || !parse_type(text, len, &o->types[o->ntypes]))
            return false;
        o->ntypes++;
        if (text[len] == '\0')
            return true;
        text += len + 1;
    }
}

/* Fills *o from argv; prints the reason and returns false on bad usage. */
static bool parse_args(int argc, char **argv, struct loadgen_opts *o)
{
    const char *type = "sensor.waterlevel";
    uint64_t v;
    int c;

    *o = (struct loadgen_opts){
        .host = "127.0.0.1",
        .port = 1883,
        .count = 10000,
        .rate = 0,
        .qos = 1,
        .municipality = "linz",
        .subjects = 10,
        .subject_prefix = "gauge-",
        .offset = 0,
        .bad_every = 0,
    };
    snprintf(o->client_id, sizeof(o->client_id), "rheinhub-loadgen-%ld", (long)getpid());

    while ((c = getopt(argc, argv, "H:p:n:r:q:m:T:s:S:o:i:B:th")) != -1) {
        switch (c) {
        case 'H':
            o->host = optarg;
            break;
        case 'p':
            if (!bench_parse_u64(optarg, 1, 65535, &v)) {
                fprintf(stderr, "rheinhub-loadgen: bad port '%s'\n", optarg);
                return false;
            }
            o->port = (int)v;
            break;
        case 'n':
            if (!bench_parse_u64(optarg, 1, MAX_SEQUENCE, &o->count)) {
                fprintf(stderr, "rheinhub-loadgen: bad count '%s'\n", optarg);
                return false;
            }
            break;
        case 'r':
            if (!bench_parse_u64(optarg, 0, 100000000, &o->rate)) {
                fprintf(stderr, "rheinhub-loadgen: bad rate '%s'\n", optarg);
                return false;
            }
            break;
        case 'q':
            if (!bench_parse_u64(optarg, 0, 2, &v)) {
                fprintf(stderr, "rheinhub-loadgen: bad qos '%s'\n", optarg);
                return false;
            }
            o->qos = (int)v;
            break;
        case 'm':
            o->municipality = optarg;
            break;
        case 'T':
            type = optarg;
            break;
        case 's':
            if (!bench_parse_u64(optarg, 1, MAX_SEQUENCE, &o->subjects)) {
                fprintf(stderr, "rheinhub-loadgen: bad subject count '%s'\n", optarg);
                return false;
            }
            break;
        case 'S':
            o->subject_prefix = optarg;
            break;
        case 'o':
            if (!bench_parse_u64(optarg, 0, MAX_SEQUENCE - 1, &o->offset)) {
                fprintf(stderr, "rheinhub-loadgen: bad offset '%s'\n", optarg);
                return false;
            }
            break;
        case 'i':
            if (optarg[0] == '\0' || strlen(optarg) >= sizeof(o->client_id)) {
                fprintf(stderr, "rheinhub-loadgen: bad client id '%s'\n", optarg);
                return false;
            }
            strcpy(o->client_id, optarg);
            break;
        case 'B':
            if (!bench_parse_u64(optarg, 1, MAX_SEQUENCE, &o->bad_every)) {
                fprintf(stderr, "rheinhub-loadgen: bad -B value '%s'\n", optarg);
                return false;
            }
            break;
        case 't':
            o->live_time = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return false;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "rheinhub-loadgen: unexpected argument '%s'\n", argv[optind]);
        return false;
    }
    if (!parse_types(type, o)) {
        fprintf(stderr, "rheinhub-loadgen: bad type list '%s', want at most %d of "
                "<category>.<type>, comma-separated\n", type, MAX_TYPES);
        return false;
    }
    if (!topic_part_ok(o->municipality)) {
        fprintf(stderr, "rheinhub-loadgen: bad municipality '%s'\n", o->municipality);
        return false;
    }
    if (strpbrk(o->subject_prefix, "/+#") != NULL) {
        fprintf(stderr, "rheinhub-loadgen: bad subject prefix '%s'\n", o->subject_prefix);
        return false;
    }
    if (o->offset + o->count > MAX_SEQUENCE) {
        fprintf(stderr, "rheinhub-loadgen: offset + count must be <= %llu\n", MAX_SEQUENCE);
        return false;
    }
    return true;
}

static void on_publish(struct mosquitto *mosq, void *arg, int mid, int reason,
                       const mosquitto_property *props)
{
    struct loadgen *lg = arg;

    /* A v5 PUBACK with a failure reason still ends the exchange; the broker says it
     * did not take the message, so it does not count as acknowledged. */
    if (reason >= 0x80) {
        fprintf(stderr, "rheinhub-loadgen: publish %d refused: %s\n", mid,
                mosquitto_reason_string(reason));
        lg->c.failed = true;
        return;
    }
    lg->acked++;
    lg->last_ack_ns = bench_now_ns();
}

/* Writes the `time` of message k: a fixed second or the wall clock's, k in the
 * nanoseconds. Returns false when the clock fails. */
static bool format_time(const struct loadgen_opts *o, uint64_t k, char *out, size_t size)
{
    struct timespec now;
    struct tm tm;
    time_t second = 1795672800; /* 2026-11-26T06:00:00Z */

    if (o->live_time) {
        if (clock_gettime(CLOCK_REALTIME, &now) != 0)
            return false;
        second = now.tv_sec;
    }
    if (gmtime_r(&second, &tm) == NULL)
        return false;
    return snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRIu64 "Z",
                    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                    tm.tm_sec, k) < (int)size;
}

/* Writes the payload of reading `round` of device d (message k) of type t. */
static int format_payload(const struct loadgen_opts *o, const struct event_type *t,
                          uint64_t k, const char *time_text, char *payload, size_t size)
{
    uint64_t d = k % o->subjects, round = k / o->subjects;
    /* One type: the level the tools always sent; several: each device's own rise. */
    uint64_t level = o->ntypes == 1 ? k % 400 : (d + 10 * round) % 400;

    if (o->bad_every != 0 && k % o->bad_every == o->bad_every - 1)
        return snprintf(payload, size,
                        "{\"time\":\"%s\",\"value\":\"high\",\"unit\":\"cm\",\"trend\":0}",
                        time_text);
    switch (t->kind) {
    case PAYLOAD_PARKING:
        return snprintf(payload, size, "{\"time\":\"%s\",\"status\":\"%s\"}", time_text,
                        (d + round) % 3 == 0 ? "free" : "occupied");
    case PAYLOAD_AIRQUALITY:
        return snprintf(payload, size, "{\"time\":\"%s\",\"pm10\":%" PRIu64 ",\"no2\":%" PRIu64
                        "}", time_text, 5 + (d + round) % 60, 10 + (3 * d + round) % 90);
    case PAYLOAD_WATERLEVEL:
        break;
    }
    return snprintf(payload, size,
                    "{\"time\":\"%s\",\"value\":%" PRIu64 ",\"unit\":\"cm\",\"trend\":0}",
                    time_text, 300 + level);
}

/* Writes the topic and payload of message k; returns the payload length, -1 when
 * either does not fit or the clock fails. */
static int format_message(const struct loadgen_opts *o, uint64_t k, char *topic, size_t topic_size,
                          char *payload, size_t payload_size)
{
    uint64_t d = k % o->subjects;
    const struct event_type *t = &o->types[d % o->ntypes];
    char time_text[64];
    int n;

    n = snprintf(topic, topic_size, "%s/%s/%s/%s%" PRIu64, o->municipality, t->category,
                 t->type, o->subject_prefix, d);
    if (n < 0 || (size_t)n >= topic_size)
        return -1;
    if (!format_time(o, k, time_text, sizeof(time_text)))
        return -1;
    n = format_payload(o, t, k, time_text, payload, payload_size);
    if (n < 0 || (size_t)n >= payload_size)
        return -1;
    return n;
}

/*
 * Publishes every message, paced by o->rate against the monotonic clock, then waits for
 * the outstanding acknowledgements. Returns 0 when all were acknowledged, -1 when not.
 */
static int run(struct loadgen *lg, const struct loadgen_opts *o, int64_t *start_ns)
{
    char topic[512];
    char payload[256];
    uint64_t next = 0; /* messages published so far, relative to offset */
    int64_t t0 = bench_now_ns();
    int64_t stall_from;

    *start_ns = t0;
    lg->last_ack_ns = t0;
    while (next < o->count) {
        uint64_t allowed = o->count - next;
        uint64_t in_flight = lg->published - lg->acked;
        int64_t wait_ns = 0;
        bool paced = false;

        if (o->rate > 0) {
            double elapsed_s = (double)(bench_now_ns() - t0) / (double)NSEC_PER_SEC;
            uint64_t due = (uint64_t)(elapsed_s * (double)o->rate) + 1;

            if (due > o->count)
                due = o->count;
            if (due <= next) {
                /* Message i is due i / rate seconds after the start. */
                int64_t next_at =
                    t0 + (int64_t)((double)next * (double)NSEC_PER_SEC / (double)o->rate);
                allowed = 0;
                paced = true;
                wait_ns = next_at - bench_now_ns();
                if (wait_ns < MIN_PACE_SLEEP_NS)
                    wait_ns = MIN_PACE_SLEEP_NS;
            } else if (due - next < allowed) {
                allowed = due - next;
            }
        }
        if (in_flight >= MAX_UNACKED) {
            allowed = 0;
            if (!paced)
                wait_ns = NSEC_PER_SEC / 10;
        } else if (allowed > MAX_UNACKED - in_flight) {
            allowed = MAX_UNACKED - in_flight;
        }
        if (allowed > MAX_BURST)
            allowed = MAX_BURST;

        for (uint64_t i = 0; i < allowed; i++) {
            uint64_t k = o->offset + next;
            int len = format_message(o, k, topic, sizeof(topic), payload, sizeof(payload));
            int rc;

            if (len < 0) {
                fprintf(stderr, "rheinhub-loadgen: topic or payload too long, or no clock\n");
                return -1;
            }
            rc = mosquitto_publish_v5(lg->c.mosq, NULL, topic, len, payload, o->qos, false, NULL);
            if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "rheinhub-loadgen: publish %" PRIu64 ": %s\n", k,
                        rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
                return -1;
            }
            lg->published++;
            next++;
        }
        if (bench_client_pump(&lg->c, wait_ns) != 0)
            return -1;
        if (lg->published - lg->acked >= MAX_UNACKED &&
            bench_now_ns() - lg->last_ack_ns > STALL_TIMEOUT_NS) {
            fprintf(stderr, "rheinhub-loadgen: no acknowledgement for %lld s\n",
                    STALL_TIMEOUT_NS / NSEC_PER_SEC);
            return -1;
        }
    }

    stall_from = lg->last_ack_ns;
    while (lg->acked < lg->published) {
        if (bench_client_pump(&lg->c, NSEC_PER_SEC / 10) != 0)
            return -1;
        if (lg->last_ack_ns > stall_from)
            stall_from = lg->last_ack_ns;
        if (bench_now_ns() - stall_from > STALL_TIMEOUT_NS) {
            fprintf(stderr, "rheinhub-loadgen: no acknowledgement for %lld s\n",
                    STALL_TIMEOUT_NS / NSEC_PER_SEC);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct loadgen_opts o;
    struct loadgen lg = {0};
    int64_t start_ns = 0, end_ns;
    double secs;
    int rc, status = 1;

    if (!parse_args(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        perror("rheinhub-loadgen: signal");
        return 1;
    }

    if (bench_client_open(&lg.c, "rheinhub-loadgen", o.client_id, MOSQ_OPT_SEND_MAXIMUM,
                          MAX_UNACKED) != 0)
        goto out;
    mosquitto_publish_v5_callback_set(lg.c.mosq, on_publish);

    if (bench_client_connect(&lg.c, o.host, o.port) != 0)
        goto out;
    rc = run(&lg, &o, &start_ns);
    end_ns = lg.acked > 0 ? lg.last_ack_ns : bench_now_ns();
    bench_client_disconnect(&lg.c);

    secs = (double)(end_ns - start_ns) / (double)NSEC_PER_SEC;
    printf("published %" PRIu64 " in %.3f s (%.0f msg/s)\n", lg.acked, secs,
           secs > 0 ? (double)lg.acked / secs : 0.0);
    if (fflush(stdout) != 0) {
        perror("rheinhub-loadgen: stdout");
        goto out;
    }
    if (rc != 0 || lg.acked < o.count) {
        fprintf(stderr, "rheinhub-loadgen: %" PRIu64 " of %" PRIu64 " messages not %s\n",
                o.count - lg.acked, o.count, o.qos == 0 ? "written" : "acknowledged");
        goto out;
    }
    status = 0;

out:
    bench_client_close(&lg.c);
    return status;
}
