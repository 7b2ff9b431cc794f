// SPDX-License-Identifier: MIT
/*
 * The backup command: copies the database that hub.yaml's storage section names into
 * DEST with SQLite's online backup API (sqlite3_backup_*), as one step, so that the
 * copy is the database as it was when the step's read transaction began: every
 * transaction the worker committed before the command started is in it, none after
 * is half in it. The database is in WAL mode, so the worker keeps writing meanwhile.
 *
 * The copy is written to DEST.tmp-XXXXXX in DEST's folder, checked (PRAGMA
 * quick_check), fsync'd and renamed to DEST, so that DEST is either absent or a whole
 * database. An existing DEST is refused. PostgreSQL is backed up with pg_dump instead
 * (docs/operations.md).
 */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "storage_config.h"

#ifndef RHEINHUB_DEFAULT_CONFIG
#define RHEINHUB_DEFAULT_CONFIG "/etc/rheinhub/hub.yaml"
#endif

#define PROG "rheinhub-storage backup"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rheinhub-storage backup [-c FILE] DEST\n"
            "  -c, --config FILE   hub.yaml (default " RHEINHUB_DEFAULT_CONFIG ")\n"
            "  -t, --timeout MS    how long to wait for a lock on the database (default 10000)\n"
            "Copies the SQLite database named by storage.sqlite_path to DEST (which must not\n"
            "exist) while the worker keeps writing: a consistent copy of every committed\n"
            "transaction. For storage.backend postgresql use pg_dump.\n");
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* fsync()s the folder that holds path, so that a rename in it is durable. */
static int sync_dir_of(const char *path)
{
    char copy[PATH_MAX];
    int fd, r = 0;

    snprintf(copy, sizeof(copy), "%s", path);
    if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -errno;
    if (fsync(fd) < 0)
        r = -errno;
    close(fd);
    return r;
}

static int sync_file(const char *path)
{
    int fd, r = 0;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -errno;
    if (fsync(fd) < 0)
        r = -errno;
    close(fd);
    return r;
}

/*
 * Copies src_path into the new file tmp_path and checks it. Returns 0, or -1 with the
 * reason printed. The file at tmp_path is left for the caller to remove on failure.
 */
static int copy_database(const char *src_path, const char *tmp_path, int timeout_ms,
                         int *pages)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b;
    sqlite3_stmt *st = NULL;
    const char *check;
    struct timespec t0;
    int rc, r = -1;

    rc = sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        fprintf(stderr, PROG ": %s: %s\n", src_path, src ? sqlite3_errmsg(src)
                                                         : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_busy_timeout(src, timeout_ms);
    rc = sqlite3_open_v2(tmp_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        fprintf(stderr, PROG ": %s: %s\n", tmp_path, dst ? sqlite3_errmsg(dst)
                                                         : sqlite3_errstr(rc));
        goto out;
    }
    if (!(b = sqlite3_backup_init(dst, "main", src, "main"))) {
        fprintf(stderr, PROG ": %s\n", sqlite3_errmsg(dst));
        goto out;
    }
    /*
     * One step of every page: a writer between steps would restart the copy forever.
     * A lock that another process holds (SQLITE_BUSY, SQLITE_LOCKED) is waited for until
     * timeout_ms have passed since the first try, then the backup fails.
     */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        rc = sqlite3_backup_step(b, -1);
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
            seconds_since(&t0) * 1000 < timeout_ms)
            sqlite3_sleep(50);
        else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            break;
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    *pages = sqlite3_backup_pagecount(b);
    sqlite3_backup_finish(b);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        fprintf(stderr, PROG ": copying %s: %s; gave up after %d ms (--timeout)\n", src_path,
                sqlite3_errstr(rc), timeout_ms);
        goto out;
    }
    if (rc != SQLITE_DONE) {
        /* A full disk is DEST's: name both ends. */
        fprintf(stderr, PROG ": copying %s to %s: %s\n", src_path, tmp_path,
                sqlite3_errstr(rc));
        goto out;
    }
    if (sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        fprintf(stderr, PROG ": checking the copy: %s\n", sqlite3_errmsg(dst));
        goto out;
    }
    check = (const char *)sqlite3_column_text(st, 0);
    if (!check || strcmp(check, "ok") != 0) {
        fprintf(stderr, PROG ": the copy fails its check: %s\n", check ? check : "(null)");
        goto out;
    }
    r = 0;
out:
    sqlite3_finalize(st);
    if (dst && sqlite3_close(dst) != SQLITE_OK && r == 0) {
        fprintf(stderr, PROG ": closing %s: %s\n", tmp_path, sqlite3_errmsg(dst));
        r = -1;
    }
    sqlite3_close(src);
    return r;
}

/* The database path from the configuration; returns 0, 1 or 2 as the command exits. */
static int database_path(const char *config_path, char *path, size_t size)
{
    struct hub_config *cfg = malloc(sizeof(*cfg));
    char err[256];
    int r, status = 2;

    if (!cfg) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    if (config_load(cfg, config_path, stderr) != 0)
        goto out;
    if (storage_config_check(cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", config_path, err);
        goto out;
    }
    if (strcmp(cfg->storage.backend, "sqlite") != 0) {
        fprintf(stderr, PROG ": %s: storage.backend is %s: back it up with pg_dump "
                        "(docs/operations.md)\n", config_path, cfg->storage.backend);
        goto out;
    }
    if ((r = storage_config_sqlite_path(cfg, config_path, path, size)) < 0) {
        fprintf(stderr, PROG ": storage.sqlite_path: %s\n", strerror(-r));
        goto out;
    }
    status = 0;
out:
    free(cfg);
    return status;
}

int backup_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = RHEINHUB_DEFAULT_CONFIG, *dest;
    char src[PATH_MAX], tmp[PATH_MAX];
    struct timespec t0;
    int opt, fd, pages = 0, timeout_ms = 10000, status;
    char *end;
    long v;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:t:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 't':
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 0 || v > 3600000) {
                fprintf(stderr, PROG ": --timeout must be 0..3600000 ms, not \"%s\"\n", optarg);
                return 2;
            }
            timeout_ms = (int)v;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    dest = argv[optind];
    if ((status = database_path(config_path, src, sizeof(src))) != 0)
        return status;
    if (access(src, R_OK) < 0) {
        fprintf(stderr, PROG ": %s: %s\n", src, strerror(errno));
        return 1;
    }
    if (access(dest, F_OK) == 0) {
        fprintf(stderr, PROG ": %s exists; give a new name\n", dest);
        return 1;
    }
    if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", dest) >= (int)sizeof(tmp)) {
        fprintf(stderr, PROG ": %s: name too long\n", dest);
        return 2;
    }
    if ((fd = mkstemp(tmp)) < 0) {
        fprintf(stderr, PROG ": %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    close(fd);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (copy_database(src, tmp, timeout_ms, &pages) < 0)
        goto fail;
    if (sync_file(tmp) < 0 || rename(tmp, dest) < 0 || sync_dir_of(dest) < 0) {
        fprintf(stderr, PROG ": writing %s: %s\n", dest, strerror(errno));
        goto fail;
    }
    printf("%s: backed up %s: %d pages in %.2f s\n", dest, src, pages, seconds_since(&t0));
    return 0;
fail:
    unlink(tmp);
    return 1;
}
