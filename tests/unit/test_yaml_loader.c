// SPDX-License-Identifier: MIT
/*
 * Unit tests of what every YAML loader shares (hub/core/yaml_loader.c): how a file
 * that is not a configuration at all is refused, with "FILE:LINE: reason" or
 * "FILE: reason", before any loader looks at its keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yaml_loader.h"

struct read {
    int rc;
    int errors;
    char *err; /* what the loader wrote to its error stream */
    yaml_document_t doc;
};

/* Reads len bytes of text as the file "t.yaml"; the document is deleted on success. */
static void read_text(struct read *r, const char *text, size_t len)
{
    struct yaml_loader l = {.path = "t.yaml"};
    size_t err_len = 0;

    l.err = open_memstream(&r->err, &err_len);
    assert_non_null(l.err);
    r->rc = yaml_loader_read_text(&l, text, len, &r->doc);
    r->errors = l.errors;
    assert_int_equal(fclose(l.err), 0);
    if (r->rc == 0)
        yaml_document_delete(&r->doc);
}

/* Reads path as a file, with what as the loaders name it. */
static void read_file(struct read *r, const char *path, const char *what)
{
    struct yaml_loader l = {.path = path};
    size_t err_len = 0;

    l.err = open_memstream(&r->err, &err_len);
    assert_non_null(l.err);
    r->rc = yaml_loader_read_file(&l, what, &r->doc);
    r->errors = l.errors;
    assert_int_equal(fclose(l.err), 0);
    if (r->rc == 0)
        yaml_document_delete(&r->doc);
}

static const char *tmp_dir(void)
{
    const char *dir = getenv("TMPDIR");
    return dir && *dir ? dir : "/tmp";
}

/* A folder given for the file: refused, naming the reason, not "input error". */
static void yaml_loader_directory_refused(void **state)
{
    char dir[256], expected[512];
    struct read r;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/test_yaml_loader.XXXXXX", tmp_dir());
    assert_non_null(mkdtemp(dir));
    read_file(&r, dir, "the rules file");
    assert_int_equal(rmdir(dir), 0);
    snprintf(expected, sizeof(expected), "%s: cannot read the rules file: %s\n", dir,
             strerror(EISDIR));
    assert_string_equal(r.err, expected);
    assert_int_equal(r.rc, -EISDIR);
    assert_int_equal(r.errors, 0); /* like a file that cannot be opened */
    free(r.err);

    read_file(&r, "/", NULL);
    snprintf(expected, sizeof(expected), "/: cannot read: %s\n", strerror(EISDIR));
    assert_string_equal(r.err, expected);
    assert_int_equal(r.rc, -EISDIR);
    free(r.err);
}

/* A file past YAML_LOADER_SIZE_MAX is refused before it is parsed. */
static void yaml_loader_too_large_refused(void **state)
{
    char path[256], expected[512];
    struct read r;
    FILE *f;
    int fd;

    (void)state;
    snprintf(path, sizeof(path), "%s/test_yaml_loader.XXXXXX", tmp_dir());
    assert_true((fd = mkstemp(path)) >= 0);
    assert_non_null(f = fdopen(fd, "w"));
    /* A comment line one byte past the bound. */
    assert_true(fputc('#', f) != EOF);
    for (int i = 0; i < YAML_LOADER_SIZE_MAX; i++)
        assert_true(putc('x', f) != EOF);
    assert_int_equal(fclose(f), 0);
    read_file(&r, path, NULL);
    unlink(path);
    snprintf(expected, sizeof(expected), "%s: cannot read: larger than %d bytes\n", path,
             YAML_LOADER_SIZE_MAX);
    assert_string_equal(r.err, expected);
    assert_int_equal(r.rc, -EFBIG);
    free(r.err);
}

