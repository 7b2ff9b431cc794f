// SPDX-License-Identifier: MIT
/*
 * The role of a broker account (accounts.c), read from the registry that
 * deploy/broker/account keeps ("NAME ROLE [ARG...]" lines). The broker checks the
 * password; the registry says whether the account is operations staff at all, so
 * that a device or app account is refused with a message that says why.
 */
#ifndef RHEINHUB_CONSOLE_ACCOUNTS_H
#define RHEINHUB_CONSOLE_ACCOUNTS_H

#include <stddef.h>

/*
 * Writes the role of name in the registry at path into role (size bytes). Returns 0,
 * -ESRCH when the file does not list the account, or the negative errno of opening or
 * reading the file (-ENOENT: there is no file), so that a missing registry is never
 * taken for an account that is not in it.
 */
int accounts_role(const char *path, const char *name, char *role, size_t size);

#endif
