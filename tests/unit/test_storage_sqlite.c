// SPDX-License-Identifier: MIT
/*
 * Unit tests of the SQLite store on files in a temporary folder: the schema created
 * and versioned, a batch in one transaction, an id written twice stored once, a row
 * the database refuses marked failed while the rest is stored, a locked database
 * failing the whole batch, a file removed or replaced noticed, a newer schema
 * refused, and retention in steps. Queries: test_storage_sqlite_query.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "storage_sqlite_fixture.h"

static void storage_sqlite_creates_schema_in_wal_mode(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_store(f, STORE_CREATE);

    assert_int_equal(scalar(f, "SELECT max(version) FROM schema_version"),
                     STORE_SQLITE_SCHEMA_VERSION);
    assert_int_equal(scalar(f, "SELECT count(*) FROM schema_version"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND"
                               " name IN ('events', 'alerts', 'aggregates')"), 3);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND"
                               " name IN ('events_type_subject_time', 'events_municipality_time',"
                               " 'events_time_id')"), 3);
    assert_int_equal(scalar(f, "SELECT \"unique\" FROM pragma_index_list('events')"
                               " WHERE name = 'events_time_id'"), 1);
    assert_int_equal(scalar(f, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
    store_close(s);
    /* opened again: nothing migrated twice */
    s = open_store(f, STORE_EXISTING);
    store_close(s);
    assert_int_equal(scalar(f, "SELECT count(*) FROM schema_version"), 1);
}

static void storage_sqlite_existing_mode_needs_the_file(void **state)
{
    struct fixture *f = *state;
    struct store *s = NULL;
    char err[STORE_ERROR_MAX];

    assert_int_equal(store_open(&s, &f->cfg, f->path, STORE_EXISTING, err, sizeof(err)),
                     -ENOENT);
    assert_null(s);
    assert_non_null(strstr(err, "no database there"));
    assert_int_equal(access(f->path, F_OK), -1);
    assert_int_equal(store_open(&s, &f->cfg, f->path, STORE_READ, err, sizeof(err)), -ENOENT);
    assert_int_equal(access(f->path, F_OK), -1);
}

static void storage_sqlite_same_id_is_one_row(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_store(f, STORE_CREATE);
    struct store_counts c;

    add_event(f, "id-1", "p1", "2026-11-26T06:00:00Z");
    add_event(f, "id-2", "p1", "2026-11-26T06:00:01Z");
    add_event(f, "id-1", "p1", "2026-11-26T06:00:00Z"); /* the same batch repeats one */
    assert_int_equal(store_write(s, f->rows, f->n, &c), 0);
    assert_int_equal(c.stored, 2);
    assert_int_equal(c.duplicates, 1);
    assert_int_equal(c.failed, 0);
    rows_clear(f);
    /* delivered again later, in another batch */
    add_event(f, "id-2", "p1", "2026-11-26T06:00:01Z");
    add_event(f, "id-3", "p1", "2026-11-26T06:00:02Z");
    assert_int_equal(store_write(s, f->rows, f->n, &c), 0);
    assert_int_equal(c.stored, 1);
    assert_int_equal(c.duplicates, 1);
    rows_clear(f);
    store_close(s);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events"), 3);
    assert_int_equal(scalar(f, "SELECT count(DISTINCT id) FROM events"), 3);
    assert_int_equal(scalar(f, "SELECT json_extract(data, '$.value') FROM events WHERE id = 'id-3'"),
                     412);
}

/* The key is (time, id): the same publisher id at another time is another event. */
static void storage_sqlite_same_id_other_time_is_another_row(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_store(f, STORE_CREATE);
    struct store_counts c;

    add_event(f, "ce-1", "p1", "2026-11-26T06:00:00Z");
    add_event(f, "ce-1", "p1", "2026-11-26T06:00:00.000000001Z");
    add_event(f, "ce-1", "p1", "2026-11-26T07:00:00+01:00"); /* the first instant again */
    assert_int_equal(store_write(s, f->rows, f->n, &c), 0);
    assert_int_equal(c.stored, 2);
    assert_int_equal(c.duplicates, 1);
    rows_clear(f);
    store_close(s);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events WHERE id = 'ce-1'"), 2);
}

