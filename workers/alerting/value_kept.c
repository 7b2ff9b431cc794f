// SPDX-License-Identifier: MIT
/*
 * Values as tracks and alerts keep them (value_kept.h): strings on the heap, in a
 * buffer that only grows.
 */
#include "value_kept.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void value_kept_init(struct value_kept *k)
{
    k->kind = VALUE_NULL;
    k->b = false;
    k->s_size = 0;
    k->i = 0;
    k->d = 0;
    k->s = NULL;
}

/*
 * Keeps a value of kind: the scalar of its kind (the others are 0: a struct value
 * leaves them unset) and, for VALUE_STR, the n bytes of text at s.
 */
static int keep(struct value_kept *k, enum value_kind kind, int64_t i, double d, bool b,
                const char *s, size_t n)
{
    if (kind == VALUE_STR) {
        if (n + 1 > k->s_size) {
            char *p = malloc(n + 1);
            if (!p)
                return -ENOMEM;
            free(k->s);
            k->s = p;
            k->s_size = (uint16_t)(n + 1);
        }
        memcpy(k->s, s, n);
        k->s[n] = '\0';
    }
    k->kind = kind;
    k->i = kind == VALUE_INT ? i : 0;
    k->d = kind == VALUE_REAL ? d : 0;
    k->b = kind == VALUE_BOOL && b;
    return 0;
}

int value_keep(struct value_kept *k, const struct value *v)
{
    switch (v->kind) {
    case VALUE_INT:
        return keep(k, v->kind, v->i, 0, false, NULL, 0);
    case VALUE_REAL:
        return keep(k, v->kind, 0, v->d, false, NULL, 0);
    case VALUE_BOOL:
        return keep(k, v->kind, 0, 0, v->b, NULL, 0);
    case VALUE_STR:
        return keep(k, v->kind, 0, 0, false, v->s, strnlen(v->s, VALUE_STR_MAX - 1));
    case VALUE_NULL:
        break;
    }
    return keep(k, VALUE_NULL, 0, 0, false, NULL, 0);
}

int value_kept_copy(struct value_kept *dst, const struct value_kept *src)
{
    return keep(dst, src->kind, src->i, src->d, src->b, src->s,
                src->kind == VALUE_STR ? strlen(src->s) : 0);
}

void value_kept_get(const struct value_kept *k, struct value *out)
{
    out->kind = k->kind;
    out->i = k->i;
    out->d = k->d;
    out->b = k->b;
    if (k->kind == VALUE_STR) {
        size_t n = strnlen(k->s, VALUE_STR_MAX - 1);
        memcpy(out->s, k->s, n);
        out->s[n] = '\0';
    } else {
        out->s[0] = '\0';
    }
}

void value_kept_close(struct value_kept *k)
{
    if (!k)
        return;
    free(k->s);
    value_kept_init(k);
}
