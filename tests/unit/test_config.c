// SPDX-License-Identifier: MIT
/*
 * Unit tests of hub.yaml loading: the documented defaults, every key, and the
 * "FILE:LINE: message" errors for each kind of mistake. Each case writes its YAML to
 * a temporary file and collects the error stream in memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_fixture.h"

static void config_defaults_match_docs(void **state)
{
    struct hub_config cfg;

    memset(&cfg, 0x5a, sizeof(cfg));
    config_defaults(&cfg);
    assert_string_equal(cfg.hub.instance, "rheinhub-1");
    assert_string_equal(cfg.mqtt.host, "127.0.0.1");
    assert_int_equal(cfg.mqtt.port, 1883);
    assert_string_equal(cfg.mqtt.client_id, "rheinhub-hub");
    assert_string_equal(cfg.mqtt.username, "");
    assert_string_equal(cfg.mqtt.password, "");
    assert_int_equal(cfg.mqtt.keepalive_s, 30);
    assert_int_equal(cfg.mqtt.session_expiry_s, 86400);
    assert_string_equal(cfg.mqtt.shared_group, "");
    assert_int_equal(cfg.mqtt.n_subscriptions, 3);
    assert_string_equal(cfg.mqtt.subscriptions[0], "+/sensor/#");
    assert_string_equal(cfg.mqtt.subscriptions[1], "+/service/#");
    assert_string_equal(cfg.mqtt.subscriptions[2], "+/citizen/#");
    assert_string_equal(cfg.mqtt.source, "");
    assert_string_equal(cfg.redis.host, "127.0.0.1");
    assert_int_equal(cfg.redis.port, 6379);
    assert_string_equal(cfg.redis.password, "");
    assert_int_equal(cfg.redis.max_in_flight, 1024);
    assert_int_equal(cfg.redis.ping_interval_ms, 1000);
    assert_int_equal(cfg.redis.liveness_timeout_ms, 5000);
    assert_string_equal(cfg.redis.stream_prefix, "rheinhub:");
    assert_int_equal(cfg.ingest.queue_max, 10000);
    assert_int_equal(cfg.ingest.max_payload_bytes, 65536);
    assert_int_equal(cfg.ingest.max_depth, 16);
    assert_int_equal(cfg.ingest.dedupe_window, 100000);
    assert_int_equal(cfg.ingest.deadletter_maxlen, 100000);
    assert_int_equal(cfg.shutdown.drain_timeout_s, 30);
    assert_string_equal(cfg.http.bind, "127.0.0.1");
    assert_int_equal(cfg.http.port, 8080);
    assert_int_equal(cfg.log.level, LOG_LEVEL_INFO);
}

static void config_empty_file_gives_defaults(void **state)
{
    /* set_nothing: no key at all, which a reload refuses (sections left empty are keys) */
    static const struct {
        const char *text;
        bool set_nothing;
    } cases[] = {
        {"", true}, {"\n", true}, {"# only a comment\n", true}, {"{}\n", true},
        {"hub:\nmqtt:\nredis:\n", false}, {"log: \n", false},
    };
    struct hub_config defaults, cfg;

    config_defaults(&defaults);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("text %zu\n", i);
        load_good(cases[i].text, &cfg);
        defaults.set_nothing = cases[i].set_nothing;
        assert_memory_equal(&cfg, &defaults, sizeof(cfg));
    }
}

static void config_empty_document_gives_defaults(void **state)
{
    /* A document marker with nothing after it is an empty document, like an empty file. */
    static const char *const texts[] = {"---\n", "# hub.yaml\n---\n", "---\n...\n"};
    struct hub_config defaults, cfg;

    config_defaults(&defaults);
    defaults.set_nothing = true;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        print_message("text %zu\n", i);
        load_good(texts[i], &cfg);
        assert_memory_equal(&cfg, &defaults, sizeof(cfg));
    }
}

