// SPDX-License-Identifier: MIT
/* hub.yaml loading tests' fixture (config_fixture.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_fixture.h"

const char *tmp_dir(void)
{
    const char *dir = getenv("TMPDIR");
    return dir && *dir ? dir : "/tmp";
}

/* Writes text to a temporary file, loads it, and removes the file. */
void load_text(struct loaded *l, const char *text)
{
    size_t err_len = 0, n = strlen(text);
    FILE *err;
    int fd;

    snprintf(l->path, sizeof(l->path), "%s/test_config.XXXXXX", tmp_dir());
    fd = mkstemp(l->path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
    err = open_memstream(&l->err, &err_len);
    assert_non_null(err);
    memset(&l->cfg, 0x5a, sizeof(l->cfg));
    l->rc = config_load(&l->cfg, l->path, err);
    assert_int_equal(fclose(err), 0);
    unlink(l->path);
}

void loaded_free(struct loaded *l)
{
    free(l->err);
    l->err = NULL;
}

/* Loads text, which must be good, into *cfg. */
void load_good(const char *text, struct hub_config *cfg)
{
    struct loaded l;
    char err[4096];

    load_text(&l, text);
    snprintf(err, sizeof(err), "%s", l.err);
    loaded_free(&l);
    assert_string_equal(err, "");
    assert_int_equal(l.rc, 0);
    memcpy(cfg, &l.cfg, sizeof(*cfg));
}

/*
 * Loads text, which must have exactly the errors given as "LINE: message" lines
 * (each ending in '\n'); the file's path is put in front of each.
 */
void load_bad(const char *text, int n_errors, const char *errors)
{
    struct loaded l;
    char expected[4096], err[4096];
    size_t n = 0;

    load_text(&l, text);
    for (const char *line = errors; *line;) {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        n += (size_t)snprintf(expected + n, sizeof(expected) - n, "%s:%.*s\n", l.path,
                              (int)(end - line), line);
        assert_true(n < sizeof(expected));
        line = end + 1;
    }
    snprintf(err, sizeof(err), "%s", l.err);
    loaded_free(&l);
    assert_string_equal(err, expected);
    assert_int_equal(l.rc, -n_errors);
}
