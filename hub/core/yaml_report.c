// SPDX-License-Identifier: MIT
/* "FILE:LINE: message" for YAML configuration errors (see yaml_report.h). */
#include "yaml_report.h"

#include <stdbool.h>

#include "oneline.h"
#include "utf8.h"

/* The longest message written; a longer one (a long value quoted) ends in "...". */
#define REPORT_MAX 2048

void yaml_vreport(FILE *err, const char *path, const yaml_node_t *node, const char *fmt,
                  va_list ap)
{
    char message[REPORT_MAX], line[REPORT_MAX];
    int n = vsnprintf(message, sizeof(message), fmt, ap);
    bool whole;

    if (n < 0)
        snprintf(message, sizeof(message), "(the message cannot be formatted)");
    else if (n >= (int)sizeof(message))
        message[utf8_cut(message, sizeof(message) - 1)] = '\0';
    oneline_copy(line, sizeof(line), message, &whole);
    fprintf(err, "%s:%lu: %s%s\n", path, node ? (unsigned long)node->start_mark.line + 1 : 1UL,
            line, whole && n < (int)sizeof(message) ? "" : "...");
}
