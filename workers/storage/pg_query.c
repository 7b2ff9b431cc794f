// SPDX-License-Identifier: MIT
/*
 * Queries of the PostgreSQL backend: one statement built from the filter, read in
 * single-row mode so that a result of any size streams through, each row written
 * before the next is read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pg_store.h"
#include "timestamp.h"

int pg_query(struct store *base, const struct store_filter *f, struct export *out)
{
    struct pg_store *s = (struct pg_store *)base;
    const char *tcol = pg_tables[f->table].time_column;
    char sql[1024], since[TIMESTAMP_PG_MAX], until[TIMESTAMP_PG_MAX], limit[24];
    const char *values[7];
    PGresult *res;
    size_t len;
    int n = 0, r = 0;
    bool done = false;

    if (f->table == STORE_EVENTS)
        len = (size_t)snprintf(sql, sizeof(sql), "SELECT id, municipality, category, type,"
                               " subject, time, received, source, data::text FROM events"
                               " WHERE true");
    else
        len = (size_t)snprintf(sql, sizeof(sql), "SELECT data::text FROM %s WHERE true",
                               store_table_name(f->table));
#define APPEND(...) len += (size_t)snprintf(sql + len, sizeof(sql) - len, __VA_ARGS__)
    if (f->municipality) {
        values[n++] = f->municipality;
        APPEND(" AND municipality = $%d", n);
    }
    if (f->type) {
        values[n++] = f->type;
        APPEND(" AND type = $%d", n);
    }
    if (f->subject) {
        values[n++] = f->subject;
        APPEND(" AND subject = $%d", n);
    }
    if (f->id) {
        values[n++] = f->id;
        APPEND(" AND %s = $%d", f->table == STORE_ALERTS ? "id" : pg_tables[f->table].id_column,
               n);
    }
    if (f->has_since) {
        timestamp_format_pg(f->since_ns, since);
        values[n++] = since;
        APPEND(" AND %s >= $%d", tcol, n);
    }
    if (f->has_until) {
        timestamp_format_pg(f->until_ns, until);
        values[n++] = until;
        APPEND(" AND %s < $%d", tcol, n);
    }
    APPEND(" ORDER BY %s, %s", tcol, pg_tables[f->table].id_column);
    if (f->limit > 0) {
        snprintf(limit, sizeof(limit), "%lld", f->limit);
        values[n++] = limit;
        APPEND(" LIMIT $%d", n);
    }
#undef APPEND
    if (!PQsendQueryParams(s->conn, sql, n, NULL, values, NULL, NULL, 0) ||
        !PQsetSingleRowMode(s->conn)) {
        pg_store_set_error(s, "sending the query", NULL);
        return -EIO;
    }
    /* One PGresult per row, then one for the end: memory stays at one row. */
    while ((res = PQgetResult(s->conn))) {
        ExecStatusType st = PQresultStatus(res);

        if (st == PGRES_SINGLE_TUPLE && r == 0) {
            struct export_value v[EXPORT_EVENT_NCOLS];
            int cols = PQnfields(res);
            for (int c = 0; c < cols && c < EXPORT_EVENT_NCOLS; c++) {
                v[c].ptr = PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c);
                v[c].len = (size_t)PQgetlength(res, 0, c);
            }
            if ((r = export_row(out, v, (size_t)cols)) < 0)
                snprintf(s->base.error, sizeof(s->base.error), "writing the output: %s",
                         r == -EIO ? strerror(errno)
                                   : "a stored document is not a JSON object");
        } else if (st == PGRES_TUPLES_OK) {
            done = true;
        } else if (st != PGRES_SINGLE_TUPLE && r == 0) {
            pg_store_set_error(s, "querying", res);
            r = -EIO;
        }
        PQclear(res);
    }
    if (r == 0 && !done) {
        pg_store_set_error(s, "querying", NULL);
        r = -EIO;
    }
    return r;
}
