// SPDX-License-Identifier: MIT
/*
 * The PostgreSQL backend (libpq): the connection, the schema migrated on connect
 * (pg_schema.c), each batch in one transaction committed before store_write returns
 * (events by COPY, pg_copy.c; alerts and aggregates by a multi-row INSERT with ON
 * CONFLICT DO NOTHING on their key), a row-by-row retry with savepoints when the
 * server refuses a row's data, and retention by partitions. Queries: pg_query.c.
 */
#include "pg_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define CONNECT_TIMEOUT "5" /* seconds; a conninfo's connect_timeout wins */
/*
 * A query (rheinhub-storage query, the console) of a table that someone holds locked
 * (VACUUM FULL, ALTER TABLE, a migration) ends after this long with the server's
 * reason, instead of waiting for as long as the lock is held.
 */
#define READ_LOCK_TIMEOUT "SET lock_timeout = '10s'"

const struct pg_table pg_tables[STORE_TABLE_COUNT] = {
    [STORE_EVENTS] = {"id, municipality, category, type, subject, time, time_utc, received,"
                      " source, data", 10, "time_utc, id", "time_utc", "id"},
    [STORE_ALERTS] = {"change_id, id, rule, severity, state, municipality, type, subject,"
                      " value, threshold, message, event_id, event_time, raised_at, updated_at,"
                      " acked_by, cleared_at, received, data", 19, "change_id", "updated_at",
                      "change_id"},
    [STORE_AGGREGATES] = {"id, municipality, type, subject, window_size, window_start,"
                          " window_end, count, subjects, received, data", 11, "id",
                          "window_start", "id"},
};

static const struct store_ops pg_ops;

/* ------------------------------------------------------------------------------------------ */
/* Errors */

void pg_store_set_error(struct pg_store *s, const char *what, const PGresult *res)
{
    const char *msg = res ? PQresultErrorMessage(res) : "";
    size_t n;

    if (!msg || !msg[0])
        msg = s->conn ? PQerrorMessage(s->conn) : "no connection";
    snprintf(s->base.error, sizeof(s->base.error), "postgresql: %s: %s", what, msg);
    n = strlen(s->base.error);
    while (n > 0 && (s->base.error[n - 1] == '\n' || s->base.error[n - 1] == ' '))
        s->base.error[--n] = '\0';
}

/* Whether the connection is gone (closed, server stopping), so it must be made again. */
static bool connection_lost(const struct pg_store *s, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    return PQstatus(s->conn) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
           strncmp(state, "57P", 3) == 0;
}

bool pg_store_row_refused(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0);
}

int pg_store_result_errno(const struct pg_store *s, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (connection_lost(s, res))
        return -ECONNRESET;
    if (state && strncmp(state, "42", 2) == 0)
        return -EIO;
    return -EBUSY;
}

int pg_store_exec(struct pg_store *s, const char *sql, const char *what)
{
    PGresult *res = PQexec(s->conn, sql);
    int r = 0;

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_store_set_error(s, what, res);
        r = pg_store_result_errno(s, res);
    }
    PQclear(res);
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Writing */

static int sql_reserve(struct pg_store *s, size_t n)
{
    char *np;

    if (n <= s->sql_cap)
        return 0;
    if (!(np = realloc(s->sql, n)))
        return -ENOMEM;
    s->sql = np;
    s->sql_cap = n;
    return 0;
}

/* "INSERT INTO t (...) VALUES ($1, ...), ... ON CONFLICT (key) DO NOTHING" for n rows. */
static int build_insert(struct pg_store *s, enum store_table t, size_t n)
{
    int cols = pg_tables[t].n_columns, k = 1;
    size_t len;

    /* "$123456, " is at most 10 bytes per parameter; the rest is short */
    if (sql_reserve(s, 512 + n * (size_t)cols * 10 + n * 4) < 0)
        return -ENOMEM;
    len = (size_t)sprintf(s->sql, "INSERT INTO %s (%s) VALUES ", store_table_name(t),
                          pg_tables[t].columns);
    for (size_t r = 0; r < n; r++) {
        s->sql[len++] = r ? ',' : ' ';
        s->sql[len++] = '(';
        for (int c = 0; c < cols; c++)
            len += (size_t)sprintf(s->sql + len, c ? ",$%d" : "$%d", k++);
        s->sql[len++] = ')';
    }
    sprintf(s->sql + len, " ON CONFLICT (%s) DO NOTHING", pg_tables[t].key);
    return 0;
}