/* The schema of version 1, as rheinhub-storage created it before (the events part). */
static const char schema_v1_events[] =
    "CREATE TABLE events (id TEXT PRIMARY KEY NOT NULL, municipality TEXT NOT NULL,"
    " category TEXT NOT NULL, type TEXT NOT NULL, subject TEXT NOT NULL, time TEXT NOT NULL,"
    " time_ns INTEGER NOT NULL, received INTEGER NOT NULL, source TEXT NOT NULL,"
    " data TEXT NOT NULL);"
    "CREATE INDEX events_type_subject_time ON events (type, subject, time_ns);"
    "CREATE INDEX events_municipality_time ON events (municipality, time_ns);"
    "CREATE INDEX events_time ON events (time_ns);"
    "CREATE TABLE alerts (change_id TEXT PRIMARY KEY NOT NULL, id TEXT NOT NULL,"
    " rule TEXT NOT NULL, severity TEXT, state TEXT NOT NULL, municipality TEXT NOT NULL,"
    " type TEXT NOT NULL, subject TEXT NOT NULL, value, threshold, message TEXT,"
    " event_id TEXT, event_time TEXT, raised_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    " updated_ns INTEGER NOT NULL, acked_by TEXT, cleared_at TEXT, received INTEGER NOT NULL,"
    " data TEXT NOT NULL);"
    "CREATE INDEX alerts_id ON alerts (id, updated_ns);"
    "CREATE INDEX alerts_municipality_time ON alerts (municipality, updated_ns);"
    "CREATE TABLE aggregates (id TEXT PRIMARY KEY NOT NULL, municipality TEXT NOT NULL,"
    " type TEXT NOT NULL, subject TEXT NOT NULL, window_size TEXT NOT NULL,"
    " window_start TEXT NOT NULL, window_end TEXT NOT NULL, start_ns INTEGER NOT NULL,"
    " count INTEGER NOT NULL, subjects INTEGER, received INTEGER NOT NULL, data TEXT NOT NULL);"
    "CREATE INDEX aggregates_type_subject_start ON aggregates"
    " (type, subject, window_size, start_ns);"
    "CREATE INDEX aggregates_municipality_start ON aggregates (municipality, start_ns);"
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY NOT NULL,"
    " applied_at TEXT NOT NULL);"
    "INSERT INTO schema_version VALUES (1, '2026-11-01T00:00:00.000Z');";

/* A database of version 1 with n events, ids and times as the old worker wrote them. */
static void make_v1_database(struct fixture *f, int n)
{
    char sql[600];

    exec_sql(f, "PRAGMA journal_mode = WAL");
    exec_sql(f, schema_v1_events);
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
             " INSERT INTO events SELECT printf('v1-%%03d', i), 'linz', 'sensor',"
             " 'sensor.waterlevel', 'p' || (i %% 3),"
             " strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', 1795600000 + i, 'unixepoch'),"
             " (1795600000 + i) * 1000000000, 1, 'mqtt://x', '{\"value\":' || i || '}'"
             " FROM n ORDER BY random()", n);
    exec_sql(f, sql);
}

static int interrupt_migration(void *arg, const char *table, int64_t done, int64_t total)
{
    int *calls = arg;

    assert_string_equal(table, "events");
    assert_int_equal(done, 200);
    assert_int_equal(total, 200);
    ++*calls;
    return -1;
}

/*
 * An interrupted migration (here: abandoned after the copy, before the old table is
 * dropped) leaves version 1 as it was; the next start migrates it: rows, their order
 * and uniqueness kept.
 */
