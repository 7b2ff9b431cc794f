// SPDX-License-Identifier: MIT
/*
 * Unit test of the SQLite store's checkpoint thread (sqlite_checkpoint.c) on a file in a
 * temporary folder: once a commit leaves SQLITE_CHECKPOINT_PAGES in the WAL, the
 * thread copies them into the database file while the writer goes on, so that the
 * writer never has to do it itself inside a commit (a pause of ingest).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sqlite_store.h"

#define ROW_BYTES 3000 /* one row a page (4096 bytes) */

static off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
}

/* Commits of 1,000 rows until the WAL passed SQLITE_CHECKPOINT_PAGES, then waits up
 * to 30 s for the database file to hold them: the thread's checkpoint, since the
 * writer's own would only come at 8 times as many pages. */
static void thread_checkpoints_the_wal(void **state)
{
    char dir[] = "/tmp/rheinhub-test-checkpoint.XXXXXX", path[PATH_MAX], wal[PATH_MAX + 4];
    struct sqlite_checkpointer *c;
    sqlite3 *db;
    sqlite3_stmt *ins;
    off_t want = (off_t)SQLITE_CHECKPOINT_PAGES * 4096;
    int rows = 0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/db", dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    exec_ok(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                " CREATE TABLE t (i INTEGER PRIMARY KEY, b BLOB)");
    c = sqlite_checkpointer_new(db, path, 1000);
    assert_non_null(c);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t (b) VALUES (zeroblob(?))", -1,
                                        &ins, NULL), SQLITE_OK);
    while (rows < SQLITE_CHECKPOINT_PAGES + 1000) {
        exec_ok(db, "BEGIN");
        for (int k = 0; k < 1000; k++, rows++) {
            sqlite3_bind_int(ins, 1, ROW_BYTES);
            assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
            sqlite3_reset(ins);
        }
        exec_ok(db, "COMMIT");
    }
    for (int waited = 0; file_size(path) < want && waited < 3000; waited++) {
        struct timespec ms10 = {0, 10 * 1000 * 1000};
        nanosleep(&ms10, NULL);
    }
    assert_true(file_size(path) >= want);
    sqlite3_finalize(ins);
    sqlite_checkpointer_free(c);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", path);
    unlink(wal);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thread_checkpoints_the_wal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
