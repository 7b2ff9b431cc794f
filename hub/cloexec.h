// SPDX-License-Identifier: MIT
/*
 * Marks every open descriptor above stderr close-on-exec. Libraries open sockets
 * and socket pairs without it (libmosquitto among them), and children spawned by the
 * hub must not inherit the hub's links.
 */
#ifndef RHEINHUB_CLOEXEC_H
#define RHEINHUB_CLOEXEC_H

/* Returns 0, or a negative errno when /proc/self/fd cannot be read. */
int cloexec_all(void);

#endif
