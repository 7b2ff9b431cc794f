// SPDX-License-Identifier: MIT
/*
 * Unit tests of the console's registry look-up, on a file as deploy/broker/account
 * writes it: comments skipped, the role of a listed name, a missing name, a name that
 * is only a prefix of another, and a missing file, which is told apart from a name
 * that the file does not list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "accounts.h"

static void accounts_roles(void **state)
{
    char path[] = "/tmp/rheinhub-accounts-XXXXXX", role[32];
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    (void)state;
    assert_non_null(f);
    fputs("# rheinhub broker accounts: NAME ROLE [ARG...]. Written by deploy/broker/account;\n"
          "ops.anna operator\n"
          "rhein-pegel-1 device\n"
          "linz-app app citizen.report citizen.feedback\n"
          "kaiserslautern bridge in=kaiserslautern/sensor/# out=linz/alerts/#\n", f);
    fclose(f);
    assert_int_equal(accounts_role(path, "ops.anna", role, sizeof(role)), 0);
    assert_string_equal(role, "operator");
    assert_int_equal(accounts_role(path, "rhein-pegel-1", role, sizeof(role)), 0);
    assert_string_equal(role, "device");
    assert_int_equal(accounts_role(path, "linz-app", role, sizeof(role)), 0);
    assert_string_equal(role, "app");
    assert_int_equal(accounts_role(path, "ops", role, sizeof(role)), -ESRCH);
    assert_int_equal(accounts_role(path, "#", role, sizeof(role)), -ESRCH);
    unlink(path);
    assert_int_equal(accounts_role(path, "ops.anna", role, sizeof(role)), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accounts_roles),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
