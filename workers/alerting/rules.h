// SPDX-License-Identifier: MIT
/*
 * The alert rules: a YAML file (hub.yaml's alerting.rules_file, docs/alerting.md),
 * loaded once at start and checked with FILE:LINE errors. A rule matches events by
 * municipality, type and subject globs and by fields of their data, and raises an
 * alert on one condition: a level above or below (with a separate clear level, over
 * the value itself or its change over a window), equality of a field, or silence; an
 * event whose field says the subject is done (until.h) ends every condition but silence.
 */
#ifndef RHEINHUB_ALERTING_RULES_H
#define RHEINHUB_ALERTING_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>

#include "template.h"
#include "value.h"

#define RULE_NAME_MAX 64    /* [a-z0-9][a-z0-9_-]{0,62} and its NUL */
#define RULE_GLOB_MAX 136
#define RULE_PATH_MAX 128
#define RULE_TEMPLATE_MAX 2048
#define RULE_LEVELS_MAX 4
#define RULE_WHERE_MAX 8
#define RULES_MAX 256

#define SEVERITY_MAP(X)                                                                            \
    X(INFO, "info")                                                                                \
    X(WARNING, "warning")                                                                          \
    X(CRITICAL, "critical")

enum severity {
#define X(name, text) SEVERITY_##name,
    SEVERITY_MAP(X)
#undef X
        SEVERITY_COUNT
};

#define RULE_KIND_MAP(X)                                                                           \
    X(ABOVE, "above")                                                                              \
    X(BELOW, "below")                                                                              \
    X(EQUALS, "equals")                                                                            \
    X(SILENCE, "silence")

enum rule_kind {
#define X(name, text) RULE_##name,
    RULE_KIND_MAP(X)
#undef X
};

/* A level past the raise level that raises the severity of the open alert. */
struct rule_level {
    double at;
    enum severity severity;
};

/* A condition on the event data for the rule to apply at all: path equals value. */
struct rule_where {
    char path[RULE_PATH_MAX];
    struct value equals;
};

/* The end of a subject (until): its field path equals value, and the condition no longer
 * holds. path is "" when the rule has none. */
struct rule_until {
    char path[RULE_PATH_MAX];
    struct value equals;
};

struct rule {
    char name[RULE_NAME_MAX];
    int line;                               /* where it starts in the file */
    char municipality[RULE_GLOB_MAX];       /* fnmatch globs */
    char type[RULE_GLOB_MAX];
    char subject[RULE_GLOB_MAX];
    struct rule_where where[RULE_WHERE_MAX];
    int n_where;
    char field[RULE_PATH_MAX];              /* the tested data field; "" for silence */
    enum rule_kind kind;
    /* ABOVE: raise at x >= raise, clear at x < clear (clear <= raise).
     * BELOW: raise at x <= raise, clear at x > clear (clear >= raise).
     * x is the field, or with rate_ns its change over that window (event times). */
    double raise, clear;
    int64_t rate_ns;                        /* 0: the value itself */
    struct value equals;                    /* EQUALS: raise when the field equals it */
    int64_t silence_ns;                     /* SILENCE: no event for this long */
    int64_t for_ns;                         /* the condition must hold this long; 0: at once */
    struct rule_until until;                /* not for SILENCE */
    enum severity severity;
    struct rule_level levels[RULE_LEVELS_MAX]; /* ascending severity */
    int n_levels;
    char message[RULE_TEMPLATE_MAX];
    int64_t renotify_ns;                    /* 0: never */
    int64_t escalate_ns;                    /* 0: never */
};

struct rules {
    struct rule *rules;
    size_t n;
};

/*
 * Loads a rules file into *out. Errors go to err as "path:line: message", one a line;
 * loading goes on after an error so that one run reports them all. Returns 0, the
 * negative count of errors, or a negative errno when the file cannot be read. *out is
 * empty (and needs no rules_free) unless the result is 0.
 */
int rules_load(struct rules *out, const char *path, FILE *err);

/* The same from text in memory; name is used in the messages. */
int rules_load_buffer(struct rules *out, const char *name, const char *text, size_t len,
                      FILE *err);

void rules_free(struct rules *rules);

/* The rule called name, or NULL. */
const struct rule *rules_find(const struct rules *rules, const char *name);

/* Whether rule r applies to an event (its data map may be NULL). */
bool rule_matches(const struct rule *r, const char *municipality, const char *type,
                  const char *subject, const msgpack_object *data);

const char *severity_name(enum severity s);
/* Returns 0, or -EINVAL. */
int severity_parse(const char *text, enum severity *out);
const char *rule_kind_name(enum rule_kind k);

#endif
