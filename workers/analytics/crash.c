// SPDX-License-Identifier: MIT
/*
 * Test aid (crash.h): the analytics worker kills itself at a point a file names, so
 * that the tests can check what a restart finds.
 */
#include "crash.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

void crash_point(struct analytics *a, const char *point, size_t n)
{
    char buf[64] = "", *arg;
    ssize_t len;
    int fd;

    if (!a->crash_file || (fd = open(a->crash_file, O_RDONLY | O_CLOEXEC)) < 0)
        return;
    len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (len < 0)
        return;
    buf[len] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    arg = strchr(buf, ' ');
    if (arg)
        *arg++ = '\0';
    if (strcmp(buf, point) != 0 || (arg && n < strtoul(arg, NULL, 10)))
        return;
    unlink(a->crash_file);
    log_warn(a->component, "test aid: crash file says %s (%zu): SIGKILL now", point, n);
    kill(getpid(), SIGKILL);
}
