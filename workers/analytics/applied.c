// SPDX-License-Identifier: MIT
/* Records of counted entries: building, sorting, looking up, reading back, pruning. */
#include "applied.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void applied_init(struct applied *ap)
{
    memset(ap, 0, sizeof(*ap));
}

void applied_clear(struct applied *ap)
{
    for (size_t i = 0; i < ap->n_records; i++) {
        free(ap->records[i].field);
        free(ap->records[i].ids);
    }
    ap->n_records = 0;
    ap->n_cur = 0;
}

void applied_close(struct applied *ap)
{
    applied_clear(ap);
    for (size_t i = 0; i < ap->n_streams; i++)
        free(ap->streams[i]);
    free(ap->streams);
    free(ap->records);
    free(ap->cur);
    memset(ap, 0, sizeof(*ap));
}

int applied_id_parse(const char *text, uint64_t *ms, uint64_t *seq)
{
    char *end;

    if (text[0] < '0' || text[0] > '9')
        return -EINVAL;
    *ms = strtoull(text, &end, 10);
    if (*end != '-' || end[1] < '0' || end[1] > '9')
        return -EINVAL;
    *seq = strtoull(end + 1, &end, 10);
    return *end == '\0' || *end == ' ' || *end == '\n' ? 0 : -EINVAL;
}

int applied_stream(struct applied *ap, const char *s, size_t n)
{
    char **p, *copy;

    for (size_t i = 0; i < ap->n_streams; i++)
        if (strncmp(ap->streams[i], s, n) == 0 && ap->streams[i][n] == '\0')
            return (int)i;
    if (ap->n_streams >= 65536 || !(copy = strndup(s, n)))
        return -ENOMEM;
    if (!(p = realloc(ap->streams, (ap->n_streams + 1) * sizeof(*p)))) {
        free(copy);
        return -ENOMEM;
    }
    ap->streams = p;
    ap->streams[ap->n_streams] = copy;
    return (int)ap->n_streams++;
}

