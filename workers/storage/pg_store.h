// SPDX-License-Identifier: MIT
/*
 * What the PostgreSQL backend's files share: the store's state, the tables' columns and
 * keys, the server's errors as errnos, statement parameters (pg_params.c), the schema
 * and its partitions (pg_schema.c), the COPY path of events (pg_copy.c) and queries
 * (pg_query.c). Not part of the storage interface (store.h).
 */
#ifndef RHEINHUB_STORAGE_PG_STORE_H
#define RHEINHUB_STORAGE_PG_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store.h"

/* Type oids of the parameters (pg_type.dat; fixed since PostgreSQL 9.4). */
#define OID_INT8 20
#define OID_TEXT 25
#define OID_TIMESTAMPTZ 1184
#define OID_JSONB 3802

#define PG_EPOCH_US 946684800000000LL /* 2000-01-01T00:00:00Z in µs since 1970 */
#define PG_MONTHS_MAX 4096            /* months whose partition this connection has seen */
/*
 * Making or dropping a partition needs an ACCESS EXCLUSIVE lock on events, so it waits
 * for every reader of events (an export, the console); and while it waits, every reader
 * and writer of events queues behind it. It waits this long at most, then gives up
 * (SQLSTATE 55P03) and is tried again later: a long export never holds up ingest.
 */
#define PG_DDL_LOCK_TIMEOUT "SET LOCAL lock_timeout = '1s'"

/* The parameters of one statement. */
struct pg_params {
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
    struct pg_params p;
    char *copy;              /* the COPY data of one batch (pg_copy.c) */
    size_t copy_len, copy_cap;
    bool copy_ready;         /* the temporary table of this session exists */
    int careful_batches;     /* batches left that skip the straight COPY (pg_copy.c) */
    int retention_days;      /* for which months get a partition of their own */
    /* Months (year * 12 + month - 1) known to have their partition, sorted. */
    int32_t months[PG_MONTHS_MAX];
    int n_months;
    int64_t ahead_next_s;    /* when pg_partitions_ahead looks next (CLOCK_MONOTONIC) */
};

/* Each table's columns (in the order of the row's parameters), their count and key. */
struct pg_table {
    const char *columns;
    int n_columns;
    const char *key;         /* ON CONFLICT's target */
    const char *time_column; /* filter and order of queries */
    const char *id_column;   /* --id, and the order of ties */
};

extern const struct pg_table pg_tables[STORE_TABLE_COUNT];

/* Records "postgresql: what: the server's or libpq's message" as the store's error. */
void pg_store_set_error(struct pg_store *s, const char *what, const PGresult *res);

/* Whether the server refused the data of a row: data exception or constraint violation. */
bool pg_store_row_refused(const PGresult *res);

/*
 * The errno for a failed statement: -ECONNRESET when the connection is gone, -EIO when
 * the schema is not what it should be (a reconnect migrates it), else -EBUSY (a lock,
 * a deadlock, a full disk: try again on this connection).
 */
int pg_store_result_errno(const struct pg_store *s, const PGresult *res);

/* Runs sql (no parameters, no rows wanted). Returns 0, or an errno as above. */
int pg_store_exec(struct pg_store *s, const char *sql, const char *what);

/* ---- pg_params.c */

void pg_params_free(struct pg_params *p);
/* Empties p and makes room for n parameters. Returns 0, or -ENOMEM. */
int pg_params_reset(struct pg_params *p, int n);
/* Appends the parameters of one row, in the order of pg_tables[row->table].columns. */
void pg_params_add_row(struct pg_params *p, const struct row *row);

/* ---- pg_schema.c */

/* The schema version recorded (0: none; *has_table: schema_version exists), or an errno. */
int pg_schema_version(struct pg_store *s, bool *has_table);

/*
 * Brings the schema to STORE_PG_SCHEMA_VERSION in one transaction under an advisory
 * lock (instances starting together take turns). Returns 0, or a negative errno; a
 * newer schema is -EINVAL.
 */
int pg_schema_migrate(struct pg_store *s);

/*
 * Logs once per process, at info, when the database's text comparisons go through a
 * locale (any collation but C or POSIX, or ICU): its indexes on text cost the server
 * more per event (docs/storage.md, "The database's collation"). Never fails.
 */
void pg_schema_collation_note(struct pg_store *s);

/*
 * Makes sure the monthly partitions of the events in rows exist (a month outside the
 * range that gets partitions of its own goes to the default partition). Returns 0, or
 * a negative errno (nothing of the batch is written yet).
 */
int pg_partitions_ensure(struct pg_store *s, const struct row *rows, size_t n);

/*
 * Makes the partitions of this month and the next ahead of their first events, so that
 * a batch seldom has to make one. Looks at most once a minute; a partition it cannot
 * make yet (a reader of events holds the lock it needs longer than PG_DDL_LOCK_TIMEOUT)
 * is logged as a warning and tried again a minute later. Never fails.
 */
void pg_partitions_ahead(struct pg_store *s);

/*
 * Drops the oldest monthly partition that ends at or before before_ns, if any, and
 * deletes at most max_rows older events of the default partition. Returns 0 with
 * *deleted the rows gone, or a negative errno.
 */
int pg_partitions_retention(struct pg_store *s, int64_t before_ns, int max_rows, int *deleted);

/* ---- pg_copy.c */

/* After a batch whose straight COPY the key refused, this many go the careful way. */
#define PG_COPY_CAREFUL_BATCHES 16

/*
 * Writes the events among rows (not failed) inside the caller's transaction: one COPY
 * straight into events, or, when an event is already there, one COPY into a temporary
 * table and one INSERT ... SELECT ... ON CONFLICT DO NOTHING into events (pg_copy.c). Returns the rows inserted (>= 0), or a negative errno with *res the
 * failed result when the server refused the statement (the caller inspects and clears
 * it), NULL otherwise.
 */
long pg_copy_events(struct pg_store *s, struct row *rows, size_t n, PGresult **res);

void pg_copy_free(struct pg_store *s);

/* ---- pg_query.c */

int pg_query(struct store *base, const struct store_filter *f, struct export *out);

#endif
