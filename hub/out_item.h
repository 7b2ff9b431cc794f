// SPDX-License-Identifier: MIT
/*
 * An entry on its way to Redis: one command, RESP-encoded once when queued, in one
 * allocation; and the intrusive FIFO lists the Redis writer moves entries through.
 */
#ifndef RHEINHUB_OUT_ITEM_H
#define RHEINHUB_OUT_ITEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct out_item {
    struct out_item *next;
    uint64_t sent_ns;
    uint64_t after_ms; /* newest confirmed stream time when this was sent */
    uint32_t batch;    /* in flight: items this item's reply answers (1, or an EVAL batch) */
    bool is_event;
    bool resend;       /* sent through the add-if-absent script */
    bool from_spool;   /* loaded from the shutdown spool */
    uint64_t jseq;     /* events: the crash journal's sequence number; 0: not journaled */
    const char *cmd;   /* the command, RESP-encoded once when queued */
    size_t cmd_len;
    /* Events only: NUL-terminated copies, and the envelope inside cmd. */
    const char *key, *id, *topic;
    const char *env;
    size_t env_len;
    char buf[];
};

struct out_list {
    struct out_item *head, *tail;
    size_t len;
};

void out_list_push(struct out_list *l, struct out_item *it);
struct out_item *out_list_pop(struct out_list *l);
/* Moves all of src in front of dst. */
void out_list_prepend(struct out_list *dst, struct out_list *src);
/* Frees every entry of l. */
void out_list_free(struct out_list *l);

/*
 * A command of n bulk strings. extras are NUL-terminated copies kept after the
 * command; pos[i] (if pos) receives where part i lies inside the command, extra_pos[i]
 * where extra i was copied. Returns NULL when out of memory.
 */
struct out_item *out_item_new(int n, const char *const *parts, const size_t *lens,
                              const char **pos, int n_extra, const char *const *extras,
                              const char **extra_pos);

/* XADD key * id <id> env <env>, remembering topic for a dead letter. NULL: no memory. */
struct out_item *out_item_event_new(const char *key, const char *id, const char *env,
                                    size_t env_len, const char *topic);

/*
 * XADD key MAXLEN ~ maxlen * with a dead letter's fields: topic, reason, detail, the
 * first DEADLETTER_PAYLOAD_MAX bytes of the payload (may be NULL), its full size, and
 * the time now. Everything is copied. NULL: no memory.
 */
#define DEADLETTER_PAYLOAD_MAX 256
struct out_item *out_item_deadletter_new(const char *key, const char *maxlen, const char *topic,
                                         const char *reason, const char *detail,
                                         const void *payload, size_t payload_len);

/* A command already RESP-encoded (a dead letter from the spool). NULL: no memory. */
struct out_item *out_item_raw_new(const char *cmd, size_t len);

#endif
