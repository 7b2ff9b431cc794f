// SPDX-License-Identifier: MIT
/*
 * What every YAML loader of rheinhub shares (hub.yaml, alert rules, analytics windows,
 * a source's file): the document, read with libyaml's document API so that each node
 * keeps its line; the count of errors, each reported as "FILE:LINE: message"
 * (yaml_report.h); and how a scalar reads. Null is spelled as in YAML's core schema:
 * an empty plain scalar, ~, null, Null or NULL; a quoted "null" is a string.
 */
#ifndef RHEINHUB_YAML_LOADER_H
#define RHEINHUB_YAML_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <yaml.h>

struct yaml_loader {
    const char *path;     /* the file as messages name it */
    FILE *err;            /* where reports go; NULL: they are only counted */
    int errors;           /* reports so far */
    yaml_document_t *doc; /* borrowed; set by yaml_loader_read_file or _read_text */
};

/* The largest file a loader reads, in bytes: configuration files are a few KiB. */
#define YAML_LOADER_SIZE_MAX (16 * 1024 * 1024)

/*
 * The deepest nesting of mappings and sequences a file may have, the top level included:
 * the deepest file rheinhub reads (a source's value map) has 6.
 */
#define YAML_LOADER_DEPTH_MAX 32

/*
 * The most entries one mapping (keys) or list (items) may have: the longest lists
 * rheinhub reads (alert rules, device rules) hold 256.
 */
#define YAML_LOADER_ENTRIES_MAX 1024

/*
 * Reads the first document of the file l->path into doc and points l->doc at it; the file
 * is read whole (at most YAML_LOADER_SIZE_MAX bytes) and closed before it returns.
 * Returns 0, and the caller deletes doc (yaml_document_delete); or, with nothing in doc
 * to delete:
 *   -1       a syntax error, reported as "path:line: problem context", or nesting
 *            deeper than YAML_LOADER_DEPTH_MAX: "path:line: nested deeper than 32
 *            levels", a mapping or list of more than YAML_LOADER_ENTRIES_MAX entries,
 *            a second document after the first, or a value holding U+0000; counted;
 *   -errno   the file cannot be opened or read (a folder: -EISDIR; too large: -EFBIG):
 *            "path: cannot open|read <what>: reason" (what NULL: "path: cannot open:
 *            reason"), not counted;
 *   -ENOMEM  libyaml has no memory: "path: out of memory".
 */
int yaml_loader_read_file(struct yaml_loader *l, const char *what, yaml_document_t *doc);

/* The same for len bytes of YAML text in memory, l->path naming them in reports. */
int yaml_loader_read_text(struct yaml_loader *l, const char *text, size_t len,
                          yaml_document_t *doc);

/* Reports "path:line: <fmt ...>" for node (line 1 when NULL) and counts it. */
void yaml_loader_report(struct yaml_loader *l, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The node of l->doc at index (a pair's key or value, a sequence's item). */
yaml_node_t *yaml_loader_node(const struct yaml_loader *l, int index);

/* A scalar node's text; "" for any other node. */
const char *yaml_loader_text(const yaml_node_t *node);

/* Whether node is a plain (unquoted) scalar. */
bool yaml_loader_is_plain(const yaml_node_t *node);

/* Whether node is null: a plain "", "~", "null", "Null" or "NULL". */
bool yaml_loader_is_null(const yaml_node_t *node);

/*
 * A relative path given in the file l->path is taken from that file's own folder: p
 * (size bytes) becomes "<folder>/<p>". Absolute and empty paths stay as they are.
 * Returns 0, or -ENAMETOOLONG (p unchanged) when the joined path does not fit.
 */
int yaml_loader_resolve_path(const struct yaml_loader *l, char *p, size_t size);

/* Whether the scalar key of pair appeared earlier in the same mapping. */
bool yaml_loader_seen_before(const struct yaml_loader *l, const yaml_node_t *map,
                             const yaml_node_pair_t *pair);

#endif
