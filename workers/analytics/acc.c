// SPDX-License-Identifier: MIT
/* Open windows: counting, statistics, the aggregate JSON and the packed state. */
#include "acc.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "window.h"

#define ACC_PACK_VERSION 1
/* [version, count, subjects, numbers, [[name, [[value, n], ...]], ...]]: five deep */
#define ACC_PACK_DEPTH 5

/* ------------------------------------------------------------------------------------------ */
/* Statistics */

void stat_num_add(struct stat_num *s, double v, int64_t t_ns)
{
    double delta, t;

    if (s->count == 0) {
        s->min = s->max = v;
        s->last = v;
        s->last_ns = t_ns;
    } else {
        if (v < s->min)
            s->min = v;
        if (v > s->max)
            s->max = v;
        if (t_ns >= s->last_ns) {
            s->last = v;
            s->last_ns = t_ns;
        }
    }
    s->count++;
    /* Welford: the new mean, then M2 with the deviations from the old and new mean. */
    delta = v - s->mean;
    s->mean += delta / (double)s->count;
    s->m2 += delta * (v - s->mean);
    /* Neumaier: keep the low-order bits that the addition loses in comp. */
    t = s->sum + v;
    if (fabs(s->sum) >= fabs(v))
        s->comp += (s->sum - t) + v;
    else
        s->comp += (v - t) + s->sum;
    s->sum = t;
}

double stat_num_total(const struct stat_num *s)
{
    return s->sum + s->comp;
}

double stat_num_stddev(const struct stat_num *s)
{
    if (s->count < 2 || !(s->m2 > 0))
        return 0;
    return sqrt(s->m2 / (double)s->count);
}

/* ------------------------------------------------------------------------------------------ */
/* Keys */

