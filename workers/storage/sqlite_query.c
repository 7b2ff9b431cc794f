// SPDX-License-Identifier: MIT
/*
 * Queries of the SQLite backend: one statement built from the filter, stepped one row
 * at a time and each row written before the next is read, so that memory stays the
 * same for ten rows or ten million. Ties in time come in insertion order (rowid).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sqlite_store.h"

/* The column each table's time filter and order use. */
static const char *const time_column[STORE_TABLE_COUNT] = {
    [STORE_EVENTS] = "time_ns",
    [STORE_ALERTS] = "updated_ns",
    [STORE_AGGREGATES] = "start_ns",
};

int sqlite_query(struct store *base, const struct store_filter *f, struct export *out)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    const char *tcol = time_column[f->table];
    sqlite3_stmt *stmt = NULL;
    char sql[1024];
    size_t len;
    int rc, r = 0, i = 1;

    if (f->table == STORE_EVENTS)
        len = (size_t)snprintf(sql, sizeof(sql), "SELECT id, municipality, category, type,"
                               " subject, time, received, source, data FROM events WHERE 1");
    else
        len = (size_t)snprintf(sql, sizeof(sql), "SELECT data FROM %s WHERE 1",
                               store_table_name(f->table));
#define APPEND(...) len += (size_t)snprintf(sql + len, sizeof(sql) - len, __VA_ARGS__)
    if (f->municipality)
        APPEND(" AND municipality = ?");
    if (f->type)
        APPEND(" AND type = ?");
    if (f->subject)
        APPEND(" AND subject = ?");
    if (f->id)
        APPEND(" AND id = ?");
    if (f->has_since)
        APPEND(" AND %s >= ?", tcol);
    if (f->has_until)
        APPEND(" AND %s < ?", tcol);
    /* rowid breaks ties in insertion order, and every index ends in it */
    APPEND(" ORDER BY %s, rowid", tcol);
    if (f->limit > 0)
        APPEND(" LIMIT ?");
#undef APPEND
    if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL)) != SQLITE_OK)
        return sqlite_store_fail(s, rc, "preparing the query");
    if (f->municipality)
        sqlite3_bind_text(stmt, i++, f->municipality, -1, SQLITE_STATIC);
    if (f->type)
        sqlite3_bind_text(stmt, i++, f->type, -1, SQLITE_STATIC);
    if (f->subject)
        sqlite3_bind_text(stmt, i++, f->subject, -1, SQLITE_STATIC);
    if (f->id)
        sqlite3_bind_text(stmt, i++, f->id, -1, SQLITE_STATIC);
    if (f->has_since)
        sqlite3_bind_int64(stmt, i++, f->since_ns);
    if (f->has_until)
        sqlite3_bind_int64(stmt, i++, f->until_ns);
    if (f->limit > 0)
        sqlite3_bind_int64(stmt, i++, f->limit);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct export_value v[EXPORT_EVENT_NCOLS];
        int n = sqlite3_column_count(stmt);

        for (int c = 0; c < n; c++) {
            v[c].ptr = (const char *)sqlite3_column_text(stmt, c);
            v[c].len = (size_t)sqlite3_column_bytes(stmt, c);
        }
        if ((r = export_row(out, v, (size_t)n)) < 0) {
            snprintf(s->base.error, sizeof(s->base.error), "writing the output: %s",
                     r == -EIO ? strerror(errno) : "a stored document is not a JSON object");
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = sqlite_store_fail(s, rc, "querying");
    sqlite3_finalize(stmt);
    return r;
}
