// SPDX-License-Identifier: MIT
/*
 * The page's files (files.c): a fixed list read into memory at start from
 * console.files (the source tree's console/page, or /usr/share/rheinhub/console when
 * installed). Only these names are ever served, so no request reaches the file system.
 */
#ifndef RHEINHUB_CONSOLE_FILES_H
#define RHEINHUB_CONSOLE_FILES_H

#include <stddef.h>

struct page_file {
    const char *url;          /* "/", "/console.js", ... */
    const char *name;         /* the file in the folder */
    const char *type;         /* Content-Type */
    char *data;
    size_t len;
    char etag[24];            /* "\"<16 hex>\"" */
};

struct files;

/* Reads every file of the list from dir. NULL with a message on err when one is missing. */
struct files *files_load(const char *dir, char *err, size_t err_size);
void files_free(struct files *f);

/* The file served at url, or NULL. */
const struct page_file *files_find(const struct files *f, const char *url);

#endif
