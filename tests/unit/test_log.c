// SPDX-License-Identifier: MIT
/*
 * Unit tests of logging: level names and parsing, the level filter, and the line
 * written to stderr ("<UTC time> <level> <component>: <message>", one write, cut at
 * the line buffer's size but always ending in a newline). stderr is redirected to a
 * temporary file while a case logs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "oneline.h"

/* Where stderr goes while a case logs, and the saved stderr. */
struct capture {
    int fd, saved;
    char path[64];
    char text[4096];
    size_t len;
};

static void capture_begin(struct capture *c)
{
    const char *dir = getenv("TMPDIR");

    snprintf(c->path, sizeof(c->path), "%s/test_log.XXXXXX", dir && *dir ? dir : "/tmp");
    c->fd = mkstemp(c->path);
    assert_true(c->fd >= 0);
    fflush(stderr);
    c->saved = dup(STDERR_FILENO);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(c->fd, STDERR_FILENO), STDERR_FILENO);
}

/* Restores stderr and reads what was written into c->text. */
static void capture_end(struct capture *c)
{
    ssize_t n;

    assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
    close(c->saved);
    assert_int_equal(lseek(c->fd, 0, SEEK_SET), 0);
    n = read(c->fd, c->text, sizeof(c->text) - 1);
    assert_true(n >= 0);
    c->len = (size_t)n;
    c->text[c->len] = '\0';
    close(c->fd);
    unlink(c->path);
}

static int restore_level(void **state)
{
    log_set_level(LOG_LEVEL_INFO);
    return 0;
}

static void log_level_names(void **state)
{
    assert_string_equal(log_level_name(LOG_LEVEL_ERROR), "error");
    assert_string_equal(log_level_name(LOG_LEVEL_WARN), "warn");
    assert_string_equal(log_level_name(LOG_LEVEL_INFO), "info");
    assert_string_equal(log_level_name(LOG_LEVEL_DEBUG), "debug");
}

static void log_level_parse_round_trip(void **state)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    enum log_level level;

    for (int i = 0; i < 4; i++) {
        level = (enum log_level)99;
        assert_int_equal(log_level_parse(names[i], &level), 0);
        assert_int_equal(level, i);
        assert_string_equal(log_level_name(level), names[i]);
    }
}

static void log_level_parse_rejects(void **state)
{
    static const char *const bad[] = {"", "Info", "INFO", "warning", "trace", "info ", "debug2"};
    enum log_level level = LOG_LEVEL_WARN;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(log_level_parse(bad[i], &level), -EINVAL);
        assert_int_equal(level, LOG_LEVEL_WARN);
    }
}

static void log_enabled_filters(void **state)
{
    log_set_level(LOG_LEVEL_WARN);
    assert_true(log_enabled(LOG_LEVEL_ERROR));
    assert_true(log_enabled(LOG_LEVEL_WARN));
    assert_false(log_enabled(LOG_LEVEL_INFO));
    assert_false(log_enabled(LOG_LEVEL_DEBUG));
    log_set_level(LOG_LEVEL_DEBUG);
    assert_true(log_enabled(LOG_LEVEL_DEBUG));
    log_set_level(LOG_LEVEL_ERROR);
    assert_true(log_enabled(LOG_LEVEL_ERROR));
    assert_false(log_enabled(LOG_LEVEL_WARN));
}

static void log_line_format(void **state)
{
    struct capture c;
    regex_t re;
    regmatch_t m[2];
    struct tm tm;
    time_t before, after, logged;
    char stamp[32];

    log_set_level(LOG_LEVEL_INFO);
    before = time(NULL);
    capture_begin(&c);
    log_warn("hub", "disk %d%% full", 42);
    capture_end(&c);
    after = time(NULL);

    assert_int_equal(regcomp(&re,
                             "^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})"
                             "\\.[0-9]{3}Z warn  hub: disk 42% full\n$",
                             REG_EXTENDED),
                     0);
    if (regexec(&re, c.text, 2, m, 0) != 0)
        fail_msg("log line has the wrong form: \"%s\"", c.text);
    regfree(&re);

    /* The time is UTC and now. */
    snprintf(stamp, sizeof(stamp), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), c.text + m[1].rm_so);
    memset(&tm, 0, sizeof(tm));
    assert_non_null(strptime(stamp, "%Y-%m-%dT%H:%M:%S", &tm));
    logged = timegm(&tm);
    assert_in_range(logged, before, after);
}

