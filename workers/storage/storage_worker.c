// SPDX-License-Identifier: MIT
/*
 * The storage worker's callbacks. start opens the database (creating and migrating
 * it); batch turns the events into rows and writes them in one transaction, so that
 * the SDK acknowledges only what is committed; tick reopens a database that went away,
 * notices a database file removed under it, and deletes old events a little at a time.
 *
 * The commit policy is storage's own (storage.batch_max, storage.commit_interval_ms):
 * the SDK reads about batch_max events' worth of entries and hands at most batch_max
 * events per batch (more only for one entry of more events, never split), so a
 * backlog goes in transactions of that size one after the other; after a read that
 * drained the streams (worker_read_drained) the next read waits until
 * commit_interval_ms after that batch began, so that at a steady rate the events of
 * that interval make one transaction instead of many small ones. An event arriving while nothing is pending
 * is read at once.
 *
 * A database that cannot take the batch (locked, disk full, file gone, server away)
 * makes the batch fail as a whole: nothing is acknowledged, the worker reports itself
 * unhealthy with the reason, and the SDK brings the same entries again after a
 * backoff. A row the database refuses for good is marked failed, so that it ends in
 * the dead-letter stream after worker.max_deliveries while the rest is stored.
 */
#include "storage_worker.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "row.h"
#include "storage_config.h"
#include "store.h"
#include "worker.h"

#define COMPONENT "storage"
#define CHECK_INTERVAL_MS 1000        /* is the database still there */
#define REOPEN_MIN_MS 200
#define REOPEN_MAX_MS 5000
#define RETENTION_ROWS 1000           /* events deleted per step: a few ms of work */
#define RETENTION_IDLE_MS 60000       /* next look when a step found less than a full batch */
#define RETENTION_RETRY_MS 10000
#define REPORT_INTERVAL_MS 60000
#define NS_PER_DAY (86400LL * 1000000000LL)

