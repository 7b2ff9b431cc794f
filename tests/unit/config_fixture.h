// SPDX-License-Identifier: MIT
/*
 * hub.yaml loading tests' fixture (config_fixture.c): a YAML text written to a
 * temporary file, loaded, and its "FILE:LINE: message" errors collected. Include after
 * <cmocka.h>.
 */
#ifndef RHEINHUB_TESTS_CONFIG_FIXTURE_H
#define RHEINHUB_TESTS_CONFIG_FIXTURE_H

#include "config.h"

struct loaded {
    char path[256];
    int rc;
    char *err; /* what config_load wrote to its error stream */
    struct hub_config cfg;
};

/* $TMPDIR, or /tmp. */
const char *tmp_dir(void);
/* Writes text to a temporary file, loads it into l, and removes the file. */
void load_text(struct loaded *l, const char *text);
void loaded_free(struct loaded *l);
/* Loads text, which must be good, into *cfg. */
void load_good(const char *text, struct hub_config *cfg);
/*
 * Loads text, which must have exactly the errors given as "LINE: message" lines
 * (each ending in '\n'); the file's path is put in front of each.
 */
void load_bad(const char *text, int n_errors, const char *errors);

#endif
