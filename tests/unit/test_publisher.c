// SPDX-License-Identifier: MIT
/*
 * Unit tests of the sources' publisher (sources/common/publisher.c) and its outbox
 * against our broker's PUBACK reason codes (docs/sources.md, "Our broker's PUBACK"):
 * an event counts as published only on reason code 0; a refused one is kept, counted
 * by reason code and sent again in rounds 200 ms after the refusal, doubling up to
 * 5 s, in the order first published, never given up; input pauses while refused events
 * wait and while sources.queue_max events wait for their PUBACK.
 *
 * publisher.c is linked with fakes of the libmosquitto calls it makes and of the
 * mqtt_link clock, in this file: the fake mosquitto_publish_v5 records each send
 * with its message id and time, the test answers with PUBACKs through the callback
 * the publisher registered, and the clock moves only when a test moves it. No broker,
 * no sleep.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "config.h"
#include "log.h"
#include "mqtt_link.h"
#include "outbox.h"
#include "publisher.h"
#include "source_metrics.h"

#define RC_NO_SUBSCRIBERS MQTT_RC_NO_MATCHING_SUBSCRIBERS /* 0x10 */
#define RC_NOT_AUTHORIZED MQTT_RC_NOT_AUTHORIZED          /* 0x87 */
#define SENDS_MAX 512

/* ---- The fakes: libmosquitto's calls and the link's clock ----------------------- */

struct send {
    int mid;
    char topic[64];
    char payload[64];
    size_t len;
    int64_t at_ms;
};

static struct {
    char handle;                  /* what mosquitto_new returns: only its address counts */
    void *data;
    void (*on_connect)(struct mosquitto *, void *, int);
    void (*on_disconnect)(struct mosquitto *, void *, int);
    void (*on_publish)(struct mosquitto *, void *, int, int, const mosquitto_property *);
    unsigned max_inflight;
    int next_mid;
    int publish_rc;               /* what mosquitto_publish_v5 answers */
    struct send sends[SENDS_MAX]; /* every call of mosquitto_publish_v5, in order */
    int n_sends;
    bool destroyed;
} fake;

static int64_t now_ms;
static int64_t clock_step_ms; /* how far each reading of the clock moves it on */

static struct mosquitto *fake_mosq(void)
{
    return (struct mosquitto *)(void *)&fake.handle;
}

struct mosquitto *mosquitto_new(const char *id, bool clean_session, void *obj)
{
    assert_false(clean_session); /* a persistent session */
    fake.data = obj;
    return fake_mosq();
}

void mosquitto_destroy(struct mosquitto *mosq)
{
    assert_ptr_equal(mosq, fake_mosq());
    fake.destroyed = true;
}

int mosquitto_int_option(struct mosquitto *mosq, enum mosq_opt_t option, int value)
{
    return MOSQ_ERR_SUCCESS;
}

int mosquitto_max_inflight_messages_set(struct mosquitto *mosq, unsigned int max_inflight_messages)
{
    fake.max_inflight = max_inflight_messages;
    return max_inflight_messages > 65535 ? MOSQ_ERR_INVAL : MOSQ_ERR_SUCCESS;
}

int mosquitto_username_pw_set(struct mosquitto *mosq, const char *username, const char *password)
{
    return MOSQ_ERR_SUCCESS;
}

void mosquitto_connect_callback_set(struct mosquitto *mosq,
                                    void (*on_connect)(struct mosquitto *, void *, int))
{
    fake.on_connect = on_connect;
}

void mosquitto_disconnect_callback_set(struct mosquitto *mosq,
                                       void (*on_disconnect)(struct mosquitto *, void *, int))
{
    fake.on_disconnect = on_disconnect;
}

void mosquitto_publish_v5_callback_set(struct mosquitto *mosq,
                                       void (*on_publish)(struct mosquitto *, void *, int, int,
                                                          const mosquitto_property *props))
{
    fake.on_publish = on_publish;
}