struct storage_worker {
    const char *config_path;
    const struct hub_config *cfg;
    char sqlite_path[PATH_MAX];
    struct store *store;        /* NULL while the database is away */
    bool opened_once;           /* SQLite: create the file only before the first open */
    bool away;                  /* reported unhealthy, logged */
    char away_detail[STORE_ERROR_MAX];
    struct row *rows;
    size_t rows_cap;
    int64_t next_open_ms, next_check_ms, next_retention_ms, next_report_ms;
    int reopen_backoff_ms;
    struct store_counts total;  /* since the last report */
    uint64_t batches;           /* transactions committed since the last report */
    uint64_t retention_deleted;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const char *where(const struct storage_worker *sw)
{
    return strcmp(sw->cfg->storage.backend, "sqlite") == 0 ? sw->sqlite_path : "postgresql";
}

/* The database cannot be used: unhealthy with the reason, logged when it changes. */
static void set_away(struct storage_worker *sw, struct worker *w, const char *detail)
{
    if (!sw->away || strcmp(sw->away_detail, detail) != 0)
        log_warn(COMPONENT, "database unavailable: %s; nothing is acknowledged until it is "
                            "back", detail);
    sw->away = true;
    snprintf(sw->away_detail, sizeof(sw->away_detail), "%s", detail);
    worker_set_health(w, false, detail);
}

static void set_back(struct storage_worker *sw, struct worker *w)
{
    if (sw->away)
        log_info(COMPONENT, "database %s available again", where(sw));
    sw->away = false;
    sw->away_detail[0] = '\0';
    worker_set_health(w, true, NULL);
}

static void close_store(struct storage_worker *sw)
{
    store_close(sw->store);
    sw->store = NULL;
    sw->next_open_ms = now_ms() + sw->reopen_backoff_ms;
}

/*
 * Opens the database: created (and migrated) until the first open succeeded, after
 * that it must exist, so that a SQLite file that disappeared (a volume not mounted,
 * a file moved away) is waited for instead of replaced by an empty one.
 * Returns 0, or a negative errno (reported; the next try is after a backoff).
 */
static int open_store(struct storage_worker *sw, struct worker *w)
{
    char err[STORE_ERROR_MAX];
    int r = store_open(&sw->store, sw->cfg, sw->sqlite_path,
                       sw->opened_once ? STORE_EXISTING : STORE_CREATE, err, sizeof(err));

    if (r < 0) {
        sw->store = NULL;
        set_away(sw, w, err);
        sw->next_open_ms = now_ms() + sw->reopen_backoff_ms;
        sw->reopen_backoff_ms = sw->reopen_backoff_ms * 2 > REOPEN_MAX_MS
                                    ? REOPEN_MAX_MS : sw->reopen_backoff_ms * 2;
        return r;
    }
    if (!sw->opened_once)
        log_info(COMPONENT, "%s database %s open (schema version %d)", sw->cfg->storage.backend,
                 where(sw), sw->store->schema_version);
    sw->opened_once = true;
    sw->reopen_backoff_ms = REOPEN_MIN_MS;
    sw->next_check_ms = now_ms() + CHECK_INTERVAL_MS;
    set_back(sw, w);
    return 0;
}

static int sw_start(struct worker *w, void *data)
{
    struct storage_worker *sw = data;
    char err[256];
    int r;

    sw->cfg = worker_config(w);
    if (storage_config_check(sw->cfg, err, sizeof(err)) < 0) {
        log_error(COMPONENT, "%s: %s", sw->config_path, err);
        return -EINVAL;
    }
    if ((r = storage_config_sqlite_path(sw->cfg, sw->config_path, sw->sqlite_path,
                                        sizeof(sw->sqlite_path))) < 0) {
        log_error(COMPONENT, "storage.sqlite_path: %s", strerror(-r));
        return r;
    }
    sw->reopen_backoff_ms = REOPEN_MIN_MS;
    sw->next_report_ms = now_ms() + REPORT_INTERVAL_MS;
    worker_set_batch_max(w, sw->cfg->storage.batch_max);
    /* A schema newer than this build stops the worker: it would write it wrongly. */
    if ((r = open_store(sw, w)) == -EINVAL)
        return r;
    return 0;
}

static int rows_reserve(struct storage_worker *sw, size_t n)
{
    struct row *rows;

    if (n <= sw->rows_cap)
        return 0;
    if (!(rows = realloc(sw->rows, n * sizeof(*rows))))
        return -ENOMEM;
    sw->rows = rows;
    sw->rows_cap = n;
    return 0;
}

static int sw_batch(struct worker *w, void *data, struct worker_event *events, size_t n)
{
    struct storage_worker *sw = data;
    struct store_counts counts;
    int64_t began = now_ms();
    size_t built = 0;
    int r;

    if (!sw->store && (r = open_store(sw, w)) < 0)
        return r;
    if ((r = rows_reserve(sw, n)) < 0)
        return r;
    for (; built < n; built++) {
        r = row_build(&sw->rows[built], &events[built].env);
        if (r == -ENOMEM) {
            built++;
            goto out;
        }
    }
    r = store_write(sw->store, sw->rows, n, &counts);
    if (r < 0) {
        set_away(sw, w, store_error(sw->store));
        /* A lock passes, so does a full disk (SQLite rolled back, the connection is
         * sound, and reopening would say "available again" each retry); anything else
         * needs a new connection. */
        if (r != -EBUSY && r != -ENOSPC)
            close_store(sw);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!sw->rows[i].failed)
            continue;
        events[i].failed = true;
        snprintf(events[i].error, sizeof(events[i].error), "%s", sw->rows[i].error);
        log_debug(COMPONENT, "%s %s event %u not stored: %s", events[i].stream,
                  events[i].entry_id, events[i].entry_index, sw->rows[i].error);
    }
    sw->total.stored += counts.stored;
    sw->total.duplicates += counts.duplicates;
    sw->total.failed += counts.failed;
    sw->batches++;
    if (sw->away)
        set_back(sw, w);
    if (worker_read_drained(w) && sw->cfg->storage.commit_interval_ms > 0)
        worker_delay_read(w, (int)(began + sw->cfg->storage.commit_interval_ms - now_ms()));
out:
    for (size_t i = 0; i < built; i++)
        row_clear(&sw->rows[i]);
    return r;
}

