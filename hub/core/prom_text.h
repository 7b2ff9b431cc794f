// SPDX-License-Identifier: MIT
/*
 * The Prometheus text exposition format (0.0.4), what the hub's, the sources' and the
 * console's /metrics share.
 */
#ifndef RHEINHUB_PROM_TEXT_H
#define RHEINHUB_PROM_TEXT_H

#include <stdint.h>
#include <stdio.h>

/*
 * Writes v as a label value goes between its double quotes: backslash, double quote and
 * line feed escaped as the format says, so that no value (a stream or station name that
 * anyone could choose) can end the label or the line and make the whole page unreadable.
 */
void prom_label_value(FILE *out, const char *v);

/*
 * Writes a sample's name and labels, name{label="value"} or, with label2 not NULL,
 * name{label="value",label2="value2"}, and the space before its value. The values are
 * escaped (prom_label_value): they may come from Redis (stream, group and status key
 * names any client can write) or a configuration file.
 */
void prom_series(FILE *out, const char *name, const char *label, const char *value,
                 const char *label2, const char *value2);

/* The "# HELP" and "# TYPE" lines of a metric; type is "counter", "gauge", ... */
void prom_family(FILE *out, const char *name, const char *type, const char *help);

/* A metric without labels: its HELP and TYPE lines and its one sample. */
void prom_counter(FILE *out, const char *name, const char *help, uint64_t v);
void prom_gauge(FILE *out, const char *name, const char *help, uint64_t v);

#endif