int mosquitto_publish_v5(struct mosquitto *mosq, int *mid, const char *topic, int payloadlen,
                         const void *payload, int qos, bool retain,
                         const mosquitto_property *properties)
{
    struct send *s;

    assert_ptr_equal(mosq, fake_mosq());
    assert_int_equal(qos, 1);
    assert_false(retain);
    if (fake.publish_rc != MOSQ_ERR_SUCCESS && fake.publish_rc != MOSQ_ERR_NO_CONN)
        return fake.publish_rc;
    /* Like libmosquitto: a message id (1..65535, never 0) also when not connected. */
    fake.next_mid = fake.next_mid % 65535 + 1;
    if (mid)
        *mid = fake.next_mid;
    if (fake.n_sends < SENDS_MAX) {
        s = &fake.sends[fake.n_sends];
        s->mid = fake.next_mid;
        snprintf(s->topic, sizeof(s->topic), "%s", topic);
        assert_true((size_t)payloadlen < sizeof(s->payload));
        memcpy(s->payload, payload, (size_t)payloadlen);
        s->payload[payloadlen] = '\0';
        s->len = (size_t)payloadlen;
        s->at_ms = now_ms;
    }
    fake.n_sends++;
    return fake.publish_rc;
}

int mosquitto_disconnect(struct mosquitto *mosq)
{
    return MOSQ_ERR_SUCCESS;
}

const char *mosquitto_strerror(int mosq_errno)
{
    return "fake error";
}

const char *mosquitto_connack_string(int connack_code)
{
    return "fake connack";
}

const char *mosquitto_reason_string(int reason_code)
{
    return "fake reason";
}

int64_t mqtt_link_now_ms(void)
{
    now_ms += clock_step_ms;
    return now_ms;
}

void mqtt_link_init(struct mqtt_link *l, struct mosquitto *mosq, const char *name,
                    const char *host, int port, int keepalive_s)
{
    memset(l, 0, sizeof(*l));
    l->mosq = mosq;
    l->name = name;
    l->session_expiry_s = -1;
}

void mqtt_link_service(struct mqtt_link *l, int64_t now)
{
}

struct pollfd mqtt_link_pollfd(const struct mqtt_link *l, bool read)
{
    return (struct pollfd){.fd = -1};
}

void mqtt_link_after_poll(struct mqtt_link *l, short revents)
{
}

/* ---- Helpers -------------------------------------------------------------------- */

static struct publisher pub;
static struct source_metrics metrics;

/* A connected publisher with sources.queue_max queue_max, at time 1000 ms. */
static void start(int queue_max)
{
    struct hub_config cfg;

    memset(&fake, 0, sizeof(fake));
    memset(&metrics, 0, sizeof(metrics));
    now_ms = 1000;
    clock_step_ms = 0;
    config_defaults(&cfg);
    cfg.sources.queue_max = queue_max;
    assert_int_equal(publisher_start(&pub, &cfg, "ttn", &metrics), 0);
    assert_non_null(fake.on_publish);
    assert_int_equal(fake.max_inflight, (unsigned)queue_max);
    fake.on_connect(fake_mosq(), fake.data, 0);
    assert_true(publisher_ready(&pub));
}

static int teardown(void **state)
{
    publisher_stop(&pub);
    assert_true(fake.destroyed);
    return 0;
}

/* Publishes "p<n>" on "linz/sensor.waterlevel/<n>"; returns its message id. */
static int publish(unsigned n)
{
    char topic[64], payload[32];
    int len;

    snprintf(topic, sizeof(topic), "linz/sensor.waterlevel/%u", n);
    len = snprintf(payload, sizeof(payload), "p%u", n);
    assert_int_equal(publisher_publish(&pub, topic, payload, (size_t)len), 0);
    return fake.sends[fake.n_sends - 1].mid;
}

/* The PUBACK of message mid with reason_code, as libmosquitto passes it on. */
static void puback(int mid, int reason_code)
{
    fake.on_publish(fake_mosq(), fake.data, mid, reason_code, NULL);
}

static void service_at(int64_t t)
{
    now_ms = t;
    publisher_service(&pub, t);
}

/* The k-th send was event n. */
static void assert_send(int k, unsigned n)
{
    char topic[64], payload[32];

    assert_true(k < fake.n_sends);
    snprintf(topic, sizeof(topic), "linz/sensor.waterlevel/%u", n);
    snprintf(payload, sizeof(payload), "p%u", n);
    assert_string_equal(fake.sends[k].topic, topic);
    assert_string_equal(fake.sends[k].payload, payload);
}

