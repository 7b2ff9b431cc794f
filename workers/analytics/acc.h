// SPDX-License-Identifier: MIT
/*
 * One open window of the analytics worker (an accumulator): the events of one
 * (municipality, type, subject, window length, window start), or of every subject
 * under the subject "_all". It holds the event count, per numeric payload field the
 * running statistics, and per categorical field the count per value; it becomes the
 * aggregate JSON (schemas/aggregate.schema.json) when the window closes, and packs to
 * msgpack for the worker's state in Redis, exactly (doubles as float 64), so that a
 * window restored after a restart goes on as if nothing had happened.
 *
 * Statistics: the mean and the variance by Welford's online algorithm (stable for any
 * order of magnitude of the values, no catastrophic cancellation of sum-of-squares),
 * the sum with Neumaier's compensated summation; the standard deviation is the
 * population one, sqrt(M2 / n).
 */
#ifndef RHEINHUB_ANALYTICS_ACC_H
#define RHEINHUB_ANALYTICS_ACC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#define ACC_ROLLUP_SUBJECT "_all"
/* Field names as the aggregate schema allows them: [a-z][a-z0-9_]{0,62}. */
#define ACC_NAME_MAX 64
#define ACC_NUMBERS_MAX 32     /* numeric fields per window; more are not aggregated */
#define ACC_CATEGORIES_MAX 16  /* categorical fields per window */
#define ACC_VALUES_MAX 256     /* distinct values per categorical field; then ACC_OTHER */
#define ACC_VALUE_LEN_MAX 128  /* bytes of a counted value; a longer one counts as ACC_OTHER */
#define ACC_OTHER "_other"
/* "<municipality>/<type>/<subject>/<window>/<start s>" and its NUL. */
#define ACC_KEY_MAX 400

struct stat_num {
    uint64_t count;
    double min, max;
    double mean, m2;  /* Welford: running mean and sum of squared deviations */
    double sum, comp; /* Neumaier: the total is sum + comp */
    double last;      /* value of the event with the latest time (ties: the later one) */
    int64_t last_ns;  /* that event's time, ns since the epoch */
};

void stat_num_add(struct stat_num *s, double v, int64_t t_ns);
/* The compensated sum. */
double stat_num_total(const struct stat_num *s);
/* Population standard deviation, 0 for fewer than two values. */
double stat_num_stddev(const struct stat_num *s);

/*
 * A field's name is kept once per window, in the window's names (each NUL-terminated, one
 * after the other); a field holds its offset there (acc_name gives the text).
 */
struct acc_number {
    uint16_t name; /* offset in the window's names */
    uint8_t len;   /* of the name */
    struct stat_num st;
};

struct acc_value {
    char *text; /* owned, NUL-terminated */
    uint64_t n;
};

struct acc_category {
    uint16_t name; /* offset in the window's names */
    uint8_t len;   /* of the name */
    uint32_t n_values, cap;
    struct acc_value *values; /* in order of first appearance */
};

/*
 * The window and its key are one allocation, of the key's length; the arrays grow from
 * one entry and double, since most windows hold a few fields.
 */
struct acc {
    int64_t start_ns, end_ns;  /* [start, end) */
    uint64_t count;            /* events */
    uint32_t subjects;         /* roll-ups: subjects with events in this window */
    uint32_t n_numbers, cap_numbers;
    uint32_t n_categories, cap_categories;
    uint16_t names_len;        /* bytes in names, the NULs included */
    bool dirty;                /* changed since it was last written to Redis */
    struct acc_number *numbers; /* in order of first appearance */
    struct acc_category *categories;
    char *names;               /* the fields' names, each NUL-terminated; exactly names_len */
    char key[];                /* also the field of the state hash in Redis */
};

/* The parts of a window's key, each NUL-terminated, in buf. */
struct acc_parts {
    char buf[ACC_KEY_MAX];
    const char *municipality, *type, *subject, *window;
};

/* The NUL-terminated name at offset name of a's names (of a field of a). */
const char *acc_name(const struct acc *a, uint16_t name);

/* Whether name[0..n) is a field name the aggregate schema allows. */
bool acc_name_valid(const char *name, size_t n);

/*
 * Writes the key of a window into out (ACC_KEY_MAX bytes). The names are not
 * terminated. Returns 0, or -ENAMETOOLONG.
 */
int acc_key_build(char out[ACC_KEY_MAX], const char *municipality, size_t municipality_len,
                  const char *type, size_t type_len, const char *subject, size_t subject_len,
                  const char *window, int64_t start_ns);

/*
 * A new, empty window for key (as acc_key_build writes it). Returns NULL with errno
 * EINVAL for a key that does not parse (bad municipality, type, subject, window or
 * start), ENOMEM.
 */
struct acc *acc_new(const char *key);
void acc_free(struct acc *a);

/* Fills p with the parts of a's key (of a window from acc_new). */
void acc_parts(const struct acc *a, struct acc_parts *p);

/* Whether it is a roll-up (subject "_all"). */
bool acc_is_rollup(const struct acc *a);

/* An aggregate's topic, "<m>/analytics/<type>/<subject>/<window>", and its NUL. */
#define ACC_TOPIC_MAX (ACC_KEY_MAX + 16)
/* The length of a's key without its start: "<m>/<type>/<subject>/<window>". */
size_t acc_key_names_len(const struct acc *a);
/*
 * Writes the aggregate topic of names[0..n) (a key without its start, as
 * acc_key_names_len gives it) into out. 0, or -EINVAL when names has no '/'.
 */
int acc_topic(const char *names, size_t n, char out[ACC_TOPIC_MAX]);

/*
 * Counts one event (count only; its fields go through acc_add_number and
 * acc_add_category).
 */
void acc_add_event(struct acc *a);
/*
 * Adds value v of numeric field name[0..n) of an event at t_ns. Returns 0; -EINVAL
 * for a name the schema does not allow, -ENOSPC past ACC_NUMBERS_MAX fields (the
 * value is not counted), -ENOMEM.
 */
int acc_add_number(struct acc *a, const char *name, size_t n, double v, int64_t t_ns);
/*
 * Counts value[0..len) of categorical field name[0..n). A value past the
 * ACC_VALUES_MAX distinct ones of the field, or longer than ACC_VALUE_LEN_MAX,
 * counts as ACC_OTHER. Returns 0, -EINVAL, -ENOSPC (past ACC_CATEGORIES_MAX fields),
 * -ENOMEM.
 */
int acc_add_category(struct acc *a, const char *name, size_t n, const char *value, size_t len);

/* Appends the msgpack form of a's contents (not its key) to buf. Returns 0, -ENOMEM. */
int acc_pack(const struct acc *a, msgpack_sbuffer *buf);
/*
 * Fills a (new, empty, from acc_new) from the msgpack form in buf[0..len). Returns 0,
 * -EINVAL when it does not parse (a is then empty again), -ENOMEM.
 */
int acc_unpack(struct acc *a, const char *buf, size_t len);

/*
 * The aggregate JSON of a closed window (a new reference), per
 * schemas/aggregate.schema.json; a numeric field whose statistics are not finite is
 * left out. NULL on ENOMEM.
 */
json_t *acc_to_json(const struct acc *a);

#endif
