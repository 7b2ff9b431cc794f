// SPDX-License-Identifier: MIT
/*
 * How many entries a read asks for (worker_read_count.c): batch_max counts events, and
 * an entry holds one or several.
 */
#ifndef RHEINHUB_WORKER_READ_COUNT_H
#define RHEINHUB_WORKER_READ_COUNT_H

#include <stddef.h>

struct worker;

/* The COUNT of the next XREADGROUP or XAUTOCLAIM, in entries. */
int worker_read_count(const struct worker *w);

/*
 * Learns from a read that split entries entries of bytes envelope bytes into events
 * events (0, 0, 0: nothing).
 */
void worker_read_count_learn(struct worker *w, size_t entries, size_t events, size_t bytes);

#endif
