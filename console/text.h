// SPDX-License-Identifier: MIT
/*
 * Text for the page from bytes that may not be UTF-8 (text.c): a dead letter's
 * payload, a query argument echoed in an error message, a message cut to fit a buffer.
 * jansson refuses a string that is not UTF-8, so every such text goes through here.
 */
#ifndef RHEINHUB_CONSOLE_TEXT_H
#define RHEINHUB_CONSOLE_TEXT_H

#include <stddef.h>

#include <jansson.h>

/*
 * A JSON string of p[0..len): valid UTF-8 as it is, newlines and tabs kept, every
 * other byte that is not (invalid, cut or a control character) as "\xNN". NULL only
 * when out of memory.
 */
json_t *text_json(const char *p, size_t len);

#endif
