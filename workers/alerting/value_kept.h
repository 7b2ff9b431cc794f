// SPDX-License-Identifier: MIT
/*
 * A value as a track or an alert keeps it between events: a struct value (value.h)
 * holds VALUE_STR_MAX bytes for a string whatever its kind; a kept value holds a
 * number or a boolean in place and a string's text on the heap, in a buffer that only
 * grows, so that keeping a value allocates only for a longer string than before.
 */
#ifndef RHEINHUB_ALERTING_VALUE_KEPT_H
#define RHEINHUB_ALERTING_VALUE_KEPT_H

#include <stdbool.h>
#include <stdint.h>

#include "value.h"

struct value_kept {
    enum value_kind kind;
    bool b;                     /* VALUE_BOOL */
    uint16_t s_size;            /* bytes at s */
    int64_t i;                  /* VALUE_INT */
    double d;                   /* VALUE_REAL */
    char *s;                    /* VALUE_STR: the text (owned); NULL before any string */
};

/* A null value. */
void value_kept_init(struct value_kept *k);

/* Keeps a copy of v in k. Returns 0, or -ENOMEM with k unchanged. */
int value_keep(struct value_kept *k, const struct value *v);

/* Keeps a copy of src in dst (not the same one). Returns 0, or -ENOMEM with dst unchanged. */
int value_kept_copy(struct value_kept *dst, const struct value_kept *src);

/* The value k holds, into out. */
void value_kept_get(const struct value_kept *k, struct value *out);

/* Frees what k holds (k may be NULL); k is null again. */
void value_kept_close(struct value_kept *k);

#endif