static void config_every_key_loaded(void **state)
{
    struct hub_config cfg;

    load_good("hub:\n"
              "  instance: hub-7\n"
              "mqtt:\n"
              "  host: 10.1.2.3\n"
              "  port: 8883\n"
              "  client_id: hub-seven\n"
              "  username: alice\n"
              "  password: \"s3cret: yes\"\n"
              "  keepalive_s: 3600\n"
              "  session_expiry_s: 0\n"
              "  shared_group: hubs\n"
              "  subscriptions: [\"bonn/sensor/#\", \"+/citizen/report/+\"]\n"
              "  source: broker.example:8883\n"
              "redis:\n"
              "  host: \"::1\"\n"
              "  port: 6380\n"
              "  password: pw\n"
              "  max_in_flight: 4096\n"
              "  ping_interval_ms: 50\n"
              "  liveness_timeout_ms: 600000\n"
              "  stream_prefix: \"test:\"\n"
              "ingest:\n"
              "  queue_max: 1\n"
              "  max_payload_bytes: 64\n"
              "  max_depth: 8\n"
              "  deadletter_maxlen: 100\n"
              "  dedupe_window: 16\n"
              "shutdown:\n"
              "  drain_timeout_s: 0\n"
              "http:\n"
              "  bind: 0.0.0.0\n"
              "  port: 0\n"
              "log:\n"
              "  level: debug\n",
              &cfg);
    assert_string_equal(cfg.hub.instance, "hub-7");
    assert_string_equal(cfg.mqtt.host, "10.1.2.3");
    assert_int_equal(cfg.mqtt.port, 8883);
    assert_string_equal(cfg.mqtt.client_id, "hub-seven");
    assert_string_equal(cfg.mqtt.username, "alice");
    assert_string_equal(cfg.mqtt.password, "s3cret: yes");
    assert_int_equal(cfg.mqtt.keepalive_s, 3600);
    assert_int_equal(cfg.mqtt.session_expiry_s, 0);
    assert_string_equal(cfg.mqtt.shared_group, "hubs");
    assert_int_equal(cfg.mqtt.n_subscriptions, 2);
    assert_string_equal(cfg.mqtt.subscriptions[0], "bonn/sensor/#");
    assert_string_equal(cfg.mqtt.subscriptions[1], "+/citizen/report/+");
    assert_string_equal(cfg.mqtt.source, "broker.example:8883");
    assert_string_equal(cfg.redis.host, "::1");
    assert_int_equal(cfg.redis.port, 6380);
    assert_string_equal(cfg.redis.password, "pw");
    assert_int_equal(cfg.redis.max_in_flight, 4096);
    assert_int_equal(cfg.redis.ping_interval_ms, 50);
    assert_int_equal(cfg.redis.liveness_timeout_ms, 600000);
    assert_string_equal(cfg.redis.stream_prefix, "test:");
    assert_int_equal(cfg.ingest.queue_max, 1);
    assert_int_equal(cfg.ingest.max_payload_bytes, 64);
    assert_int_equal(cfg.ingest.max_depth, 8);
    assert_int_equal(cfg.ingest.deadletter_maxlen, 100);
    assert_int_equal(cfg.ingest.dedupe_window, 16);
    assert_int_equal(cfg.shutdown.drain_timeout_s, 0);
    assert_string_equal(cfg.http.bind, "0.0.0.0");
    assert_int_equal(cfg.http.port, 0);
    assert_int_equal(cfg.log.level, LOG_LEVEL_DEBUG);
}

static void config_block_list_and_partial_file(void **state)
{
    struct hub_config cfg;

    load_good("# only what differs\n"
              "mqtt:\n"
              "  subscriptions:\n"
              "    - a/sensor/#\n"
              "    - b/sensor/#\n"
              "    - c/sensor/#\n"
              "    - d/sensor/#\n"
              "  port: 1884\n",
              &cfg);
    assert_int_equal(cfg.mqtt.n_subscriptions, 4);
    assert_string_equal(cfg.mqtt.subscriptions[3], "d/sensor/#");
    assert_int_equal(cfg.mqtt.port, 1884);
    /* The rest keeps its default. */
    assert_string_equal(cfg.mqtt.host, "127.0.0.1");
    assert_int_equal(cfg.redis.port, 6379);
    assert_string_equal(cfg.hub.instance, "rheinhub-1");
}

