// SPDX-License-Identifier: MIT
/*
 * Logging for the hub and the workers: one line per event of interest on stderr,
 * "<UTC time> <level> <component>: <message>", filtered by a process-wide level;
 * "<N><component>: <message>" with N the syslog priority when stderr is the journal.
 */
#ifndef RHEINHUB_LOG_H
#define RHEINHUB_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#define LOG_LEVEL_MAP(X)                                                                           \
    X(ERROR, "error")                                                                              \
    X(WARN, "warn")                                                                                \
    X(INFO, "info")                                                                                \
    X(DEBUG, "debug")

enum log_level {
#define X(name, text) LOG_LEVEL_##name,
    LOG_LEVEL_MAP(X)
#undef X
};

/*
 * True when lines carry a syslog priority prefix "<N>" for the journal instead of
 * the time: stderr is the journal stream, or RHEINHUB_LOG_PREFIX=syslog. Decided at
 * the first call.
 */
bool log_to_journal(void);

void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);

/* Parses "error", "warn", "info" or "debug". Returns 0, or -EINVAL. */
int log_level_parse(const char *text, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The messages of a library that may repeat once per connection or request (an HTTP
 * server's "connection limit reached"): one struct per caller, zeroed at start. A line
 * whose text was logged less than window_s ago is counted instead of logged (at warn
 * level); the next line of that text after the window says how many were left out.
 * The last LOG_REPEAT_TEXTS texts are remembered. now_s: a monotonic clock's seconds.
 */
#define LOG_REPEAT_TEXTS 8
#define LOG_REPEAT_TEXT_MAX 256
#define LOG_REPEAT_WINDOW_S 60 /* the window of the HTTP servers' messages */

struct log_repeat {
    struct {
        char text[LOG_REPEAT_TEXT_MAX];
        long long at_s;    /* when it was last logged */
        unsigned skipped;  /* since then */
    } seen[LOG_REPEAT_TEXTS];
};

void log_warn_repeat(struct log_repeat *r, long long now_s, long long window_s,
                     const char *component, const char *line);

/*
 * libmicrohttpd's external logger (MHD_OPTION_EXTERNAL_LOGGER, with the server's
 * struct log_repeat as its argument): a message as a warning of component "http", each
 * text at most once in LOG_REPEAT_WINDOW_S (one per connection else).
 */
void log_http_server(void *log_repeat, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define log_error(comp, ...) log_msg(LOG_LEVEL_ERROR, comp, __VA_ARGS__)
#define log_warn(comp, ...) log_msg(LOG_LEVEL_WARN, comp, __VA_ARGS__)
#define log_info(comp, ...) log_msg(LOG_LEVEL_INFO, comp, __VA_ARGS__)
#define log_debug(comp, ...)                                                                       \
    do {                                                                                           \
        if (log_enabled(LOG_LEVEL_DEBUG))                                                          \
            log_msg(LOG_LEVEL_DEBUG, comp, __VA_ARGS__);                                           \
    } while (0)

#endif
