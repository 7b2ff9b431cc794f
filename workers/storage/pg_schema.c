// SPDX-License-Identifier: MIT
/*
 * The PostgreSQL schema, its versions and the monthly partitions of events.
 *
 * Version 1: events keyed by id alone, one table.
 * Version 2: events partitioned by month of time_utc (declarative range partitioning),
 * primary key (time_utc, id): a redelivered event has the same time and id, and new
 * rows go to the end of the current month's index. Each month from a few years back to
 * two months ahead gets its partition events_pYYYY_MM when its first event comes;
 * other times (far past, far future) go to events_default. Retention drops a month's
 * partition once all of it is older than storage.retention_days, instead of deleting
 * its rows (docs/storage.md).
 *
 * The migration from version 1 runs in the one transaction that records version 2
 * (PostgreSQL's DDL is transactional): interrupted or failed, it leaves version 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pg_store.h"

#define COMPONENT "storage"
#define MIGRATION_LOCK 0x72686e7374LL  /* pg_advisory_xact_lock key of the migration */
#define PARTITION_LOCK 0x72686e7375LL  /* and of creating a partition */
#define MONTHS_BACK_DEFAULT 120        /* without retention: partitions for 10 years back */
#define MONTHS_AHEAD 2
#define AHEAD_INTERVAL_S 60            /* pg_partitions_ahead looks this often */

#define EVENTS_TABLE                                                                               \
    "CREATE TABLE events ("                                                                        \
    " id text NOT NULL,"                                                                           \
    " municipality text NOT NULL,"                                                                 \
    " category text NOT NULL,"                                                                     \
    " type text NOT NULL,"                                                                         \
    " subject text NOT NULL,"                                                                      \
    " time text NOT NULL,"               /* RFC 3339, as the publisher sent it */                  \
    " time_utc timestamptz NOT NULL,"    /* the same, to the microsecond: sorts, ranges */         \
    " received bigint NOT NULL,"         /* the hub's receivedtime, ns since the epoch */          \
    " source text NOT NULL,"                                                                       \
    " data jsonb NOT NULL,"                                                                        \
    " PRIMARY KEY (time_utc, id)"        /* the same event: the same id at the same time */       \
    ") PARTITION BY RANGE (time_utc);"                                                             \
    "CREATE TABLE events_default PARTITION OF events DEFAULT;"                                     \
    "CREATE INDEX events_type_subject_time ON events (type, subject, time_utc);"                   \
    "CREATE INDEX events_municipality_time ON events (municipality, time_utc);"

static const char schema_current[] =
    EVENTS_TABLE
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

/* Version 1's events table out of the way of version 2's names. */
static const char rename_v1[] =
    "ALTER TABLE events RENAME TO events_v1;"
    "ALTER TABLE events_v1 RENAME CONSTRAINT events_pkey TO events_v1_pkey;"
    "ALTER INDEX events_type_subject_time RENAME TO events_v1_type_subject_time;"
    "ALTER INDEX events_municipality_time RENAME TO events_v1_municipality_time;"
    "ALTER INDEX events_time RENAME TO events_v1_time;";

_Static_assert(STORE_PG_SCHEMA_VERSION == 2, "schema_current and the migrations are version 2");

/* ------------------------------------------------------------------------------------------ */
/* Months and partitions */

/* year * 12 + month - 1 of a time in ns since 1970, UTC. */
static int32_t month_of_ns(int64_t ns)
{
    int64_t secs = ns / 1000000000 - (ns % 1000000000 < 0);
    time_t t = (time_t)secs;
    struct tm tm;

    if (!gmtime_r(&t, &tm))
        return 0;
    return (int32_t)(tm.tm_year + 1900) * 12 + tm.tm_mon;
}

