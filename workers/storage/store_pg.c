// SPDX-License-Identifier: MIT
/*
 * The PostgreSQL backend (libpq): the same tables with jsonb and timestamptz, created
 * and migrated on connect under an advisory lock, each batch one multi-row INSERT per
 * table with ON CONFLICT DO NOTHING on the key (committed before store_write
 * returns), a row-by-row retry with savepoints when the server refuses a row's data,
 * and queries read in single-row mode so that a result of any size streams through.
 *
 * Parameters go in binary where that saves work (text columns straight from the
 * envelope's bytes, bigint, timestamptz as microseconds since 2000-01-01) and in text
 * for jsonb (the JSON text, NUL-terminated already).
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "timestamp.h"

/* Type oids of the parameters (pg_type.dat; fixed since PostgreSQL 9.4). */
#define OID_INT8 20
#define OID_TEXT 25
#define OID_TIMESTAMPTZ 1184
#define OID_JSONB 3802

#define PG_EPOCH_US 946684800000000LL /* 2000-01-01T00:00:00Z in µs since 1970 */
#define CONNECT_TIMEOUT "5"            /* seconds; a conninfo's connect_timeout wins */
#define MIGRATION_LOCK 0x72686e7374LL  /* pg_advisory_xact_lock key of the migration */

struct params {
    int n, cap;
    const char **values;
    int *lengths, *formats;
    Oid *types;
    unsigned char (*bin)[8]; /* binary integers, one slot per parameter */
    char **owned;            /* texts made for this statement, freed after it */
    int n_owned;
};

struct pg_store {
    struct store base;
    PGconn *conn;
    char *sql;
    size_t sql_cap;
    struct params p;
};

static const char schema_v1[] =
    "CREATE TABLE events ("
    " id text PRIMARY KEY,"
    " municipality text NOT NULL,"
    " category text NOT NULL,"
    " type text NOT NULL,"
    " subject text NOT NULL,"
    " time text NOT NULL,"               /* RFC 3339, as the publisher sent it */
    " time_utc timestamptz NOT NULL,"    /* the same, to the microsecond: sorts, ranges */
    " received bigint NOT NULL,"         /* the hub's receivedtime, ns since the epoch */
    " source text NOT NULL,"
    " data jsonb NOT NULL);"
    "CREATE INDEX events_type_subject_time ON events (type, subject, time_utc);"
    "CREATE INDEX events_municipality_time ON events (municipality, time_utc);"
    "CREATE INDEX events_time ON events (time_utc);"
    "CREATE TABLE alerts ("
    " change_id text PRIMARY KEY,"       /* the envelope's id: one per state change */
    " id text NOT NULL, rule text NOT NULL, severity text, state text NOT NULL,"
    " municipality text NOT NULL, type text NOT NULL, subject text NOT NULL,"
    " value jsonb, threshold jsonb, message text, event_id text, event_time text,"
    " raised_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,"
    " acked_by text, cleared_at timestamptz,"
    " received bigint NOT NULL, data jsonb NOT NULL);"
    "CREATE INDEX alerts_id ON alerts (id, updated_at);"
    "CREATE INDEX alerts_municipality_time ON alerts (municipality, updated_at);"
    "CREATE TABLE aggregates ("
    " id text PRIMARY KEY,"              /* the envelope's id: one per window */
    " municipality text NOT NULL, type text NOT NULL, subject text NOT NULL,"
    " window_size text NOT NULL, window_start timestamptz NOT NULL,"
    " window_end timestamptz NOT NULL, count bigint NOT NULL, subjects bigint,"
    " received bigint NOT NULL, data jsonb NOT NULL);"
    "CREATE INDEX aggregates_type_subject_start ON aggregates"
    " (type, subject, window_size, window_start);"
    "CREATE INDEX aggregates_municipality_start ON aggregates (municipality, window_start);";

static const char *const migrations[] = {schema_v1};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_PG_SCHEMA_VERSION,
               "one migration per schema version");

