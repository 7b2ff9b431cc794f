// SPDX-License-Identifier: MIT
#include "prom_text.h"

#include <inttypes.h>

void prom_label_value(FILE *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            fputs("\\\\", out);
        else if (*v == '"')
            fputs("\\\"", out);
        else if (*v == '\n')
            fputs("\\n", out);
        else
            fputc(*v, out);
    }
}

void prom_series(FILE *out, const char *name, const char *label, const char *value,
                 const char *label2, const char *value2)
{
    fprintf(out, "%s{%s=\"", name, label);
    prom_label_value(out, value);
    if (label2) {
        fprintf(out, "\",%s=\"", label2);
        prom_label_value(out, value2);
    }
    fputs("\"} ", out);
}

void prom_family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_counter(FILE *out, const char *name, const char *help, uint64_t v)
{
    prom_family(out, name, "counter", help);
    fprintf(out, "%s %" PRIu64 "\n", name, v);
}

void prom_gauge(FILE *out, const char *name, const char *help, uint64_t v)
{
    prom_family(out, name, "gauge", help);
    fprintf(out, "%s %" PRIu64 "\n", name, v);
}
