// SPDX-License-Identifier: MIT
/* Bytes that may not be UTF-8 as JSON text (text.h). */
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

json_t *text_json(const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    char *buf = malloc(len * 4 + 1);
    size_t o = 0;
    json_t *s;

    if (!buf)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq_len(u + i, len - i);
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
