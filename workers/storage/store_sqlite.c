// SPDX-License-Identifier: MIT
/*
 * The SQLite backend's connection and writes: one database file in WAL mode, the
 * schema created and migrated on open (sqlite_schema.c), one write transaction per
 * batch with prepared statements, the events in statements of
 * SQLITE_EVENTS_PER_INSERT rows (a refused row: that statement again row by row), an
 * event already stored ignored (ON CONFLICT DO NOTHING on its key, (time_ns, id), only,
 * so that any other refusal is reported per row), and retention in small deletes.
 * Queries: sqlite_query.c.
 *
 * Why synchronous=NORMAL: in WAL mode a commit then appends to the WAL without an
 * fsync; the WAL is synced at each checkpoint. A crash of the worker (SIGKILL) loses
 * nothing that was committed, because the WAL is in the page cache of the kernel; a
 * power cut or kernel crash can lose the last commits since the last checkpoint, and
 * the database stays consistent. Those events were acknowledged in Redis, so they
 * would not come again: docs/storage.md says so and names synchronous=FULL as the
 * price of closing that window (an fsync per batch).
 */
#include "sqlite_store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "log.h"

#define CACHE_KIB 8192 /* page cache per connection: the indexes' last pages are the hot part */

#define EVENT_COLUMNS 10
#define EVENTS_INSERT "INSERT INTO events (id, municipality, category, type, subject, time," \
                      " time_ns, received, source, data) VALUES "
#define EVENT_VALUES "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define EVENTS_CONFLICT " ON CONFLICT (time_ns, id) DO NOTHING"

static const char *const insert_sql[STORE_TABLE_COUNT] = {
    [STORE_EVENTS] = EVENTS_INSERT EVENT_VALUES EVENTS_CONFLICT,
    [STORE_ALERTS] = "INSERT INTO alerts (change_id, id, rule, severity, state, municipality,"
                     " type, subject, value, threshold, message, event_id, event_time,"
                     " raised_at, updated_at, updated_ns, acked_by, cleared_at, received, data)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                     " ON CONFLICT (change_id) DO NOTHING",
    [STORE_AGGREGATES] = "INSERT INTO aggregates (id, municipality, type, subject, window_size,"
                         " window_start, window_end, start_ns, count, subjects, received, data)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                         " ON CONFLICT (id) DO NOTHING",
};

static const struct store_ops sqlite_ops;

/* A SQLite result code as a negative errno: what kind of trouble the caller has. */
static int rc_errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return -EBUSY;
    case SQLITE_NOMEM: return -ENOMEM;
    case SQLITE_READONLY: return -EROFS;
    case SQLITE_FULL: return -ENOSPC;
    case SQLITE_CANTOPEN: return -ENOENT;
    case SQLITE_PERM:
    case SQLITE_AUTH: return -EACCES;
    default: return -EIO;
    }
}

/* Whether rc refuses one row (the statement is undone, the transaction goes on). */
static bool rc_row_error(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG: return true;
    default: return false;
    }
}

int sqlite_store_fail(struct sqlite_store *s, int rc, const char *what)
{
    snprintf(s->base.error, sizeof(s->base.error), "sqlite %s: %s: %s", s->path, what,
             s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    return rc_errno(rc);
}

int sqlite_store_exec(struct sqlite_store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : sqlite_store_fail(s, rc, what);
}

/* Runs a prepared statement that returns no rows, and resets it. */
static int step_done(struct sqlite_store *s, sqlite3_stmt *stmt, const char *what)
{
    int rc = sqlite3_step(stmt);

    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? 0 : sqlite_store_fail(s, rc, what);
}

/* Ends a transaction that failed, when SQLite has not ended it itself. */
static void rollback(struct sqlite_store *s)
{
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_step(s->rollback);
        sqlite3_reset(s->rollback);
    }
}

static int prepare(struct sqlite_store *s, const char *sql, sqlite3_stmt **stmt)
{
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);

    return rc == SQLITE_OK ? 0 : sqlite_store_fail(s, rc, "preparing a statement");
}

/* The INSERT of SQLITE_EVENTS_PER_INSERT events. */
static int prepare_insert_events(struct sqlite_store *s)
{
    char sql[sizeof(EVENTS_INSERT) + SQLITE_EVENTS_PER_INSERT * sizeof(EVENT_VALUES ", ") +
             sizeof(EVENTS_CONFLICT)];
    size_t len = 0;

    len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s", EVENTS_INSERT);
    for (int i = 0; i < SQLITE_EVENTS_PER_INSERT; i++)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s%s", i ? ", " : "",
                                EVENT_VALUES);
    snprintf(sql + len, sizeof(sql) - len, "%s", EVENTS_CONFLICT);
    return prepare(s, sql, &s->insert_events);
}

