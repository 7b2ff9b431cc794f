// SPDX-License-Identifier: MIT
/*
 * Why an inbound message was not accepted. The names are part of the contract: they
 * appear in the dead-letter stream and in the metrics.
 */
#ifndef RHEINHUB_REJECT_H
#define RHEINHUB_REJECT_H

#define REJECT_REASON_MAP(X)                                                                       \
    X(BAD_TOPIC, "bad_topic")                                                                      \
    X(TOO_LARGE, "too_large")                                                                      \
    X(BAD_UTF8, "bad_utf8")                                                                        \
    X(BAD_JSON, "bad_json")                                                                        \
    X(NOT_OBJECT, "not_object")                                                                    \
    X(TOO_DEEP, "too_deep")                                                                        \
    X(BAD_TIME, "bad_time")                                                                        \
    X(BAD_CLOUDEVENT, "bad_cloudevent")                                                            \
    X(TYPE_MISMATCH, "type_mismatch")                                                              \
    X(SUBJECT_MISMATCH, "subject_mismatch")                                                        \
    X(TIME_MISMATCH, "time_mismatch")                                                              \
    X(UNKNOWN_TYPE, "unknown_type")                                                                \
    X(SCHEMA, "schema")                                                                            \
    X(STORE_FAILED, "store_failed")

enum reject_reason {
#define X(name, text) REJECT_##name,
    REJECT_REASON_MAP(X)
#undef X
        REJECT_REASON_COUNT
};

const char *reject_reason_name(enum reject_reason reason);

#endif
