// SPDX-License-Identifier: MIT
/*
 * Text made one line for a log or a report: a message may quote what a device, a
 * network server or a configuration file wrote, and a line feed or an escape sequence
 * in it must not start a line of its own in the journal or reach the terminal.
 */
#ifndef RHEINHUB_ONELINE_H
#define RHEINHUB_ONELINE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* The longest text oneline_vformat formats before it escapes it; longer is cut. */
#define ONELINE_FORMAT_MAX 2048

/*
 * Copies s into out (size bytes) as one line: C0 control characters and DEL escaped as
 * "\n", "\t", "\r" or "\xNN", every other byte as it is. What does not fit is left out,
 * cut before an escape or a UTF-8 character, not inside one. out ends in NUL (when size
 * > 0). Returns the length written; *whole (when not NULL) says whether all of s fit.
 */
size_t oneline_copy(char *out, size_t size, const char *s, bool *whole);

/*
 * oneline_copy of the text of fmt, formatted first into ONELINE_FORMAT_MAX bytes (a
 * longer text cut there at a character): what a log line or a report quotes. *whole
 * (when not NULL) says whether all of the text fit both times; a format error writes
 * nothing and is not whole.
 */
size_t oneline_vformat(char *out, size_t size, bool *whole, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#endif
