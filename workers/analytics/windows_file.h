// SPDX-License-Identifier: MIT
/*
 * The analytics windows file (analytics.windows_file in hub.yaml, docs/analytics.md):
 * which windows each event type gets, and which payload fields are counted per value
 * or left out. Without a file every type gets the default windows 1m, 15m, 1h, 1d.
 *
 *   default: [1m, 15m, 1h, 1d]        # types that no entry below matches
 *   types:
 *     sensor.waterlevel:              # a type, or a glob on <category>.<type>
 *       windows: [15m, 1h, 1d]        # first matching entry wins, in file order
 *       count: [fw]                   # also counted per value (string fields)
 *       ignore: [rssi, snr]           # not aggregated at all
 *
 * Categorical fields (counted per value) are, besides `count`, the string fields that
 * the type's schema limits to a list of values (enum or const) and every boolean.
 */
#ifndef RHEINHUB_ANALYTICS_WINDOWS_FILE_H
#define RHEINHUB_ANALYTICS_WINDOWS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "acc.h"

#define WINDOWS_PER_TYPE_MAX 8
#define WINDOWS_RULES_MAX 64
#define WINDOWS_FIELDS_MAX 32

struct windows_rule {
    char pattern[128];                 /* fnmatch(3) glob on <category>.<type> */
    int line;                          /* where it is in the file */
    int64_t windows[WINDOWS_PER_TYPE_MAX]; /* seconds; 0 entries: the default */
    int n_windows;
    char count[WINDOWS_FIELDS_MAX][ACC_NAME_MAX];
    int n_count;
    char ignore[WINDOWS_FIELDS_MAX][ACC_NAME_MAX];
    int n_ignore;
};

struct windows_file {
    int64_t defaults[WINDOWS_PER_TYPE_MAX]; /* seconds */
    int n_defaults;
    struct windows_rule rules[WINDOWS_RULES_MAX];
    int n_rules;
};

/* What one event type gets: its windows and its field classes. */
struct windows_type {
    char name[ACC_NAME_MAX + 8];
    int64_t windows[WINDOWS_PER_TYPE_MAX]; /* seconds, ascending */
    char window_text[WINDOWS_PER_TYPE_MAX][8];
    int n_windows;
    char categorical[WINDOWS_FIELDS_MAX][ACC_NAME_MAX];
    int n_categorical;
    char ignore[WINDOWS_FIELDS_MAX][ACC_NAME_MAX];
    int n_ignore;
};

/* The built-in defaults: windows 1m, 15m, 1h, 1d for every type, no rules. */
void windows_file_defaults(struct windows_file *wf);

/*
 * Loads path over the defaults. Every problem is written to err as "path:line:
 * message", one per line. Returns 0, the negative count of problems, or a negative
 * errno when the file cannot be read (also reported on err).
 */
int windows_file_load(struct windows_file *wf, const char *path, FILE *err);

/*
 * Resolves event type name for wf: the first matching rule's windows (or the
 * defaults), its fields, and the categorical fields of the type's schema
 * <schemas_dir>/<category>/<type>.schema.json (none when there is no readable schema).
 * Returns 0, or -EINVAL for a name that is not <category>.<type>.
 */
int windows_file_resolve(const struct windows_file *wf, const char *name, const char *schemas_dir,
                         struct windows_type *out);

bool windows_type_is_categorical(const struct windows_type *t, const char *field, size_t n);
bool windows_type_is_ignored(const struct windows_type *t, const char *field, size_t n);

#endif
