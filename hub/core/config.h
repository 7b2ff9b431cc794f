// SPDX-License-Identifier: MIT
/*
 * The hub's configuration (hub.yaml), documented in docs/configuration.md. Loading
 * starts from the defaults and overrides what the file sets; every error names the
 * file and line.
 */
#ifndef RHEINHUB_CONFIG_H
#define RHEINHUB_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "log.h"

#define CONFIG_NAME_MAX 128
#define CONFIG_SUBSCRIPTIONS_MAX 16

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
        int ping_interval_ms;
        int liveness_timeout_ms;
        char stream_prefix[64];
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
        char dir[1024]; /* absolute after loading */
    } schemas;
    struct {
        char bind[64];
        int port;
    } http;
    struct {
        enum log_level level;
    } log;
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
