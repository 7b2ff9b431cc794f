// SPDX-License-Identifier: MIT
/*
 * A rule's until option: {field: PATH, equals: VALUE}. An event of the rule's subject
 * whose field PATH equals VALUE ends the condition: the alert clears as when the rule's
 * own field changed, and a "for" waiting is cancelled (a closed citizen report still
 * says service_code danger). Every rule kind takes it but silence.
 */
#ifndef RHEINHUB_ALERTING_UNTIL_H
#define RHEINHUB_ALERTING_UNTIL_H

#include <stdbool.h>

#include <msgpack.h>
#include <yaml.h>

#include "rules.h"
#include "yaml_loader.h"

/* Reads node (the value of a rule's until key) into r->until; errors go to l. */
void until_load(struct yaml_loader *l, const yaml_node_t *node, struct rule *r);

/* Whether the event data (a map, or NULL) ends rule r's condition; false without until. */
bool until_reached(const struct rule *r, const msgpack_object *data);

#endif