static uint64_t refused_total(void)
{
    uint64_t n = 0;

    for (int rc = 0; rc < 256; rc++)
        n += atomic_load(&metrics.refused[rc]);
    return n;
}

/* What /healthz and rheinhub_source_refused_pending show: refused, not yet taken. */
static int pending(void)
{
    return atomic_load(&metrics.unsettled);
}

/* ---- Tests ---------------------------------------------------------------------- */

static void publisher_taken_released_and_counted(void **state)
{
    int mid;

    start(10);
    mid = publish(1);
    assert_int_equal(fake.n_sends, 1);
    assert_send(0, 1);
    assert_int_equal(atomic_load(&metrics.queued), 1);
    assert_int_equal(pub.out.count, 1);
    assert_int_equal(atomic_load(&metrics.published), 0); /* not before its PUBACK */
    puback(mid + 1, 0);                                    /* another message's: not ours */
    assert_int_equal(atomic_load(&metrics.published), 0);
    puback(mid, 0);
    assert_int_equal(atomic_load(&metrics.published), 1);
    assert_int_equal(atomic_load(&metrics.queued), 0);
    assert_int_equal(pub.out.count, 0);
    assert_int_equal(refused_total(), 0);
    assert_int_equal(pending(), 0);
    assert_true(publisher_ready(&pub));
    service_at(10000); /* nothing to send again */
    assert_int_equal(fake.n_sends, 1);
    puback(mid, 0); /* a second PUBACK of the same id counts nothing */
    assert_int_equal(atomic_load(&metrics.published), 1);
}

static void publisher_refused_kept_and_sent_again_after_200ms(void **state)
{
    int mid;

    start(10);
    mid = publish(1);
    now_ms = 1050;
    puback(mid, RC_NO_SUBSCRIBERS);
    assert_int_equal(atomic_load(&metrics.refused[0x10]), 1);
    assert_int_equal(refused_total(), 1);
    assert_int_equal(atomic_load(&metrics.published), 0);
    assert_int_equal(atomic_load(&metrics.queued), 1);
    assert_int_equal(pending(), 1);
    assert_int_equal(pub.out.count, 1);
    assert_string_equal(outbox_at(&pub.out, 0)->topic, "linz/sensor.waterlevel/1");
    assert_false(publisher_ready(&pub));
    puback(mid, 0); /* the refused message's id again: it is no longer in flight */
    assert_int_equal(atomic_load(&metrics.published), 0);
    service_at(1050);
    service_at(1249);
    assert_int_equal(fake.n_sends, 1); /* not before the round */
    service_at(1250);
    assert_int_equal(fake.n_sends, 2);
    assert_send(1, 1);
    assert_int_not_equal(fake.sends[1].mid, mid);
    assert_int_equal(atomic_load(&metrics.resent), 1);
    assert_false(publisher_ready(&pub)); /* sent again, not yet taken */
    service_at(5000);
    assert_int_equal(fake.n_sends, 2); /* one send per refusal */
    puback(fake.sends[1].mid, 0);
    assert_int_equal(atomic_load(&metrics.published), 1);
    assert_int_equal(atomic_load(&metrics.queued), 0);
    assert_int_equal(pending(), 0);
    assert_int_equal(pub.out.count, 0);
    assert_true(publisher_ready(&pub));
}

/* Refused in another order than published, with a taken one among them: a round sends
 * them in the order first published. */
