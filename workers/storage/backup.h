// SPDX-License-Identifier: MIT
/*
 * `rheinhub-storage backup [-c FILE] DEST`: a consistent copy of the SQLite database
 * while the worker writes, through SQLite's online backup API.
 */
#ifndef RHEINHUB_STORAGE_BACKUP_H
#define RHEINHUB_STORAGE_BACKUP_H

/* argv[0] is "backup". Returns the exit status: 0, 1 (database or output), 2 (usage). */
int backup_main(int argc, char **argv);

#endif
