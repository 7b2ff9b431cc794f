// SPDX-License-Identifier: MIT
/* UTF-8 sequences and cuts (utf8.h). */
#include "utf8.h"

size_t utf8_seq_len(const unsigned char *p, size_t left)
{
    size_t n;

    if (left == 0)
        return 0;
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
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return n;
}

size_t utf8_cut(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t lead = n, want;

    /* Back over up to three continuation bytes to the byte that leads them. */
    while (lead > 0 && n - lead < 3 && (u[lead - 1] & 0xc0) == 0x80)
        lead--;
    if (lead == 0 || u[lead - 1] < 0xc2 || u[lead - 1] > 0xf4)
        return n; /* ends in ASCII, stray continuation bytes or no lead byte: not a cut */
    lead--;
    want = (u[lead] & 0xe0) == 0xc0 ? 2 : (u[lead] & 0xf0) == 0xe0 ? 3 : 4;
    return n - lead < want ? lead : n;
}