/* Each table's INSERT: its columns, their count and its key. */
static const struct {
    const char *columns;
    int n_columns;
    const char *key;
    const char *time_column; /* filter and order of queries */
} tables[STORE_TABLE_COUNT] = {
    [STORE_EVENTS] = {"id, municipality, category, type, subject, time, time_utc, received,"
                      " source, data", 10, "id", "time_utc"},
    [STORE_ALERTS] = {"change_id, id, rule, severity, state, municipality, type, subject,"
                      " value, threshold, message, event_id, event_time, raised_at, updated_at,"
                      " acked_by, cleared_at, received, data", 19, "change_id", "updated_at"},
    [STORE_AGGREGATES] = {"id, municipality, type, subject, window_size, window_start,"
                          " window_end, count, subjects, received, data", 11, "id",
                          "window_start"},
};

static const struct store_ops pg_ops;

/* ------------------------------------------------------------------------------------------ */
/* Errors */

/* Records "what: the server's or libpq's message" as the store's error. */
static void set_error(struct pg_store *s, const char *what, const PGresult *res)
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

/* Whether the server refused the data of a row: data exception or constraint violation. */
static bool row_refused(const PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0);
}

/*
 * The errno for a failed statement: -ECONNRESET when the connection is gone, -EIO when
 * the schema is not what it should be (a reconnect migrates it), else -EBUSY (a lock,
 * a deadlock, a full disk: try again on this connection).
 */
static int result_errno(const struct pg_store *s, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (connection_lost(s, res))
        return -ECONNRESET;
    if (state && strncmp(state, "42", 2) == 0)
        return -EIO;
    return -EBUSY;
}

/* Runs sql (no parameters, no rows wanted). Returns 0, or an errno as result_errno. */
static int exec(struct pg_store *s, const char *sql, const char *what)
{
    PGresult *res = PQexec(s->conn, sql);
    int r = 0;

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        set_error(s, what, res);
        r = result_errno(s, res);
    }
    PQclear(res);
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Parameters */

static void params_free(struct params *p)
{
    for (int i = 0; i < p->n_owned; i++)
        free(p->owned[i]);
    free(p->values);
    free(p->lengths);
    free(p->formats);
    free(p->types);
    free(p->bin);
    free(p->owned);
    memset(p, 0, sizeof(*p));
}

/* Empties p and makes room for n parameters. Returns 0, or -ENOMEM. */
static int params_reset(struct params *p, int n)
{
    for (int i = 0; i < p->n_owned; i++)
        free(p->owned[i]);
    p->n = p->n_owned = 0;
    if (n <= p->cap)
        return 0;
#define GROW(field) do {                                                                           \
        void *np = realloc(p->field, (size_t)n * sizeof(*p->field));                               \
        if (!np)                                                                                   \
            return -ENOMEM;                                                                        \
        p->field = np;                                                                             \
    } while (0)
    GROW(values);
    GROW(lengths);
    GROW(formats);
    GROW(types);
    GROW(bin);
    GROW(owned);
#undef GROW
    p->cap = n;
    return 0;
}

static void add(struct params *p, Oid type, const char *value, int length, int format)
{
    p->types[p->n] = type;
    p->values[p->n] = value;
    p->lengths[p->n] = length;
    p->formats[p->n] = format;
    p->n++;
}

/* Text from the row, in binary (its bytes as they are); NULL for SQL NULL. */
static void add_text(struct params *p, const struct row_str *v)
{
    add(p, OID_TEXT, v->ptr, (int)v->len, 1);
}

static void add_int8(struct params *p, int64_t v)
{
    unsigned char *b = p->bin[p->n];
    uint64_t u = (uint64_t)v;

    for (int i = 7; i >= 0; i--, u >>= 8)
        b[i] = (unsigned char)(u & 0xff);
    add(p, OID_INT8, (const char *)b, 8, 1);
}

static void add_null(struct params *p, Oid type)
{
    add(p, type, NULL, 0, 1);
}

/* A timestamptz from ns since 1970: microseconds since 2000-01-01, rounded down. */
static void add_ts(struct params *p, int64_t ns)
{
    int64_t us = ns / 1000 - (ns % 1000 < 0);

    add_int8(p, us - PG_EPOCH_US);
    p->types[p->n - 1] = OID_TIMESTAMPTZ;
}

