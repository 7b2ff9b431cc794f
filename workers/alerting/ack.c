// SPDX-License-Identifier: MIT
/*
 * Acknowledgement topics and payloads (ack.h), checked as schemas/ack.schema.json
 * says: an object with a string "by" of 1..128 characters, an optional string
 * "comment" of at most 2000 characters, an optional "alert_id" (an alert's id: 1..128
 * characters of letters, digits, '.', '_', ':' and '-'), and nothing else.
 */
#include "ack.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

/* Counts the characters (code points) of valid UTF-8 text, as JSON Schema does. */
static size_t chars(const char *s, size_t n)
{
    size_t c = 0;

    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

static bool level_ok(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '+' || s[i] == '#' || s[i] == '/' || s[i] == '\0')
            return false;
    return true;
}

int ack_parse(const char *topic, const void *payload, size_t len, struct ack *out,
              const char **why)
{
    const char *parts[5];
    size_t lens[5];
    const char *p = topic;
    json_t *root = NULL;
    const char *key;
    json_t *value;
    int n = 0;

    memset(out, 0, sizeof(*out));
    /* <municipality>/alerts/<rule>/<subject>/ack */
    while (n < 5) {
        const char *slash = strchr(p, '/');
        parts[n] = p;
        lens[n] = slash ? (size_t)(slash - p) : strlen(p);
        n++;
        if (!slash)
            break;
        p = slash + 1;
    }
    if (n != 5 || parts[4] + lens[4] != topic + strlen(topic) || lens[1] != 6 || memcmp(parts[1], "alerts", 6) != 0 ||
        lens[4] != 3 || memcmp(parts[4], "ack", 3) != 0 ||
        !level_ok(parts[0], lens[0], TOPIC_MUNICIPALITY_MAX) ||
        !level_ok(parts[2], lens[2], RULE_NAME_MAX - 1) ||
        !level_ok(parts[3], lens[3], TOPIC_SUBJECT_MAX)) {
        *why = "the topic is not <municipality>/alerts/<rule>/<subject>/ack";
        return -EINVAL;
    }
    snprintf(out->key, sizeof(out->key), "%.*s/%.*s/%.*s", (int)lens[0], parts[0], (int)lens[2],
             parts[2], (int)lens[3], parts[3]);
    if (len > ACK_PAYLOAD_MAX) {
        *why = "the payload is larger than 16 KiB";
        return -EINVAL;
    }
    if (!(root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(root)) {
        *why = "the payload is not a JSON object";
        goto err;
    }
    json_object_foreach(root, key, value) {
        if (strcmp(key, "by") == 0) {
            size_t n_bytes = json_string_length(value);
            if (!json_is_string(value) || n_bytes == 0 ||
                chars(json_string_value(value), n_bytes) > ALERT_BY_CHARS ||
                n_bytes >= sizeof(out->by) || memchr(json_string_value(value), '\0', n_bytes)) {
                *why = "\"by\" must be a string of 1 to 128 characters";
                goto err;
            }
            memcpy(out->by, json_string_value(value), n_bytes + 1);
        } else if (strcmp(key, "comment") == 0) {
            size_t n_bytes = json_string_length(value);
            if (!json_is_string(value) || chars(json_string_value(value), n_bytes) > ACK_COMMENT_CHARS ||
                n_bytes >= sizeof(out->comment)) {
                *why = "\"comment\" must be a string of at most 2000 characters";
                goto err;
            }
            memcpy(out->comment, json_string_value(value), n_bytes + 1);
        } else if (strcmp(key, "alert_id") == 0) {
            size_t n_bytes = json_string_length(value);
            if (!json_is_string(value) || !alert_id_valid(json_string_value(value), n_bytes)) {
                *why = "\"alert_id\" must be an alert's id: 1 to 128 letters, digits, '.', "
                       "'_', ':' or '-'";
                goto err;
            }
            memcpy(out->alert_id, json_string_value(value), n_bytes + 1);
        } else {
            *why = "the payload has a member other than \"by\", \"comment\" and \"alert_id\"";
            goto err;
        }
    }
    if (!out->by[0]) {
        *why = "the payload has no \"by\"";
        goto err;
    }
    json_decref(root);
    return 0;
err:
    json_decref(root);
    return -EINVAL;
}
