// SPDX-License-Identifier: MIT
/* "FILE:LINE: message" for YAML configuration errors (see yaml_report.h). */
#include "yaml_report.h"

void yaml_vreport(FILE *err, const char *path, const yaml_node_t *node, const char *fmt,
                  va_list ap)
{
    fprintf(err, "%s:%lu: ", path, node ? (unsigned long)node->start_mark.line + 1 : 1UL);
    vfprintf(err, fmt, ap);
    fputc('\n', err);
}
