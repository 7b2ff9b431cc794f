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
 * -ENOENT when the account is not listed, or another negative errno when the file
 * cannot be read.
 */
int accounts_role(const char *path, const char *name, char *role, size_t size);

#endif