static void publisher_sent_again_in_first_published_order(void **state)
{
    int mid[6];

    start(10);
    for (unsigned n = 0; n < 6; n++)
        mid[n] = publish(n);
    puback(mid[4], RC_NO_SUBSCRIBERS);
    puback(mid[1], RC_NOT_AUTHORIZED);
    puback(mid[0], 0);
    puback(mid[5], RC_NO_SUBSCRIBERS);
    puback(mid[2], 0);
    puback(mid[3], RC_NO_SUBSCRIBERS);
    assert_int_equal(atomic_load(&metrics.refused[0x10]), 3);
    assert_int_equal(atomic_load(&metrics.refused[0x87]), 1);
    assert_int_equal(atomic_load(&metrics.published), 2);
    assert_int_equal(pending(), 4);
    service_at(1200);
    assert_int_equal(fake.n_sends, 10);
    assert_send(6, 1);
    assert_send(7, 3);
    assert_send(8, 4);
    assert_send(9, 5);
    /* Refused again, newest first: the next round keeps the first order. */
    for (int k = 9; k >= 6; k--)
        puback(fake.sends[k].mid, RC_NO_SUBSCRIBERS);
    service_at(1200 + 400);
    assert_int_equal(fake.n_sends, 14);
    assert_send(10, 1);
    assert_send(11, 3);
    assert_send(12, 4);
    assert_send(13, 5);
    for (int k = 10; k < 14; k++)
        puback(fake.sends[k].mid, 0);
    assert_int_equal(atomic_load(&metrics.published), 6);
    assert_int_equal(pub.out.count, 0);
    assert_int_equal(pending(), 0);
}

/* The wait from a refusal to the next round: 200 ms, doubling, never more than 5 s. */
static void publisher_round_delay_doubles_up_to_5s(void **state)
{
    static const int64_t want[] = {200, 400, 800, 1600, 3200, 5000, 5000, 5000};
    int64_t t = 1000;
    int mid;

    start(10);
    mid = publish(1);
    for (size_t r = 0; r < sizeof(want) / sizeof(want[0]); r++) {
        int sends = fake.n_sends;

        t += 30; /* the PUBACK comes a little after the send */
        now_ms = t;
        puback(mid, RC_NO_SUBSCRIBERS);
        service_at(t + want[r] - 1);
        assert_int_equal(fake.n_sends, sends);
        service_at(t + want[r]);
        assert_int_equal(fake.n_sends, sends + 1);
        assert_send(sends, 1);
        mid = fake.sends[sends].mid;
        t += want[r];
    }
    puback(mid, 0);
    assert_int_equal(pending(), 0);
    /* The next refusal starts at 200 ms again. */
    mid = publish(2);
    t += 1000;
    now_ms = t;
    puback(mid, RC_NO_SUBSCRIBERS);
    service_at(t + 199);
    assert_int_equal(fake.n_sends, 10);
    service_at(t + 200);
    assert_int_equal(fake.n_sends, 11);
    assert_send(10, 2);
}

/* A broker that refuses for good (0x87 on every send): the event stays, input stays
 * paused and the pending count shows it, round after round; nothing is published. */
static void publisher_refused_for_good_never_dropped(void **state)
{
    const int rounds = 200; /* about 16 minutes of 5 s rounds */
    int mid;

    start(10);
    mid = publish(1);
    for (int r = 0; r < rounds; r++) {
        int sends = fake.n_sends;

        puback(mid, RC_NOT_AUTHORIZED);
        assert_int_equal(pending(), 1);
        assert_false(publisher_ready(&pub));
        assert_true(publisher_full(&pub));
        service_at(now_ms + 5000);
        assert_int_equal(fake.n_sends, sends + 1);
        assert_send(sends, 1);
        mid = fake.sends[sends].mid;
    }
    assert_int_equal(atomic_load(&metrics.refused[0x87]), rounds);
    assert_int_equal(refused_total(), rounds);
    assert_int_equal(atomic_load(&metrics.resent), rounds);
    assert_int_equal(atomic_load(&metrics.published), 0);
    assert_int_equal(atomic_load(&metrics.queued), 1);
    assert_int_equal(pub.out.count, 1);
    assert_string_equal(outbox_at(&pub.out, 0)->topic, "linz/sensor.waterlevel/1");
    assert_memory_equal(outbox_at(&pub.out, 0)->payload, "p1", 2);
    /* Still in flight when the source stops: publisher_stop frees the copy (teardown). */
}

/* Input resumes only when the last refused event is taken; a taken event that was
 * never refused does not resume it. */
