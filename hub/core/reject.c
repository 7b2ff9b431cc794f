// SPDX-License-Identifier: MIT
/* Names of the reject reasons, generated from the same list as the enum. */
#include "reject.h"

static const char *const names[] = {
#define X(name, text) text,
    REJECT_REASON_MAP(X)
#undef X
};

const char *reject_reason_name(enum reject_reason reason)
{
    if ((unsigned)reason >= REJECT_REASON_COUNT)
        return "unknown";
    return names[reason];
}
