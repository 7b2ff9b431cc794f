// SPDX-License-Identifier: MIT
/* The backend-neutral entry points of store.h: the choice of backend and the dispatch. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int store_open(struct store **out, const struct hub_config *cfg, const char *sqlite_path,
               enum store_mode mode, char *err, size_t err_size)
{
    *out = NULL;
    if (strcmp(cfg->storage.backend, "sqlite") == 0)
        return store_sqlite_open(out, cfg, sqlite_path, mode, err, err_size);
    if (strcmp(cfg->storage.backend, "postgresql") == 0) {
        if (!cfg->storage.postgres_conninfo[0]) {
            snprintf(err, err_size, "storage.backend is postgresql but "
                                    "storage.postgres_conninfo is empty");
            return -EINVAL;
        }
        return store_pg_open(out, cfg, mode, err, err_size);
    }
    snprintf(err, err_size, "storage.backend must be sqlite or postgresql, not \"%s\"",
             cfg->storage.backend);
    return -EINVAL;
}

int store_write(struct store *s, struct row *rows, size_t n, struct store_counts *counts)
{
    memset(counts, 0, sizeof(*counts));
    return s->ops->write(s, rows, n, counts);
}

int store_retention_step(struct store *s, int64_t before_ns, int max_rows, int *deleted)
{
    *deleted = 0;
    return s->ops->retention_step(s, before_ns, max_rows, deleted);
}

int store_query(struct store *s, const struct store_filter *f, struct export *out)
{
    return s->ops->query(s, f, out);
}

int store_check(struct store *s)
{
    return s->ops->check(s);
}

const char *store_error(const struct store *s)
{
    return s->error;
}

void store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
}
