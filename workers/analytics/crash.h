// SPDX-License-Identifier: MIT
/* Test aid: the analytics worker's crash points (docs/analytics.md, "Testing"). */
#ifndef RHEINHUB_ANALYTICS_CRASH_H
#define RHEINHUB_ANALYTICS_CRASH_H

#include <stddef.h>

#include "instance.h"

/*
 * Test aid: SIGKILLs the process when the crash file (RHEINHUB_ANALYTICS_CRASH_FILE)
 * exists and names this point ("batch": after a batch was stored, before it is
 * acknowledged; "close": after closed windows were stored, before they are published;
 * "forget": after the PUBACK of a removal, before its record is deleted),
 * optionally with a least n ("batch 5"). The file is removed first: one crash each.
 */
void crash_point(struct analytics *a, const char *point, size_t n);

#endif
