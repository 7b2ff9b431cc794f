// SPDX-License-Identifier: MIT
/*
 * The hub's configuration (hub.yaml), documented in docs/configuration.md. Loading
 * starts from the defaults and overrides what the file sets; every error names the
 * file and line.
 */
#ifndef RHEINHUB_CONFIG_H
#define RHEINHUB_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

#define CONFIG_NAME_MAX 128
/* Events one stream entry may carry (redis.entry_events_max; schemas/envelope.md). */
#define ENTRY_EVENTS_MAX 64
#define CONFIG_SUBSCRIPTIONS_MAX 16
#define CONFIG_WORKERS_MAX 16
#define CONFIG_LIST_MAX 16

/*
 * A worker kind: its consumer group and route, and (when command is set) the
 * processes the hub's supervisor keeps running.
 */
struct worker_config {
    char name[64];            /* the kind: group name and route key */
    char command[512];        /* absolute after loading; "" = not supervised here */
    char args[CONFIG_LIST_MAX][256];
    int n_args;
    int instances;
    char types[CONFIG_LIST_MAX][CONFIG_NAME_MAX];          /* globs on <category>.<type> */
    int n_types;
    char municipalities[CONFIG_LIST_MAX][CONFIG_NAME_MAX]; /* globs */
    int n_municipalities;
    char subjects[CONFIG_LIST_MAX][CONFIG_NAME_MAX];       /* globs */
    int n_subjects;
};

