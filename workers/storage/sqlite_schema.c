// SPDX-License-Identifier: MIT
/*
 * The SQLite schema and its versions: the tables a new database gets, and the
 * migrations that bring an older database up to them on the worker's start, each in
 * the one transaction that also records the new version, so that a migration that is
 * interrupted (SIGKILL, power cut) or fails (disk full) leaves the database as it was.
 *
 * Version 1: events keyed by id alone (TEXT PRIMARY KEY). Ids are hashes, so each
 * insert went to a random page of that index.
 * Version 2: events are a rowid table with a UNIQUE index on (time_ns, id): a
 * redelivered event has the same time and id, and times arrive in order, so the
 * rowid table and every index take inserts at their end (docs/performance.md,
 * "Storage keys"). The (time_ns) index of version 1 is the unique index's prefix now.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sqlite_store.h"

#define COMPONENT "storage"
#define COPY_ROWS 50000 /* rows per copy step of a migration, one progress line each */

/* The events table of version 2, without its indexes (made after a bulk copy). */
#define EVENTS_TABLE(name)                                                                         \
    "CREATE TABLE " name " ("                                                                      \
    " id TEXT NOT NULL,"            /* the envelope's id */                                        \
    " municipality TEXT NOT NULL,"                                                                 \
    " category TEXT NOT NULL,"                                                                     \
    " type TEXT NOT NULL,"          /* <category>.<type> */                                        \
    " subject TEXT NOT NULL,"                                                                      \
    " time TEXT NOT NULL,"          /* RFC 3339, as the publisher sent it */                       \
    " time_ns INTEGER NOT NULL,"    /* the same, UTC ns since the epoch: sorts, ranges */          \
    " received INTEGER NOT NULL,"   /* the hub's receivedtime, ns since the epoch */               \
    " source TEXT NOT NULL,"                                                                       \
    " data TEXT NOT NULL);"         /* the validated payload, compact JSON */

/* A duplicate is the same event: the same id at the same time (ON CONFLICT's target). */
#define EVENTS_INDEXES                                                                             \
    "CREATE UNIQUE INDEX events_time_id ON events (time_ns, id);"                                  \
    "CREATE INDEX events_type_subject_time ON events (type, subject, time_ns);"                    \
    "CREATE INDEX events_municipality_time ON events (municipality, time_ns);"

/* A new database: the current version at once. */
static const char schema_current[] =
    EVENTS_TABLE("events")
    EVENTS_INDEXES
    "CREATE TABLE alerts ("
    " change_id TEXT PRIMARY KEY NOT NULL," /* the envelope's id: one per state change */
    " id TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT, state TEXT NOT NULL,"
    " municipality TEXT NOT NULL, type TEXT NOT NULL, subject TEXT NOT NULL,"
    " value, threshold,"                    /* number, text, 1/0 for true/false, NULL */
    " message TEXT, event_id TEXT, event_time TEXT,"
    " raised_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    " updated_ns INTEGER NOT NULL,"         /* updated_at, UTC ns */
    " acked_by TEXT, cleared_at TEXT,"
    " received INTEGER NOT NULL, data TEXT NOT NULL);"
    "CREATE INDEX alerts_id ON alerts (id, updated_ns);"
    "CREATE INDEX alerts_municipality_time ON alerts (municipality, updated_ns);"
    "CREATE TABLE aggregates ("
    " id TEXT PRIMARY KEY NOT NULL,"        /* the envelope's id: one per window */
    " municipality TEXT NOT NULL, type TEXT NOT NULL, subject TEXT NOT NULL,"
    " window_size TEXT NOT NULL, window_start TEXT NOT NULL, window_end TEXT NOT NULL,"
    " start_ns INTEGER NOT NULL,"           /* window_start, UTC ns */
    " count INTEGER NOT NULL, subjects INTEGER,"
    " received INTEGER NOT NULL, data TEXT NOT NULL);"
    "CREATE INDEX aggregates_type_subject_start ON aggregates"
    " (type, subject, window_size, start_ns);"
    "CREATE INDEX aggregates_municipality_start ON aggregates (municipality, start_ns);";

_Static_assert(STORE_SQLITE_SCHEMA_VERSION == 2, "schema_current and the migrations are version 2");

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One integer from sql, or a negative errno. */
static int scalar(struct sqlite_store *s, const char *sql, int64_t *out, const char *what)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);

    if (rc != SQLITE_OK || (rc = sqlite3_step(stmt)) != SQLITE_ROW) {
        sqlite3_finalize(stmt);
        return sqlite_store_fail(s, rc, what);
    }
    *out = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return 0;
}

int sqlite_schema_version(struct sqlite_store *s, bool *has_table)
{
    int64_t n = 0, version = 0;
    int r;

    *has_table = false;
    if ((r = scalar(s, "SELECT count(*) FROM sqlite_schema"
                       " WHERE type = 'table' AND name = 'schema_version'", &n,
                    "reading the schema")) < 0)
        return r;
    if (!(*has_table = n > 0))
        return 0;
    if ((r = scalar(s, "SELECT coalesce(max(version), 0) FROM schema_version", &version,
                    "reading the schema version")) < 0)
        return r;
    return version > 1000000 ? 1000000 : (int)version;
}

