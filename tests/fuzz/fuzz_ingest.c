// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the hub's whole per-message path (hub/ingest.c with the shipped
 * schema catalog), as an MQTT message reaches it. The input is the topic up to the
 * first newline (at most 300 bytes), then the payload. ingest.c is linked with a
 * fake of the two redis_out calls it makes, which checks what it is given.
 *
 * Checked for every message: it ends as exactly one event, one dead letter, or one
 * dropped duplicate; an event's stream key names its type; its envelope decodes, its
 * data is valid under the type's schema (checked again here), and its id is 1 to 255
 * bytes; a dead letter carries the whole payload and a non-empty detail. A violation
 * aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog.h"
#include "config.h"
#include "envelope.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"

#ifndef FUZZ_REPO
#define FUZZ_REPO "."
#endif

#define TOPIC_MAX 300

static struct catalog *cat;
static struct hub_config cfg;
static struct metrics m;
static struct ingest ing;
static int fake_writer;
static int events, deadletters;
static const void *cur_payload;
static size_t cur_len;

#define FAKE_OUT ((struct redis_out *)(void *)&fake_writer)

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_ingest: %s\n", what);
    abort();
}

/* The event's envelope decodes and its data is valid under its type's schema. */
int redis_out_add_event(struct redis_out *out, const char *key, const char *id, const char *env,
                        size_t env_len, const char *topic)
{
    msgpack_unpacked u;
    struct envelope_view view;
    const char *why = NULL, *type;
    const struct schema *s;
    json_t *data;
    char type_text[128];

    if (out != FAKE_OUT || !key || !id || !env || !topic)
        fail("bad arguments to redis_out_add_event");
    if (strlen(id) == 0 || strlen(id) > 255)
        fail("event id of a bad length");
    msgpack_unpacked_init(&u);
    if (envelope_decode(env, env_len, &u, &view, &why) != 0)
        fail(why ? why : "an accepted event's envelope does not decode");
    if (view.type.len >= sizeof(type_text))
        fail("type too long");
    memcpy(type_text, view.type.ptr, view.type.len);
    type_text[view.type.len] = '\0';
    type = strstr(key, "events:");
    if (!type || strcmp(type + 7, type_text) != 0)
        fail("stream key and envelope type differ");
    if (!(s = catalog_find(cat, type_text)))
        fail("an event of a type without a schema was accepted");
    if (!(data = envelope_object_to_json(view.data)))
        fail("envelope data does not convert to JSON");
    if (schema_validate(s, data, NULL, 0) != 0)
        fail("an event whose data its schema refuses was accepted");
    json_decref(data);
    msgpack_unpacked_destroy(&u);
    events++;
    return 0;
}

int redis_out_add_deadletter(struct redis_out *out, const char *topic, enum reject_reason reason,
                             const char *detail, const void *payload, size_t payload_len)
{
    if (out != FAKE_OUT || !topic || !detail || !detail[0])
        fail("bad arguments to redis_out_add_deadletter");
    if ((unsigned)reason >= REJECT_REASON_COUNT)
        fail("unknown reject reason");
    if (payload_len != cur_len || (payload_len && memcmp(payload, cur_payload, payload_len) != 0))
        fail("a dead letter without the whole payload");
    deadletters++;
    return 0;
}

static void init(void)
{
    char dir[4096];

    snprintf(dir, sizeof(dir), "%s/schemas", getenv("RHEINHUB_FUZZ_REPO") ? getenv("RHEINHUB_FUZZ_REPO")
                                                                         : FUZZ_REPO);
    log_set_level(LOG_LEVEL_ERROR);
    config_defaults(&cfg);
    if (!(cat = catalog_load(dir, stderr)))
        fail("cannot load the schema catalog");
    if (ingest_init(&ing, &cfg, &m, FAKE_OUT) != 0)
        fail("ingest_init failed");
    ing.check = ingest_catalog_check;
    ing.check_data = cat;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl;
    char topic[TOPIC_MAX + 1];
    size_t tlen;
    uint64_t dups;

    if (!cat)
        init();
    nl = memchr(data, '\n', size < TOPIC_MAX ? size : TOPIC_MAX);
    if (!nl)
        return 0;
    tlen = (size_t)(nl - data);
    memcpy(topic, data, tlen);
    topic[tlen] = '\0';
    if (strlen(topic) != tlen)
        return 0; /* an MQTT topic has no NUL; the broker refuses it */
    cur_payload = nl + 1;
    cur_len = size - tlen - 1;
    events = deadletters = 0;
    dups = m.duplicates;
    ingest_message(&ing, topic, cur_payload, cur_len);
    if (events + deadletters + (int)(m.duplicates - dups) != 1)
        fail("a message did not end as exactly one event, dead letter or duplicate");
    return 0;
}