static void storage_sqlite_migrates_version_1(void **state)
{
    struct fixture *f = *state;
    struct store *s = NULL;
    struct store_counts c;
    char err[STORE_ERROR_MAX];
    long long rowid_7;
    int calls = 0;

    make_v1_database(f, 200);
    rowid_7 = scalar(f, "SELECT rowid FROM events WHERE id = 'v1-007'");
    assert_int_equal(sqlite_store_open(&s, &f->cfg, f->path, STORE_EXISTING, interrupt_migration,
                                       &calls, err, sizeof(err)), -ECANCELED);
    assert_null(s);
    assert_int_equal(calls, 1);
    assert_non_null(strstr(err, "interrupted"));
    assert_int_equal(scalar(f, "SELECT max(version) FROM schema_version"), 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events"), 200);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sqlite_schema WHERE name = 'events_v2'"),
                     0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM pragma_index_list('events')"
                               " WHERE origin = 'pk'"), 1);
    /* the query command still refuses it until the worker migrated it */
    assert_int_equal(store_open(&s, &f->cfg, f->path, STORE_READ, err, sizeof(err)), -EINVAL);

    s = open_store(f, STORE_EXISTING);
    assert_int_equal(scalar(f, "SELECT max(version) FROM schema_version"), 2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events"), 200);
    assert_int_equal(scalar(f, "SELECT count(*) FROM pragma_index_list('events')"
                               " WHERE origin = 'pk'"), 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND"
                               " tbl_name = 'events' AND name = 'events_time'"), 0);
    /* rowids kept (the rows went in in random order): ties keep their insertion order */
    assert_int_equal(scalar(f, "SELECT rowid FROM events WHERE id = 'v1-007'"), rowid_7);
    assert_int_equal(scalar(f, "SELECT sum(json_extract(data, '$.value')) FROM events"), 20100);
    /* an event of version 1 delivered again is still a duplicate */
    add_event(f, "v1-007", "p1", "2026-11-25T09:46:47Z");
    add_event(f, "new-1", "p1", "2026-11-26T06:00:00Z");
    assert_int_equal(store_write(s, f->rows, f->n, &c), 0);
    assert_int_equal(c.duplicates, 1);
    assert_int_equal(c.stored, 1);
    rows_clear(f);
    store_close(s);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events"), 201);
    assert_int_equal(scalar(f, "SELECT count(*) FROM pragma_integrity_check"
                               " WHERE integrity_check != 'ok'"), 0);
}

static int count_steps(void *arg, const char *table, int64_t done, int64_t total)
{
    int64_t *last = arg;

    assert_true(done > last[0] && done <= total);
    last[0] = done;
    last[1]++;
    return 0;
}

/* More rows than one copy step takes (COPY_ROWS, 50,000): every step's rows are kept. */
static void storage_sqlite_migrates_in_steps(void **state)
{
    struct fixture *f = *state;
    struct store *s = NULL;
    char err[STORE_ERROR_MAX];
    int64_t steps[2] = {0, 0}; /* rows done, calls */

    make_v1_database(f, 60001);
    assert_int_equal(sqlite_store_open(&s, &f->cfg, f->path, STORE_EXISTING, count_steps,
                                       steps, err, sizeof(err)), 0);
    store_close(s);
    assert_true(steps[1] >= 2);
    assert_int_equal(steps[0], 60001);
    assert_int_equal(scalar(f, "SELECT max(version) FROM schema_version"), 2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events"), 60001);
    assert_int_equal(scalar(f, "SELECT count(DISTINCT id) FROM events"), 60001);
    assert_int_equal(scalar(f, "SELECT sum(json_extract(data, '$.value')) FROM events"),
                     60001LL * 60002 / 2);
}

static void storage_sqlite_refused_row_is_marked_and_rest_stored(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_store(f, STORE_CREATE);
    struct store_counts c;
    struct row *bad, *unbuildable;

    exec_sql(f, "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.subject = 'bad'"
                " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    add_event(f, "ok-1", "p1", "2026-11-26T06:00:00Z");
    bad = add_event(f, "bad-1", "bad", "2026-11-26T06:00:01Z");
    unbuildable = add_event(f, "bad-2", "p1", "not a time");
    add_event(f, "ok-2", "p2", "2026-11-26T06:00:02Z");
    assert_true(unbuildable->failed);
    assert_int_equal(store_write(s, f->rows, f->n, &c), 0);
    assert_int_equal(c.stored, 2);
    assert_int_equal(c.failed, 2);
    assert_true(bad->failed);
    assert_non_null(strstr(bad->error, "refused by the test"));
    rows_clear(f);
    store_close(s);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events WHERE id IN ('ok-1', 'ok-2')"), 2);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events"), 2);
}

