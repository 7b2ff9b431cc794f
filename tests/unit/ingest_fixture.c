// SPDX-License-Identifier: MIT
/*
 * The ingest tests' fixture: ingest.c is linked with a fake of the two redis_out calls
 * it makes, which records every event and dead letter, and the checks that compare
 * what was recorded with what a test expects (an event's envelope field by field, a
 * dead letter's reason, detail and payload, and the counters).
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
#include <time.h>

#include "ingest_fixture.h"

/* ---- The fake writer ------------------------------------------------------------ */

struct record rec;
int fake_writer;

char *copy_bytes(const void *p, size_t n)
{
    char *c = malloc(n + 1);

    assert_non_null(c);
    memcpy(c, p, n);
    c[n] = '\0';
    return c;
}

int redis_out_add_event(struct redis_out *out, const char *key, const char *id, const char *env,
                        size_t env_len, const char *topic)
{
    struct recorded_event *e;

    assert_ptr_equal(out, FAKE_OUT);
    if (rec.fail)
        return -ENOMEM;
    assert_true(rec.n_events < RECORD_MAX);
    e = &rec.events[rec.n_events++];
    e->key = copy_bytes(key, strlen(key));
    e->id = copy_bytes(id, strlen(id));
    e->env = copy_bytes(env, env_len);
    e->env_len = env_len;
    e->topic = copy_bytes(topic, strlen(topic));
    return 0;
}

int redis_out_add_deadletter(struct redis_out *out, const char *topic, enum reject_reason reason,
                             const char *detail, const void *payload, size_t payload_len)
{
    struct recorded_deadletter *d;

    assert_ptr_equal(out, FAKE_OUT);
    if (rec.fail)
        return -ENOMEM;
    assert_true(rec.n_deadletters < RECORD_MAX);
    d = &rec.deadletters[rec.n_deadletters++];
    d->topic = copy_bytes(topic, strlen(topic));
    d->reason = reason;
    d->detail = copy_bytes(detail, strlen(detail));
    d->payload = copy_bytes(payload, payload_len);
    d->payload_len = payload_len;
    return 0;
}

void rec_clear(void)
{
    for (int i = 0; i < rec.n_events; i++) {
        free(rec.events[i].key);
        free(rec.events[i].id);
        free(rec.events[i].env);
        free(rec.events[i].topic);
    }
    for (int i = 0; i < rec.n_deadletters; i++) {
        free(rec.deadletters[i].topic);
        free(rec.deadletters[i].detail);
        free(rec.deadletters[i].payload);
    }
    memset(&rec, 0, sizeof(rec));
}

/* ---- Fixture --------------------------------------------------------------------- */

int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    config_defaults(&f->cfg);
    log_set_level(LOG_LEVEL_WARN);
    if (ingest_init(&f->ing, &f->cfg, &f->m, FAKE_OUT) < 0) {
        free(f);
        return -1;
    }
    rec_clear();
    *state = f;
    return 0;
}

int teardown(void **state)
{
    struct fixture *f = *state;

    ingest_close(&f->ing);
    free(f);
    rec_clear();
    return 0;
}

/* Re-creates the ingest state after a change of configuration read at init. */
void reinit(struct fixture *f)
{
    ingest_close(&f->ing);
    assert_int_equal(ingest_init(&f->ing, &f->cfg, &f->m, FAKE_OUT), 0);
}

/* Ingests payload from a buffer of exactly its size, so that over-reads are caught. */
void ingest_bytes(struct fixture *f, const char *topic, const void *payload, size_t len)
{
    void *copy = malloc(len ? len : 1);

    assert_non_null(copy);
    memcpy(copy, payload, len);
    ingest_message(&f->ing, topic, copy, len);
    free(copy);
}

void ingest_text(struct fixture *f, const char *topic, const char *payload)
{
    ingest_bytes(f, topic, payload, strlen(payload));
}

uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t rejected_total(const struct metrics *m)
{
    uint64_t n = 0;

    for (int i = 0; i < REJECT_REASON_COUNT; i++)
        n += m->rejected[i];
    return n;
}