static void sqlite_close(struct store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;

    sqlite_checkpointer_free(s->checkpointer);
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
    sqlite3_finalize(s->rollback);
    for (int i = 0; i < STORE_TABLE_COUNT; i++)
        sqlite3_finalize(s->insert[i]);
    sqlite3_finalize(s->insert_events);
    sqlite3_finalize(s->retention);
    sqlite3_close(s->db); /* the last connection checkpoints the WAL into the file */
    free(s);
}

int store_sqlite_open(struct store **out, const struct hub_config *cfg, const char *path,
                      enum store_mode mode, char *err, size_t err_size)
{
    return sqlite_store_open(out, cfg, path, mode, NULL, NULL, err, err_size);
}

int sqlite_store_open(struct store **out, const struct hub_config *cfg, const char *path,
                      enum store_mode mode, sqlite_migrate_progress_cb progress, void *arg,
                      char *err, size_t err_size)
{
    struct sqlite_store *s = calloc(1, sizeof(*s));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    struct stat st;
    char pragmas[200];
    int rc, r;

    if (!s) {
        snprintf(err, err_size, "out of memory");
        return -ENOMEM;
    }
    s->base.ops = &sqlite_ops;
    s->base.schema_version = STORE_SQLITE_SCHEMA_VERSION;
    snprintf(s->path, sizeof(s->path), "%s", path);
    if (mode != STORE_CREATE && stat(path, &st) < 0) {
        r = -errno;
        snprintf(s->base.error, sizeof(s->base.error), "sqlite %s: no database there: %s",
                 path, strerror(errno));
        goto err;
    }
    if (mode == STORE_CREATE)
        flags |= SQLITE_OPEN_CREATE;
    if ((rc = sqlite3_open_v2(path, &s->db, flags, NULL)) != SQLITE_OK) {
        r = sqlite_store_fail(s, rc, "opening");
        goto err;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, cfg->storage.busy_timeout_ms);
    if (mode == STORE_READ) {
        bool has_table;
        int version;
        if ((r = sqlite_store_exec(s, "PRAGMA query_only = 1", "setting query_only")) < 0)
            goto err;
        if ((r = version = sqlite_schema_version(s, &has_table)) < 0)
            goto err;
        if (version != STORE_SQLITE_SCHEMA_VERSION) {
            snprintf(s->base.error, sizeof(s->base.error),
                     "sqlite %s: %s schema version %d; this rheinhub-storage reads %d (the "
                     "storage worker creates and migrates it)",
                     path, has_table ? "database of" : "not a rheinhub database, no",
                     version, STORE_SQLITE_SCHEMA_VERSION);
            r = -EINVAL;
            goto err;
        }
        *out = &s->base;
        return 0;
    }
    /*
     * WAL: readers (queries) never block the writer, and a commit is an append.
     * temp_store = MEMORY: a statement of many events keeps the pages it changes in a
     * statement journal, so that SQLite can undo it alone; in a temporary file that
     * cost a write per page (drain of 1,000,000: 86,097 events/s instead of 124,373).
     */
    snprintf(pragmas, sizeof(pragmas),
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
             "PRAGMA cache_size = -%d; PRAGMA wal_autocheckpoint = %d; "
             "PRAGMA foreign_keys = OFF; PRAGMA temp_store = MEMORY", CACHE_KIB,
             SQLITE_CHECKPOINT_PAGES);
    if ((r = sqlite_store_exec(s, pragmas, "setting WAL mode")) < 0 ||
        (r = sqlite_schema_migrate(s, progress, arg)) < 0)
        goto err;
    if ((r = prepare(s, "BEGIN IMMEDIATE", &s->begin)) < 0 ||
        (r = prepare(s, "COMMIT", &s->commit)) < 0 ||
        (r = prepare(s, "ROLLBACK", &s->rollback)) < 0 ||
        (r = prepare(s, "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events"
                        " WHERE time_ns < ? ORDER BY time_ns LIMIT ?)", &s->retention)) < 0)
        goto err;
    for (int i = 0; i < STORE_TABLE_COUNT; i++)
        if ((r = prepare(s, insert_sql[i], &s->insert[i])) < 0)
            goto err;
    if ((r = prepare_insert_events(s)) < 0)
        goto err;
    if (stat(path, &st) < 0) {
        r = -errno;
        snprintf(s->base.error, sizeof(s->base.error), "sqlite %s: %s", path, strerror(errno));
        goto err;
    }
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    if (!(s->checkpointer = sqlite_checkpointer_new(s->db, path, cfg->storage.busy_timeout_ms)))
        log_warn("storage", "sqlite %s: no checkpoint thread (%s); commits checkpoint the WAL "
                 "themselves", path, strerror(errno));
    *out = &s->base;
    return 0;
err:
    snprintf(err, err_size, "%s", s->base.error);
    sqlite_close(&s->base);
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Writing */

static void bind_str(sqlite3_stmt *stmt, int i, const struct row_str *v)
{
    if (v->ptr)
        sqlite3_bind_text(stmt, i, v->ptr, (int)v->len, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, i);
}

/* A JSON scalar as SQLite's own type: true and false as 1 and 0, null as NULL. */
static void bind_json(sqlite3_stmt *stmt, int i, const json_t *v)
{
    char *text;

    switch (json_typeof(v)) {
    case JSON_INTEGER: sqlite3_bind_int64(stmt, i, (sqlite3_int64)json_integer_value(v)); return;
    case JSON_REAL: sqlite3_bind_double(stmt, i, json_real_value(v)); return;
    case JSON_STRING:
        sqlite3_bind_text(stmt, i, json_string_value(v), (int)json_string_length(v),
                          SQLITE_STATIC);
        return;
    case JSON_TRUE: sqlite3_bind_int(stmt, i, 1); return;
    case JSON_FALSE: sqlite3_bind_int(stmt, i, 0); return;
    case JSON_OBJECT:
    case JSON_ARRAY:
        /* out of memory stores NULL rather than failing the batch */
        if ((text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER)))
            sqlite3_bind_text(stmt, i, text, -1, free);
        else
            sqlite3_bind_null(stmt, i);
        return;
    default: sqlite3_bind_null(stmt, i);
    }
}

