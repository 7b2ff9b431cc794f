// SPDX-License-Identifier: MIT
/*
 * A source's own file (YAML), named in hub.yaml's sources section: where the source
 * reads from (a network server's MQTT integration, or the PEGELONLINE API), its
 * metrics endpoint, and the mapping from devices or gauges to canonical events.
 * Loading reports every error as "FILE:LINE: message" (docs/sources.md lists the keys).
 */
#ifndef RHEINHUB_SOURCE_FILE_H
#define RHEINHUB_SOURCE_FILE_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#define SOURCE_TOPICS_MAX 8
#define MAPPING_FIELDS_MAX 24
#define MAPPING_ENUM_MAX 16
#define MAPPING_RULES_MAX 256
#define SOURCE_STATIONS_MAX 32

#define SOURCE_KIND_MAP(X)                                                                         \
    X(TTN, "ttn")                                                                                  \
    X(CHIRPSTACK, "chirpstack")                                                                    \
    X(PEGELONLINE, "pegelonline")

enum source_kind {
#define X(name, text) SOURCE_##name,
    SOURCE_KIND_MAP(X)
#undef X
};

const char *source_kind_name(enum source_kind kind);

/* One value of a string->value map: a decoded "from" (as text) becomes "to". */
struct field_enum {
    char from[64];
    json_t *to; /* owned */
};

/* How one field of the canonical event is made. */
struct field_map {
    char name[64];      /* the event's field */
    char from[128];     /* dotted path into the decoded payload; "" with a constant */
    json_t *constant;   /* owned; NULL unless const */
    bool scaled;        /* scale or offset given: the value must be a number */
    double scale, offset;
    struct field_enum enums[MAPPING_ENUM_MAX];
    int n_enums;
    bool optional;      /* absent from the payload: left out, not a dead letter */
};

/* One device rule: which devices, and the event they become. */
struct device_rule {
    char device[128];       /* glob on the device id (TTN device_id, ChirpStack deviceName) or DevEUI */
    char municipality[64];
    char event_type[72];    /* <category>.<type> */
    char subject[160];      /* template: {device}, {dev_eui} */
    bool radio;             /* add rssi and snr of the best gateway */
    struct field_map fields[MAPPING_FIELDS_MAX];
    int n_fields;
    int line;
};

/* One PEGELONLINE gauge. */
struct station {
    char station[128];      /* UUID or name, as in the API's URLs */
    char municipality[64];
    char subject[129];
};

struct source_file {
    enum source_kind kind;
    char path[1024];
    struct {
        char host[256];
        int port;
        bool tls;
        char ca_file[1024];  /* "": the system's CAs */
        char username[256];
        char password[512];
        char client_id[128]; /* persistent session at the network server */
        char topics[SOURCE_TOPICS_MAX][256];
        int n_topics;
        int keepalive_s;
        int max_payload_bytes;
    } server;
    struct {
        char base_url[512];
        int interval_s;      /* poll period of the current measurement */
        int timeout_s;       /* one request */
        char backfill[16];   /* ISO 8601 period of the gap fill, e.g. P1D */
        int backoff_max_s;   /* the longest wait after errors */
        char ca_file[1024];
        char state_file[1024]; /* newest published time per station; "": kept in memory */
    } api;
    struct {
        char bind[64];
        int port;            /* /metrics and /healthz; 0: off */
    } http;
    char municipality[64];
    struct device_rule *rules; /* owned */
    int n_rules;
    struct station stations[SOURCE_STATIONS_MAX];
    int n_stations;
};

/*
 * Loads path as a file of kind. Errors go to err as "path:line: message". Returns 0 or
 * the negative count of errors (or a negative errno when the file cannot be read). On
 * failure *sf holds nothing to free; on success free it with source_file_close.
 */
int source_file_load(struct source_file *sf, enum source_kind kind, const char *path, FILE *err);
void source_file_close(struct source_file *sf);

#endif