/* Whether month m gets a partition of its own (else: events_default). */
static bool month_partitioned(const struct pg_store *s, int32_t m)
{
    int32_t now = month_of_ns((int64_t)time(NULL) * 1000000000);
    int32_t back = s->retention_days > 0 ? s->retention_days / 28 + 2 : MONTHS_BACK_DEFAULT;

    return m >= now - back && m <= now + MONTHS_AHEAD && m / 12 >= 1970;
}

static bool month_known(const struct pg_store *s, int32_t m)
{
    for (int i = 0; i < s->n_months; i++)
        if (s->months[i] == m)
            return true;
    return false;
}

static void month_remember(struct pg_store *s, int32_t m)
{
    if (!month_known(s, m) && s->n_months < PG_MONTHS_MAX)
        s->months[s->n_months++] = m;
}

static void month_forget(struct pg_store *s, int32_t m)
{
    for (int i = 0; i < s->n_months; i++)
        if (s->months[i] == m) {
            s->months[i] = s->months[--s->n_months];
            return;
        }
}

/*
 * CREATE TABLE IF NOT EXISTS events_pYYYY_MM PARTITION OF events for month m, in the
 * caller's transaction. A default partition that holds rows of that month already
 * (events stored before the month was in range) makes it fail with a check violation:
 * then the month stays in the default partition, which is not an error.
 * Returns 0, or a negative errno.
 */
static int partition_create(struct pg_store *s, int32_t m)
{
    int y = m / 12, mon = m % 12 + 1, ny = (m + 1) / 12, nmon = (m + 1) % 12 + 1;
    char sql[320];
    PGresult *res;
    int r = 0;

    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS events_p%04d_%02d PARTITION OF events FOR VALUES"
             " FROM ('%04d-%02d-01 00:00:00+00') TO ('%04d-%02d-01 00:00:00+00')",
             y, mon, y, mon, ny, nmon);
    if ((r = pg_store_exec(s, "SAVEPOINT part", "creating a partition")) < 0)
        return r;
    res = PQexec(s->conn, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, "23514") == 0) {
            log_warn(COMPONENT, "postgresql: month %04d-%02d stays in events_default: it "
                     "holds events of that month already", y, mon);
            PQclear(res);
            return pg_store_exec(s, "ROLLBACK TO SAVEPOINT part", "creating a partition");
        }
        pg_store_set_error(s, "creating a partition", res);
        r = pg_store_result_errno(s, res);
    }
    PQclear(res);
    if (r == 0)
        r = pg_store_exec(s, "RELEASE SAVEPOINT part", "creating a partition");
    return r;
}

static int ensure_months(struct pg_store *s, const int32_t *want, int n_want);

int pg_partitions_ensure(struct pg_store *s, const struct row *rows, size_t n)
{
    int32_t want[16];
    int n_want = 0;

    for (size_t i = 0; i < n && n_want < 16; i++) {
        int32_t m;
        bool dup = false;

        if (rows[i].failed || rows[i].table != STORE_EVENTS)
            continue;
        m = month_of_ns(rows[i].u.event.time_ns);
        if (month_known(s, m))
            continue;
        if (!month_partitioned(s, m)) {
            month_remember(s, m); /* default partition: nothing to make */
            continue;
        }
        for (int k = 0; k < n_want; k++)
            dup |= want[k] == m;
        if (!dup)
            want[n_want++] = m;
    }
    return ensure_months(s, want, n_want);
}

void pg_partitions_ahead(struct pg_store *s)
{
    int32_t now = month_of_ns((int64_t)time(NULL) * 1000000000), want[2];
    int n_want = 0;
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ts.tv_sec < s->ahead_next_s)
        return;
    s->ahead_next_s = ts.tv_sec + AHEAD_INTERVAL_S;
    for (int32_t m = now; m <= now + 1; m++)
        if (!month_known(s, m) && month_partitioned(s, m))
            want[n_want++] = m;
    if (ensure_months(s, want, n_want) < 0)
        log_warn(COMPONENT, "%s; trying again in %d s (a batch of that month makes it)",
                 s->base.error, AHEAD_INTERVAL_S);
}

