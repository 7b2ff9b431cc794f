// SPDX-License-Identifier: MIT
/* close-on-exec for every descriptor the process holds (see cloexec.h). */
#include "cloexec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

int cloexec_all(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *de;

    if (!dir)
        return -errno;
    while ((de = readdir(dir))) {
        int fd = atoi(de->d_name);
        int flags;
        if (fd <= 2 || fd == dirfd(dir))
            continue;
        flags = fcntl(fd, F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC))
            (void)fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
    closedir(dir);
    return 0;
}