static int log_progress(void *arg, const char *table, int64_t done, int64_t total)
{
    (void)arg;
    log_info(COMPONENT, "migrating %s to schema version %d: %lld of %lld rows copied (%d %%)",
             table, STORE_SQLITE_SCHEMA_VERSION, (long long)done, (long long)total,
             total > 0 ? (int)(done * 100 / total) : 100);
    return 0;
}

/*
 * Version 1 to 2: events copied into a table keyed by (time_ns, id), COPY_ROWS at a
 * time in rowid order (the rowids, and so the order of ties, stay), then the old table
 * dropped, the new one renamed and its indexes built (faster after the copy than
 * during it). Runs inside the caller's transaction.
 */
static int migrate_v2(struct sqlite_store *s, sqlite_migrate_progress_cb progress, void *arg)
{
    static const char copy_sql[] =
        "INSERT INTO events_v2 (rowid, id, municipality, category, type, subject, time,"
        " time_ns, received, source, data)"
        " SELECT rowid, id, municipality, category, type, subject, time, time_ns, received,"
        " source, data FROM events WHERE rowid > ?1 ORDER BY rowid LIMIT ?2";
    sqlite3_stmt *copy = NULL;
    int64_t total = 0, done = 0, last = 0;
    double t0 = now_s();
    int r, rc;

    if ((r = scalar(s, "SELECT count(*) FROM events", &total, "counting events")) < 0)
        return r;
    if (total > 0)
        log_info(COMPONENT, "migrating %s: %lld events to schema version 2 (unique key "
                 "(time_ns, id)), in one transaction; the database stays as it was if this "
                 "is interrupted", s->path, (long long)total);
    if ((r = sqlite_store_exec(s, EVENTS_TABLE("events_v2"), "creating events_v2")) < 0)
        return r;
    if ((rc = sqlite3_prepare_v2(s->db, copy_sql, -1, &copy, NULL)) != SQLITE_OK)
        return sqlite_store_fail(s, rc, "preparing the copy of events");
    for (;;) {
        int changed;

        sqlite3_bind_int64(copy, 1, last);
        sqlite3_bind_int(copy, 2, COPY_ROWS);
        rc = sqlite3_step(copy);
        sqlite3_reset(copy);
        if (rc != SQLITE_DONE) {
            r = sqlite_store_fail(s, rc, "copying events");
            goto out;
        }
        changed = sqlite3_changes(s->db);
        done += changed;
        if (changed == 0)
            break;
        if ((r = scalar(s, "SELECT max(rowid) FROM events_v2", &last, "copying events")) < 0)
            goto out;
        if (progress(arg, "events", done, total) != 0) {
            snprintf(s->base.error, sizeof(s->base.error),
                     "sqlite %s: migration to schema version 2 interrupted", s->path);
            r = -ECANCELED;
            goto out;
        }
        if (changed < COPY_ROWS)
            break;
    }
    if (total > 0)
        log_info(COMPONENT, "migrating %s: events copied; building the indexes", s->path);
    if ((r = sqlite_store_exec(s, "DROP TABLE events; ALTER TABLE events_v2 RENAME TO events;"
                                  EVENTS_INDEXES, "replacing the events table")) < 0)
        goto out;
    if (total > 0)
        log_info(COMPONENT, "migrating %s: %lld events in %.1f s; committing", s->path,
                 (long long)done, now_s() - t0);
    r = 0;
out:
    sqlite3_finalize(copy);
    return r;
}

int sqlite_schema_migrate(struct sqlite_store *s, sqlite_migrate_progress_cb progress, void *arg)
{
    bool has_table;
    int r, version;

    if (!progress)
        progress = log_progress;
    if ((r = sqlite_store_exec(s, "BEGIN IMMEDIATE", "starting the migration")) < 0)
        return r;
    if ((r = sqlite_store_exec(s, "CREATE TABLE IF NOT EXISTS schema_version ("
                                  " version INTEGER PRIMARY KEY NOT NULL,"
                                  " applied_at TEXT NOT NULL)", "creating schema_version")) < 0)
        goto err;
    if ((r = version = sqlite_schema_version(s, &has_table)) < 0)
        goto err;
    if (version > STORE_SQLITE_SCHEMA_VERSION) {
        snprintf(s->base.error, sizeof(s->base.error),
                 "sqlite %s: schema version %d is newer than this rheinhub-storage knows (%d)",
                 s->path, version, STORE_SQLITE_SCHEMA_VERSION);
        r = -EINVAL;
        goto err;
    }
    if (version == STORE_SQLITE_SCHEMA_VERSION) /* nothing to do: end the transaction */
        return sqlite_store_exec(s, "COMMIT", "committing the migration");
    if (version == 0)
        r = sqlite_store_exec(s, schema_current, "creating the schema");
    else
        r = migrate_v2(s, progress, arg);
    if (r < 0)
        goto err;
    {
        char sql[160];
        snprintf(sql, sizeof(sql), "INSERT INTO schema_version (version, applied_at) VALUES"
                                   " (%d, strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now'))",
                 STORE_SQLITE_SCHEMA_VERSION);
        if ((r = sqlite_store_exec(s, sql, "recording the schema version")) < 0)
            goto err;
    }
    if ((r = sqlite_store_exec(s, "COMMIT", "committing the migration")) < 0)
        goto err;
    /* A migration wrote the whole table to the WAL: put it into the file, empty the log. */
    if (version > 0)
        sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    return 0;
err:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}