/* Binds row's values to stmt's parameters from first on. */
static void bind_row(sqlite3_stmt *stmt, const struct row *row, int first)
{
    int i = first;

    switch (row->table) {
    case STORE_EVENTS: {
        const struct row_event *e = &row->u.event;
        bind_str(stmt, i++, &e->id);
        bind_str(stmt, i++, &e->municipality);
        bind_str(stmt, i++, &e->category);
        bind_str(stmt, i++, &e->type);
        bind_str(stmt, i++, &e->subject);
        bind_str(stmt, i++, &e->time);
        sqlite3_bind_int64(stmt, i++, e->time_ns);
        break;
    }
    case STORE_ALERTS: {
        const struct row_alert *a = &row->u.alert;
        bind_str(stmt, i++, &a->change_id);
        bind_str(stmt, i++, &a->id);
        bind_str(stmt, i++, &a->rule);
        bind_str(stmt, i++, &a->severity);
        bind_str(stmt, i++, &a->state);
        bind_str(stmt, i++, &a->municipality);
        bind_str(stmt, i++, &a->type);
        bind_str(stmt, i++, &a->subject);
        bind_json(stmt, i++, a->value);
        bind_json(stmt, i++, a->threshold);
        bind_str(stmt, i++, &a->message);
        bind_str(stmt, i++, &a->event_id);
        bind_str(stmt, i++, &a->event_time);
        bind_str(stmt, i++, &a->raised_at);
        bind_str(stmt, i++, &a->updated_at);
        sqlite3_bind_int64(stmt, i++, a->updated_ns);
        bind_str(stmt, i++, &a->acked_by);
        bind_str(stmt, i++, &a->cleared_at);
        break;
    }
    case STORE_AGGREGATES: {
        const struct row_aggregate *g = &row->u.aggregate;
        bind_str(stmt, i++, &g->id);
        bind_str(stmt, i++, &g->municipality);
        bind_str(stmt, i++, &g->type);
        bind_str(stmt, i++, &g->subject);
        bind_str(stmt, i++, &g->window);
        bind_str(stmt, i++, &g->start);
        bind_str(stmt, i++, &g->end);
        sqlite3_bind_int64(stmt, i++, g->start_ns);
        sqlite3_bind_int64(stmt, i++, g->count);
        if (g->has_subjects)
            sqlite3_bind_int64(stmt, i++, g->subjects);
        else
            sqlite3_bind_null(stmt, i++);
        break;
    }
    default: return;
    }
    sqlite3_bind_int64(stmt, i++, (sqlite3_int64)row->received_ns);
    if (row->table == STORE_EVENTS)
        bind_str(stmt, i++, &row->u.event.source);
    sqlite3_bind_text(stmt, i, row->data, (int)row->data_len, SQLITE_STATIC);
}

static int sqlite_check(struct store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    struct stat st;

    if (stat(s->path, &st) < 0) {
        int e = errno;
        snprintf(s->base.error, sizeof(s->base.error), "sqlite %s: database file is gone: %s",
                 s->path, strerror(e));
        return -e;
    }
    if (st.st_dev != s->dev || st.st_ino != s->ino) {
        snprintf(s->base.error, sizeof(s->base.error),
                 "sqlite %s: database file was replaced", s->path);
        return -ESTALE;
    }
    return 0;
}