static void config_log_levels(void **state)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    struct hub_config cfg;
    char text[64];

    for (int i = 0; i < 4; i++) {
        snprintf(text, sizeof(text), "log:\n  level: %s\n", names[i]);
        load_good(text, &cfg);
        assert_int_equal(cfg.log.level, i);
    }
    load_bad("log:\n  level: verbose\n", 1,
             "2: log.level must be one of error, warn, info, debug\n");
    load_bad("log:\n  level: INFO\n", 1, "2: log.level must be one of error, warn, info, debug\n");
}

static void config_unknown_section(void **state)
{
    load_bad("hub:\n"
             "  instance: x\n"
             "mqttt:\n"
             "  port: 1884\n",
             1, "3: unknown section 'mqttt'\n");
    load_bad("\n\n[a]: 1\n", 1, "3: unknown section '?'\n");
}

static void config_unknown_key(void **state)
{
    load_bad("mqtt:\n"
             "  port: 1884\n"
             "  hots: 10.0.0.1\n",
             1, "3: unknown key 'hots' in section 'mqtt'\n");
    /* The keys after an unknown one are still read and checked. */
    load_bad("mqtt:\n"
             "  hots: 10.0.0.1\n"
             "  keepalive_s: 1\n",
             2,
             "2: unknown key 'hots' in section 'mqtt'\n"
             "3: mqtt.keepalive_s must be between 5 and 3600, not 1\n");
    /* A key of another section. */
    load_bad("redis:\n"
             "  client_id: x\n",
             1, "2: unknown key 'client_id' in section 'redis'\n");
}

static void config_wrong_type(void **state)
{
    load_bad("mqtt:\n  port: abc\n", 1, "2: mqtt.port must be an integer, not \"abc\"\n");
    load_bad("mqtt:\n  port: 1883.0\n", 1, "2: mqtt.port must be an integer, not \"1883.0\"\n");
    load_bad("mqtt:\n  port: \"\"\n", 1, "2: mqtt.port must be an integer, not \"\"\n");
    load_bad("mqtt:\n  port: 0x50\n", 1, "2: mqtt.port must be an integer, not \"0x50\"\n");
    load_bad("mqtt:\n  port: 99999999999999999999999\n", 1,
             "2: mqtt.port must be an integer, not \"99999999999999999999999\"\n");
    load_bad("mqtt:\n  port: [1883]\n", 1, "2: mqtt.port must be an integer\n");
    load_bad("hub:\n  instance:\n    a: b\n", 1, "3: hub.instance must be a string\n");
    load_bad("mqtt:\n  subscriptions: \"+/sensor/#\"\n", 1,
             "2: mqtt.subscriptions must be a list of strings\n");
    load_bad("mqtt:\n  subscriptions:\n    - a/#\n    - [b]\n", 1,
             "4: mqtt.subscriptions must be a string\n");
    load_bad("mqtt:\n  host: [127.0.0.1]\n", 1,
             "2: mqtt.host must be an IPv4 or IPv6 address (no host names)\n");
}

static void config_out_of_range(void **state)
{
    load_bad("mqtt:\n  port: 70000\n", 1, "2: mqtt.port must be between 1 and 65535, not 70000\n");
    load_bad("mqtt:\n  port: 0\n", 1, "2: mqtt.port must be between 1 and 65535, not 0\n");
    load_bad("mqtt:\n  keepalive_s: 4\n", 1,
             "2: mqtt.keepalive_s must be between 5 and 3600, not 4\n");
    load_bad("mqtt:\n  keepalive_s: 3601\n", 1,
             "2: mqtt.keepalive_s must be between 5 and 3600, not 3601\n");
    load_bad("mqtt:\n  session_expiry_s: -1\n", 1,
             "2: mqtt.session_expiry_s must be between 0 and 2147483647, not -1\n");
    load_bad("mqtt:\n  session_expiry_s: 2147483648\n", 1,
             "2: mqtt.session_expiry_s must be between 0 and 2147483647, not 2147483648\n");
    load_bad("redis:\n  max_in_flight: 4097\n", 1,
             "2: redis.max_in_flight must be between 1 and 4096, not 4097\n");
    load_bad("redis:\n  max_in_flight: 0\n", 1,
             "2: redis.max_in_flight must be between 1 and 4096, not 0\n");
    load_bad("ingest:\n  max_payload_bytes: 63\n", 1,
             "2: ingest.max_payload_bytes must be between 64 and 16777216, not 63\n");
    load_bad("ingest:\n  max_depth: 0\n", 1,
             "2: ingest.max_depth must be between 1 and 31, not 0\n");
    load_bad("http:\n  port: -1\n", 1, "2: http.port must be between 0 and 65535, not -1\n");
    load_bad("sources:\n  queue_max: 65536\n", 1,
             "2: sources.queue_max must be between 1 and 65535, not 65536\n");
    load_bad("shutdown:\n  drain_timeout_s: 3601\n", 1,
             "2: shutdown.drain_timeout_s must be between 0 and 3600, not 3601\n");
}

