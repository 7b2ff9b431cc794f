// SPDX-License-Identifier: MIT
/*
 * What the SQLite backend's files share: the store's state, SQLite's result codes as
 * errnos, and the schema (sqlite_schema.c) and query (sqlite_query.c) entry points
 * that store_sqlite.c calls. Not part of the storage interface (store.h).
 */
#ifndef RHEINHUB_STORAGE_SQLITE_STORE_H
#define RHEINHUB_STORAGE_SQLITE_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "store.h"

/*
 * WAL pages after which a checkpoint copies them into the database (SQLite's default
 * is 1000). A checkpoint writes a page once however many commits changed it, and the
 * inserts of a batch go to the last pages of the table and its indexes, so fewer
 * checkpoints write less. The WAL grows to about 40 MiB.
 */
#define SQLITE_CHECKPOINT_PAGES 10000

struct sqlite_checkpointer;

/*
 * Events one INSERT statement takes: a statement opens its table's and its indexes'
 * cursors once, however many rows it writes, so a batch's events go in statements of
 * this many (the rest one by one).
 */
#define SQLITE_EVENTS_PER_INSERT 32

struct sqlite_store {
    struct store base;
    sqlite3 *db;
    char path[PATH_MAX];
    dev_t dev;           /* of the file opened, to notice it removed or replaced */
    ino_t ino;
    sqlite3_stmt *begin, *commit, *rollback;
    sqlite3_stmt *insert[STORE_TABLE_COUNT];
    sqlite3_stmt *insert_events; /* SQLITE_EVENTS_PER_INSERT events in one statement */
    sqlite3_stmt *retention;
    struct sqlite_checkpointer *checkpointer; /* NULL: SQLite's own autocheckpoint */
};

/*
 * Takes the WAL checkpoints of writer off its commits: a thread with a connection of
 * its own to path checkpoints when a commit leaves SQLITE_CHECKPOINT_PAGES in the WAL
 * (sqlite_checkpoint.c). Returns NULL with errno set when it cannot be had (the writer
 * then keeps SQLite's automatic checkpoint).
 */
struct sqlite_checkpointer *sqlite_checkpointer_new(sqlite3 *writer, const char *path,
                                                    int busy_timeout_ms);
/* Stops the thread and closes its connection; before the writer's is closed. NULL: no-op. */
void sqlite_checkpointer_free(struct sqlite_checkpointer *c);

/* Records "sqlite PATH: what: message" as the store's error; returns rc as an errno. */
int sqlite_store_fail(struct sqlite_store *s, int rc, const char *what);

/* Runs sql (no rows wanted). Returns 0, or a negative errno with the error recorded. */
int sqlite_store_exec(struct sqlite_store *s, const char *sql, const char *what);

/*
 * Called after each step of a long migration with the rows copied so far and in all;
 * a non-zero return abandons the migration (it is rolled back, nothing changes).
 */
typedef int (*sqlite_migrate_progress_cb)(void *arg, const char *table, int64_t done,
                                          int64_t total);

/*
 * The schema version recorded in the database (0: none yet; *has_table: whether
 * schema_version exists at all), or a negative errno.
 */
int sqlite_schema_version(struct sqlite_store *s, bool *has_table);

/*
 * Brings the schema to STORE_SQLITE_SCHEMA_VERSION in one transaction: a database that is
 * interrupted or fails on the way stays as it was. A database of a newer version is
 * refused (-EINVAL). progress may be NULL (the log then shows the progress). Returns
 * 0, or a negative errno with the error recorded.
 */
int sqlite_schema_migrate(struct sqlite_store *s, sqlite_migrate_progress_cb progress,
                          void *arg);

/* Streams the rows f selects to out, oldest first. Returns 0, or a negative errno. */
int sqlite_query(struct store *base, const struct store_filter *f, struct export *out);

/*
 * Opens like store_sqlite_open, with a progress callback for the migration (tests
 * interrupt it there).
 */
int sqlite_store_open(struct store **out, const struct hub_config *cfg, const char *path,
                      enum store_mode mode, sqlite_migrate_progress_cb progress, void *arg,
                      char *err, size_t err_size);

#endif
