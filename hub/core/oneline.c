// SPDX-License-Identifier: MIT
/* Text made one line (oneline.h). */
#include "oneline.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* The bytes at the start of p that are written as they are: up to a control or DEL. */
static size_t plain_span(const unsigned char *p)
{
    size_t k = 0;

    while (p[k] >= 0x20 && p[k] != 0x7f)
        k++;
    return k;
}

size_t oneline_copy(char *out, size_t size, const char *s, bool *whole)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;

    if (whole)
        *whole = false;
    if (size == 0)
        return 0;
    for (;;) {
        size_t k = plain_span(p);
        char esc[5];

        if (n + k >= size) { /* the plain bytes fill what is left: cut at a character */
            memcpy(out + n, p, size - 1 - n);
            n = utf8_cut(out, size - 1);
            break;
        }
        memcpy(out + n, p, k);
        n += k;
        p += k;
        if (!*p) {
            if (whole)
                *whole = true;
            break;
        }
        if (*p == '\n')
            memcpy(esc, "\\n", k = 2);
        else if (*p == '\t')
            memcpy(esc, "\\t", k = 2);
        else if (*p == '\r')
            memcpy(esc, "\\r", k = 2);
        else
            k = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
        if (n + k >= size)
            break;
        memcpy(out + n, esc, k);
        n += k;
        p++;
    }
    out[n] = '\0';
    return n;
}

size_t oneline_vformat(char *out, size_t size, bool *whole, const char *fmt, va_list ap)
{
    char text[ONELINE_FORMAT_MAX];
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    bool copied;

    if (n < 0)
        text[0] = '\0';
    else if (n >= (int)sizeof(text))
        text[utf8_cut(text, sizeof(text) - 1)] = '\0';
    size = oneline_copy(out, size, text, &copied);
    if (whole)
        *whole = copied && n >= 0 && n < (int)sizeof(text);
    return size;
}