/* Inserts one row. Returns 0 (stored, a duplicate, or refused: row->failed), or < 0. */
static int write_one(struct sqlite_store *s, struct row *row, struct store_counts *counts)
{
    sqlite3_stmt *stmt;
    int rc;

    if (row->failed) {
        counts->failed++;
        return 0;
    }
    stmt = s->insert[row->table];
    bind_row(stmt, row, 1);
    rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc == SQLITE_DONE) {
        if (sqlite3_changes(s->db) > 0)
            counts->stored++;
        else
            counts->duplicates++;
    } else if (rc_row_error(rc)) {
        row->failed = true;
        snprintf(row->error, sizeof(row->error), "sqlite refused the row: %s",
                 sqlite3_errmsg(s->db));
        counts->failed++;
    } else {
        return sqlite_store_fail(s, rc, "inserting");
    }
    return 0;
}

/* Whether rows[0..SQLITE_EVENTS_PER_INSERT) are all events still to be written. */
static bool events_ahead(const struct row *rows, size_t left)
{
    if (left < SQLITE_EVENTS_PER_INSERT)
        return false;
    for (size_t i = 0; i < SQLITE_EVENTS_PER_INSERT; i++)
        if (rows[i].table != STORE_EVENTS || rows[i].failed)
            return false;
    return true;
}

/*
 * Inserts SQLITE_EVENTS_PER_INSERT events with one statement. A row SQLite refuses
 * undoes the statement; its rows are then written one by one, so that only that row
 * fails. Returns 0, or < 0.
 */
static int write_events(struct sqlite_store *s, struct row *rows, struct store_counts *counts)
{
    int rc, r, stored;

    for (int i = 0; i < SQLITE_EVENTS_PER_INSERT; i++)
        bind_row(s->insert_events, &rows[i], 1 + i * EVENT_COLUMNS);
    rc = sqlite3_step(s->insert_events);
    sqlite3_reset(s->insert_events);
    if (rc == SQLITE_DONE) {
        stored = sqlite3_changes(s->db);
        counts->stored += (size_t)stored;
        counts->duplicates += (size_t)(SQLITE_EVENTS_PER_INSERT - stored);
        return 0;
    }
    if (!rc_row_error(rc))
        return sqlite_store_fail(s, rc, "inserting");
    for (int i = 0; i < SQLITE_EVENTS_PER_INSERT; i++)
        if ((r = write_one(s, &rows[i], counts)) < 0)
            return r;
    return 0;
}

static int sqlite_write(struct store *base, struct row *rows, size_t n,
                        struct store_counts *counts)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    size_t step;
    int r;

    /* A file removed under an open connection would take the writes with it. */
    if ((r = sqlite_check(base)) < 0)
        return r;
    if ((r = step_done(s, s->begin, "beginning a transaction")) < 0)
        return r;
    for (size_t i = 0; i < n; i += step) {
        step = events_ahead(rows + i, n - i) ? SQLITE_EVENTS_PER_INSERT : 1;
        r = step > 1 ? write_events(s, rows + i, counts) : write_one(s, &rows[i], counts);
        if (r < 0)
            goto err;
    }
    if ((r = step_done(s, s->commit, "committing")) < 0)
        goto err;
    r = 0;
    goto out;
err:
    rollback(s);
out:
    /* The rows' text goes when the caller clears them: let no statement point at it. */
    for (int t = 0; t < STORE_TABLE_COUNT; t++)
        sqlite3_clear_bindings(s->insert[t]);
    sqlite3_clear_bindings(s->insert_events);
    return r;
}

static int sqlite_retention_step(struct store *base, int64_t before_ns, int max_rows,
                                 int *deleted)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    int r;

    if ((r = step_done(s, s->begin, "beginning a retention step")) < 0)
        return r;
    sqlite3_bind_int64(s->retention, 1, before_ns);
    sqlite3_bind_int(s->retention, 2, max_rows);
    if ((r = step_done(s, s->retention, "deleting old events")) < 0) {
        rollback(s);
        return r;
    }
    *deleted = sqlite3_changes(s->db);
    if ((r = step_done(s, s->commit, "committing a retention step")) < 0) {
        rollback(s);
        *deleted = 0;
    }
    return r;
}

static const struct store_ops sqlite_ops = {
    .write = sqlite_write,
    .retention_step = sqlite_retention_step,
    .query = sqlite_query,
    .check = sqlite_check,
    .close = sqlite_close,
};
