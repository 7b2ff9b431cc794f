// SPDX-License-Identifier: MIT
/*
 * The rules file's readers shared by rules.c and until.c (a rule's until option);
 * nothing else includes this header.
 */
#ifndef RHEINHUB_ALERTING_RULES_PARSE_H
#define RHEINHUB_ALERTING_RULES_PARSE_H

#include <stdbool.h>

#include <yaml.h>

#include "value.h"
#include "yaml_loader.h"

/*
 * A scalar as a value: plain numbers and true/false as such, anything quoted as text.
 * key names it in the error reported at the node's line; false after an error.
 */
bool rules_get_value(struct yaml_loader *l, const yaml_node_t *node, const char *key,
                     struct value *out);

/* Whether s is a data field path: letters, digits, '_' and '-', '.' between names. */
bool rules_path_ok(const char *s);

#endif