/* Event k's time: the same k, the same time, so that it is the same event again. */
static const char *time_of(int k, char buf[32])
{
    snprintf(buf, 32, "2026-11-26T06:%02d:%02dZ", k / 60, k % 60);
    return buf;
}

/*
 * Events go in statements of SQLITE_EVENTS_PER_INSERT rows: the duplicates in such a
 * statement (of earlier batches and of its own rows) are counted, and a row SQLite
 * refuses there fails alone while the others of its statement are stored (the
 * statement is undone and its rows written one by one).
 */
static void storage_sqlite_events_in_statements_of_many(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_store(f, STORE_CREATE);
    struct store_counts c;
    struct row *bad = NULL;
    const int chunk = SQLITE_EVENTS_PER_INSERT, n = 2 * chunk + 5, bad_at = chunk + 8;
    char id[32], t[32];

    exec_sql(f, "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.subject = 'bad'"
                " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    for (int k = 0; k < chunk; k++) {
        snprintf(id, sizeof(id), "a-%d", k);
        add_event(f, id, "p1", time_of(k, t));
    }
    assert_int_equal(store_write(s, f->rows, f->n, &c), 0);
    assert_int_equal(c.stored, chunk);
    assert_int_equal(c.duplicates, 0);
    rows_clear(f);

    /* Ten of those again in the first statement and one of its own events twice (row
     * 11 is row 10 again); a refused row in the second statement. */
    for (int k = 0; k < n; k++) {
        struct row *row;
        int same = k == 11 ? 10 : k;
        snprintf(id, sizeof(id), k < 10 ? "a-%d" : "b-%d", same);
        row = add_event(f, id, k == bad_at ? "bad" : "p1", time_of(same, t));
        if (k == bad_at)
            bad = row;
    }
    assert_int_equal(store_write(s, f->rows, f->n, &c), 0);
    assert_int_equal(c.stored, n - 11 - 1);
    assert_int_equal(c.duplicates, 11);
    assert_int_equal(c.failed, 1);
    assert_true(bad->failed);
    assert_non_null(strstr(bad->error, "refused by the test"));
    for (int k = 0; k < n; k++)
        assert_true(f->rows[k].failed == (k == bad_at));
    rows_clear(f);
    store_close(s);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events"), chunk + n - 11 - 1);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events WHERE subject = 'bad'"), 0);
    assert_int_equal(scalar(f, "SELECT count(DISTINCT id) FROM events"), chunk + n - 11 - 1);
}

