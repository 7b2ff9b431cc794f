// SPDX-License-Identifier: MIT
/*
 * The SQLite store's tests' fixture (storage_sqlite_fixture.h): a temporary folder, a
 * batch of rows built from envelopes, and SQL on a connection of the test's own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "storage_sqlite_fixture.h"

int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "%s/test_storage_sqlite.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/rheinhub.db", f->dir);
    config_defaults(&f->cfg);
    f->cfg.storage.busy_timeout_ms = 50;
    *state = f;
    return 0;
}

void rows_clear(struct fixture *f)
{
    for (size_t i = 0; i < f->n; i++) {
        row_clear(&f->rows[i]);
        msgpack_unpacked_destroy(&f->unpacked[i]);
        msgpack_sbuffer_destroy(&f->bufs[i]);
    }
    f->n = 0;
}

int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[PATH_MAX + 16];

    rows_clear(f);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Adds the row of one event (or alert, by type) to the fixture's batch. */
struct row *add_row(struct fixture *f, const char *type, const char *id,
                           const char *municipality, const char *subject, const char *time,
                           const char *data)
{
    json_t *json = json_loads(data, 0, NULL);
    struct envelope env = {
        .id = id,
        .source = "mqtt://127.0.0.1:1883/x",
        .type = type,
        .subject = subject,
        .time = time,
        .municipality = municipality,
        .category = "sensor",
        .receivedtime_ns = 1795673188606123456ULL,
        .data = json,
    };
    struct envelope_view view;
    const char *why;
    size_t i = f->n++;

    assert_true(i < N_MAX);
    assert_non_null(json);
    msgpack_sbuffer_init(&f->bufs[i]);
    assert_int_equal(envelope_encode(&env, &f->bufs[i]), 0);
    json_decref(json);
    msgpack_unpacked_init(&f->unpacked[i]);
    assert_int_equal(
        envelope_decode(f->bufs[i].data, f->bufs[i].size, &f->unpacked[i], &view, &why), 0);
    row_build(&f->rows[i], &view);
    return &f->rows[i];
}

struct row *add_event(struct fixture *f, const char *id, const char *subject,
                             const char *time)
{
    char data[160];

    snprintf(data, sizeof(data), "{\"time\":\"%s\",\"value\":412,\"unit\":\"cm\"}", time);
    return add_row(f, "sensor.waterlevel", id, "linz", subject, time, data);
}

struct store *open_store(struct fixture *f, enum store_mode mode)
{
    struct store *s = NULL;
    char err[STORE_ERROR_MAX] = "";
    int r = store_open(&s, &f->cfg, f->path, mode, err, sizeof(err));

    if (r != 0)
        print_message("store_open: %s\n", err);
    assert_int_equal(r, 0);
    assert_non_null(s);
    return s;
}

/* A query result of one column: SELECT ... on a connection of our own. */
long long scalar(struct fixture *f, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long long v;

    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

void exec_sql(struct fixture *f, const char *sql)
{
    sqlite3 *db;

    assert_int_equal(
        sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}
