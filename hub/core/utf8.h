// SPDX-License-Identifier: MIT
/*
 * UTF-8 as RFC 3629 defines it (no overlong forms, no UTF-16 surrogates, nothing past
 * U+10FFFF), for text that crosses into JSON: jansson refuses a string that is not, and
 * a text cut to fit a buffer may end inside a character.
 */
#ifndef RHEINHUB_UTF8_H
#define RHEINHUB_UTF8_H

#include <stddef.h>

/* The length (1..4) of the valid UTF-8 sequence at p, of at most left bytes; or 0. */
size_t utf8_seq_len(const unsigned char *p, size_t left);

/*
 * The length of s[0..n) without the sequence it may end in that n cut short: what to
 * keep of a text that snprintf cut to fit. The text before is taken as it is.
 */
size_t utf8_cut(const char *s, size_t n);

#endif