/* Makes the partitions of the months in want (in one transaction). Returns 0, or an errno. */
static int ensure_months(struct pg_store *s, const int32_t *want, int n_want)
{
    char sql[96];
    int r;

    if (n_want == 0)
        return 0;
    /* Its own transaction: the lock is short, and several workers take turns. */
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)", PARTITION_LOCK);
    if ((r = pg_store_exec(s, "BEGIN", "beginning a transaction")) < 0)
        return r;
    if ((r = pg_store_exec(s, PG_DDL_LOCK_TIMEOUT, "creating a partition")) < 0 ||
        (r = pg_store_exec(s, sql, "locking the partitions")) < 0)
        goto err;
    for (int k = 0; k < n_want; k++)
        if ((r = partition_create(s, want[k])) < 0)
            goto err;
    if ((r = pg_store_exec(s, "COMMIT", "committing the partitions")) < 0)
        return r;
    for (int k = 0; k < n_want; k++)
        month_remember(s, want[k]);
    return 0;
err:
    if (PQstatus(s->conn) == CONNECTION_OK)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    return r;
}

/* The oldest monthly partition's month, or -1 when there is none. */
static int32_t oldest_partition(struct pg_store *s, int *err)
{
    PGresult *res = PQexec(s->conn,
                           "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid ="
                           " i.inhrelid WHERE i.inhparent = 'events'::regclass AND c.relname ~"
                           " '^events_p[0-9]{4}_[0-9]{2}$' ORDER BY c.relname LIMIT 1");
    int32_t m = -1;
    int y, mon;

    *err = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_store_set_error(s, "listing partitions", res);
        *err = pg_store_result_errno(s, res);
    } else if (PQntuples(res) == 1 &&
               sscanf(PQgetvalue(res, 0, 0), "events_p%4d_%2d", &y, &mon) == 2) {
        m = y * 12 + mon - 1;
    }
    PQclear(res);
    return m;
}

static long long scalar_ll(struct pg_store *s, const char *sql, int n, const char *const *values,
                           const char *what, int *err)
{
    PGresult *res = PQexecParams(s->conn, sql, n, NULL, values, NULL, NULL, 0);
    long long v = 0;

    *err = 0;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    } else if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        v = strtoll(PQcmdTuples(res), NULL, 10);
    } else {
        pg_store_set_error(s, what, res);
        *err = pg_store_result_errno(s, res);
    }
    PQclear(res);
    return v;
}

/* Runs one DDL statement in a transaction of its own, waiting PG_DDL_LOCK_TIMEOUT at most. */
static int exec_ddl(struct pg_store *s, const char *sql, const char *what)
{
    int r;

    if ((r = pg_store_exec(s, "BEGIN", "beginning a transaction")) < 0)
        return r;
    if ((r = pg_store_exec(s, PG_DDL_LOCK_TIMEOUT, what)) < 0 ||
        (r = pg_store_exec(s, sql, what)) < 0) {
        if (PQstatus(s->conn) == CONNECTION_OK)
            PQclear(PQexec(s->conn, "ROLLBACK"));
        return r;
    }
    return pg_store_exec(s, "COMMIT", what);
}