/* jsonb in text format: NUL-terminated JSON. */
static void add_json_text(struct params *p, const char *json)
{
    add(p, OID_JSONB, json, 0, 0);
}

/* A JSON value (an alert's value or threshold) as jsonb; JSON null or absent as NULL. */
static void add_json_value(struct params *p, const json_t *v)
{
    char *text;

    if (!v || json_is_null(v) ||
        !(text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY))) {
        add_null(p, OID_JSONB);
        return;
    }
    p->owned[p->n_owned++] = text;
    add_json_text(p, text);
}

/* Appends the parameters of one row, in the order of tables[row->table].columns. */
static void add_row(struct params *p, const struct row *row)
{
    switch (row->table) {
    case STORE_EVENTS: {
        const struct row_event *e = &row->u.event;
        add_text(p, &e->id);
        add_text(p, &e->municipality);
        add_text(p, &e->category);
        add_text(p, &e->type);
        add_text(p, &e->subject);
        add_text(p, &e->time);
        add_ts(p, e->time_ns);
        add_int8(p, (int64_t)row->received_ns);
        add_text(p, &e->source);
        break;
    }
    case STORE_ALERTS: {
        const struct row_alert *a = &row->u.alert;
        add_text(p, &a->change_id);
        add_text(p, &a->id);
        add_text(p, &a->rule);
        add_text(p, &a->severity);
        add_text(p, &a->state);
        add_text(p, &a->municipality);
        add_text(p, &a->type);
        add_text(p, &a->subject);
        add_json_value(p, a->value);
        add_json_value(p, a->threshold);
        add_text(p, &a->message);
        add_text(p, &a->event_id);
        add_text(p, &a->event_time);
        add_ts(p, a->raised_ns);
        add_ts(p, a->updated_ns);
        add_text(p, &a->acked_by);
        if (a->cleared_at.ptr)
            add_ts(p, a->cleared_ns);
        else
            add_null(p, OID_TIMESTAMPTZ);
        add_int8(p, (int64_t)row->received_ns);
        break;
    }
    case STORE_AGGREGATES: {
        const struct row_aggregate *g = &row->u.aggregate;
        add_text(p, &g->id);
        add_text(p, &g->municipality);
        add_text(p, &g->type);
        add_text(p, &g->subject);
        add_text(p, &g->window);
        add_ts(p, g->start_ns);
        add_ts(p, g->end_ns);
        add_int8(p, g->count);
        if (g->has_subjects)
            add_int8(p, g->subjects);
        else
            add_null(p, OID_INT8);
        add_int8(p, (int64_t)row->received_ns);
        break;
    }
    default: return;
    }
    add_json_text(p, row->data);
}

