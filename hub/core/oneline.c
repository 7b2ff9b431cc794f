// SPDX-License-Identifier: MIT
/* Text made one line (oneline.h). */
#include "oneline.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

size_t oneline_copy(char *out, size_t size, const char *s, bool *whole)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;

    if (whole)
        *whole = false;
    if (size == 0)
        return 0;
    for (; *p; p++) {
        char esc[5];
        size_t k;

        if (*p >= 0x20 && *p != 0x7f) {
            if (n + 1 >= size)
                break;
            out[n++] = (char)*p;
            continue;
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
    }
    if (*p)
        n = utf8_cut(out, n);
    else if (whole)
        *whole = true;
    out[n] = '\0';
    return n;
}
