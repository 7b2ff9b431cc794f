// SPDX-License-Identifier: MIT
/*
 * The storage backends behind one interface: SQLite (store_sqlite.c, the default) and
 * PostgreSQL (store_pg.c). A store writes a batch of rows in one transaction and
 * returns only after the commit, deletes old events a little at a time, and streams
 * query results to an export. The worker (storage_worker.c) and the query command
 * (query.c) use nothing else.
 *
 * Errors split in two: a row the database refuses for good is marked failed in the
 * row (the rest of the batch is stored); anything that stops the whole batch (locked,
 * file gone, server away, disk full) is a negative errno and nothing of the batch is
 * committed, with store_error() saying why.
 */
#ifndef RHEINHUB_STORAGE_STORE_H
#define RHEINHUB_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "export.h"
#include "row.h"

#define STORE_ERROR_MAX 256
/* The schema versions this build writes; databases are migrated up to them on open. */
#define STORE_SQLITE_SCHEMA_VERSION 2
#define STORE_PG_SCHEMA_VERSION 2

enum store_mode {
    STORE_CREATE,   /* the worker's first open: create the database, migrate */
    STORE_EXISTING, /* the worker's reopen: the database must be there, migrate */
    STORE_READ,     /* the query: must be there at the current version; nothing written */
};

/* What one query prints; NULL strings and has_* false match everything. */
struct store_filter {
    enum store_table table;
    const char *municipality, *type, *subject;
    const char *id;              /* events: the event's id; alerts: the alert's id (every
                                    change); aggregates: the window's id */
    bool has_since, has_until;
    int64_t since_ns, until_ns;  /* since inclusive, until exclusive; ns since the epoch */
    long long limit;             /* 0: no limit */
};

/* Totals of one store_write. */
struct store_counts {
    size_t stored;     /* new rows */
    size_t duplicates; /* ids already there: nothing written */
    size_t failed;     /* rows refused (row->failed) */
};

struct store;

struct store_ops {
    int (*write)(struct store *s, struct row *rows, size_t n, struct store_counts *counts);
    int (*retention_step)(struct store *s, int64_t before_ns, int max_rows, int *deleted);
    int (*query)(struct store *s, const struct store_filter *f, struct export *out);
    int (*check)(struct store *s);
    void (*close)(struct store *s);
};

struct store {
    const struct store_ops *ops;
    char error[STORE_ERROR_MAX]; /* why the last call failed */
    int schema_version;          /* of the database open */
};

/*
 * Opens the backend cfg->storage.backend names; sqlite_path is the resolved database
 * file. Returns 0 with *out set, or a negative errno with err (size ERR bytes) saying
 * why: -EINVAL for a configuration that cannot work (unknown backend, no conninfo, a
 * database of a newer schema), other values for what may pass (file or server away).
 */
int store_open(struct store **out, const struct hub_config *cfg, const char *sqlite_path,
               enum store_mode mode, char *err, size_t err_size);

/*
 * Writes rows (those not marked failed) in one transaction and commits. Rows the
 * database refuses are marked failed with the reason; ids already stored count as
 * duplicates and change nothing. Returns 0 after the commit; a negative errno when
 * nothing was committed: -EBUSY (locked: the store stays usable), or another value
 * (the store must be closed and opened again).
 */
int store_write(struct store *s, struct row *rows, size_t n, struct store_counts *counts);

/*
 * Deletes at most max_rows events whose time is before before_ns, in one short
 * transaction. Returns 0 with *deleted set, or a negative errno as store_write.
 */
int store_retention_step(struct store *s, int64_t before_ns, int max_rows, int *deleted);

/* Streams the rows f selects to out, oldest first. Returns 0, or a negative errno. */
int store_query(struct store *s, const struct store_filter *f, struct export *out);

/*
 * Whether the database is still there (SQLite: the file at its path is the one that
 * was opened; PostgreSQL: the connection is up). Returns 0, or a negative errno: close
 * and open again.
 */
int store_check(struct store *s);

const char *store_error(const struct store *s);

void store_close(struct store *s);

/* The backends (store.c picks one). */
int store_sqlite_open(struct store **out, const struct hub_config *cfg, const char *path,
                      enum store_mode mode, char *err, size_t err_size);
int store_pg_open(struct store **out, const struct hub_config *cfg, enum store_mode mode,
                  char *err, size_t err_size);

#endif