bool acc_name_valid(const char *name, size_t n)
{
    if (n == 0 || n >= ACC_NAME_MAX || name[0] < 'a' || name[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* [a-z0-9][a-z0-9-]{0,62} */
static bool municipality_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* (sensor|service|citizen)\.[a-z][a-z0-9_]{0,62} */
static bool type_valid(const char *s)
{
    static const char *const categories[] = {"sensor.", "service.", "citizen."};

    for (size_t i = 0; i < sizeof(categories) / sizeof(categories[0]); i++) {
        size_t k = strlen(categories[i]);
        if (strncmp(s, categories[i], k) == 0)
            return acc_name_valid(s + k, strlen(s + k));
    }
    return false;
}

/* [A-Za-z0-9._-]{1,128} */
static bool subject_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int acc_key_build(char out[ACC_KEY_MAX], const char *municipality, size_t municipality_len,
                  const char *type, size_t type_len, const char *subject, size_t subject_len,
                  const char *window, int64_t start_ns)
{
    int n = snprintf(out, ACC_KEY_MAX, "%.*s/%.*s/%.*s/%s/%lld", (int)municipality_len,
                     municipality, (int)type_len, type, (int)subject_len, subject, window,
                     (long long)(start_ns / WINDOW_NS_PER_S));

    return n < 0 || n >= ACC_KEY_MAX ? -ENAMETOOLONG : 0;
}

/*
 * Splits key (shorter than ACC_KEY_MAX) at its '/' into p, and the fifth part, the start,
 * into *start (in p's storage). 0, or -EINVAL when it has not five parts.
 */
static int key_split(const char *key, struct acc_parts *p, const char **start)
{
    char *part[5], *q;
    int n = 0;

    memcpy(p->buf, key, strlen(key) + 1);
    for (q = p->buf, part[n++] = q; *q; q++) {
        if (*q == '/') {
            if (n == 5)
                return -EINVAL;
            *q = '\0';
            part[n++] = q + 1;
        }
    }
    if (n != 5)
        return -EINVAL;
    p->municipality = part[0];
    p->type = part[1];
    p->subject = part[2];
    p->window = part[3];
    *start = part[4];
    return 0;
}

/* The start and end of the window that key names, if the worker opens it; 0 or -EINVAL. */
static int key_parse(const char *key, int64_t *start_ns, int64_t *end_ns)
{
    struct acc_parts p;
    const char *start;
    int64_t length_s;
    long long start_s;
    char *end;

    if (strlen(key) >= ACC_KEY_MAX || key_split(key, &p, &start) < 0 ||
        !municipality_valid(p.municipality) || !type_valid(p.type) ||
        !subject_valid(p.subject) || window_length_parse(p.window, &length_s) < 0)
        return -EINVAL;
    errno = 0;
    start_s = strtoll(start, &end, 10);
    if (errno || end == start || *end || start_s < INT64_MIN / WINDOW_NS_PER_S ||
        start_s > INT64_MAX / WINDOW_NS_PER_S)
        return -EINVAL;
    *start_ns = start_s * WINDOW_NS_PER_S;
    /* A window the worker opens: aligned (with the zone it runs in), its end held. */
    if (window_start(*start_ns, length_s) != *start_ns ||
        (*end_ns = window_end(*start_ns, length_s)) == INT64_MAX)
        return -EINVAL;
    return 0;
}

struct acc *acc_new(const char *key)
{
    int64_t start_ns, end_ns;
    struct acc *a;

    if (key_parse(key, &start_ns, &end_ns) < 0) {
        errno = EINVAL;
        return NULL;
    }
    if (!(a = calloc(1, sizeof(*a) + strlen(key) + 1))) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(a->key, key, strlen(key) + 1);
    a->start_ns = start_ns;
    a->end_ns = end_ns;
    return a;
}

void acc_parts(const struct acc *a, struct acc_parts *p)
{
    const char *start;
    int r = key_split(a->key, p, &start);

    assert(r == 0); /* acc_new took the key */
    (void)r;
}

/* Drops what was counted; the key stays. */
static void acc_clear(struct acc *a)
{
    for (uint32_t i = 0; i < a->n_categories; i++) {
        for (uint32_t j = 0; j < a->categories[i].n_values; j++)
            free(a->categories[i].values[j].text);
        free(a->categories[i].values);
    }
    free(a->categories);
    free(a->numbers);
    free(a->names);
    a->categories = NULL;
    a->numbers = NULL;
    a->names = NULL;
    a->n_categories = a->cap_categories = a->n_numbers = a->cap_numbers = 0;
    a->names_len = 0;
    a->count = 0;
    a->subjects = 0;
}

void acc_free(struct acc *a)
{
    if (!a)
        return;
    acc_clear(a);
    free(a);
}

const char *acc_name(const struct acc *a, uint16_t name)
{
    return a->names + name;
}

bool acc_is_rollup(const struct acc *a)
{
    struct acc_parts p;

    acc_parts(a, &p);
    return strcmp(p.subject, ACC_ROLLUP_SUBJECT) == 0;
}

size_t acc_key_names_len(const struct acc *a)
{
    return (size_t)(strrchr(a->key, '/') - a->key);
}

int acc_topic(const char *names, size_t n, char out[ACC_TOPIC_MAX])
{
    const char *slash = memchr(names, '/', n);

    if (!slash || n >= ACC_KEY_MAX)
        return -EINVAL;
    snprintf(out, ACC_TOPIC_MAX, "%.*s/analytics%.*s", (int)(slash - names), names,
             (int)(n - (size_t)(slash - names)), slash);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Counting */

void acc_add_event(struct acc *a)
{
    a->count++;
    a->dirty = true;
}

/* Grows *items (of size bytes each) to hold one more; 0 or -ENOMEM. */
static int grow(void **items, uint32_t *cap, uint32_t n, size_t size)
{
    uint32_t c = *cap ? *cap * 2 : 1;
    void *p;

    if (n < *cap)
        return 0;
    if (!(p = realloc(*items, c * size)))
        return -ENOMEM;
    *items = p;
    *cap = c;
    return 0;
}

/*
 * Makes room for a new field name[0..n) past the count of *items (size bytes each, at
 * most max) and appends its name to a's names, at offset *at; the caller fills in the
 * entry and counts it. 0, -EINVAL (a name the schema does not allow), -ENOSPC, -ENOMEM.
 */
static int field_new(struct acc *a, const char *name, size_t n, void **items, uint32_t *cap,
                     uint32_t count, uint32_t max, size_t size, uint16_t *at)
{
    char *names;
    int r;

    if (!acc_name_valid(name, n))
        return -EINVAL;
    if (count == max)
        return -ENOSPC;
    if ((r = grow(items, cap, count, size)) < 0)
        return r;
    if (!(names = realloc(a->names, a->names_len + n + 1)))
        return -ENOMEM;
    memcpy(names + a->names_len, name, n);
    names[a->names_len + n] = '\0';
    a->names = names;
    *at = a->names_len;
    a->names_len += (uint16_t)(n + 1);
    return 0;
}

static struct acc_number *number_find(struct acc *a, const char *name, size_t n)
{
    for (uint32_t i = 0; i < a->n_numbers; i++)
        if (a->numbers[i].len == n && memcmp(a->names + a->numbers[i].name, name, n) == 0)
            return &a->numbers[i];
    return NULL;
}

/* The numeric field name[0..n), added when it is new. NULL with *err set. */
static struct acc_number *number_get(struct acc *a, const char *name, size_t n, int *err)
{
    struct acc_number *f = number_find(a, name, n);
    uint16_t at;

    if (f)
        return f;
    if ((*err = field_new(a, name, n, (void **)&a->numbers, &a->cap_numbers, a->n_numbers,
                          ACC_NUMBERS_MAX, sizeof(*f), &at)) < 0)
        return NULL;
    f = &a->numbers[a->n_numbers++];
    memset(f, 0, sizeof(*f));
    f->name = at;
    f->len = (uint8_t)n;
    return f;
}

int acc_add_number(struct acc *a, const char *name, size_t n, double v, int64_t t_ns)
{
    int err = 0;
    struct acc_number *f = number_get(a, name, n, &err);

    if (!f)
        return err;
    stat_num_add(&f->st, v, t_ns);
    a->dirty = true;
    return 0;
}

static struct acc_category *category_get(struct acc *a, const char *name, size_t n, int *err)
{
    struct acc_category *c;
    uint16_t at;

    for (uint32_t i = 0; i < a->n_categories; i++)
        if (a->categories[i].len == n && memcmp(a->names + a->categories[i].name, name, n) == 0)
            return &a->categories[i];
    if ((*err = field_new(a, name, n, (void **)&a->categories, &a->cap_categories,
                          a->n_categories, ACC_CATEGORIES_MAX, sizeof(*c), &at)) < 0)
        return NULL;
    c = &a->categories[a->n_categories++];
    memset(c, 0, sizeof(*c));
    c->name = at;
    c->len = (uint8_t)n;
    return c;
}

/* Adds k to the count of value[0..len) (no limits applied). 0 or -ENOMEM. */
static int value_add(struct acc_category *c, const char *value, size_t len, uint64_t k)
{
    struct acc_value *v;

    for (uint32_t i = 0; i < c->n_values; i++) {
        if (strlen(c->values[i].text) == len && memcmp(c->values[i].text, value, len) == 0) {
            c->values[i].n += k;
            return 0;
        }
    }
    if (grow((void **)&c->values, &c->cap, c->n_values, sizeof(*v)) < 0)
        return -ENOMEM;
    v = &c->values[c->n_values];
    if (!(v->text = malloc(len + 1)))
        return -ENOMEM;
    memcpy(v->text, value, len);
    v->text[len] = '\0';
    v->n = k;
    c->n_values++;
    return 0;
}

static bool value_known(const struct acc_category *c, const char *value, size_t len)
{
    for (uint32_t i = 0; i < c->n_values; i++)
        if (strlen(c->values[i].text) == len && memcmp(c->values[i].text, value, len) == 0)
            return true;
    return false;
}

int acc_add_category(struct acc *a, const char *name, size_t n, const char *value, size_t len)
{
    int err = 0;
    struct acc_category *c = category_get(a, name, n, &err);

    if (!c)
        return err;
    if (len > ACC_VALUE_LEN_MAX || memchr(value, '\0', len) ||
        (c->n_values >= ACC_VALUES_MAX && !value_known(c, value, len))) {
        value = ACC_OTHER;
        len = strlen(ACC_OTHER);
    }
    a->dirty = true;
    return value_add(c, value, len, 1);
}

/* ------------------------------------------------------------------------------------------ */
/* Packed state: [version, count, subjects,
 *                [[name, count, min, max, mean, m2, sum, comp, last, last_ns], ...],
 *                [[name, [[value, n], ...]], ...]]                                       */

static int pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);

    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n) ? -ENOMEM : 0;
}

int acc_pack(const struct acc *a, msgpack_sbuffer *buf)
{
    msgpack_packer pk;
    int r = 0;

    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    r |= msgpack_pack_array(&pk, 5);
    r |= msgpack_pack_uint32(&pk, ACC_PACK_VERSION);
    r |= msgpack_pack_uint64(&pk, a->count);
    r |= msgpack_pack_uint32(&pk, a->subjects);
    r |= msgpack_pack_array(&pk, a->n_numbers);
    for (uint32_t i = 0; i < a->n_numbers && r == 0; i++) {
        const struct stat_num *s = &a->numbers[i].st;
        r |= msgpack_pack_array(&pk, 10);
        r |= pack_str(&pk, acc_name(a, a->numbers[i].name));
        r |= msgpack_pack_uint64(&pk, s->count);
        r |= msgpack_pack_double(&pk, s->min);
        r |= msgpack_pack_double(&pk, s->max);
        r |= msgpack_pack_double(&pk, s->mean);
        r |= msgpack_pack_double(&pk, s->m2);
        r |= msgpack_pack_double(&pk, s->sum);
        r |= msgpack_pack_double(&pk, s->comp);
        r |= msgpack_pack_double(&pk, s->last);
        r |= msgpack_pack_int64(&pk, s->last_ns);
    }
    r |= msgpack_pack_array(&pk, a->n_categories);
    for (uint32_t i = 0; i < a->n_categories && r == 0; i++) {
        const struct acc_category *c = &a->categories[i];
        r |= msgpack_pack_array(&pk, 2);
        r |= pack_str(&pk, acc_name(a, c->name));
        r |= msgpack_pack_array(&pk, c->n_values);
        for (uint32_t j = 0; j < c->n_values && r == 0; j++) {
            r |= msgpack_pack_array(&pk, 2);
            r |= pack_str(&pk, c->values[j].text);
            r |= msgpack_pack_uint64(&pk, c->values[j].n);
        }
    }
    return r ? -ENOMEM : 0;
}

static bool get_u64(const msgpack_object *o, uint64_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *out = o->via.u64;
    return true;
}

static bool get_i64(const msgpack_object *o, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *out = (int64_t)o->via.u64;
        return true;
    }
    return false;
}

