// SPDX-License-Identifier: MIT
/*
 * Registry look-up (accounts.h). The file is read again at every login, so that an
 * account added or removed with deploy/broker/account counts at once.
 */
#include "accounts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int accounts_role(const char *path, const char *name, char *role, size_t size)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int r = -ESRCH;

    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        char *save = NULL, *n, *ro;

        if (line[0] == '#')
            continue;
        n = strtok_r(line, " \t\r\n", &save);
        ro = n ? strtok_r(NULL, " \t\r\n", &save) : NULL;
        if (n && ro && strcmp(n, name) == 0) {
            snprintf(role, size, "%s", ro);
            r = 0;
            break;
        }
    }
    if (ferror(f))
        r = -EIO;
    fclose(f);
    return r;
}