/* "a: " and depth '[' ... ']' pairs, on one line. */
static char *nested(size_t depth, size_t *len)
{
    char *text = malloc(depth * 2 + 8);

    assert_non_null(text);
    memcpy(text, "a: ", 3);
    memset(text + 3, '[', depth);
    memset(text + 3 + depth, ']', depth);
    memcpy(text + 3 + depth * 2, "\n", 2);
    *len = depth * 2 + 4;
    return text;
}

static void yaml_loader_nesting_within_bound(void **state)
{
    size_t len;
    char *text = nested(YAML_LOADER_DEPTH_MAX - 1, &len); /* the root mapping is one level */
    struct read r;

    (void)state;
    read_text(&r, text, len);
    assert_string_equal(r.err, "");
    assert_int_equal(r.rc, 0);
    free(r.err);
    free(text);
}

static void yaml_loader_nesting_too_deep(void **state)
{
    static const size_t depths[] = {YAML_LOADER_DEPTH_MAX, 100000};
    char expected[128];

    (void)state;
    snprintf(expected, sizeof(expected), "t.yaml:1: nested deeper than %d levels\n",
             YAML_LOADER_DEPTH_MAX);
    for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
        size_t len;
        char *text = nested(depths[i], &len);
        struct read r;

        read_text(&r, text, len);
        assert_string_equal(r.err, expected);
        assert_int_equal(r.rc, -1);
        assert_int_equal(r.errors, 1);
        free(r.err);
        free(text);
    }
}

/* A mapping of n keys "kI: 1" under "s:", one a line (line 2 holds k0). */
static char *many_keys(size_t n, size_t *len)
{
    char *text = malloc(n * 16 + 8), *p = text;

    assert_non_null(text);
    p += sprintf(p, "s:\n");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "  k%zu: 1\n", i);
    *len = (size_t)(p - text);
    return text;
}

/* A list of n items "- 1" (line I + 1 holds item I). */
static char *many_items(size_t n, size_t *len)
{
    char *text = malloc(n * 4 + 1), *p = text;

    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "- 1\n");
    *len = (size_t)(p - text);
    return text;
}

/* Collections past YAML_LOADER_ENTRIES_MAX are refused where the first entry too many is:
 * the loaders' checks for repeated keys compare each key with those before it. */
static void yaml_loader_entries_bound(void **state)
{
    char expected[128];
    size_t len;
    char *text;
    struct read r;

    (void)state;
    text = many_keys(YAML_LOADER_ENTRIES_MAX, &len);
    read_text(&r, text, len);
    assert_string_equal(r.err, "");
    assert_int_equal(r.rc, 0);
    free(r.err);
    free(text);

    text = many_keys(100000, &len);
    read_text(&r, text, len);
    snprintf(expected, sizeof(expected), "t.yaml:%d: more than %d entries in one mapping\n",
             YAML_LOADER_ENTRIES_MAX + 2, YAML_LOADER_ENTRIES_MAX);
    assert_string_equal(r.err, expected);
    assert_int_equal(r.rc, -1);
    free(r.err);
    free(text);

    text = many_items(YAML_LOADER_ENTRIES_MAX + 1, &len);
    read_text(&r, text, len);
    snprintf(expected, sizeof(expected), "t.yaml:%d: more than %d entries in one list\n",
             YAML_LOADER_ENTRIES_MAX + 1, YAML_LOADER_ENTRIES_MAX);
    assert_string_equal(r.err, expected);
    assert_int_equal(r.rc, -1);
    free(r.err);
    free(text);
}

