// SPDX-License-Identifier: MIT
/*
 * What `rheinhub-storage query` prints: one row at a time as JSON lines or as CSV
 * (RFC 4180: a header record, CRLF after every record, fields with a comma, quote, CR
 * or LF in double quotes, quotes doubled). Nothing is kept between rows, so memory
 * stays bounded whatever the result's size.
 *
 * Events are printed with their columns (EXPORT_EVENT_COLUMNS), data as a JSON value.
 * Alerts and aggregates are printed as their JSON documents (DESIGN.md, Alert JSON;
 * schemas/aggregate.schema.json): a JSON line is the document, a CSV record has one
 * field per member of the schema.
 */
#ifndef RHEINHUB_STORAGE_EXPORT_H
#define RHEINHUB_STORAGE_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "row.h"

enum export_format { EXPORT_JSONL, EXPORT_CSV };

/* Columns of an events row, in the order a backend hands them over. */
#define EXPORT_EVENT_COLUMNS(X)                                                                    \
    X(ID, "id", EXPORT_STR)                                                                        \
    X(MUNICIPALITY, "municipality", EXPORT_STR)                                                    \
    X(CATEGORY, "category", EXPORT_STR)                                                            \
    X(TYPE, "type", EXPORT_STR)                                                                    \
    X(SUBJECT, "subject", EXPORT_STR)                                                              \
    X(TIME, "time", EXPORT_STR)                                                                    \
    X(RECEIVED, "received", EXPORT_NUM)                                                            \
    X(SOURCE, "source", EXPORT_STR)                                                                \
    X(DATA, "data", EXPORT_JSON)

enum export_kind {
    EXPORT_STR,  /* text: a JSON string, a plain CSV field */
    EXPORT_NUM,  /* digits: a JSON number */
    EXPORT_JSON, /* JSON text: as it is in JSON lines, as text in CSV */
};

enum export_event_column {
#define X(name, text, kind) EXPORT_EVENT_##name,
    EXPORT_EVENT_COLUMNS(X)
#undef X
        EXPORT_EVENT_NCOLS
};

/* One value of a row; ptr NULL is null. Not NUL-terminated. */
struct export_value {
    const char *ptr;
    size_t len;
};

struct export {
    FILE *out;
    enum export_format format;
    enum store_table table;
    uint64_t rows;   /* written so far */
    bool started;    /* the CSV header is out */
};

/* "jsonl" or "csv". Returns 0, or -EINVAL. */
int export_format_parse(const char *text, enum export_format *out);

void export_init(struct export *x, FILE *out, enum export_format format, enum store_table table);

/*
 * Writes one row: for events EXPORT_EVENT_NCOLS values in column order, for alerts
 * and aggregates one value, the JSON document. The CSV header goes out before the
 * first row. Returns 0; -EINVAL when a document is not a JSON object; -EIO when the
 * output failed (errno says why).
 */
int export_row(struct export *x, const struct export_value *values, size_t n);

/* Writes the CSV header if no row came, and flushes. Returns 0, or -EIO. */
int export_finish(struct export *x);

#endif