static void log_level_column(void **state)
{
    struct capture c;

    log_set_level(LOG_LEVEL_DEBUG);
    capture_begin(&c);
    log_error("a", "1");
    log_info("b", "2");
    log_debug("c", "3");
    capture_end(&c);
    /* Each line: 24 characters of time, a space, the level padded to five, a space. */
    assert_int_equal(c.len, 3 * (24 + 1 + 5 + 1 + 4 + 1));
    assert_memory_equal(c.text + 25, "error a: 1\n", 11);
    assert_memory_equal(c.text + 36 + 25, "info  b: 2\n", 11);
    assert_memory_equal(c.text + 72 + 25, "debug c: 3\n", 11);
}

static void log_filtered_writes_nothing(void **state)
{
    struct capture c;

    log_set_level(LOG_LEVEL_WARN);
    capture_begin(&c);
    log_info("hub", "not shown");
    log_debug("hub", "not shown either");
    capture_end(&c);
    assert_int_equal(c.len, 0);
    assert_string_equal(c.text, "");
}

static void log_long_message_cut(void **state)
{
    struct capture c;
    char big[3000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_set_level(LOG_LEVEL_INFO);
    capture_begin(&c);
    log_info("hub", "%s", big);
    log_info("hub", "after");
    capture_end(&c);
    /* The first line fills the 1024-byte buffer but for its NUL, and ends in '\n'. */
    assert_true(c.len > 1023);
    assert_int_equal(c.text[1022], '\n');
    assert_int_equal(c.text[1021], 'x');
    assert_non_null(strstr(c.text + 1023, " info  hub: after\n"));
    assert_int_equal(c.text[c.len - 1], '\n');
}

/* A message quoting what a device sent stays one line: a line feed in it cannot make a
 * line that looks like the hub's own, nor an escape sequence reach the terminal. */
static void log_control_characters_escaped(void **state)
{
    struct capture c;

    log_set_level(LOG_LEVEL_INFO);
    capture_begin(&c);
    log_warn("deadletter", "mapping from %s: %s", "t/up",
             "level is \"x\n2026-12-08T00:00:00.000Z error hub: \x1b[2Jgone\t\r\x7f\"");
    capture_end(&c);
    assert_non_null(strstr(c.text, " warn  deadletter: mapping from t/up: level is \"x\\n"
                                   "2026-12-08T00:00:00.000Z error hub: \\x1b[2Jgone\\t\\r"
                                   "\\x7f\"\n"));
    assert_ptr_equal(strchr(c.text, '\n'), c.text + c.len - 1);
}

/* oneline_copy: the escapes, and a cut that keeps whole escapes and characters. */
static void oneline_copy_cuts_whole(void **state)
{
    char out[8];
    bool whole;

    assert_int_equal(oneline_copy(out, sizeof(out), "a\nb", &whole), 4);
    assert_string_equal(out, "a\\nb");
    assert_true(whole);
    /* "\x01" (4 bytes) does not fit after "abcd" in 7: left out whole. */
    assert_int_equal(oneline_copy(out, sizeof(out), "abcd\x01", &whole), 4);
    assert_string_equal(out, "abcd");
    assert_false(whole);
    /* "ä" (2 bytes) after "abcdef" in 7: not half of it. */
    assert_int_equal(oneline_copy(out, sizeof(out), "abcdef\xc3\xa4", &whole), 6);
    assert_string_equal(out, "abcdef");
    assert_false(whole);
    assert_int_equal(oneline_copy(out, 1, "x", &whole), 0);
    assert_string_equal(out, "");
    assert_false(whole);
    assert_int_equal(oneline_copy(out, 0, "x", NULL), 0);
}

/* Lines of c->text that contain s. */
static int lines_with(const struct capture *c, const char *s)
{
    int n = 0;

    for (const char *p = c->text; (p = strstr(p, s)); p += strlen(s))
        n++;
    return n;
}

static void log_warn_repeat_counts_what_it_leaves_out(void **state)
{
    struct log_repeat r;
    struct capture c;

    memset(&r, 0, sizeof(r));
    log_set_level(LOG_LEVEL_INFO);
    capture_begin(&c);
    for (int k = 0; k < 5; k++) /* five refused connections in the same second */
        log_warn_repeat(&r, 100, 60, "http", "connection limit reached");
    log_warn_repeat(&r, 101, 60, "http", "closed with incomplete request");
    log_warn_repeat(&r, 102, 60, "http", "connection limit reached");
    log_warn_repeat(&r, 160, 60, "http", "connection limit reached"); /* the window over */
    log_warn_repeat(&r, 161, 60, "http", "connection limit reached");
    log_warn_repeat(&r, 300, 60, "http", "connection limit reached");
    capture_end(&c);
    assert_int_equal(lines_with(&c, "http: connection limit reached\n"), 1);
    assert_int_equal(lines_with(&c, "http: closed with incomplete request\n"), 1);
    assert_int_equal(lines_with(&c, "http: connection limit reached (5 more like it in the "
                                    "60 s before)\n"), 1);
    assert_int_equal(lines_with(&c, "http: connection limit reached (1 more like it in the "
                                    "60 s before)\n"), 1);
    assert_int_equal(lines_with(&c, " warn  "), 4);
}

static void log_warn_repeat_remembers_several_texts(void **state)
{
    struct log_repeat r;
    struct capture c;
    char text[32];

    memset(&r, 0, sizeof(r));
    log_set_level(LOG_LEVEL_INFO);
    capture_begin(&c);
    for (int round = 0; round < 3; round++) /* texts taking turns, each logged once */
        for (int k = 0; k < LOG_REPEAT_TEXTS; k++) {
            snprintf(text, sizeof(text), "message %d", k);
            log_warn_repeat(&r, 10 + round, 60, "http", text);
        }
    /* A text more than it remembers takes the place of one logged longest ago (message
     * 0's); message 0, back, takes message 1's, and so on; message 7 is still known. */
    log_warn_repeat(&r, 20, 60, "http", "message new");
    log_warn_repeat(&r, 21, 60, "http", "message 0");
    log_warn_repeat(&r, 22, 60, "http", "message 1");
    log_warn_repeat(&r, 23, 60, "http", "message 7");
    capture_end(&c);
    assert_int_equal(lines_with(&c, " warn  "), LOG_REPEAT_TEXTS + 3);
    assert_int_equal(lines_with(&c, "http: message 0\n"), 2);
    assert_int_equal(lines_with(&c, "http: message 1\n"), 2);
    assert_int_equal(lines_with(&c, "http: message 7\n"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_level_names),
        cmocka_unit_test(log_level_parse_round_trip),
        cmocka_unit_test(log_level_parse_rejects),
        cmocka_unit_test_teardown(log_enabled_filters, restore_level),
        cmocka_unit_test_teardown(log_line_format, restore_level),
        cmocka_unit_test_teardown(log_level_column, restore_level),
        cmocka_unit_test_teardown(log_filtered_writes_nothing, restore_level),
        cmocka_unit_test_teardown(log_long_message_cut, restore_level),
        cmocka_unit_test_teardown(log_control_characters_escaped, restore_level),
        cmocka_unit_test(oneline_copy_cuts_whole),
        cmocka_unit_test_teardown(log_warn_repeat_counts_what_it_leaves_out, restore_level),
        cmocka_unit_test_teardown(log_warn_repeat_remembers_several_texts, restore_level),
    };

    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