static void config_range_edges_accepted(void **state)
{
    struct hub_config cfg;

    load_good("mqtt:\n  port: 1\n  keepalive_s: 5\n  session_expiry_s: 2147483647\n"
              "redis:\n  port: 65535\n  max_in_flight: 1\n",
              &cfg);
    assert_int_equal(cfg.mqtt.port, 1);
    assert_int_equal(cfg.mqtt.keepalive_s, 5);
    assert_int_equal(cfg.mqtt.session_expiry_s, 2147483647);
    assert_int_equal(cfg.redis.port, 65535);
    assert_int_equal(cfg.redis.max_in_flight, 1);
}

static void config_host_name_refused(void **state)
{
    struct hub_config cfg;

    load_bad("mqtt:\n  host: localhost\n", 1,
             "2: mqtt.host must be an IPv4 or IPv6 address (no host names)\n");
    load_bad("redis:\n  host: redis.example.org\n", 1,
             "2: redis.host must be an IPv4 or IPv6 address (no host names)\n");
    load_bad("redis:\n  host: 127.0.0.1:6379\n", 1,
             "2: redis.host must be an IPv4 or IPv6 address (no host names)\n");
    load_bad("http:\n  bind: \"\"\n", 1,
             "2: http.bind must be an IPv4 or IPv6 address (no host names)\n");
    load_bad("http:\n  bind: 256.0.0.1\n", 1,
             "2: http.bind must be an IPv4 or IPv6 address (no host names)\n");
    load_good("mqtt:\n  host: \"fe80::1\"\nhttp:\n  bind: \"::\"\n", &cfg);
    assert_string_equal(cfg.mqtt.host, "fe80::1");
    assert_string_equal(cfg.http.bind, "::");
}

/* Sentinels, as the docs give them: "ip:port" each, IP literals as for redis.host. */
static void config_sentinel_addresses(void **state)
{
    struct hub_config cfg;

    load_bad("redis:\n"
             "  sentinels:\n"
             "    - 10.0.0.1:26379\n"
             "    - sentinel-1:26379\n"
             "    - 10.0.0.2\n"
             "    - 10.0.0.3:0\n"
             "    - 10.0.0.4:26379x\n"
             "    - \"[fe80::1]:\"\n",
             5,
             "4: redis.sentinels: \"sentinel-1:26379\" is not ip:port (no host names)\n"
             "5: redis.sentinels: \"10.0.0.2\" is not ip:port (no host names)\n"
             "6: redis.sentinels: \"10.0.0.3:0\" is not ip:port (no host names)\n"
             "7: redis.sentinels: \"10.0.0.4:26379x\" is not ip:port (no host names)\n"
             "8: redis.sentinels: \"[fe80::1]:\" is not ip:port (no host names)\n");
    load_good("redis:\n  sentinels: [\"10.0.0.1:26379\", \"[fe80::1]:26380\", \"::1:26381\"]\n",
              &cfg);
    assert_int_equal(cfg.redis.n_sentinels, 3);
    assert_string_equal(cfg.redis.sentinels[1], "[fe80::1]:26380");
}

