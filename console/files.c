// SPDX-License-Identifier: MIT
/* The page's files (files.h); each gets a strong ETag from its bytes (FNV-1a, 64 bit). */
#include "files.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX (1024 * 1024)

static const struct page_file list[] = {
    {"/", "index.html", "text/html; charset=utf-8", NULL, 0, ""},
    {"/console.css", "console.css", "text/css; charset=utf-8", NULL, 0, ""},
    {"/console.js", "console.js", "text/javascript; charset=utf-8", NULL, 0, ""},
    {"/i18n.js", "i18n.js", "text/javascript; charset=utf-8", NULL, 0, ""},
    {"/chart.js", "chart.js", "text/javascript; charset=utf-8", NULL, 0, ""},
    {"/icon.svg", "icon.svg", "image/svg+xml", NULL, 0, ""},
};

#define N_FILES (sizeof(list) / sizeof(list[0]))

struct files {
    struct page_file f[N_FILES];
};

static int read_all(const char *path, char **data, size_t *len)
{
    FILE *in = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!in)
        return -errno;
    if (!(buf = malloc(FILE_MAX))) {
        fclose(in);
        return -ENOMEM;
    }
    n = fread(buf, 1, FILE_MAX, in);
    if (ferror(in) || !feof(in)) {
        int e = ferror(in) ? EIO : EFBIG;
        fclose(in);
        free(buf);
        return -e;
    }
    fclose(in);
    *data = buf;
    *len = n;
    return 0;
}

struct files *files_load(const char *dir, char *err, size_t err_size)
{
    struct files *f = calloc(1, sizeof(*f));

    if (!f) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < N_FILES; i++) {
        char path[2048];
        uint64_t h = 1469598103934665603ULL;
        int r;

        f->f[i] = list[i];
        snprintf(path, sizeof(path), "%s/%s", dir, list[i].name);
        if ((r = read_all(path, &f->f[i].data, &f->f[i].len)) < 0) {
            snprintf(err, err_size, "%s: %s", path, strerror(-r));
            files_free(f);
            return NULL;
        }
        for (size_t k = 0; k < f->f[i].len; k++)
            h = (h ^ (unsigned char)f->f[i].data[k]) * 1099511628211ULL;
        snprintf(f->f[i].etag, sizeof(f->f[i].etag), "\"%016llx\"", (unsigned long long)h);
    }
    return f;
}

void files_free(struct files *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < N_FILES; i++)
        free(f->f[i].data);
    free(f);
}

const struct page_file *files_find(const struct files *f, const char *url)
{
    if (strcmp(url, "/index.html") == 0)
        url = "/";
    for (size_t i = 0; i < N_FILES; i++)
        if (strcmp(f->f[i].url, url) == 0)
            return &f->f[i];
    return NULL;
}