/* One retention step when one is due; a full step asks for the next at the next turn. */
static void retention(struct storage_worker *sw, int64_t now)
{
    int64_t cutoff = wall_ns() - (int64_t)sw->cfg->storage.retention_days * NS_PER_DAY;
    int deleted = 0, r;

    r = store_retention_step(sw->store, cutoff, RETENTION_ROWS, &deleted);
    if (r < 0) {
        log_warn(COMPONENT, "retention: %s; trying again in %d s", store_error(sw->store),
                 RETENTION_RETRY_MS / 1000);
        sw->next_retention_ms = now + RETENTION_RETRY_MS;
        return;
    }
    sw->retention_deleted += (uint64_t)deleted;
    sw->next_retention_ms = deleted == RETENTION_ROWS ? now : now + RETENTION_IDLE_MS;
}

static void report(struct storage_worker *sw)
{
    if (sw->total.stored || sw->total.duplicates || sw->total.failed || sw->retention_deleted)
        log_info(COMPONENT, "last %d s: %zu stored in %llu transactions, %zu duplicates "
                 "ignored, %zu refused, %llu deleted by retention", REPORT_INTERVAL_MS / 1000,
                 sw->total.stored, (unsigned long long)sw->batches, sw->total.duplicates,
                 sw->total.failed, (unsigned long long)sw->retention_deleted);
    memset(&sw->total, 0, sizeof(sw->total));
    sw->batches = sw->retention_deleted = 0;
}

static int sw_tick(struct worker *w, void *data)
{
    struct storage_worker *sw = data;
    int64_t now = now_ms();

    if (now >= sw->next_report_ms) {
        report(sw);
        sw->next_report_ms = now + REPORT_INTERVAL_MS;
    }
    if (!sw->store) {
        if (now >= sw->next_open_ms)
            open_store(sw, w);
        return 0;
    }
    if (now >= sw->next_check_ms) {
        sw->next_check_ms = now + CHECK_INTERVAL_MS;
        if (store_check(sw->store) < 0) {
            set_away(sw, w, store_error(sw->store));
            close_store(sw);
            return 0;
        }
    }
    if (sw->cfg->storage.retention_days > 0 && now >= sw->next_retention_ms)
        retention(sw, now);
    return 0;
}

static void sw_stop(struct worker *w, void *data)
{
    struct storage_worker *sw = data;

    (void)w;
    report(sw);
    store_close(sw->store);
    sw->store = NULL;
    free(sw->rows);
    sw->rows = NULL;
    sw->rows_cap = 0;
}

int storage_worker_main(int argc, char **argv)
{
    static struct storage_worker sw;
    const struct worker_def def = {
        .kind = "storage",
        .start = sw_start,
        .batch = sw_batch,
        .tick = sw_tick,
        .stop = sw_stop,
        .data = &sw,
    };

    sw.config_path = storage_config_arg(argc, argv);
    /* --check also checks what only storage knows; the SDK checks the rest and says so. */
    for (int i = 1; i < argc && sw.config_path; i++) {
        if (strcmp(argv[i], "--check") == 0) {
            struct hub_config *cfg = malloc(sizeof(*cfg));
            char err[256];
            int bad;
            if (!cfg)
                return 1;
            bad = config_load(cfg, sw.config_path, stderr) == 0 &&
                  storage_config_check(cfg, err, sizeof(err)) < 0;
            if (bad)
                fprintf(stderr, "%s: %s\n", sw.config_path, err);
            free(cfg);
            if (bad)
                return 2;
            break;
        }
    }
    return worker_main(&def, argc, argv);
}
