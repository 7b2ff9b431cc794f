// SPDX-License-Identifier: MIT
/*
 * The one format of configuration errors, for every YAML file rheinhub reads (hub.yaml,
 * alert rules, analytics windows): "FILE:LINE: message", line from the node.
 */
#ifndef RHEINHUB_YAML_REPORT_H
#define RHEINHUB_YAML_REPORT_H

#include <stdarg.h>
#include <stdio.h>

#include <yaml.h>

/* Writes "path:line: <fmt ...>\n" to err; line 1 when node is NULL. The message is
 * one line: its control characters are escaped ("\n", "\x1b"), and a message longer
 * than 2 KiB is cut, ending in "...". */
void yaml_vreport(FILE *err, const char *path, const yaml_node_t *node, const char *fmt,
                  va_list ap) __attribute__((format(printf, 4, 0)));

#endif