/* A relative path too long once the file's folder is put in front is an error, not cut. */
static void config_relative_path_too_long(void **state)
{
    char text[1200], name[1021], expected[128];
    struct loaded l;

    (void)state;
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(text, sizeof(text), "log:\n  level: info\nalerting:\n  rules_file: %s\n", name);
    load_text(&l, text);
    snprintf(expected, sizeof(expected), "%s:4: alerting.rules_file: the path taken from this "
             "file's folder is longer than 1023 bytes\n", l.path);
    assert_string_equal(l.err, expected);
    assert_int_equal(l.rc, -1);
    loaded_free(&l);
}

/* One filter libmosquitto refuses takes every filter of the SUBSCRIBE with it. */
static void config_subscriptions_are_topic_filters(void **state)
{
    struct hub_config cfg;

    (void)state;
    load_bad("mqtt:\n"
             "  subscriptions:\n"
             "    - \"+/sensor/#\"\n"
             "    - \"a/#/b\"\n"
             "    - \"+x/#\"\n"
             "    - \"a/b#\"\n"
             "    - \"a/+b\"\n",
             4,
             "4: mqtt.subscriptions: \"a/#/b\" is not an MQTT topic filter ('+' and '#' stand "
             "alone in a level, '#' last)\n"
             "5: mqtt.subscriptions: \"+x/#\" is not an MQTT topic filter ('+' and '#' stand "
             "alone in a level, '#' last)\n"
             "6: mqtt.subscriptions: \"a/b#\" is not an MQTT topic filter ('+' and '#' stand "
             "alone in a level, '#' last)\n"
             "7: mqtt.subscriptions: \"a/+b\" is not an MQTT topic filter ('+' and '#' stand "
             "alone in a level, '#' last)\n");
    load_bad("mqtt:\n  shared_group: \"a/b\"\n", 1,
             "2: mqtt.shared_group must not hold '/', '+' or '#'\n");
    load_good("mqtt:\n  subscriptions: [\"#\", \"+\", \"a/+/b/#\", \"/a//b/\"]\n"
              "  shared_group: hubs-1\n",
              &cfg);
    assert_int_equal(cfg.mqtt.n_subscriptions, 4);
}

/* The prefix goes into SCAN MATCH patterns (recent ids, worker status): no glob in it. */
static void config_stream_prefix_no_glob(void **state)
{
    static const char *const bad[] = {"rh[1]:", "rh*:", "rh?:", "rh\\\\:", "rh]:"};
    char text[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "redis:\n  stream_prefix: \"%s\"\n", bad[i]);
        load_bad(text, 1,
                 "2: redis.stream_prefix must not hold '*', '?', '[', ']' or '\\': "
                 "SCAN MATCH would take them as a pattern\n");
    }
}

/* The hub's session at the broker needs its key: libmosquitto refuses an empty one. */
static void config_empty_client_id(void **state)
{
    (void)state;
    load_bad("mqtt:\n  client_id: \"\"\n", 1,
             "2: mqtt.client_id must not be empty: it is the key of the hub's session at the "
             "broker\n");
    load_bad("mqtt:\n  port: 1883\n  client_id:\n", 1,
             "3: mqtt.client_id must not be empty: it is the key of the hub's session at the "
             "broker\n");
}

/* The docs: keep wait_timeout_ms below liveness_timeout_ms, or a WAIT drops the link. */
static void config_wait_below_liveness(void **state)
{
    struct hub_config cfg;

    load_bad("redis:\n  min_replicas_ack: 1\n  wait_timeout_ms: 5000\n", 1,
             "3: redis.wait_timeout_ms (5000) must be below redis.liveness_timeout_ms (5000): "
             "a WAIT that long is taken for a dead link\n");
    load_bad("redis:\n  liveness_timeout_ms: 800\n  min_replicas_ack: 2\n", 1,
             "2: redis.wait_timeout_ms (1000) must be below redis.liveness_timeout_ms (800): "
             "a WAIT that long is taken for a dead link\n");
    load_good("redis:\n  min_replicas_ack: 1\n  wait_timeout_ms: 4999\n", &cfg);
    load_good("redis:\n  wait_timeout_ms: 60000\n", &cfg); /* no WAIT is sent */
}

