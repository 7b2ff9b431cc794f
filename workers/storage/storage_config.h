// SPDX-License-Identifier: MIT
/*
 * The storage section of hub.yaml as the worker and the query command use it: the
 * checks the table-driven loader cannot make (the backend's name, a conninfo when
 * PostgreSQL is chosen) and the database file's path, relative to the configuration
 * file's folder.
 */
#ifndef RHEINHUB_STORAGE_CONFIG_H
#define RHEINHUB_STORAGE_CONFIG_H

#include <stddef.h>

#include "config.h"

/* Returns 0, or -EINVAL with err saying what is wrong (without the file's name). */
int storage_config_check(const struct hub_config *cfg, char *err, size_t err_size);

/*
 * storage.sqlite_path made absolute against the folder of config_path (the same rule
 * as schemas.dir). Returns 0, or -ENAMETOOLONG.
 */
int storage_config_sqlite_path(const struct hub_config *cfg, const char *config_path, char *out,
                               size_t size);

/*
 * The value of -c FILE / -cFILE / --config FILE / --config=FILE in argv (as the worker
 * SDK parses it), or NULL.
 */
const char *storage_config_arg(int argc, char **argv);

#endif