/* What follows a first document is not silently left unread. */
static void yaml_loader_second_document_refused(void **state)
{
    static const struct {
        const char *text;
        const char *err;
    } cases[] = {
        {"mqtt:\n  port: 1883\n---\nmqtt:\n  port: 2\n",
         "t.yaml:3: a second YAML document begins here; the file holds one\n"},
        {"a: 1\n...\n---\nb: 2\n",
         "t.yaml:3: a second YAML document begins here; the file holds one\n"},
        {"a: 1\n...\n# the rest\nb: 2\n", "t.yaml:4: did not find expected <document start>\n"},
        {"a: 1\n---\n[unclosed\n",
         "t.yaml:2: a second YAML document begins here; the file holds one\n"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct read r;

        read_text(&r, cases[i].text, strlen(cases[i].text));
        assert_string_equal(r.err, cases[i].err);
        assert_int_equal(r.rc, -1);
        free(r.err);
    }
}

/* A "\0" escape would cut the value short wherever it is used as a C string. */
static void yaml_loader_nul_in_a_value_refused(void **state)
{
    static const struct {
        const char *text;
        const char *err;
    } cases[] = {
        {"mqtt:\n  client_id: \"abc\\0def\"\n",
         "t.yaml:2: a value holds the character U+0000 (\"\\0\")\n"},
        {"\"k\\0ey\": 1\n", "t.yaml:1: a value holds the character U+0000 (\"\\0\")\n"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct read r;

        read_text(&r, cases[i].text, strlen(cases[i].text));
        assert_string_equal(r.err, cases[i].err);
        assert_int_equal(r.rc, -1);
        free(r.err);
    }
}

/* One document, with or without its markers, is read as before. */
static void yaml_loader_one_document(void **state)
{
    static const char *const texts[] = {"a: 1\n", "---\na: 1\n", "---\na: 1\n...\n",
                                        "# c\n---\na: 1\n...\n# end\n", ""};

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct read r;

        read_text(&r, texts[i], strlen(texts[i]));
        assert_string_equal(r.err, "");
        assert_int_equal(r.rc, 0);
        free(r.err);
    }
}

/* A report quoting a value is one line of text whatever the value held: its control
 * characters escaped, a message past 2 KiB cut ("...") before a character, not in it. */
static void yaml_loader_report_is_one_line(void **state)
{
    struct yaml_loader l = {.path = "t.yaml"};
    char *err = NULL, *end;
    size_t err_len = 0;
    char long_value[3000];

    (void)state;
    /* "é" (2 bytes) throughout, after "xy": the cut at 2,047 bytes falls inside one. */
    for (size_t i = 0; i + 2 < sizeof(long_value); i += 2)
        memcpy(long_value + i, "\xc3\xa9", 2);
    long_value[sizeof(long_value) - 2] = '\0';
    l.err = open_memstream(&err, &err_len);
    assert_non_null(l.err);
    yaml_loader_report(&l, NULL, "unknown key '%s'", "a\nb\tc\rd\x1b[31me\x7f");
    yaml_loader_report(&l, NULL, "xy%s", long_value);
    assert_int_equal(fclose(l.err), 0);
    assert_int_equal(l.errors, 2);
    end = strchr(err, '\n');
    assert_non_null(end);
    assert_memory_equal(err, "t.yaml:1: unknown key 'a\\nb\\tc\\rd\\x1b[31me\\x7f'\n",
                        (size_t)(end - err + 1));
    /* "t.yaml:1: xy", the whole "é" of the 2,045 bytes after "xy" (1,022; the 2,047th
     * byte would be half of one), "...". */
    assert_int_equal(strlen(end + 1), strlen("t.yaml:1: xy") + 1022 * 2 + 3 + 1);
    assert_memory_equal(end + 1 + strlen("t.yaml:1: xy") + 1022 * 2, "...\n", 4);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(yaml_loader_directory_refused),
        cmocka_unit_test(yaml_loader_too_large_refused),
        cmocka_unit_test(yaml_loader_nesting_within_bound),
        cmocka_unit_test(yaml_loader_nesting_too_deep),
        cmocka_unit_test(yaml_loader_entries_bound),
        cmocka_unit_test(yaml_loader_second_document_refused),
        cmocka_unit_test(yaml_loader_nul_in_a_value_refused),
        cmocka_unit_test(yaml_loader_one_document),
        cmocka_unit_test(yaml_loader_report_is_one_line),
    };

    return cmocka_run_group_tests_name("yaml_loader", tests, NULL, NULL);
}