static void config_duplicate_key(void **state)
{
    load_bad("mqtt:\n"
             "  port: 1884\n"
             "  keepalive_s: 10\n"
             "  port: 1885\n",
             1, "4: mqtt.port is set twice\n");
}

static void config_duplicate_section(void **state)
{
    /* The second "mqtt:" would silently override or merge with the first. */
    struct loaded l;
    char prefix[300], err[4096];
    bool reported;

    load_text(&l, "mqtt:\n"
                  "  port: 1884\n"
                  "redis:\n"
                  "  port: 6380\n"
                  "mqtt:\n"
                  "  port: 1885\n");
    snprintf(prefix, sizeof(prefix), "%s:5: ", l.path);
    reported = strncmp(l.err, prefix, strlen(prefix)) == 0 && strstr(l.err, "mqtt") != NULL;
    snprintf(err, sizeof(err), "%s", l.err);
    loaded_free(&l);
    if (!reported)
        fail_msg("a section given twice is not reported at line 5: rc %d, errors \"%s\"", l.rc,
                 err);
    assert_int_equal(l.rc, -1);
}

static void config_string_limits(void **state)
{
    struct hub_config cfg;
    char text[512], name[200];

    memset(name, 'n', 127);
    name[127] = '\0';
    snprintf(text, sizeof(text), "hub:\n  instance: %s\n", name);
    load_good(text, &cfg);
    assert_string_equal(cfg.hub.instance, name);
    strcat(name, "n");
    snprintf(text, sizeof(text), "hub:\n  instance: %s\n", name);
    load_bad(text, 1, "2: hub.instance is longer than 127 characters\n");
    load_bad("redis:\n  stream_prefix: "
             "\"0123456789012345678901234567890123456789012345678901234567890123\"\n",
             1, "2: redis.stream_prefix is longer than 63 characters\n");
}

static void config_subscription_limits(void **state)
{
    struct hub_config cfg;
    char text[1024];
    size_t n;

    load_bad("mqtt:\n  subscriptions: []\n", 1, "2: mqtt.subscriptions needs at least 1 entry\n");
    load_bad("mqtt:\n  subscriptions: [\"a/#\", \"\"]\n", 1,
             "2: mqtt.subscriptions entries must not be empty\n");
    n = (size_t)snprintf(text, sizeof(text), "mqtt:\n  subscriptions:\n");
    for (int i = 0; i < 16; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "    - m%d/sensor/#\n", i);
    load_good(text, &cfg);
    assert_int_equal(cfg.mqtt.n_subscriptions, 16);
    assert_string_equal(cfg.mqtt.subscriptions[15], "m15/sensor/#");
    snprintf(text + n, sizeof(text) - n, "    - m16/sensor/#\n");
    load_bad(text, 1, "19: mqtt.subscriptions has more than 16 entries\n");
}

static void config_not_a_mapping(void **state)
{
    load_bad("- a\n- b\n", 1,
             "1: the configuration must be a mapping of sections (hub, mqtt, redis, ...)\n");
    load_bad("hello\n", 1,
             "1: the configuration must be a mapping of sections (hub, mqtt, redis, ...)\n");
    load_bad("hub:\n  instance: a\nmqtt: 5\n", 1, "3: section 'mqtt' must be a mapping of keys\n");
    load_bad("mqtt:\n  - port\n", 1, "2: section 'mqtt' must be a mapping of keys\n");
}

