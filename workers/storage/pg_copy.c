// SPDX-License-Identifier: MIT
/*
 * The bulk path of events into PostgreSQL: the batch's rows in one COPY ... FROM STDIN
 * (FORMAT binary) into a temporary table of this session, then one INSERT INTO events
 * SELECT ... ON CONFLICT (time_utc, id) DO NOTHING, in the batch's transaction. The
 * server parses no SQL per row and no text for times and numbers; the temporary table
 * empties itself at each commit (ON COMMIT DELETE ROWS). A row the server refuses fails
 * the statement; the caller then stores the batch row by row (store_pg.c).
 *
 * The binary COPY layout (PostgreSQL's docs, "COPY", Binary Format), all big-endian:
 *
 *   header   "PGCOPY\n\377\r\n\0"  int32 flags = 0  int32 extension length = 0
 *   a row    int16 fields = 10, then per field: int32 length (-1: NULL), its bytes
 *              id, municipality, category, type, subject, time   text: the UTF-8 bytes
 *              time_utc    8 bytes: int64 µs since 2000-01-01 UTC
 *              received    8 bytes: int64 (ns since 1970)
 *              source      text
 *              data        jsonb: the byte 1 (its version), then the JSON text
 *   trailer  int16 -1
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg_store.h"

static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";

static int reserve(struct pg_store *s, size_t more)
{
    size_t want = s->copy_len + more, cap = s->copy_cap ? s->copy_cap : 65536;
    char *p;

    if (want <= s->copy_cap)
        return 0;
    while (cap < want)
        cap *= 2;
    if (!(p = realloc(s->copy, cap)))
        return -ENOMEM;
    s->copy = p;
    s->copy_cap = cap;
    return 0;
}

/* Appends n bytes (room made by the caller). */
static void put(struct pg_store *s, const void *p, size_t n)
{
    memcpy(s->copy + s->copy_len, p, n);
    s->copy_len += n;
}

static void put_be(struct pg_store *s, uint64_t v, int bytes)
{
    unsigned char b[8];

    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)(v & 0xff);
    put(s, b, (size_t)bytes);
}

static void put_text(struct pg_store *s, const struct row_str *v)
{
    put_be(s, (uint32_t)v->len, 4);
    put(s, v->ptr, v->len);
}

static void put_int8(struct pg_store *s, int64_t v)
{
    put_be(s, 8, 4);
    put_be(s, (uint64_t)v, 8);
}

/* One row of events in the binary layout above. Returns 0, or -ENOMEM. */
static int put_event(struct pg_store *s, const struct row *row)
{
    const struct row_event *e = &row->u.event;
    const struct row_str *texts[] = {&e->id, &e->municipality, &e->category, &e->type,
                                     &e->subject, &e->time};
    int64_t us = e->time_ns / 1000 - (e->time_ns % 1000 < 0);
    size_t need = 2 + 10 * 4 + 8 + 8 + 1 + e->source.len + row->data_len;
    int r;

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        need += texts[i]->len;
    if ((r = reserve(s, need)) < 0)
        return r;
    put_be(s, 10, 2);
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        put_text(s, texts[i]);
    put_int8(s, us - PG_EPOCH_US);
    put_int8(s, (int64_t)row->received_ns);
    put_text(s, &e->source);
    put_be(s, (uint32_t)(row->data_len + 1), 4);
    put(s, "\1", 1);
    put(s, row->data, row->data_len);
    return 0;
}

/* Sends the buffer as the data of COPY events_in. Returns 0, or an errno with *res set. */
static int send_copy(struct pg_store *s, PGresult **res)
{
    PGresult *start = PQexec(s->conn, "COPY events_in (id, municipality, category, type,"
                                      " subject, time, time_utc, received, source, data)"
                                      " FROM STDIN (FORMAT binary)");
    PGresult *last = NULL, *r;

    if (PQresultStatus(start) != PGRES_COPY_IN) {
        pg_store_set_error(s, "starting COPY", start);
        *res = start;
        return -EPROTO;
    }
    PQclear(start);
    if (PQputCopyData(s->conn, s->copy, (int)s->copy_len) != 1 ||
        PQputCopyEnd(s->conn, NULL) != 1) {
        pg_store_set_error(s, "sending COPY data", NULL);
        /* the connection is in trouble: read what is left so that it can be closed */
        while ((r = PQgetResult(s->conn)))
            PQclear(r);
        return -ECONNRESET;
    }
    while ((r = PQgetResult(s->conn))) {
        PQclear(last);
        last = r;
    }
    if (PQresultStatus(last) != PGRES_COMMAND_OK) {
        pg_store_set_error(s, "COPY", last);
        *res = last;
        return -EPROTO;
    }
    PQclear(last);
    return 0;
}

long pg_copy_events(struct pg_store *s, struct row *rows, size_t n, PGresult **res)
{
    long got;
    int r;

    *res = NULL;
    s->copy_len = 0;
    if ((r = reserve(s, sizeof(header) + 2)) < 0)
        goto nomem;
    put(s, header, sizeof(header));
    for (size_t i = 0; i < n; i++)
        if (!rows[i].failed && rows[i].table == STORE_EVENTS && (r = put_event(s, &rows[i])) < 0)
            goto nomem;
    put_be(s, 0xffff, 2);
    if (!s->copy_ready) {
        if ((r = pg_store_exec(s, "CREATE TEMPORARY TABLE IF NOT EXISTS events_in"
                                  " (LIKE events) ON COMMIT DELETE ROWS",
                               "creating the temporary table")) < 0)
            return r;
        s->copy_ready = true;
    }
    if ((r = send_copy(s, res)) < 0)
        return r;
    *res = PQexec(s->conn, "INSERT INTO events SELECT id, municipality, category, type, subject,"
                           " time, time_utc, received, source, data FROM events_in"
                           " ON CONFLICT (time_utc, id) DO NOTHING");
    if (PQresultStatus(*res) != PGRES_COMMAND_OK) {
        pg_store_set_error(s, "inserting", *res);
        return -EPROTO;
    }
    got = strtol(PQcmdTuples(*res), NULL, 10);
    PQclear(*res);
    *res = NULL;
    return got;
nomem:
    snprintf(s->base.error, sizeof(s->base.error), "postgresql: out of memory");
    return r;
}

void pg_copy_free(struct pg_store *s)
{
    free(s->copy);
    s->copy = NULL;
    s->copy_len = s->copy_cap = 0;
}
