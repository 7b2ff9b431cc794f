// SPDX-License-Identifier: MIT
/*
 * Log lines go to stderr in one write each, so that lines of the hub and of the
 * workers it supervises never interleave within a line. When stderr is systemd's
 * journal (JOURNAL_STREAM names it, see systemd.exec(5)), or a parent that relays to
 * the journal asks for it (RHEINHUB_LOG_PREFIX=syslog), a line starts with the
 * syslog priority as "<N>" (sd-daemon(3)) instead of the time, which the journal
 * records itself; the level then shows in `journalctl -p`.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "oneline.h"

static enum log_level current_level = LOG_LEVEL_INFO;
static int syslog_prefix = -1; /* -1: not decided yet */

/* The syslog priority of each level: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int level_priorities[] = {3, 4, 6, 7};

static const char *const level_names[] = {
#define X(name, text) text,
    LOG_LEVEL_MAP(X)
#undef X
};

bool log_to_journal(void)
{
    const char *js, *relay;
    unsigned long long dev, ino;
    struct stat st;

    if (syslog_prefix >= 0)
        return syslog_prefix;
    syslog_prefix = 0;
    relay = getenv("RHEINHUB_LOG_PREFIX");
    js = getenv("JOURNAL_STREAM");
    if (relay && strcmp(relay, "syslog") == 0)
        syslog_prefix = 1;
    else if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
             (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
        syslog_prefix = 1;
    return syslog_prefix;
}

void log_set_level(enum log_level level)
{
    current_level = level;
}

bool log_enabled(enum log_level level)
{
    return level <= current_level;
}

const char *log_level_name(enum log_level level)
{
    return level_names[level];
}

int log_level_parse(const char *text, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int r;
    va_list ap;

    if (!log_enabled(level))
        return;
    if (log_to_journal()) {
        n = 0;
        r = snprintf(line, sizeof(line), "<%d>%s: ", level_priorities[level], component);
    } else {
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
        r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %-5s %s: ", ts.tv_nsec / 1000000L,
                     level_names[level], component);
    }
    if (r > 0)
        n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
    /* A message quoting a device's text stays one line: room is left for the '\n'. */
    if (n < sizeof(line) - 1) {
        va_start(ap, fmt);
        n += oneline_vformat(line + n, sizeof(line) - n - 1, NULL, fmt, ap);
        va_end(ap);
    }
    line[n++] = '\n';
    /* One write per line; a short write to stderr is not worth retrying. */
    (void)!write(STDERR_FILENO, line, n);
}

void log_warn_repeat(struct log_repeat *r, long long now_s, long long window_s,
                     const char *component, const char *line)
{
    size_t i, k;

    for (i = 0; i < LOG_REPEAT_TEXTS; i++)
        if (r->seen[i].text[0] && strncmp(line, r->seen[i].text, LOG_REPEAT_TEXT_MAX - 1) == 0)
            break;
    if (i == LOG_REPEAT_TEXTS) {
        /* A new text: in an empty place, else in that of the text logged longest ago. */
        for (i = 0, k = 0; k < LOG_REPEAT_TEXTS; k++) {
            if (!r->seen[k].text[0]) {
                i = k;
                break;
            }
            if (r->seen[k].at_s < r->seen[i].at_s)
                i = k;
        }
        snprintf(r->seen[i].text, sizeof(r->seen[i].text), "%s", line);
        r->seen[i].skipped = 0;
    } else if (now_s - r->seen[i].at_s < window_s) {
        r->seen[i].skipped++;
        return;
    }
    if (r->seen[i].skipped > 0)
        log_warn(component, "%s (%u more like it in the %lld s before)", line,
                 r->seen[i].skipped, window_s);
    else
        log_warn(component, "%s", line);
    r->seen[i].at_s = now_s;
    r->seen[i].skipped = 0;
}

void log_http_server(void *log_repeat, const char *fmt, va_list ap)
{
    struct timespec now;
    char line[LOG_REPEAT_TEXT_MAX];

    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    clock_gettime(CLOCK_MONOTONIC, &now);
    log_warn_repeat(log_repeat, now.tv_sec, LOG_REPEAT_WINDOW_S, "http", line);
}