static void config_broken_yaml(void **state)
{
    struct loaded l;
    char expected[512];

    /* An unclosed flow sequence: the parser stops where it expected ',' or ']'. */
    load_text(&l, "hub:\n"
                  "  instance: a\n"
                  "mqtt:\n"
                  "  subscriptions: [\"a/#\", \"b/#\"\n"
                  "redis:\n"
                  "  port: 6380\n");
    snprintf(expected, sizeof(expected),
             "%s:5: did not find expected ',' or ']' while parsing a flow sequence\n", l.path);
    assert_string_equal(l.err, expected);
    assert_int_equal(l.rc, -1);
    loaded_free(&l);

    /* An unclosed quote. */
    load_text(&l, "hub:\n"
                  "  instance: \"a\n"
                  "mqtt:\n"
                  "  port: 1\n");
    snprintf(expected, sizeof(expected),
             "%s:5: found unexpected end of stream while scanning a quoted scalar\n", l.path);
    assert_string_equal(l.err, expected);
    assert_int_equal(l.rc, -1);
    loaded_free(&l);

    /* A tab where indentation is expected. */
    load_text(&l, "mqtt:\n"
                  "  port: 1\n"
                  "\tkeepalive_s: 10\n");
    snprintf(expected, sizeof(expected), "%s:3: ", l.path);
    assert_memory_equal(l.err, expected, strlen(expected));
    assert_int_equal(l.rc, -1);
    loaded_free(&l);
}

static void config_several_errors_all_reported(void **state)
{
    load_bad("hub:\n"                 /* 1 */
             "  instanse: a\n"        /* 2: unknown key */
             "mqtt:\n"                /* 3 */
             "  port: abc\n"          /* 4: not an integer */
             "  keepalive_s: 1\n"     /* 5: out of range */
             "  host: broker.local\n" /* 6: a host name */
             "  port: 1883\n"         /* 7: set twice */
             "nope:\n"                /* 8: unknown section */
             "  x: 1\n"               /* 9 */
             "log:\n"                 /* 10 */
             "  level: loud\n",       /* 11: unknown level */
             7,
             "2: unknown key 'instanse' in section 'hub'\n"
             "4: mqtt.port must be an integer, not \"abc\"\n"
             "5: mqtt.keepalive_s must be between 5 and 3600, not 1\n"
             "6: mqtt.host must be an IPv4 or IPv6 address (no host names)\n"
             "7: mqtt.port is set twice\n"
             "8: unknown section 'nope'\n"
             "11: log.level must be one of error, warn, info, debug\n");
}

static void config_missing_file(void **state)
{
    char dir[256], path[300], expected[400];
    struct hub_config cfg;
    char *err_text = NULL;
    size_t err_len = 0;
    FILE *err;
    int rc;

    snprintf(dir, sizeof(dir), "%s/test_config.XXXXXX", tmp_dir());
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/absent.yaml", dir);
    err = open_memstream(&err_text, &err_len);
    assert_non_null(err);
    rc = config_load(&cfg, path, err);
    assert_int_equal(fclose(err), 0);
    rmdir(dir);
    assert_int_equal(rc, -ENOENT);
    snprintf(expected, sizeof(expected), "%s: cannot open: %s\n", path, strerror(ENOENT));
    assert_string_equal(err_text, expected);
    free(err_text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_defaults_match_docs),
        cmocka_unit_test(config_empty_file_gives_defaults),
        cmocka_unit_test(config_empty_document_gives_defaults),
        cmocka_unit_test(config_every_key_loaded),
        cmocka_unit_test(config_block_list_and_partial_file),
        cmocka_unit_test(config_log_levels),
        cmocka_unit_test(config_unknown_section),
        cmocka_unit_test(config_unknown_key),
        cmocka_unit_test(config_wrong_type),
        cmocka_unit_test(config_out_of_range),
        cmocka_unit_test(config_range_edges_accepted),
        cmocka_unit_test(config_host_name_refused),
        cmocka_unit_test(config_sentinel_addresses),
        cmocka_unit_test(config_relative_path_too_long),
        cmocka_unit_test(config_subscriptions_are_topic_filters),
        cmocka_unit_test(config_stream_prefix_no_glob),
        cmocka_unit_test(config_empty_client_id),
        cmocka_unit_test(config_wait_below_liveness),
        cmocka_unit_test(config_duplicate_key),
        cmocka_unit_test(config_duplicate_section),
        cmocka_unit_test(config_string_limits),
        cmocka_unit_test(config_subscription_limits),
        cmocka_unit_test(config_not_a_mapping),
        cmocka_unit_test(config_broken_yaml),
        cmocka_unit_test(config_several_errors_all_reported),
        cmocka_unit_test(config_missing_file),
    };

    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
