// SPDX-License-Identifier: MIT
/*
 * Unit tests of the journal form of log lines (log.c): when JOURNAL_STREAM names the
 * file stderr is, every line starts with its syslog priority "<N>" and carries no
 * time; the choice is made at the first line, so this is a program of its own
 * (test_log.c covers the plain form).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static void log_journal_priorities(void **state)
{
    const char *dir = getenv("TMPDIR");
    char path[64], env[64], text[1024];
    struct stat st;
    int fd, saved;
    ssize_t n;

    (void)state;
    snprintf(path, sizeof(path), "%s/test_log_journal.XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    assert_int_equal(setenv("JOURNAL_STREAM", env, 1), 0);
    unsetenv("RHEINHUB_LOG_PREFIX");
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);

    log_set_level(LOG_LEVEL_DEBUG);
    log_error("hub", "e %d", 1);
    log_warn("storage", "w");
    log_info("hub", "i");
    log_debug("hub", "d");
    assert_true(log_to_journal());

    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    n = read(fd, text, sizeof(text) - 1);
    assert_true(n > 0);
    text[n] = '\0';
    close(fd);
    unlink(path);
    assert_string_equal(text, "<3>hub: e 1\n<4>storage: w\n<6>hub: i\n<7>hub: d\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_journal_priorities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
