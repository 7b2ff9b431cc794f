// SPDX-License-Identifier: MIT
/*
 * The WAL checkpoint of the SQLite backend, off the ingest path. SQLite's automatic
 * checkpoint runs inside the commit that fills the WAL past its limit: that commit
 * then copies the whole WAL (about 40 MiB) into the database file and syncs it, and
 * ingest stops meanwhile. Here the writer's connection does no checkpoint of its own;
 * a commit that leaves CHECKPOINT_PAGES or more in the WAL wakes a thread with a
 * connection of its own, which runs a PASSIVE checkpoint: it copies what no reader
 * still needs while the writer goes on appending (WAL mode allows both at once), and
 * the WAL starts again from its beginning at the next commit after a complete one.
 *
 * Bounded: should the WAL still reach WAL_MAX_PAGES (a checkpoint that cannot keep up,
 * a reader holding an old snapshot), the writer checkpoints itself after its commit,
 * as SQLite would have.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sqlite_store.h"

#define COMPONENT "storage"
#define WAL_MAX_PAGES (8 * SQLITE_CHECKPOINT_PAGES)

struct sqlite_checkpointer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool due;           /* a commit asked for a checkpoint */
    bool stop;
    sqlite3 *db;        /* the thread's own connection */
    sqlite3 *writer;    /* the writer's connection, for the fallback */
    bool warned;        /* a failed checkpoint was logged */
};

static void *run(void *arg)
{
    struct sqlite_checkpointer *c = arg;

    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->due && !c->stop)
            pthread_cond_wait(&c->wake, &c->lock);
        if (c->stop)
            break;
        c->due = false;
        pthread_mutex_unlock(&c->lock);
        int log_pages = 0;
        int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_pages,
                                           NULL);
        if (rc == SQLITE_OK && log_pages < 0 && !c->warned) {
            log_warn(COMPONENT, "sqlite: the checkpoint's connection is not in WAL mode; "
                     "the writer checkpoints itself at %d pages", WAL_MAX_PAGES);
            c->warned = true;
        }
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && !c->warned) {
            log_warn(COMPONENT, "sqlite: WAL checkpoint: %s", sqlite3_errmsg(c->db));
            c->warned = true;
        }
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* sqlite3_wal_hook: after each commit of the writer, with the pages now in the WAL. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct sqlite_checkpointer *c = arg;

    (void)name;
    if (pages >= WAL_MAX_PAGES) {
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        return SQLITE_OK;
    }
    if (pages >= SQLITE_CHECKPOINT_PAGES) {
        pthread_mutex_lock(&c->lock);
        c->due = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
    }
    return SQLITE_OK;
}

struct sqlite_checkpointer *sqlite_checkpointer_new(sqlite3 *writer, const char *path,
                                                    int busy_timeout_ms)
{
    struct sqlite_checkpointer *c = calloc(1, sizeof(*c));
    int r;

    if (!c)
        return NULL;
    c->writer = writer;
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        errno = EIO;
        goto err;
    }
    sqlite3_busy_timeout(c->db, busy_timeout_ms);
    /* A connection opens the WAL at its first read; until then a checkpoint on it does
     * nothing at all (and says so only by a log size of -1). */
    if (sqlite3_exec(c->db, "SELECT 1 FROM sqlite_master LIMIT 1", NULL, NULL, NULL) !=
        SQLITE_OK) {
        errno = EIO;
        goto err;
    }
    if ((r = pthread_mutex_init(&c->lock, NULL)) != 0) {
        errno = r;
        goto err;
    }
    if ((r = pthread_cond_init(&c->wake, NULL)) != 0) {
        pthread_mutex_destroy(&c->lock);
        errno = r;
        goto err;
    }
    if ((r = pthread_create(&c->thread, NULL, run, c)) != 0) {
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        errno = r;
        goto err;
    }
    /* From now on the writer leaves checkpoints to the thread (replaces autocheckpoint). */
    sqlite3_wal_hook(writer, on_commit, c);
    return c;
err:
    sqlite3_close(c->db);
    free(c);
    return NULL;
}

void sqlite_checkpointer_free(struct sqlite_checkpointer *c)
{
    if (!c)
        return;
    sqlite3_wal_hook(c->writer, NULL, NULL);
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    sqlite3_close(c->db);
    free(c);
}
