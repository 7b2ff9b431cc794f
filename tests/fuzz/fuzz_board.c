// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the operations console's live picture (console/board.c), which
 * takes whatever the broker delivers on the alert and analytics topics and streams it
 * to the operators' pages as Server-Sent Events. The input is a sequence of messages,
 * each a kind byte (alert, aggregate, ping, a step of a resync), a topic byte (from a
 * few valid and invalid topics), a 16-bit length and that many payload bytes.
 *
 * One page is attached before the messages and one after. Everything either page reads
 * must be well-formed SSE: blocks of "retry:", "event: NAME" and one "data: JSON" line,
 * or a ": ping" comment, each block ended by an empty line, every data line JSON. The
 * later page's first event, the snapshot, must hold exactly the alerts the board holds
 * (board_alerts_json). A violation aborts; the sanitizers abort on any memory error.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "board.h"
#include "fuzz_common.h"

#define READ_MAX (4 * 1024 * 1024)

static const char *const topics[] = {
    "linz/alerts/rhine-flood/pegel-1",
    "linz/alerts/rhine-flood/pegel-2",
    "linz/alerts/sensor-silent/bin-1",
    "linz/alerts/rhine-flood",
    "linz/analytics/sensor.waterlevel/pegel-1/1h",
    "linz/analytics/sensor.waterlevel/pegel-1/15m",
    "linz/analytics/sensor.waterlevel/_all/1h",
    "linz/analytics/sensor.waterlevel/pegel-1",
    "bonn/alerts/ü-rule/\"quoted\"",
    "linz/sensor/waterlevel/pegel-1",
};

static char *text; /* what a page read */

static void no_op(void *conn)
{
    (void)conn;
}

/* Reads the client's stream until it would park; returns its length in text. */
static size_t read_all(struct board *b, struct board_client *c)
{
    size_t n = 0;
    ssize_t k;

    while ((k = board_read(b, c, text + n, READ_MAX - n)) > 0)
        if ((n += (size_t)k) == READ_MAX)
            fuzz_fail("a stream longer than the test reads", NULL);
    if (k < 0)
        fuzz_fail("a stream ended that nothing ended", NULL);
    text[n] = '\0';
    return n;
}

/* Checks the SSE blocks of text; returns the first block's data, parsed (or NULL). */
static json_t *check_sse(char *s)
{
    json_t *first = NULL;

    while (*s) {
        char *end = strstr(s, "\n\n"), *line, *next, *data = NULL;
        bool event = false;

        if (!end)
            fuzz_fail("a block without its empty line", s);
        *end = '\0';
        for (line = s; line; line = next) {
            char *nl = strchr(line, '\n');
            next = nl ? nl + 1 : NULL;
            if (nl)
                *nl = '\0';
            if (strncmp(line, "data: ", 6) == 0 && !data)
                data = line + 6;
            else if (strncmp(line, "event: ", 7) == 0 && !event)
                event = true;
            else if (strcmp(line, "retry: 1000") != 0 && strcmp(line, ": ping") != 0)
                fuzz_fail("a line SSE does not expect", line);
        }
        if (event != (data != NULL))
            fuzz_fail("an event without its data, or data without its event", s);
        if (data) {
            json_error_t jerr;
            json_t *j = json_loads(data, JSON_REJECT_DUPLICATES, &jerr);
            if (!j)
                fuzz_fail("a data line that is not JSON", jerr.text);
            if (!first)
                first = j;
            else
                json_decref(j);
        }
        s = end + 2;
    }
    return first;
}

/* One step of a resync after a connect, at now_ms of a clock that moves 400 ms a message. */
static void resync_step(struct board *b, unsigned step, int64_t now_ms)
{
    switch (step % 5) {
    case 0: board_resync_begin(b); break;
    case 1: board_resync_subscribed(b, now_ms); break;
    case 2: board_resync_retained(b, now_ms); break;
    case 3: board_resync_tick(b, now_ms); break;
    default: board_resync_cancel(b); break;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!(text = malloc(READ_MAX + 1)))
        fuzz_fail("out of memory", NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct board *b = board_new(no_op, no_op);
    struct board_client *early, *late;
    json_t *snapshot, *held;
    size_t off = 0;

    if (!b || !(early = board_attach(b, NULL, "early")))
        fuzz_fail("out of memory", NULL);
    for (int m = 0; m < 64 && off + 4 <= size; m++) {
        const char *topic = topics[data[off + 1] % (sizeof(topics) / sizeof(topics[0]))];
        size_t len = (size_t)(data[off + 2] | data[off + 3] << 8);
        uint8_t kind = data[off];

        off += 4;
        if (len > size - off)
            len = size - off;
        if (kind % 4 == 0)
            board_alert(b, topic, data + off, len);
        else if (kind % 4 == 1)
            board_aggregate(b, topic, data + off, len);
        else if (kind % 4 == 2)
            board_ping(b);
        else
            resync_step(b, kind >> 2, (int64_t)m * 400);
        off += len;
    }
    read_all(b, early);
    json_decref(check_sse(text));
    if (!(late = board_attach(b, NULL, "late")))
        fuzz_fail("out of memory", NULL);
    read_all(b, late);
    if (!(snapshot = check_sse(text)) || !(held = board_alerts_json(b)))
        fuzz_fail("no snapshot", NULL);
    if (!json_equal(snapshot, held))
        fuzz_fail("the snapshot is not the alerts the board holds", NULL);
    json_decref(snapshot);
    json_decref(held);
    json_decref(board_gauges_json(b));
    board_detach(b, early);
    board_detach(b, late);
    board_free(b);
    return 0;
}