static bool get_f64(const msgpack_object *o, double *out)
{
    if (o->type != MSGPACK_OBJECT_FLOAT64 && o->type != MSGPACK_OBJECT_FLOAT32)
        return false;
    *out = o->via.f64;
    return true;
}

static bool is_array(const msgpack_object *o, uint32_t n)
{
    return o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == n;
}

/* Fills a from the unpacked object; -EINVAL or -ENOMEM. */
static int unpack_obj(struct acc *a, const msgpack_object *o)
{
    const msgpack_object *top, *nums, *cats;
    uint64_t version, subjects;
    int r;

    if (!is_array(o, 5))
        return -EINVAL;
    top = o->via.array.ptr;
    if (!get_u64(&top[0], &version) || version != ACC_PACK_VERSION ||
        !get_u64(&top[1], &a->count) || !get_u64(&top[2], &subjects) || subjects > UINT32_MAX ||
        top[3].type != MSGPACK_OBJECT_ARRAY || top[4].type != MSGPACK_OBJECT_ARRAY)
        return -EINVAL;
    a->subjects = (uint32_t)subjects;
    nums = &top[3];
    for (uint32_t i = 0; i < nums->via.array.size; i++) {
        const msgpack_object *f = &nums->via.array.ptr[i], *e;
        struct acc_number *num;
        struct stat_num st;
        int err = 0;

        if (!is_array(f, 10) || f->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
            return -EINVAL;
        e = f->via.array.ptr;
        if (!get_u64(&e[1], &st.count) || st.count == 0 || !get_f64(&e[2], &st.min) ||
            !get_f64(&e[3], &st.max) || !get_f64(&e[4], &st.mean) || !get_f64(&e[5], &st.m2) ||
            !get_f64(&e[6], &st.sum) || !get_f64(&e[7], &st.comp) || !get_f64(&e[8], &st.last) ||
            !get_i64(&e[9], &st.last_ns))
            return -EINVAL;
        if (number_find(a, e[0].via.str.ptr, e[0].via.str.size) ||
            !(num = number_get(a, e[0].via.str.ptr, e[0].via.str.size, &err)))
            return err == -ENOMEM ? -ENOMEM : -EINVAL;
        num->st = st;
    }
    cats = &top[4];
    for (uint32_t i = 0; i < cats->via.array.size; i++) {
        const msgpack_object *c = &cats->via.array.ptr[i], *vals;
        struct acc_category *cat;
        uint32_t before = a->n_categories;
        int err = 0;

        if (!is_array(c, 2) || c->via.array.ptr[0].type != MSGPACK_OBJECT_STR ||
            c->via.array.ptr[1].type != MSGPACK_OBJECT_ARRAY)
            return -EINVAL;
        if (!(cat = category_get(a, c->via.array.ptr[0].via.str.ptr,
                                 c->via.array.ptr[0].via.str.size, &err)))
            return err == -ENOMEM ? -ENOMEM : -EINVAL;
        if (a->n_categories == before) /* a repeated name */
            return -EINVAL;
        vals = &c->via.array.ptr[1];
        for (uint32_t j = 0; j < vals->via.array.size; j++) {
            const msgpack_object *v = &vals->via.array.ptr[j];
            uint64_t n;

            if (!is_array(v, 2) || v->via.array.ptr[0].type != MSGPACK_OBJECT_STR ||
                !get_u64(&v->via.array.ptr[1], &n) || n == 0 ||
                v->via.array.ptr[0].via.str.size > ACC_VALUE_LEN_MAX ||
                memchr(v->via.array.ptr[0].via.str.ptr, '\0', v->via.array.ptr[0].via.str.size) ||
                value_known(cat, v->via.array.ptr[0].via.str.ptr, v->via.array.ptr[0].via.str.size))
                return -EINVAL;
            if ((r = value_add(cat, v->via.array.ptr[0].via.str.ptr,
                               v->via.array.ptr[0].via.str.size, n)) < 0)
                return r;
        }
    }
    return 0;
}

int acc_unpack(struct acc *a, const char *buf, size_t len)
{
    msgpack_unpacked u;
    size_t off = 0;
    int r;

    acc_clear(a);
    /* The state comes from Redis: no forged container size may make msgpack-c allocate. */
    if (envelope_check_bounds(buf, len, ACC_PACK_DEPTH) < 0)
        return -EINVAL;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len)
        r = -EINVAL;
    else
        r = unpack_obj(a, &u.data);
    msgpack_unpacked_destroy(&u);
    if (r < 0)
        acc_clear(a);
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* The aggregate JSON */

static int set_new(json_t *obj, const char *key, json_t *value)
{
    return value ? json_object_set_new(obj, key, value) : -1;
}

/* {"count","min","max","mean","sum","last","stddev"}, or NULL when a figure is not finite. */
static json_t *stats_json(const struct stat_num *s)
{
    double sum = stat_num_total(s), sd = stat_num_stddev(s);
    json_t *o;
    int r = 0;

    if (!isfinite(s->min) || !isfinite(s->max) || !isfinite(s->mean) || !isfinite(sum) ||
        !isfinite(s->last) || !isfinite(sd))
        return NULL;
    if (!(o = json_object()))
        return NULL;
    r |= set_new(o, "count", json_integer((json_int_t)s->count));
    r |= set_new(o, "min", json_real(s->min));
    r |= set_new(o, "max", json_real(s->max));
    r |= set_new(o, "mean", json_real(s->mean));
    r |= set_new(o, "sum", json_real(sum));
    r |= set_new(o, "last", json_real(s->last));
    r |= set_new(o, "stddev", json_real(sd));
    if (r) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *acc_to_json(const struct acc *a)
{
    char start[WINDOW_TIME_MAX], end[WINDOW_TIME_MAX];
    json_t *o = json_object(), *stats = NULL, *counts = NULL;
    struct acc_parts p;
    int r = 0;

    if (!o)
        return NULL;
    acc_parts(a, &p);
    window_time_format(a->start_ns, start);
    window_time_format(a->end_ns, end);
    r |= set_new(o, "municipality", json_string(p.municipality));
    r |= set_new(o, "type", json_string(p.type));
    r |= set_new(o, "subject", json_string(p.subject));
    r |= set_new(o, "window", json_string(p.window));
    r |= set_new(o, "start", json_string(start));
    r |= set_new(o, "end", json_string(end));
    r |= set_new(o, "count", json_integer((json_int_t)a->count));
    if (acc_is_rollup(a))
        r |= set_new(o, "subjects", json_integer(a->subjects));
    for (uint32_t i = 0; i < a->n_numbers && r == 0; i++) {
        json_t *s = stats_json(&a->numbers[i].st);
        if (!s)
            continue; /* not finite (or out of memory): left out */
        if (!stats && !(stats = json_object())) {
            json_decref(s);
            r = -1;
            break;
        }
        r |= json_object_set_new(stats, acc_name(a, a->numbers[i].name), s);
    }
    if (stats && r == 0)
        r |= json_object_set_new(o, "stats", stats);
    else
        json_decref(stats);
    for (uint32_t i = 0; i < a->n_categories && r == 0; i++) {
        const struct acc_category *c = &a->categories[i];
        json_t *values;

        if (c->n_values == 0)
            continue;
        if ((!counts && !(counts = json_object())) || !(values = json_object())) {
            r = -1;
            break;
        }
        for (uint32_t j = 0; j < c->n_values; j++)
            r |= set_new(values, c->values[j].text, json_integer((json_int_t)c->values[j].n));
        r |= json_object_set_new(counts, acc_name(a, c->name), values);
    }
    if (counts && r == 0)
        r |= json_object_set_new(o, "counts", counts);
    else
        json_decref(counts);
    if (r) {
        json_decref(o);
        return NULL;
    }
    return o;
}
