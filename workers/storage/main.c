// SPDX-License-Identifier: MIT
/*
 * rheinhub-storage: stores every event, alert and aggregate the hub routes to it
 * (docs/storage.md).
 *
 *   rheinhub-storage -c hub.yaml [-i N] [--check]   the worker
 *   rheinhub-storage query -c hub.yaml [filters]    print stored rows (query.c)
 *   rheinhub-storage backup [-c hub.yaml] DEST      copy the SQLite database (backup.c)
 */
#include <string.h>

#include "backup.h"
#include "query.h"
#include "storage_worker.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "query") == 0)
        return query_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "backup") == 0)
        return backup_main(argc - 1, argv + 1);
    return storage_worker_main(argc, argv);
}
