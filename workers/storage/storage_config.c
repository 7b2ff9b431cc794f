// SPDX-License-Identifier: MIT
/* Checks of the storage section, and where its SQLite file is. */
#include "storage_config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int storage_config_check(const struct hub_config *cfg, char *err, size_t err_size)
{
    if (strcmp(cfg->storage.backend, "sqlite") == 0) {
        if (!cfg->storage.sqlite_path[0]) {
            snprintf(err, err_size, "storage.sqlite_path is empty");
            return -EINVAL;
        }
        return 0;
    }
    if (strcmp(cfg->storage.backend, "postgresql") == 0) {
        if (!cfg->storage.postgres_conninfo[0]) {
            snprintf(err, err_size, "storage.backend is postgresql: storage.postgres_conninfo "
                                    "must be set (a libpq connection string)");
            return -EINVAL;
        }
        return 0;
    }
    snprintf(err, err_size, "storage.backend must be sqlite or postgresql, not \"%s\"",
             cfg->storage.backend);
    return -EINVAL;
}

int storage_config_sqlite_path(const struct hub_config *cfg, const char *config_path, char *out,
                               size_t size)
{
    const char *path = cfg->storage.sqlite_path;
    const char *slash = config_path ? strrchr(config_path, '/') : NULL;
    char cwd[PATH_MAX];
    int n;

    if (path[0] == '/')
        n = snprintf(out, size, "%s", path);
    else if (slash && config_path[0] == '/')
        n = snprintf(out, size, "%.*s/%s", (int)(slash - config_path), config_path, path);
    else if (!getcwd(cwd, sizeof(cwd)))
        return -errno;
    else if (slash) /* relative folder: make it absolute, the worker may change folders */
        n = snprintf(out, size, "%s/%.*s/%s", cwd, (int)(slash - config_path), config_path,
                     path);
    else
        n = snprintf(out, size, "%s/%s", cwd, path);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

const char *storage_config_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--") == 0)
            return NULL;
        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(a, "--config=", 9) == 0)
            return a + 9;
        if (strncmp(a, "-c", 2) == 0 && a[2] && a[1] != '-')
            return a + 2;
    }
    return NULL;
}