/*
 * One INSERT of the rows of table t that are not failed (n_rows of them). Returns
 * the inserted count (>= 0), or a negative errno with *res kept for the caller to
 * inspect (the caller clears it).
 */
static long insert_rows(struct pg_store *s, enum store_table t, struct row *rows, size_t n,
                        size_t n_rows, PGresult **res)
{
    int r;

    *res = NULL;
    if ((r = build_insert(s, t, n_rows)) < 0 ||
        (r = pg_params_reset(&s->p, (int)n_rows * pg_tables[t].n_columns)) < 0) {
        snprintf(s->base.error, sizeof(s->base.error), "postgresql: out of memory");
        return r;
    }
    for (size_t i = 0; i < n; i++)
        if (!rows[i].failed && rows[i].table == t)
            pg_params_add_row(&s->p, &rows[i]);
    *res = PQexecParams(s->conn, s->sql, s->p.n, s->p.types, s->p.values, s->p.lengths,
                        s->p.formats, 0);
    if (PQresultStatus(*res) != PGRES_COMMAND_OK) {
        pg_store_set_error(s, "inserting", *res);
        return -EPROTO; /* the caller looks at *res */
    }
    return strtol(PQcmdTuples(*res), NULL, 10);
}

/*
 * The slow path after the server refused a row of a batch: each row in its own
 * savepoint, so that a refused row is marked failed and the others are stored.
 */
static int write_one_by_one(struct pg_store *s, struct row *rows, size_t n,
                            struct store_counts *counts)
{
    int r;

