// SPDX-License-Identifier: MIT
/*
 * The Prometheus text exposition format (0.0.4), what the hub's and the sources'
 * /metrics share.
 */
#ifndef RHEINHUB_PROM_TEXT_H
#define RHEINHUB_PROM_TEXT_H

#include <stdio.h>

/*
 * Writes v as a label value goes between its double quotes: backslash, double quote and
 * line feed escaped as the format says, so that no value (a stream or station name that
 * anyone could choose) can end the label or the line and make the whole page unreadable.
 */
void prom_label_value(FILE *out, const char *v);

#endif
