// SPDX-License-Identifier: MIT
/* "FILE:LINE: message" for YAML configuration errors (see yaml_report.h). */
#include "yaml_report.h"

#include <stdbool.h>

#include "oneline.h"

/* The longest message written; a longer one (a long value quoted) ends in "...". */
#define REPORT_MAX ONELINE_FORMAT_MAX

void yaml_vreport(FILE *err, const char *path, const yaml_node_t *node, const char *fmt,
                  va_list ap)
{
    char line[REPORT_MAX];
    bool whole;

    oneline_vformat(line, sizeof(line), &whole, fmt, ap);
    fprintf(err, "%s:%lu: %s%s\n", path, node ? (unsigned long)node->start_mark.line + 1 : 1UL,
            line, whole ? "" : "...");
}