int pg_partitions_retention(struct pg_store *s, int64_t before_ns, int max_rows, int *deleted)
{
    int32_t m = oldest_partition(s, deleted);
    char sql[160], before[40], limit[16];
    const char *values[] = {before, limit};
    int err;
    long long n;

    if (*deleted < 0) {
        err = *deleted;
        *deleted = 0;
        return err;
    }
    /* A month whose end (the next month's start) is not after the cutoff goes whole. */
    if (m >= 0 && month_of_ns(before_ns) > m) {
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM events_p%04d_%02d", m / 12,
                 m % 12 + 1);
        n = scalar_ll(s, sql, 0, NULL, "counting a partition", &err);
        if (err < 0)
            return err;
        snprintf(sql, sizeof(sql), "DROP TABLE events_p%04d_%02d", m / 12, m % 12 + 1);
        if ((err = exec_ddl(s, sql, "dropping a partition")) < 0)
            return err;
        month_forget(s, m);
        log_info(COMPONENT, "retention: dropped the partition of %04d-%02d (%lld events)",
                 m / 12, m % 12 + 1, n);
        *deleted = n > 1000000000 ? 1000000000 : (int)n;
        return 0;
    }
    /* What is older in the default partition goes a little at a time. */
    {
        int64_t us = before_ns / 1000 - (before_ns % 1000 < 0);
        snprintf(before, sizeof(before), "%lld", (long long)us);
        snprintf(limit, sizeof(limit), "%d", max_rows);
        n = scalar_ll(s, "DELETE FROM events_default WHERE ctid IN (SELECT ctid FROM"
                         " events_default WHERE time_utc < to_timestamp($1::bigint / 1e6)"
                         " LIMIT $2)", 2, values, "deleting old events", &err);
    }
    *deleted = (int)n;
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* Versions */

int pg_schema_version(struct pg_store *s, bool *has_table)
{
    int err;
    long long v;

    *has_table = scalar_ll(s, "SELECT (to_regclass('schema_version') IS NOT NULL)::int", 0, NULL,
                           "reading the schema", &err) != 0;
    if (err < 0)
        return err;
    if (!*has_table)
        return 0;
    v = scalar_ll(s, "SELECT coalesce(max(version), 0) FROM schema_version", 0, NULL,
                  "reading the schema version", &err);
    if (err < 0)
        return err;
    return v > 1000000 ? 1000000 : (int)v;
}

/*
 * Version 1 to 2, in the caller's transaction: the old table renamed, the partitioned
 * one made, the months of the old rows given their partitions, the rows copied a month
 * at a time (a progress line each), the old table dropped.
 */
static int migrate_v2(struct pg_store *s)
{
    PGresult *months;
    long long total, done = 0;
    int r, err;

    total = scalar_ll(s, "SELECT count(*) FROM events", 0, NULL, "counting events", &err);
    if (err < 0)
        return err;
    if (total > 0)
        log_info(COMPONENT, "postgresql: migrating %lld events to schema version 2 (partitions "
                 "by month, key (time_utc, id)) in one transaction; the database stays as it "
                 "was if this is interrupted", total);
    if ((r = pg_store_exec(s, rename_v1, "renaming events of version 1")) < 0 ||
        (r = pg_store_exec(s, EVENTS_TABLE, "creating the partitioned events")) < 0)
        return r;
    months = PQexec(s->conn, "SELECT DISTINCT date_trunc('month', time_utc AT TIME ZONE 'UTC')"
                             "::text AS m FROM events_v1 ORDER BY 1");
    if (PQresultStatus(months) != PGRES_TUPLES_OK) {
        pg_store_set_error(s, "reading the months of events", months);
        r = pg_store_result_errno(s, months);
        PQclear(months);
        return r;
    }
    for (int i = 0; i < PQntuples(months); i++) {
        const char *month = PQgetvalue(months, i, 0);
        const char *values[] = {month};
        int y, mon;
        long long n;

        if (sscanf(month, "%4d-%2d-01 00:00:00", &y, &mon) == 2 && strlen(month) == 19 &&
            month_partitioned(s, y * 12 + mon - 1) &&
            (r = partition_create(s, y * 12 + mon - 1)) < 0)
            break;
        n = scalar_ll(s, "INSERT INTO events SELECT id, municipality, category, type, subject,"
                         " time, time_utc, received, source, data FROM events_v1"
                         " WHERE time_utc >= ($1::timestamp AT TIME ZONE 'UTC')"
                         " AND time_utc < (($1::timestamp + interval '1 month') AT TIME ZONE"
                         " 'UTC')", 1, values, "copying events", &err);
        if ((r = err) < 0)
            break;
        done += n;
        log_info(COMPONENT, "postgresql: migrating events to schema version 2: %.7s: %lld rows;"
                 " %lld of %lld rows copied (%d %%)", month, n, done, total,
                 total > 0 ? (int)(done * 100 / total) : 100);
    }
    PQclear(months);
    if (r < 0)
        return r;
    if (done != total) {
        snprintf(s->base.error, sizeof(s->base.error),
                 "postgresql: migration copied %lld of %lld events", done, total);
        return -EIO;
    }
    return pg_store_exec(s, "DROP TABLE events_v1", "dropping events of version 1");
}