static void storage_sqlite_locked_fails_the_batch(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_store(f, STORE_CREATE);
    struct store_counts c;
    sqlite3 *locker;

    assert_int_equal(sqlite3_open_v2(f->path, &locker, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(locker, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    add_event(f, "id-1", "p1", "2026-11-26T06:00:00Z");
    add_event(f, "id-2", "p1", "2026-11-26T06:00:01Z");
    assert_int_equal(store_write(s, f->rows, f->n, &c), -EBUSY);
    assert_non_null(strstr(store_error(s), "database is locked"));
    assert_false(f->rows[0].failed);
    assert_int_equal(sqlite3_exec(locker, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(locker);
    /* the same store takes the same batch once the lock is gone */
    assert_int_equal(store_write(s, f->rows, f->n, &c), 0);
    assert_int_equal(c.stored, 2);
    rows_clear(f);
    store_close(s);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events"), 2);
}

static void storage_sqlite_notices_the_file_gone_or_replaced(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_store(f, STORE_CREATE);
    struct store_counts c;
    char moved[PATH_MAX + 8];

    assert_int_equal(store_check(s), 0);
    snprintf(moved, sizeof(moved), "%s.away", f->path);
    assert_int_equal(rename(f->path, moved), 0);
    assert_int_equal(store_check(s), -ENOENT);
    add_event(f, "id-1", "p1", "2026-11-26T06:00:00Z");
    assert_int_equal(store_write(s, f->rows, f->n, &c), -ENOENT);
    assert_non_null(strstr(store_error(s), "gone"));
    /* another file where it was is not the database that was opened */
    exec_sql(f, "CREATE TABLE other (x)");
    assert_int_equal(store_check(s), -ESTALE);
    assert_int_equal(store_write(s, f->rows, f->n, &c), -ESTALE);
    store_close(s);
    rows_clear(f);
}

static void storage_sqlite_refuses_a_newer_schema(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_store(f, STORE_CREATE);
    char err[STORE_ERROR_MAX];

    store_close(s);
    exec_sql(f, "INSERT INTO schema_version VALUES (99, 'later')");
    s = NULL;
    assert_int_equal(store_open(&s, &f->cfg, f->path, STORE_EXISTING, err, sizeof(err)),
                     -EINVAL);
    assert_null(s);
    assert_non_null(strstr(err, "schema version 99 is newer"));
    assert_int_equal(store_open(&s, &f->cfg, f->path, STORE_READ, err, sizeof(err)), -EINVAL);
}

static void storage_sqlite_read_mode_wants_a_rheinhub_database(void **state)
{
    struct fixture *f = *state;
    struct store *s = NULL;
    char err[STORE_ERROR_MAX];

    exec_sql(f, "CREATE TABLE t (x)"); /* makes the file */
    assert_int_equal(store_open(&s, &f->cfg, f->path, STORE_READ, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "not a rheinhub database"));
}

static void storage_sqlite_retention_deletes_in_steps(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_store(f, STORE_CREATE);
    struct store_counts c;
    int64_t cutoff;
    int deleted;
    char id[32], time[48];

    for (int i = 0; i < 25; i++) {
        snprintf(id, sizeof(id), "old-%d", i);
        snprintf(time, sizeof(time), "2020-01-01T00:00:%02dZ", i);
        add_event(f, id, "p1", time);
    }
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "new-%d", i);
        snprintf(time, sizeof(time), "2026-11-26T06:00:%02dZ", i);
        add_event(f, id, "p1", time);
    }
    add_event(f, "at-cutoff", "p1", "2023-11-14T22:13:20Z"); /* not older: kept */
    assert_int_equal(store_write(s, f->rows, f->n, &c), 0);
    assert_int_equal(c.stored, 31);
    rows_clear(f);
    cutoff = 1700000000LL * 1000000000LL; /* 2023-11-14T22:13:20Z */
    assert_int_equal(store_retention_step(s, cutoff, 10, &deleted), 0);
    assert_int_equal(deleted, 10);
    /* the oldest go first */
    assert_int_equal(scalar(f, "SELECT count(*) FROM events WHERE id IN"
                               " ('old-0', 'old-9')"), 0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events WHERE id = 'old-10'"), 1);
    assert_int_equal(store_retention_step(s, cutoff, 10, &deleted), 0);
    assert_int_equal(deleted, 10);
    assert_int_equal(store_retention_step(s, cutoff, 10, &deleted), 0);
    assert_int_equal(deleted, 5);
    assert_int_equal(store_retention_step(s, cutoff, 10, &deleted), 0);
    assert_int_equal(deleted, 0);
    store_close(s);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events"), 6);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events WHERE id LIKE 'new-%'"), 5);
    assert_int_equal(scalar(f, "SELECT count(*) FROM events WHERE id = 'at-cutoff'"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(storage_sqlite_creates_schema_in_wal_mode),
        T(storage_sqlite_existing_mode_needs_the_file),
        T(storage_sqlite_same_id_is_one_row),
        T(storage_sqlite_same_id_other_time_is_another_row),
        T(storage_sqlite_migrates_version_1),
        T(storage_sqlite_migrates_in_steps),
        T(storage_sqlite_refused_row_is_marked_and_rest_stored),
        T(storage_sqlite_events_in_statements_of_many),
        T(storage_sqlite_locked_fails_the_batch),
        T(storage_sqlite_notices_the_file_gone_or_replaced),
        T(storage_sqlite_refuses_a_newer_schema),
        T(storage_sqlite_read_mode_wants_a_rheinhub_database),
        T(storage_sqlite_retention_deletes_in_steps),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
