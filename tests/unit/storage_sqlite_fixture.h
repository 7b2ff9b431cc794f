// SPDX-License-Identifier: MIT
/*
 * What the SQLite store's unit tests share: a database file in a temporary folder
 * (setup, teardown), a batch of rows built from envelopes as the worker builds them
 * (add_row, add_event, rows_clear), the store opened on it, and SQL run on a
 * connection of the test's own (scalar, exec_sql).
 */
#ifndef RHEINHUB_TEST_STORAGE_SQLITE_FIXTURE_H
#define RHEINHUB_TEST_STORAGE_SQLITE_FIXTURE_H

#include <limits.h>
#include <stddef.h>

#include "config.h"
#include "envelope.h"
#include "row.h"
#include "sqlite_store.h"
#include "store.h"

#define N_MAX (2 * SQLITE_EVENTS_PER_INSERT + 16)

struct fixture {
    char dir[PATH_MAX];
    char path[PATH_MAX];
    struct hub_config cfg;
    /* envelopes of the rows being built: rows borrow their strings */
    msgpack_sbuffer bufs[N_MAX];
    msgpack_unpacked unpacked[N_MAX];
    struct row rows[N_MAX];
    size_t n;
};

int setup(void **state);
int teardown(void **state);
void rows_clear(struct fixture *f);
/* Adds the row of one event (or alert, by type) to the fixture's batch. */
struct row *add_row(struct fixture *f, const char *type, const char *id,
                    const char *municipality, const char *subject, const char *time,
                    const char *data);
/* A water level of 412 cm at time. */
struct row *add_event(struct fixture *f, const char *id, const char *subject, const char *time);
struct store *open_store(struct fixture *f, enum store_mode mode);
/* A query result of one column: SELECT ... on a connection of our own. */
long long scalar(struct fixture *f, const char *sql);
void exec_sql(struct fixture *f, const char *sql);

#endif
