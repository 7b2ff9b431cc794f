// SPDX-License-Identifier: MIT
/*
 * The bulk path of events into PostgreSQL, in the batch's transaction. The server parses
 * no SQL per row and no text for times and numbers.
 *
 * First the batch's rows go in one COPY ... FROM STDIN (FORMAT binary) straight into
 * events, behind a savepoint. A batch holds an event that is already stored only after
 * a redelivery (a worker that died, a hub that re-sent what Redis may not have had), so
 * this usually succeeds. When the key (time_utc, id) refuses a row, the savepoint is
 * rolled back and the same data goes the careful way: COPY into a temporary table of
 * this session (which empties itself at each commit, ON COMMIT DELETE ROWS), then one
 * INSERT INTO events SELECT ... ON CONFLICT (time_utc, id) DO NOTHING. After such a
 * batch the next PG_COPY_CAREFUL_BATCHES batches go the careful way at once, so that a
 * stream of redeliveries is not written twice. A row the server refuses for its data
 * fails the statement either way; the caller then stores the batch row by row
 * (store_pg.c).
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

#define COPY_COLUMNS "(id, municipality, category, type, subject, time, time_utc, received," \
                     " source, data) FROM STDIN (FORMAT binary)"

/*
 * Sends the buffer as the data of the COPY statement sql. Returns the rows copied, or a
 * negative errno with *res the failed result (-EPROTO) or NULL.
 */
static long send_copy(struct pg_store *s, const char *sql, PGresult **res)
{
    PGresult *start = PQexec(s->conn, sql);
    PGresult *last = NULL, *r;
    long got;

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
    got = strtol(PQcmdTuples(last), NULL, 10);
    PQclear(last);
    return got;
}

static bool key_refused(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    return state && strcmp(state, "23505") == 0; /* unique_violation */
}

/*
 * COPY straight into events behind a savepoint. Returns the rows copied; 0 with the
 * savepoint rolled back when the key refused a row (nothing of the batch is in events
 * then); or a negative errno with *res as for send_copy.
 */
static long copy_direct(struct pg_store *s, PGresult **res)
{
    long got;
    int r;

    if ((r = pg_store_exec(s, "SAVEPOINT bulk", "setting a savepoint")) < 0)
        return r;
    got = send_copy(s, "COPY events " COPY_COLUMNS, res);
    if (got >= 0 || !key_refused(*res))
        return got; /* the savepoint is released at the commit */
    PQclear(*res);
    *res = NULL;
    if ((r = pg_store_exec(s, "ROLLBACK TO SAVEPOINT bulk", "rolling back the COPY")) < 0)
        return r;
    return 0;
}

long pg_copy_events(struct pg_store *s, struct row *rows, size_t n, PGresult **res)
{
    long got;
    size_t events = 0;
    int r;

    *res = NULL;
    s->copy_len = 0;
    if ((r = reserve(s, sizeof(header) + 2)) < 0)
        goto nomem;
    put(s, header, sizeof(header));
    for (size_t i = 0; i < n; i++)
        if (!rows[i].failed && rows[i].table == STORE_EVENTS) {
            if ((r = put_event(s, &rows[i])) < 0)
                goto nomem;
            events++;
        }
    put_be(s, 0xffff, 2);
    if (s->careful_batches > 0) {
        s->careful_batches--;
    } else {
        got = copy_direct(s, res);
        if (got < 0 || (size_t)got == events)
            return got;
        s->careful_batches = PG_COPY_CAREFUL_BATCHES;
    }
    if (!s->copy_ready) {
        if ((r = pg_store_exec(s, "CREATE TEMPORARY TABLE IF NOT EXISTS events_in"
                                  " (LIKE events) ON COMMIT DELETE ROWS",
                               "creating the temporary table")) < 0)
            return r;
        s->copy_ready = true;
    }
    if ((got = send_copy(s, "COPY events_in " COPY_COLUMNS, res)) < 0)
        return got;
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