struct hub_config {
    struct {
        char instance[CONFIG_NAME_MAX];
    } hub;
    struct {
        char host[64];
        int port;
        char client_id[CONFIG_NAME_MAX];
        char username[CONFIG_NAME_MAX];
        char password[CONFIG_NAME_MAX];
        int keepalive_s;
        int session_expiry_s;
        char shared_group[CONFIG_NAME_MAX];
        char subscriptions[CONFIG_SUBSCRIPTIONS_MAX][CONFIG_NAME_MAX];
        int n_subscriptions;
        char source[256];
    } mqtt;
    struct {
        char host[64];
        int port;
        char password[CONFIG_NAME_MAX];
        int max_in_flight;
        int entry_events_max;   /* events one stream entry carries at most (1: one each) */
        int entry_linger_ms;    /* a loop turn's events wait this long for more; 0: none */
        int stream_maxlen;      /* memory cap per stream; 0: none */
        int trim_interval_ms;
        int ping_interval_ms;
        int liveness_timeout_ms;
        char stream_prefix[64];
        char sentinels[CONFIG_LIST_MAX][80]; /* "ip:port" of each Sentinel; none: host/port */
        int n_sentinels;
        char master_name[CONFIG_NAME_MAX];  /* the name the Sentinels monitor */
        int min_replicas_ack;   /* an entry counts once WAIT says this many replicas have it */
        int wait_timeout_ms;    /* how long one WAIT waits for them */
    } redis;
    struct {
        int queue_max;
        int max_payload_bytes;
        int max_depth;
        int deadletter_maxlen;
        int dedupe_window;
        int dedupe_preload;
    } ingest;
    struct {
        int drain_timeout_s;
        char spool_file[256];
    } shutdown;
    struct {
        char dir[1024];  /* crash journal folder; "" = no journal; relative: to this file's */
        int max_mb;      /* all segments together; then MQTT input pauses */
        int segment_mb;  /* a new segment file is begun past this size */
        int fsync;       /* 1: fdatasync after every write (power loss), 0: page cache only */
    } journal;
    struct {
        char dir[1024]; /* absolute after loading */
    } schemas;
    struct {
        char bind[64];
        int port;
    } http;
    struct {
        enum log_level level;
    } log;
    struct worker_config workers[CONFIG_WORKERS_MAX];
    int n_workers;
    bool set_nothing; /* the file set no key (empty, comments only, {}): all defaults */
    struct {
        int batch_max;       /* entries per callback */
        int block_ms;        /* how long one read waits for new entries */
        int retry_ms;        /* a failed or abandoned entry is tried again after this idle time */
        int max_deliveries;  /* then it goes to the dead-letter stream */
        int heartbeat_ms;
    } worker;
    struct {
        char backend[16];            /* "sqlite" or "postgresql" */
        char sqlite_path[1024];      /* relative: to the configuration file's folder */
        int busy_timeout_ms;         /* how long a write waits for a lock before it fails */
        char postgres_conninfo[512]; /* libpq connection string */
        int retention_days;          /* events older than this (by their time) go; 0: keep */
        int batch_max;               /* entries read and committed in one transaction */
        int commit_interval_ms;      /* after a batch that drained the streams, wait this
                                        long (from its start) before reading again */
    } storage;
    struct {
        char rules_file[1024];  /* alert rules (YAML); relative: to this file's folder */
        char client_id[CONFIG_NAME_MAX]; /* MQTT client id; "-<instance>" is appended */
        char username[CONFIG_NAME_MAX];  /* MQTT account of its own; "": mqtt.username */
        char password[CONFIG_NAME_MAX];  /* with username */
        int check_interval_ms;  /* how often silence, durations and escalations are checked */
        int64_t forget_after_ns; /* quiet tracks without an open alert go after this; 0 never */
    } alerting;
    struct {
        char windows_file[1024]; /* per-type windows and fields (YAML); "" = the defaults */
        char client_id[CONFIG_NAME_MAX]; /* MQTT client id; "-<host>-<instance>" is appended */
        char username[CONFIG_NAME_MAX];  /* MQTT account of its own; "": mqtt.username */
        char password[CONFIG_NAME_MAX];  /* with username */
        int lateness_s;          /* events this late still count in their window */
        int check_interval_ms;   /* how often windows past their end are closed */
        char timezone[CONFIG_NAME_MAX]; /* IANA zone of whole-day windows; "UTC": UTC days */
        int64_t forget_after_ns; /* a topic with no window closed for this long loses its
                                    retained aggregate; 0 never */
    } analytics;
    struct {
        char ttn[1024];         /* rheinhub-source-ttn's file (YAML); relative: to this file */
        char chirpstack[1024];  /* rheinhub-source-chirpstack's file */
        char pegelonline[1024]; /* rheinhub-source-pegelonline's file */
        char client_id[CONFIG_NAME_MAX]; /* MQTT client id at our broker; "-<source>" appended */
        char username[CONFIG_NAME_MAX];  /* MQTT account of the sources; "": mqtt.username */
        char password[CONFIG_NAME_MAX];  /* with username */
        int queue_max;          /* events a source holds for our broker before it stops reading;
                                 * at most 65535, the outbox's OUTBOX_MAX */
    } sources;
    struct {
        char bind[64];           /* IP literal; loopback unless TLS is configured */
        int port;                /* 0: a port the kernel picks */
        char files[1024];        /* the page's files; relative: to this file's folder */
        char tls_cert[1024];     /* PEM; with tls_key, the console speaks HTTPS only */
        char tls_key[1024];
        char accounts_file[1024]; /* the broker's account registry (deploy/broker/account) */
        char client_id[CONFIG_NAME_MAX]; /* MQTT client id of its own watch session */
        char username[CONFIG_NAME_MAX];  /* that session's account; "": mqtt.username */
        char password[CONFIG_NAME_MAX];  /* with username */
        int idle_timeout_s;      /* an operator's session ends after this long without a request */
        int max_sessions;        /* operator sessions (each holds one MQTT connection) */
        int max_clients;         /* HTTP connections, live streams included */
        int max_clients_per_address; /* of them from one address; 0: no limit of its own */
    } console;
};

void config_defaults(struct hub_config *cfg);

/*
 * Loads path over the defaults. Errors are written to err as "path:line: message",
 * one per line. Returns 0, the negative count of errors found (-1, -2, ...), or -ENOENT
 * style negative errno when the file cannot be read (also reported on err).
 * *cfg is only meaningful on success.
 */
int config_load(struct hub_config *cfg, const char *path, FILE *err);

#endif