/* ------------------------------------------------------------------------------------------ */
/* Statements */

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
    int cols = tables[t].n_columns, k = 1;
    size_t len;

    /* "$123456, " is at most 10 bytes per parameter; the rest is short */
    if (sql_reserve(s, 512 + n * (size_t)cols * 10 + n * 4) < 0)
        return -ENOMEM;
    len = (size_t)sprintf(s->sql, "INSERT INTO %s (%s) VALUES ", store_table_name(t),
                          tables[t].columns);
    for (size_t r = 0; r < n; r++) {
        s->sql[len++] = r ? ',' : ' ';
        s->sql[len++] = '(';
        for (int c = 0; c < cols; c++)
            len += (size_t)sprintf(s->sql + len, c ? ",$%d" : "$%d", k++);
        s->sql[len++] = ')';
    }
    sprintf(s->sql + len, " ON CONFLICT (%s) DO NOTHING", tables[t].key);
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
        (r = params_reset(&s->p, (int)n_rows * tables[t].n_columns)) < 0) {
        snprintf(s->base.error, sizeof(s->base.error), "postgresql: out of memory");
        return r;
    }
    for (size_t i = 0; i < n; i++)
        if (!rows[i].failed && rows[i].table == t)
            add_row(&s->p, &rows[i]);
    *res = PQexecParams(s->conn, s->sql, s->p.n, s->p.types, s->p.values, s->p.lengths,
                        s->p.formats, 0);
    if (PQresultStatus(*res) != PGRES_COMMAND_OK) {
        set_error(s, "inserting", *res);
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
    if ((r = exec(s, "BEGIN", "beginning a transaction")) < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        PGresult *res;
        long got;

        if (rows[i].failed) {
            counts->failed++;
            continue;
        }
        if ((r = exec(s, "SAVEPOINT row", "setting a savepoint")) < 0)
            goto err;
        got = insert_rows(s, rows[i].table, &rows[i], 1, 1, &res);
        if (got >= 0) {
            counts->stored += (size_t)got;
            counts->duplicates += got ? 0 : 1;
        } else if (res && row_refused(res)) {
            rows[i].failed = true;
            snprintf(rows[i].error, sizeof(rows[i].error), "postgresql refused the row: %s",
                     PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
            counts->failed++;
            PQclear(res);
            if ((r = exec(s, "ROLLBACK TO SAVEPOINT row", "rolling back a row")) < 0)
                goto err;
            continue;
        } else {
            r = res ? result_errno(s, res) : -ENOMEM;
            PQclear(res);
            goto err;
        }
        PQclear(res);
        if ((r = exec(s, "RELEASE SAVEPOINT row", "releasing a savepoint")) < 0)
            goto err;
    }
    if ((r = exec(s, "COMMIT", "committing")) < 0)
        return r;
    return 0;
err:
    if (PQstatus(s->conn) == CONNECTION_OK)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    return r;
}

static int pg_write(struct store *base, struct row *rows, size_t n, struct store_counts *counts)
{
    struct pg_store *s = (struct pg_store *)base;
    size_t per_table[STORE_TABLE_COUNT] = {0};
    int tables_used = 0, r;
    bool in_tx;

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
    /* One statement commits by itself; several need a transaction around them. */
    in_tx = tables_used > 1;
    if (in_tx && (r = exec(s, "BEGIN", "beginning a transaction")) < 0)
        return r;
    for (int t = 0; t < STORE_TABLE_COUNT; t++) {
        PGresult *res;
        long got;

        if (!per_table[t])
            continue;
        got = insert_rows(s, (enum store_table)t, rows, n, per_table[t], &res);
        if (got < 0) {
            bool refused = res && row_refused(res);
            r = res ? result_errno(s, res) : got;
            PQclear(res);
            if (in_tx && PQstatus(s->conn) == CONNECTION_OK)
                PQclear(PQexec(s->conn, "ROLLBACK"));
            if (refused)
                return write_one_by_one(s, rows, n, counts);
            return r;
        }
        counts->stored += (size_t)got;
        counts->duplicates += per_table[t] - (size_t)got;
        PQclear(res);
    }
    if (in_tx && (r = exec(s, "COMMIT", "committing")) < 0) {
        counts->stored = counts->duplicates = 0;
        return r;
    }
    return 0;
}

static int pg_retention_step(struct store *base, int64_t before_ns, int max_rows, int *deleted)
{
    struct pg_store *s = (struct pg_store *)base;
    char before[TIMESTAMP_PG_MAX], limit[16];
    const char *values[] = {before, limit};
    PGresult *res;
    int r = 0;

    timestamp_format_pg(before_ns, before);
    snprintf(limit, sizeof(limit), "%d", max_rows);
    res = PQexecParams(s->conn, "DELETE FROM events WHERE id IN (SELECT id FROM events"
                                " WHERE time_utc < $1 ORDER BY time_utc LIMIT $2)",
                       2, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        *deleted = (int)strtol(PQcmdTuples(res), NULL, 10);
    } else {
        set_error(s, "deleting old events", res);
        r = result_errno(s, res);
    }
    PQclear(res);
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Querying */

static int pg_query(struct store *base, const struct store_filter *f, struct export *out)
{
    struct pg_store *s = (struct pg_store *)base;
    const char *tcol = tables[f->table].time_column;
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
        APPEND(" AND id = $%d", n);
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
    APPEND(" ORDER BY %s, %s", tcol, tables[f->table].key);
    if (f->limit > 0) {
        snprintf(limit, sizeof(limit), "%lld", f->limit);
        values[n++] = limit;
        APPEND(" LIMIT $%d", n);
    }
#undef APPEND
    if (!PQsendQueryParams(s->conn, sql, n, NULL, values, NULL, NULL, 0) ||
        !PQsetSingleRowMode(s->conn)) {
        set_error(s, "sending the query", NULL);
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
            set_error(s, "querying", res);
            r = -EIO;
        }
        PQclear(res);
    }
    if (r == 0 && !done) {
        set_error(s, "querying", NULL);
        r = -EIO;
    }
    return r;
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
        set_error(s, "connection lost", res);
        r = -ECONNRESET;
    }
    PQclear(res);
    return r;
}

