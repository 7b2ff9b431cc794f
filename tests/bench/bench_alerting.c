// SPDX-License-Identifier: MIT
/*
 * rheinhub-bench-alerting: publish-to-alert latency. It publishes sensor.waterlevel
 * events at a fixed rate, each with its own wall clock (ns) in `time`, and subscribes
 * to the alert topics; the latency of an alert is its arrival time at the subscriber
 * minus the `event_time` it carries, both read from this process's CLOCK_REALTIME.
 *
 * Event i goes to subject g<i % S>; in round r = i / S, subject k reads 700 cm when
 * (r + k) % 10 == 0 and 500 cm otherwise, so 10 % of the events are over the flood
 * level (650 cm) and each of them raises a new alert, which the subject's next event
 * (500 cm, below the clear level 620) clears. Raises and clears are measured apart.
 *
 * The publisher drives its libmosquitto client itself, on the main thread, so that a
 * publish is written to the socket at once; the subscriber runs libmosquitto's thread.
 * Both use TCP_NODELAY. Events of the first `-w` seconds are a warm-up and not counted.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#define NSEC_PER_SEC 1000000000LL
#define DRAIN_NS (5 * NSEC_PER_SEC) /* how long to wait for the last alerts */
#define OVER_LEVEL 700
#define UNDER_LEVEL 500

struct opts {
    const char *host;
    int port;
    double rate;
    double duration_s;
    double warmup_s;
    long subjects;
    const char *municipality;
};

struct samples {
    int64_t *v;
    size_t n, cap;
};

struct bench {
    struct opts o;
    pthread_mutex_t lock;
    bool subscribed;
    int64_t window_start_ns, window_end_ns; /* event times that count */
    struct samples raise, clear;
    uint64_t alerts, unparsable, outside;
};

static int64_t wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void sleep_until(int64_t mono)
{
    struct timespec ts = {mono / NSEC_PER_SEC, mono % NSEC_PER_SEC};

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void add(struct samples *s, int64_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        int64_t *p = realloc(s->v, cap * sizeof(*p));
        if (!p)
            return;
        s->v = p;
        s->cap = cap;
    }
    s->v[s->n++] = v;
}