/* Fails, printing both, unless the decoded string equals expected. */
void assert_view_str(struct envelope_str s, const char *expected)
{
    char *copy;

    assert_non_null(s.ptr);
    copy = copy_bytes(s.ptr, s.len);
    assert_string_equal(copy, expected);
    free(copy);
}

void assert_json_text(const json_t *v, const char *expected_text)
{
    json_error_t err;
    json_t *expected = json_loads(expected_text, 0, &err);
    char *a, *b;

    assert_non_null(expected);
    assert_non_null(v);
    if (!json_equal(expected, v)) {
        a = json_dumps(expected, JSON_COMPACT);
        b = json_dumps(v, JSON_COMPACT);
        assert_string_equal(a, b);
        fail_msg("JSON differs in kind but not in text: %s", a);
    }
    json_decref(expected);
}

/* Checks that exactly one event and no dead letter were recorded, and its envelope. */
void expect_event(const struct fixture *f, const char *topic, const struct expected_event *x,
                  uint64_t before, uint64_t after)
{
    const struct recorded_event *e;
    msgpack_unpacked unpacked;
    struct envelope_view view;
    const char *why = NULL;
    json_t *data;
    int r;

    if (rec.n_deadletters > 0)
        fail_msg("unexpected dead letter: %s: %s", reject_reason_name(rec.deadletters[0].reason),
                 rec.deadletters[0].detail);
    assert_int_equal(rec.n_events, 1);
    assert_int_equal(rejected_total(&f->m), 0);
    e = &rec.events[0];
    assert_string_equal(e->key, x->key);
    assert_string_equal(e->id, x->id);
    assert_string_equal(e->topic, topic);

    msgpack_unpacked_init(&unpacked);
    r = envelope_decode(e->env, e->env_len, &unpacked, &view, &why);
    if (r != 0)
        fail_msg("envelope does not decode: %s", why ? why : "?");
    assert_view_str(view.specversion, "1.0");
    assert_view_str(view.id, x->id);
    assert_view_str(view.source, x->source);
    assert_view_str(view.type, x->type);
    assert_view_str(view.subject, x->subject);
    assert_view_str(view.time, x->time);
    assert_view_str(view.municipality, x->municipality);
    assert_view_str(view.category, x->category);
    assert_in_range(view.receivedtime_ns, before, after);
    data = envelope_object_to_json(view.data);
    assert_json_text(data, x->data);
    json_decref(data);
    msgpack_unpacked_destroy(&unpacked);
}

/*
 * Checks that exactly one dead letter and no event were recorded, with reason and
 * (unless NULL) detail, the topic, and the whole payload; and that the reason was
 * counted once.
 */
void expect_deadletter(const struct fixture *f, const char *topic, const void *payload, size_t len,
                       enum reject_reason reason, const char *detail)
{
    const struct recorded_deadletter *d;

    if (rec.n_events > 0)
        fail_msg("unexpected event for %s, id %s", rec.events[0].topic, rec.events[0].id);
    assert_int_equal(rec.n_deadletters, 1);
    d = &rec.deadletters[0];
    assert_string_equal(reject_reason_name(d->reason), reject_reason_name(reason));
    if (detail)
        assert_string_equal(d->detail, detail);
    else
        assert_true(strlen(d->detail) > 0);
    assert_string_equal(d->topic, topic);
    assert_int_equal(d->payload_len, len);
    assert_memory_equal(d->payload, payload, len);
    assert_int_equal(f->m.rejected[reason], 1);
    assert_int_equal(rejected_total(&f->m), 1);
    assert_int_equal(f->m.duplicates, 0);
}

/* Ingests text and expects one dead letter for it; then clears the record. */
void expect_rejected(struct fixture *f, const char *topic, const char *payload,
                     enum reject_reason reason, const char *detail)
{
    print_message("%s: %s\n", reject_reason_name(reason), payload);
    memset(&f->m, 0, sizeof(f->m));
    rec_clear();
    ingest_text(f, topic, payload);
    expect_deadletter(f, topic, payload, strlen(payload), reason, detail);
    rec_clear();
}
