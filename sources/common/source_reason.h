// SPDX-License-Identifier: MIT
/*
 * Why a source could not turn its input into an event. The names are part of the
 * contract: they are the reason of the source's entries in the dead-letter stream
 * and the label of its rheinhub_source_deadletters_total metric.
 */
#ifndef RHEINHUB_SOURCE_REASON_H
#define RHEINHUB_SOURCE_REASON_H

#define SOURCE_REASON_MAP(X)                                                                       \
    X(TOO_LARGE, "too_large")                   /* input over the size limit */                   \
    X(BAD_JSON, "bad_json")                     /* not JSON, or cut short */                      \
    X(BAD_FORMAT, "bad_format")                 /* not the network server's or API's format */    \
    X(NO_DECODED_PAYLOAD, "no_decoded_payload") /* no payload formatter / codec output */         \
    X(UNKNOWN_DEVICE, "unknown_device")         /* no mapping rule for the device */              \
    X(MISSING_FIELD, "missing_field")           /* a mapped field is not in the payload */        \
    X(BAD_FIELD_TYPE, "bad_field_type")         /* a field has another JSON type than mapped */   \
    X(UNMAPPED_VALUE, "unmapped_value")         /* a value the rule's map does not list */        \
    X(BAD_TIME, "bad_time")                     /* no usable time */                              \
    X(BAD_SUBJECT, "bad_subject")               /* the subject is not [A-Za-z0-9._-]{1,128} */    \
    X(SCHEMA, "schema")                         /* the mapped event fails its type's schema */    \
    X(UNKNOWN_STATION, "unknown_station")       /* PEGELONLINE answered 404 */                   \
    X(FUTURE_TIME, "future_time")               /* PEGELONLINE: ahead of our clock */

enum source_reason {
#define X(name, text) SOURCE_REASON_##name,
    SOURCE_REASON_MAP(X)
#undef X
        SOURCE_REASON_COUNT
};

const char *source_reason_name(enum source_reason reason);

#endif
