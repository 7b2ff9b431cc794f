// SPDX-License-Identifier: MIT
/* Bytes that may not be UTF-8 as JSON text (text.h). */
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    size_t n;

    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0 && p[0] >= 0xc2)
        n = 2;
    else if ((p[0] & 0xf0) == 0xe0)
        n = 3;
    else if ((p[0] & 0xf8) == 0xf0 && p[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    /* No overlong forms, no UTF-16 surrogates, nothing past U+10FFFF (RFC 3629). */
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return n;
}

json_t *text_json(const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    char *buf = malloc(len * 4 + 1);
    size_t o = 0;
    json_t *s;

    if (!buf)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_len(u + i, len - i);
        if (n == 0 || (n == 1 && u[i] < 0x20 && u[i] != '\n' && u[i] != '\t')) {
            o += (size_t)sprintf(buf + o, "\\x%02x", u[i]);
            i++;
        } else {
            memcpy(buf + o, u + i, n);
            o += n;
            i += n;
        }
    }
    s = json_stringn(buf, o);
    free(buf);
    return s;
}