static void publisher_input_resumes_with_last_refused_taken(void **state)
{
    int a, b, c;

    start(10);
    a = publish(1);
    b = publish(2);
    c = publish(3);
    puback(a, RC_NO_SUBSCRIBERS);
    puback(b, RC_NOT_AUTHORIZED);
    assert_int_equal(pending(), 2);
    assert_false(publisher_ready(&pub));
    puback(c, 0);
    assert_false(publisher_ready(&pub));
    service_at(1200);
    assert_int_equal(fake.n_sends, 5);
    a = fake.sends[3].mid;
    b = fake.sends[4].mid;
    puback(a, 0);
    assert_int_equal(pending(), 1);
    assert_false(publisher_ready(&pub));
    assert_true(publisher_full(&pub));
    puback(b, RC_NO_SUBSCRIBERS); /* refused again: still the same one pending */
    assert_int_equal(pending(), 1);
    service_at(1200 + 400);
    assert_int_equal(fake.n_sends, 6);
    assert_send(5, 2);
    assert_false(publisher_ready(&pub));
    puback(fake.sends[5].mid, 0);
    assert_int_equal(pending(), 0);
    assert_int_equal(atomic_load(&metrics.queued), 0);
    assert_true(publisher_ready(&pub));
    assert_false(publisher_full(&pub));
    assert_int_equal(atomic_load(&metrics.published), 3);
}

/* No round while our broker is away; the round that was due goes out on reconnect. */
static void publisher_no_round_while_disconnected(void **state)
{
    int mid;

    start(10);
    mid = publish(1);
    puback(mid, RC_NO_SUBSCRIBERS);
    fake.on_disconnect(fake_mosq(), fake.data, MOSQ_ERR_CONN_LOST);
    assert_false(publisher_ready(&pub));
    service_at(1200);
    service_at(60000);
    assert_int_equal(fake.n_sends, 1);
    fake.on_connect(fake_mosq(), fake.data, 0);
    service_at(60001);
    assert_int_equal(fake.n_sends, 2);
    assert_send(1, 1);
    assert_int_equal(pending(), 1);
}

/* A send libmosquitto refuses outright: publisher_publish returns an error and keeps
 * no copy; a re-send it refuses stays refused for the next round. Not connected is no
 * failure: libmosquitto queues the message for the next connection. */
static void publisher_failed_sends(void **state)
{
    int a, b;

    start(10);
    fake.publish_rc = MOSQ_ERR_NOMEM;
    assert_int_equal(publisher_publish(&pub, "linz/x/1", "p", 1), -ENOMEM);
    fake.publish_rc = MOSQ_ERR_INVAL;
    assert_int_equal(publisher_publish(&pub, "linz/x/1", "p", 1), -EIO);
    assert_int_equal(pub.out.count, 0);
    assert_int_equal(atomic_load(&metrics.queued), 0);
    fake.publish_rc = MOSQ_ERR_NO_CONN;
    a = publish(1);
    fake.publish_rc = MOSQ_ERR_SUCCESS;
    b = publish(2);
    assert_int_equal(atomic_load(&metrics.queued), 2);
    puback(a, RC_NO_SUBSCRIBERS);
    puback(b, RC_NO_SUBSCRIBERS);
    fake.publish_rc = MOSQ_ERR_NOMEM;
    service_at(1200);
    assert_int_equal(fake.n_sends, 2);
    assert_int_equal(atomic_load(&metrics.resent), 0);
    assert_int_equal(pub.out.refused, 2);
    fake.publish_rc = MOSQ_ERR_SUCCESS;
    service_at(1200 + 5000);
    assert_int_equal(fake.n_sends, 4);
    assert_send(2, 1);
    assert_send(3, 2);
    assert_int_equal(atomic_load(&metrics.resent), 2);
}

/* sources.queue_max events waiting for their PUBACK pause input; refused ones count
 * among them until taken. */
static void publisher_queue_max_pauses_input(void **state)
{
    int mid[3];

    start(3);
    mid[0] = publish(0);
    mid[1] = publish(1);
    assert_true(publisher_ready(&pub));
    mid[2] = publish(2);
    assert_true(publisher_full(&pub));
    assert_false(publisher_ready(&pub));
    puback(mid[0], RC_NO_SUBSCRIBERS);
    assert_int_equal(atomic_load(&metrics.queued), 3);
    puback(mid[2], 0);
    assert_int_equal(atomic_load(&metrics.queued), 2);
    assert_false(publisher_ready(&pub)); /* below queue_max, but a refused one waits */
    puback(mid[1], 0);
    service_at(1200);
    puback(fake.sends[3].mid, 0);
    assert_int_equal(atomic_load(&metrics.queued), 0);
    assert_int_equal(pub.out.count, 0);
    assert_true(publisher_ready(&pub));
}

