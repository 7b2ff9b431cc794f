// SPDX-License-Identifier: MIT
/*
 * Durations as the configuration and the alerting rules write them: one or more
 * <number><unit> with units ms, s, m, h, d ("90s", "30m", "1h30m", "2d"), as
 * nanoseconds. Shared by hub.yaml (config.c) and the alerting worker's rules file.
 */
#ifndef RHEINHUB_CORE_DURATION_H
#define RHEINHUB_CORE_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* The longest duration accepted: 365 days, in ns. */
#define DURATION_MAX_NS (365LL * 86400 * 1000000000LL)

/*
 * Parses a duration ("90s", "1h30m"); the total must be positive and at most
 * DURATION_MAX_NS. Returns 0, or -EINVAL.
 */
int duration_parse(const char *s, int64_t *ns);

/* Writes a duration in the largest units that are exact: "30m", "1h30m", "500ms". */
void duration_format(int64_t ns, char *out, size_t size);

#endif