/* "YYYY-MM-DDThh:mm:ss.nnnnnnnnnZ" as this program writes it, to ns; -1 when not. */
static int64_t parse_time(const char *s, size_t n)
{
    struct tm tm = {0};
    int64_t frac = 0, scale = 100000000;
    size_t i = 19;

    if (n < 20 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                         &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    if (s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
            frac += (s[i] - '0') * scale;
    if (i >= n || s[i] != 'Z')
        return -1;
    return (int64_t)timegm(&tm) * NSEC_PER_SEC + frac;
}

/* The text of a string member "key":"..." in flat JSON, or NULL. */
static const char *member(const char *json, size_t len, const char *key, size_t *out_len)
{
    char pat[64];
    const char *p, *end;

    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    if (!(p = memmem(json, len, pat, strlen(pat))))
        return NULL;
    p += strlen(pat);
    if (!(end = memchr(p, '"', len - (size_t)(p - json))))
        return NULL;
    *out_len = (size_t)(end - p);
    return p;
}

static void on_connect(struct mosquitto *mosq, void *data, int rc)
{
    if (rc == 0)
        mosquitto_subscribe(mosq, NULL, "+/alerts/#", 1);
    else
        fprintf(stderr, "bench: subscriber refused: %s\n", mosquitto_connack_string(rc));
}

static void on_subscribe(struct mosquitto *mosq, void *data, int mid, int n, const int *q)
{
    struct bench *b = data;

    pthread_mutex_lock(&b->lock);
    b->subscribed = true;
    pthread_mutex_unlock(&b->lock);
}

static void on_message(struct mosquitto *mosq, void *data, const struct mosquitto_message *m)
{
    struct bench *b = data;
    int64_t arrival = wall_ns(), t;
    size_t tlen = 0, slen = 0;
    const char *tv = member(m->payload, (size_t)m->payloadlen, "event_time", &tlen);
    const char *sv = member(m->payload, (size_t)m->payloadlen, "state", &slen);

    pthread_mutex_lock(&b->lock);
    b->alerts++;
    if (!tv || !sv || (t = parse_time(tv, tlen)) < 0) {
        b->unparsable++;
    } else if (t < b->window_start_ns || t >= b->window_end_ns) {
        b->outside++;
    } else if (slen == 6 && memcmp(sv, "active", 6) == 0) {
        add(&b->raise, arrival - t);
    } else if (slen == 7 && memcmp(sv, "cleared", 7) == 0) {
        add(&b->clear, arrival - t);
    } else {
        b->outside++;
    }
    pthread_mutex_unlock(&b->lock);
}

static int cmp64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;

    return a < c ? -1 : a > c;
}

static double pct(const struct samples *s, double p)
{
    size_t k;

    if (!s->n)
        return 0;
    k = (size_t)(p / 100.0 * (double)(s->n - 1) + 0.5);
    return (double)s->v[k] / 1e6;
}

static void report(const char *what, struct samples *s, uint64_t expected)
{
    qsort(s->v, s->n, sizeof(*s->v), cmp64);
    printf("%-7s %7zu of %7" PRIu64 "  p50 %7.3f ms  p90 %7.3f ms  p99 %7.3f ms  "
           "p99.9 %7.3f ms  max %8.3f ms\n",
           what, s->n, expected, pct(s, 50), pct(s, 90), pct(s, 99), pct(s, 99.9), pct(s, 100));
}

static void usage(FILE *out)
{
    fprintf(out, "usage: rheinhub-bench-alerting [options]\n"
                 "Publish-to-alert latency through the hub and rheinhub-alerting.\n\n"
                 "  -H host      broker (127.0.0.1)\n"
                 "  -p port      broker port (1883)\n"
                 "  -r rate      events per second (5000)\n"
                 "  -d seconds   how long to publish (20)\n"
                 "  -w seconds   warm-up, not counted (2)\n"
                 "  -s subjects  gauges g0..g<s-1> (1000)\n"
                 "  -m name      municipality (linz)\n"
                 "Prints the counts and latency percentiles of raises and clears; exits 0\n"
                 "when every expected raise arrived, 1 when not, 2 on bad usage.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    int c;

    *o = (struct opts){"127.0.0.1", 1883, 5000, 20, 2, 1000, "linz"};
    while ((c = getopt(argc, argv, "H:p:r:d:w:s:m:h")) != -1) {
        switch (c) {
        case 'H': o->host = optarg; break;
        case 'p': o->port = atoi(optarg); break;
        case 'r': o->rate = atof(optarg); break;
        case 'd': o->duration_s = atof(optarg); break;
        case 'w': o->warmup_s = atof(optarg); break;
        case 's': o->subjects = atol(optarg); break;
        case 'm': o->municipality = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (optind != argc || o->port <= 0 || o->rate <= 0 || o->duration_s <= 0 ||
        o->warmup_s < 0 || o->warmup_s >= o->duration_s || o->subjects < 10)
        return -1;
    return 0;
}

static struct mosquitto *client(struct bench *b, const char *role)
{
    char id[64];
    struct mosquitto *m;

    snprintf(id, sizeof(id), "bench-alerting-%s-%d", role, (int)getpid());
    if (!(m = mosquitto_new(id, true, b)))
        return NULL;
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, 1000);
    mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, 1000);
    return m;
}

int main(int argc, char **argv)
{
    static struct bench b;
    struct mosquitto *pub, *sub;
    int64_t start_mono, start_wall, period, late_max = 0, deadline;
    uint64_t n, expected_raise = 0, expected_clear = 0, unacked_fail = 0;
    bool ok;

    if (parse_opts(argc, argv, &b.o) < 0) {
        usage(stderr);
        return 2;
    }
    pthread_mutex_init(&b.lock, NULL);
    mosquitto_lib_init();
    if (!(pub = client(&b, "pub")) || !(sub = client(&b, "sub"))) {
        fprintf(stderr, "bench: out of memory\n");
        return 1;
    }
    mosquitto_connect_callback_set(sub, on_connect);
    mosquitto_subscribe_callback_set(sub, on_subscribe);
    mosquitto_message_callback_set(sub, on_message);
    b.window_start_ns = INT64_MAX; /* nothing counts before the run */
    if (mosquitto_connect(sub, b.o.host, b.o.port, 60) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(sub) != MOSQ_ERR_SUCCESS ||
        mosquitto_connect(pub, b.o.host, b.o.port, 60) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "bench: cannot connect to %s:%d\n", b.o.host, b.o.port);
        return 1;
    }
    for (int i = 0; i < 1000; i++) {
        bool s;
        pthread_mutex_lock(&b.lock);
        s = b.subscribed;
        pthread_mutex_unlock(&b.lock);
        mosquitto_loop(pub, 10, 1);
        if (s)
            break;
    }

    n = (uint64_t)(b.o.rate * b.o.duration_s);
    period = (int64_t)(NSEC_PER_SEC / b.o.rate);
    start_mono = mono_ns() + 50 * 1000000LL;
    start_wall = wall_ns() + 50 * 1000000LL;
    pthread_mutex_lock(&b.lock);
    b.window_start_ns = start_wall + (int64_t)(b.o.warmup_s * NSEC_PER_SEC);
    b.window_end_ns = INT64_MAX;
    pthread_mutex_unlock(&b.lock);
    for (uint64_t i = 0; i < n; i++) {
        int64_t due = start_mono + (int64_t)i * period, now, t;
        long k = (long)(i % (uint64_t)b.o.subjects), round = (long)(i / (uint64_t)b.o.subjects);
        bool over = (round + k) % 10 == 0;
        char topic[128], payload[160];
        struct tm tm;
        time_t secs;
        int len;

        sleep_until(due);
        now = mono_ns();
        if (now - due > late_max)
            late_max = now - due;
        t = wall_ns();
        secs = (time_t)(t / NSEC_PER_SEC);
        gmtime_r(&secs, &tm);
        snprintf(topic, sizeof(topic), "%s/sensor/waterlevel/g%ld", b.o.municipality, k);
        len = snprintf(payload, sizeof(payload),
                       "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ\",\"value\":%d,"
                       "\"unit\":\"cm\"}",
                       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                       tm.tm_sec, (long long)(t % NSEC_PER_SEC), over ? OVER_LEVEL : UNDER_LEVEL);
        if (mosquitto_publish(pub, NULL, topic, len, payload, 1, false) != MOSQ_ERR_SUCCESS)
            unacked_fail++;
        if (t >= b.window_start_ns) {
            /* A raise for every event over the level; a clear for every first event
             * under it after one (subject k was over in the round before). */
            if (over)
                expected_raise++;
            else if (round > 0 && (round - 1 + k) % 10 == 0)
                expected_clear++;
        }
        if ((i & 15) == 15)
            mosquitto_loop(pub, 0, 64); /* PUBACKs, keepalive */
    }
    pthread_mutex_lock(&b.lock);
    b.window_end_ns = wall_ns();
    pthread_mutex_unlock(&b.lock);

    /* The last alerts: until every expected one arrived, or DRAIN_NS. */
    deadline = mono_ns() + DRAIN_NS;
    while (mono_ns() < deadline) {
        size_t got;
        mosquitto_loop(pub, 50, 64);
        pthread_mutex_lock(&b.lock);
        got = b.raise.n + b.clear.n;
        pthread_mutex_unlock(&b.lock);
        if (got >= expected_raise + expected_clear)
            break;
    }
    mosquitto_disconnect(pub);
    mosquitto_disconnect(sub);
    mosquitto_loop_stop(sub, false);

    pthread_mutex_lock(&b.lock);
    printf("events  %" PRIu64 " at %.0f/s over %.1f s (%.1f s warm-up not counted), %ld "
           "subjects, 10 %% over the level; publisher at most %.3f ms late; %" PRIu64
           " publish errors\n",
           n, b.o.rate, b.o.duration_s, b.o.warmup_s, b.o.subjects, (double)late_max / 1e6,
           unacked_fail);
    report("raised", &b.raise, expected_raise);
    report("cleared", &b.clear, expected_clear);
    printf("alerts  %" PRIu64 " received, %" PRIu64 " outside the measured window, %" PRIu64
           " unparsable\n", b.alerts, b.outside, b.unparsable);
    ok = b.raise.n == expected_raise;
    pthread_mutex_unlock(&b.lock);
    mosquitto_destroy(pub);
    mosquitto_destroy(sub);
    mosquitto_lib_cleanup();
    free(b.raise.v);
    free(b.clear.v);
    return ok ? 0 : 1;
}