int pg_schema_migrate(struct pg_store *s)
{
    char sql[160];
    bool has_table;
    int r, version;

    if ((r = pg_store_exec(s, "BEGIN", "starting the migration")) < 0)
        return r;
    /* Workers starting together take turns: the lock ends with the transaction. */
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)", MIGRATION_LOCK);
    if ((r = pg_store_exec(s, sql, "locking the migration")) < 0 ||
        (r = pg_store_exec(s, "CREATE TABLE IF NOT EXISTS schema_version ("
                              " version integer PRIMARY KEY,"
                              " applied_at timestamptz NOT NULL DEFAULT now())",
                           "creating schema_version")) < 0 ||
        (r = version = pg_schema_version(s, &has_table)) < 0)
        goto err;
    if (version > STORE_PG_SCHEMA_VERSION) {
        snprintf(s->base.error, sizeof(s->base.error),
                 "postgresql: schema version %d is newer than this rheinhub-storage knows (%d)",
                 version, STORE_PG_SCHEMA_VERSION);
        r = -EINVAL;
        goto err;
    }
    if (version < STORE_PG_SCHEMA_VERSION) {
        r = version == 0 ? pg_store_exec(s, schema_current, "creating the schema")
                         : migrate_v2(s);
        snprintf(sql, sizeof(sql), "INSERT INTO schema_version (version) VALUES (%d)",
                 STORE_PG_SCHEMA_VERSION);
        if (r < 0 || (r = pg_store_exec(s, sql, "recording the schema version")) < 0)
            goto err;
    }
    if ((r = pg_store_exec(s, "COMMIT", "committing the migration")) < 0)
        return r;
    if (version > 0 && version < STORE_PG_SCHEMA_VERSION)
        log_info(COMPONENT, "postgresql: migrated to schema version %d",
                 STORE_PG_SCHEMA_VERSION);
    return 0;
err:
    if (PQstatus(s->conn) == CONNECTION_OK)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Collation */

void pg_schema_collation_note(struct pg_store *s)
{
    static bool told;
    /* datlocprovider: 'c' libc, 'i' ICU (15 and later), 'b' builtin (17: code points). */
    const char *sql = PQserverVersion(s->conn) >= 150000
                          ? "SELECT datcollate, datlocprovider::text FROM pg_database"
                            " WHERE datname = current_database()"
                          : "SELECT datcollate, 'c' FROM pg_database"
                            " WHERE datname = current_database()";
    PGresult *res;

    if (told)
        return;
    res = PQexec(s->conn, sql);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        const char *collate = PQgetvalue(res, 0, 0), *provider = PQgetvalue(res, 0, 1);
        bool icu = strcmp(provider, "i") == 0;
        bool bytes = strcmp(provider, "b") == 0 ||
                     (!icu && (strcmp(collate, "C") == 0 || strcmp(collate, "POSIX") == 0));

        if (!bytes)
            log_info(COMPONENT, "postgresql: the database compares text by %s%s: its indexes "
                                "on text cost the server about 12 %% more per event than with "
                                "the C collation (docs/storage.md, \"The database's collation\")",
                     icu ? "an ICU locale" : "the locale ", icu ? "" : collate);
        told = true;
    }
    PQclear(res);
}
