// SPDX-License-Identifier: MIT
/* Names of the source reasons, generated from the same list as the enum. */
#include "source_reason.h"

static const char *const names[] = {
#define X(name, text) text,
    SOURCE_REASON_MAP(X)
#undef X
};

const char *source_reason_name(enum source_reason reason)
{
    if ((unsigned)reason >= SOURCE_REASON_COUNT)
        return "unknown";
    return names[reason];
}