static void pg_close(struct store *base)
{
    struct pg_store *s = (struct pg_store *)base;

    PQfinish(s->conn);
    params_free(&s->p);
    free(s->sql);
    free(s);
}

/* Server notices (e.g. "relation already exists, skipping") go to the debug log. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("storage", "postgresql: %s", message);
}

/* The schema version recorded (0: none), or a negative errno. */
static int schema_version(struct pg_store *s, bool *has_table)
{
    PGresult *res = PQexec(s->conn, "SELECT to_regclass('schema_version') IS NOT NULL");
    int version = 0;

    *has_table = false;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        set_error(s, "reading the schema", res);
        version = result_errno(s, res);
        PQclear(res);
        return version;
    }
    *has_table = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!*has_table)
        return 0;
    res = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM schema_version");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        set_error(s, "reading the schema version", res);
        version = result_errno(s, res);
    } else {
        version = atoi(PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return version;
}

static int migrate(struct pg_store *s)
{
    char sql[160];
    bool has_table;
    int r, version;

    if ((r = exec(s, "BEGIN", "starting the migration")) < 0)
        return r;
    /* Workers starting together take turns: the lock ends with the transaction. */
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)", MIGRATION_LOCK);
    if ((r = exec(s, sql, "locking the migration")) < 0 ||
        (r = exec(s, "CREATE TABLE IF NOT EXISTS schema_version ("
                     " version integer PRIMARY KEY,"
                     " applied_at timestamptz NOT NULL DEFAULT now())",
                  "creating schema_version")) < 0 ||
        (r = version = schema_version(s, &has_table)) < 0)
        goto err;
    if (version > STORE_PG_SCHEMA_VERSION) {
        snprintf(s->base.error, sizeof(s->base.error),
                 "postgresql: schema version %d is newer than this rheinhub-storage knows (%d)",
                 version, STORE_PG_SCHEMA_VERSION);
        r = -EINVAL;
        goto err;
    }
    for (int v = version + 1; v <= STORE_PG_SCHEMA_VERSION; v++) {
        snprintf(sql, sizeof(sql), "INSERT INTO schema_version (version) VALUES (%d)", v);
        if ((r = exec(s, migrations[v - 1], "migrating the schema")) < 0 ||
            (r = exec(s, sql, "recording the schema version")) < 0)
            goto err;
    }
    return exec(s, "COMMIT", "committing the migration");
err:
    if (PQstatus(s->conn) == CONNECTION_OK)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    return r;
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
    s->conn = PQconnectdbParams(keys, values, 1);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        set_error(s, "connecting", NULL);
        r = -ECONNREFUSED;
        goto err;
    }
    PQsetNoticeProcessor(s->conn, on_notice, NULL);
    if ((r = exec(s, "SET client_min_messages = warning", "setting up the session")) < 0)
        goto err;
    if (mode == STORE_READ) {
        bool has_table;
        int version;
        if ((r = exec(s, "SET default_transaction_read_only = on", "setting up the session")) <
                0 ||
            (r = version = schema_version(s, &has_table)) < 0)
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
    } else if ((r = migrate(s)) < 0) {
        goto err;
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
