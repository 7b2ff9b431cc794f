// SPDX-License-Identifier: MIT
/*
 * `rheinhub-storage query`: selected rows of the configured database printed as JSON
 * lines or CSV, for operators and exports, streamed row by row.
 */
#ifndef RHEINHUB_STORAGE_QUERY_H
#define RHEINHUB_STORAGE_QUERY_H

/* argv[0] is "query". Returns the exit status: 0, 1 (database or output), 2 (usage). */
int query_main(int argc, char **argv);

#endif