/* A stop drains once: the source's run and source_main both drain (PEGELONLINE saves
 * its state after its own drain), and what is still not taken when the first drain's
 * time is up must not hold the stop for shutdown.drain_timeout_s again. */
static void publisher_drain_has_one_deadline_per_stop(void **state)
{
    int64_t end;

    start(10);
    publish(0); /* never acknowledged */
    clock_step_ms = 100;
    assert_int_equal(publisher_drain(&pub, 1000), 1);
    end = now_ms;
    assert_true(end >= 2000);
    assert_int_equal(publisher_drain(&pub, 1000), 1);
    if (now_ms - end > 300)
        fail_msg("the second drain waited %lld ms more", (long long)(now_ms - end));
    clock_step_ms = 0;
}

/* Loads text as hub.yaml; returns config_load's result, its errors in err. */
static int load_config(const char *text, struct hub_config *cfg, char *err, size_t size)
{
    char path[] = "/tmp/test_publisher_XXXXXX";
    int fd = mkstemp(path), rc;
    FILE *f, *errs = tmpfile();
    size_t n;

    assert_true(fd >= 0);
    assert_non_null(f = fdopen(fd, "w"));
    assert_non_null(errs);
    fputs(text, f);
    fclose(f);
    rc = config_load(cfg, path, errs);
    rewind(errs);
    n = fread(err, 1, size - 1, errs);
    err[n] = '\0';
    fclose(errs);
    unlink(path);
    return rc;
}

/*
 * The bound: the largest sources.queue_max hub.yaml accepts pauses input before the
 * outbox is full, so that no event a source has read meets outbox_add's -ENOBUFS (the
 * uplink is acknowledged upstream by then: it would be lost). At the bound the
 * publisher is full and not ready, and every event holds its copy.
 */
static void publisher_queue_max_within_the_outbox(void **state)
{
    struct hub_config cfg;
    char err[512];
    unsigned n = 0;

    assert_true(load_config("sources:\n  queue_max: 65536\n", &cfg, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "sources.queue_max must be between 1 and 65535, not 65536"));
    assert_int_equal(load_config("sources:\n  queue_max: 65535\n", &cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg.sources.queue_max, OUTBOX_MAX);
    start(cfg.sources.queue_max);
    while (publisher_ready(&pub)) {
        assert_int_equal(publisher_publish(&pub, "linz/x/1", "p", 1), 0);
        n++;
    }
    assert_int_equal(n, OUTBOX_MAX);
    assert_int_equal(pub.out.count, OUTBOX_MAX);
    assert_int_equal(atomic_load(&metrics.queued), OUTBOX_MAX);
    assert_true(publisher_full(&pub));
    puback(fake.sends[0].mid, 0);
    assert_true(publisher_ready(&pub));
    assert_int_equal(publisher_publish(&pub, "linz/x/1", "p", 1), 0);
    assert_false(publisher_ready(&pub));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(publisher_taken_released_and_counted, teardown),
        cmocka_unit_test_teardown(publisher_refused_kept_and_sent_again_after_200ms, teardown),
        cmocka_unit_test_teardown(publisher_sent_again_in_first_published_order, teardown),
        cmocka_unit_test_teardown(publisher_round_delay_doubles_up_to_5s, teardown),
        cmocka_unit_test_teardown(publisher_refused_for_good_never_dropped, teardown),
        cmocka_unit_test_teardown(publisher_input_resumes_with_last_refused_taken, teardown),
        cmocka_unit_test_teardown(publisher_no_round_while_disconnected, teardown),
        cmocka_unit_test_teardown(publisher_failed_sends, teardown),
        cmocka_unit_test_teardown(publisher_queue_max_pauses_input, teardown),
        cmocka_unit_test_teardown(publisher_queue_max_within_the_outbox, teardown),
        cmocka_unit_test_teardown(publisher_drain_has_one_deadline_per_stop, teardown),
    };

    log_set_level(LOG_LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