static int id_cmp(const struct applied_id *x, const struct applied_id *y)
{
    if (x->stream != y->stream)
        return x->stream < y->stream ? -1 : 1;
    if (x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int id_cmp_qsort(const void *x, const void *y)
{
    return id_cmp(x, y);
}

bool applied_record_has(const struct applied_record *r, uint32_t stream, uint64_t ms,
                        uint64_t seq)
{
    struct applied_id key = {stream, ms, seq};
    size_t lo = 0, hi = r->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = id_cmp(&r->ids[mid], &key);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool applied_contains(const struct applied *ap, uint32_t stream, uint64_t ms, uint64_t seq)
{
    for (size_t i = 0; i < ap->n_records; i++)
        if (applied_record_has(&ap->records[i], stream, ms, seq))
            return true;
    return false;
}

static int push_id(struct applied_id **ids, size_t *n, size_t *cap, struct applied_id id)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        struct applied_id *p = realloc(*ids, c * sizeof(*p));
        if (!p)
            return -ENOMEM;
        *ids = p;
        *cap = c;
    }
    (*ids)[(*n)++] = id;
    return 0;
}

int applied_add(struct applied *ap, uint32_t stream, uint64_t ms, uint64_t seq)
{
    return push_id(&ap->cur, &ap->n_cur, &ap->cap_cur, (struct applied_id){stream, ms, seq});
}

#define U64_DIGITS 20 /* decimal digits of UINT64_MAX */

/* Writes v in decimal so that it ends just before end; returns where it starts. */
static char *u64_decimal(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

int applied_format(const struct applied *ap, char **field, char **text)
{
    size_t size = 0;
    FILE *f;

    *field = *text = NULL;
    if (ap->n_cur == 0)
        return -ENOENT;
    if (asprintf(field, "%s %" PRIu64 "-%" PRIu64, ap->streams[ap->cur[0].stream], ap->cur[0].ms,
                 ap->cur[0].seq) < 0) {
        *field = NULL;
        return -ENOMEM;
    }
    if (!(f = open_memstream(text, &size)))
        goto nomem;
    for (size_t i = 0; i < ap->n_cur; i++) {
        /* "<stream> <ms>-<seq>\n", as fprintf would write it, at a tenth of its cost */
        char tail[2 * U64_DIGITS + 3], *p = tail + sizeof(tail);

        *--p = '\n';
        p = u64_decimal(p, ap->cur[i].seq);
        *--p = '-';
        p = u64_decimal(p, ap->cur[i].ms);
        *--p = ' ';
        fputs(ap->streams[ap->cur[i].stream], f);
        fwrite(p, 1, (size_t)(tail + sizeof(tail) - p), f);
    }
    if (fclose(f) != 0)
        goto nomem;
    return 0;
nomem:
    free(*field);
    free(*text);
    *field = *text = NULL;
    return -ENOMEM;
}

static int push_record(struct applied *ap, char *field, struct applied_id *ids, size_t n)
{
    if (ap->n_records == ap->cap_records) {
        size_t c = ap->cap_records ? ap->cap_records * 2 : 16;
        struct applied_record *p = realloc(ap->records, c * sizeof(*p));
        if (!p)
            return -ENOMEM;
        ap->records = p;
        ap->cap_records = c;
    }
    /* The ids of a read come in stream order: sorting is then only a check. */
    for (size_t i = 1; i < n; i++) {
        if (id_cmp(&ids[i - 1], &ids[i]) > 0) {
            qsort(ids, n, sizeof(*ids), id_cmp_qsort);
            break;
        }
    }
    ap->records[ap->n_records++] = (struct applied_record){field, ids, n};
    return 0;
}

int applied_commit(struct applied *ap, char *field)
{
    struct applied_id *ids;

    if (ap->n_cur == 0) {
        free(field);
        return 0;
    }
    if (!(ids = malloc(ap->n_cur * sizeof(*ids)))) {
        free(field);
        return -ENOMEM;
    }
    memcpy(ids, ap->cur, ap->n_cur * sizeof(*ids));
    if (push_record(ap, field, ids, ap->n_cur) < 0) {
        free(field);
        free(ids);
        return -ENOMEM;
    }
    ap->n_cur = 0;
    return 0;
}

void applied_discard(struct applied *ap)
{
    ap->n_cur = 0;
}

int applied_load(struct applied *ap, const char *field, size_t field_len, const char *text,
                 size_t len)
{
    struct applied_id *ids = NULL;
    size_t n = 0, cap = 0;
    char *copy = strndup(text, len), *line, *save = NULL, *f;
    int r = 0;

    if (!copy)
        return -ENOMEM;
    for (line = strtok_r(copy, "\n", &save); line && r == 0; line = strtok_r(NULL, "\n", &save)) {
        char *space = strchr(line, ' ');
        struct applied_id id;
        int s;

        if (!space || applied_id_parse(space + 1, &id.ms, &id.seq) < 0) {
            r = -EINVAL;
            break;
        }
        if ((s = applied_stream(ap, line, (size_t)(space - line))) < 0) {
            r = s;
            break;
        }
        id.stream = (uint32_t)s;
        r = push_id(&ids, &n, &cap, id);
    }
    free(copy);
    if (r == 0 && n == 0)
        r = -EINVAL;
    if (r == 0 && !(f = strndup(field, field_len)))
        r = -ENOMEM;
    if (r == 0 && (r = push_record(ap, f, ids, n)) < 0)
        free(f);
    if (r < 0)
        free(ids);
    return r;
}

bool applied_record_done(const struct applied *ap, size_t i, const struct applied_pending *pending)
{
    const struct applied_record *rec = &ap->records[i];

    for (size_t k = 0; k < rec->n; k++) {
        const struct applied_id *id = &rec->ids[k];
        const struct applied_pending *p = &pending[id->stream];

        if (!p->known)
            return false;
        if (p->count == 0)
            continue;
        if (id->ms > p->min_ms || (id->ms == p->min_ms && id->seq >= p->min_seq))
            return false;
    }
    return true;
}

void applied_drop(struct applied *ap, size_t i)
{
    free(ap->records[i].field);
    free(ap->records[i].ids);
    ap->records[i] = ap->records[--ap->n_records];
}