    memset(counts, 0, sizeof(*counts));
    if ((r = pg_store_exec(s, "BEGIN", "beginning a transaction")) < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        PGresult *res;
        long got;

        if (rows[i].failed) {
            counts->failed++;
            continue;
        }
        if ((r = pg_store_exec(s, "SAVEPOINT row", "setting a savepoint")) < 0)
            goto err;
        got = insert_rows(s, rows[i].table, &rows[i], 1, 1, &res);
        if (got >= 0) {
            counts->stored += (size_t)got;
            counts->duplicates += got ? 0 : 1;
        } else if (res && pg_store_row_refused(res)) {
            rows[i].failed = true;
            snprintf(rows[i].error, sizeof(rows[i].error), "postgresql refused the row: %s",
                     PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
            counts->failed++;
            PQclear(res);
            if ((r = pg_store_exec(s, "ROLLBACK TO SAVEPOINT row", "rolling back a row")) < 0)
                goto err;
            continue;
        } else {
            r = res ? pg_store_result_errno(s, res) : -ENOMEM;
            PQclear(res);
            goto err;
        }
        PQclear(res);
        if ((r = pg_store_exec(s, "RELEASE SAVEPOINT row", "releasing a savepoint")) < 0)
            goto err;
    }
    if ((r = pg_store_exec(s, "COMMIT", "committing")) < 0)
        return r;
    return 0;
err:
    if (PQstatus(s->conn) == CONNECTION_OK)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    return r;
}

/* Rolls back the batch's transaction; the temporary table may have gone with it. */
static void abort_batch(struct pg_store *s)
{
    if (PQstatus(s->conn) == CONNECTION_OK)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    s->copy_ready = false;
}

/*
 * A batch in one transaction: events by COPY (pg_copy.c), alerts and aggregates with
 * one multi-row INSERT each (they come a few at a time). A row the server refuses
 * sends the whole batch down the row-by-row path.
 */
static int pg_write(struct store *base, struct row *rows, size_t n, struct store_counts *counts)
{
    struct pg_store *s = (struct pg_store *)base;
    size_t per_table[STORE_TABLE_COUNT] = {0};
    int tables_used = 0, r;

    for (size_t i = 0; i < n; i++) {
        if (rows[i].failed) {
            counts->failed++;
            continue;
        }
        if (per_table[rows[i].table]++ == 0)
            tables_used++;
    }
    if (tables_used == 0)
        return 0;
    if (per_table[STORE_EVENTS]) {
        pg_partitions_ahead(s);
        if ((r = pg_partitions_ensure(s, rows, n)) < 0)
            return r;
    }
    if ((r = pg_store_exec(s, "BEGIN", "beginning a transaction")) < 0)
        return r;
    for (int t = 0; t < STORE_TABLE_COUNT; t++) {
        PGresult *res;
        long got;

        if (!per_table[t])
            continue;
        if (t == STORE_EVENTS)
            got = pg_copy_events(s, rows, n, &res);
        else
            got = insert_rows(s, (enum store_table)t, rows, n, per_table[t], &res);
        if (got < 0) {
            bool refused = res && pg_store_row_refused(res);
            r = res ? pg_store_result_errno(s, res) : (int)got;
            PQclear(res);
            abort_batch(s);
            if (refused)
                return write_one_by_one(s, rows, n, counts);
            return r;
        }
        counts->stored += (size_t)got;
        counts->duplicates += per_table[t] - (size_t)got;
        PQclear(res);
    }
    if ((r = pg_store_exec(s, "COMMIT", "committing")) < 0) {
        counts->stored = counts->duplicates = 0;
        s->copy_ready = false;
        return r;
    }
    return 0;
}

static int pg_retention_step(struct store *base, int64_t before_ns, int max_rows, int *deleted)
{
    return pg_partitions_retention((struct pg_store *)base, before_ns, max_rows, deleted);
}

/* ------------------------------------------------------------------------------------------ */
/* Connecting */

/* An empty query: one round trip, which notices a server that went away while idle. */
static int pg_check(struct store *base)
{
    struct pg_store *s = (struct pg_store *)base;
    PGresult *res = PQexec(s->conn, "");
    int r = 0;

    if (PQresultStatus(res) != PGRES_EMPTY_QUERY || PQstatus(s->conn) != CONNECTION_OK) {
        pg_store_set_error(s, "connection lost", res);
        r = -ECONNRESET;
    }
    PQclear(res);
    return r;
}

static void pg_close(struct store *base)
{
    struct pg_store *s = (struct pg_store *)base;

    PQfinish(s->conn);
    pg_params_free(&s->p);
    pg_copy_free(s);
    free(s->sql);
    free(s);
}

/* Server notices (e.g. "relation already exists, skipping") go to the debug log. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("storage", "postgresql: %s", message);
}

int store_pg_open(struct store **out, const struct hub_config *cfg, enum store_mode mode,
                  char *err, size_t err_size)
{
    /*
     * Later keywords win: the conninfo (dbname, expanded) overrides the defaults before
     * it, and the client encoding after it is ours: text goes in binary, as UTF-8.
     */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", "client_encoding",
                          NULL};
    const char *values[] = {CONNECT_TIMEOUT, "rheinhub-storage", cfg->storage.postgres_conninfo,
                            "UTF8", NULL};
    struct pg_store *s = calloc(1, sizeof(*s));
    int r;

    if (!s) {
        snprintf(err, err_size, "out of memory");
        return -ENOMEM;
    }
    s->base.ops = &pg_ops;
    s->base.schema_version = STORE_PG_SCHEMA_VERSION;
    s->retention_days = cfg->storage.retention_days;
    s->conn = PQconnectdbParams(keys, values, 1);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        pg_store_set_error(s, "connecting", NULL);
        r = -ECONNREFUSED;
        goto err;
    }
    PQsetNoticeProcessor(s->conn, on_notice, NULL);
    if ((r = pg_store_exec(s, "SET client_min_messages = warning", "setting up the session")) < 0)
        goto err;
    if (mode == STORE_READ) {
        bool has_table;
        int version;
        if ((r = pg_store_exec(s, "SET default_transaction_read_only = on",
                               "setting up the session")) < 0 ||
            (r = pg_store_exec(s, READ_LOCK_TIMEOUT, "setting up the session")) < 0 ||
            (r = version = pg_schema_version(s, &has_table)) < 0)
            goto err;
        if (version != STORE_PG_SCHEMA_VERSION) {
            if (!has_table)
                snprintf(s->base.error, sizeof(s->base.error),
                         "postgresql: no rheinhub tables in this database (the storage worker "
                         "creates them)");
            else
                snprintf(s->base.error, sizeof(s->base.error),
                         "postgresql: schema version %d; this rheinhub-storage reads %d",
                         version, STORE_PG_SCHEMA_VERSION);
            r = -EINVAL;
            goto err;
        }
    } else if ((r = pg_schema_migrate(s)) < 0) {
        goto err;
    } else {
        pg_partitions_ahead(s);
        pg_schema_collation_note(s);
    }
    *out = &s->base;
    return 0;
err:
    snprintf(err, err_size, "%s", s->base.error);
    pg_close(&s->base);
    return r;
}

static const struct store_ops pg_ops = {
    .write = pg_write,
    .retention_step = pg_retention_step,
    .query = pg_query,
    .check = pg_check,
    .close = pg_close,
};
