// SPDX-License-Identifier: MIT
/*
 * A rule's until option (until.h): read from the rules file with FILE:LINE errors, as
 * every other key, and tested on each event of the rule.
 */
#include "until.h"

#include <string.h>

#include "rules_parse.h"

void until_load(struct yaml_loader *l, const yaml_node_t *node, struct rule *r)
{
    bool have_field = false, have_equals = false, ok = true;

    if (node->type != YAML_MAPPING_NODE) {
        yaml_loader_report(l, node,
                           "until must be a mapping such as {field: status, equals: closed}");
        return;
    }
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_loader_node(l, p->key);
        const yaml_node_t *v = yaml_loader_node(l, p->value);
        const char *name = k->type == YAML_SCALAR_NODE ? yaml_loader_text(k) : "?";

        if (strcmp(name, "field") != 0 && strcmp(name, "equals") != 0) {
            yaml_loader_report(l, k, "until: unknown key '%s' (it takes field and equals)", name);
            ok = false;
        } else if (yaml_loader_seen_before(l, node, p)) {
            yaml_loader_report(l, k, "until: %s is set twice", name);
            ok = false;
        } else if (name[0] == 'f') {
            have_field = true;
            if (v->type != YAML_SCALAR_NODE || v->data.scalar.length >= RULE_PATH_MAX ||
                !rules_path_ok(yaml_loader_text(v))) {
                yaml_loader_report(l, v,
                                   "until: field is a data field name (letters, digits, '_', "
                                   "'-'; '.' between nested names)");
                ok = false;
            } else {
                memcpy(r->until.path, yaml_loader_text(v), v->data.scalar.length + 1);
            }
        } else {
            have_equals = true;
            ok = rules_get_value(l, v, "until's equals", &r->until.equals) && ok;
        }
    }
    if (!have_field)
        yaml_loader_report(l, node, "until needs a field: the data field to compare");
    if (!have_equals)
        yaml_loader_report(l, node, "until needs equals: the value that ends the condition");
    if (!ok || !have_field || !have_equals)
        r->until.path[0] = '\0';
}

bool until_reached(const struct rule *r, const msgpack_object *data)
{
    const msgpack_object *o;
    struct value v;

    if (!r->until.path[0] || !data)
        return false;
    o = value_lookup(data, r->until.path);
    return o && value_from_msgpack(o, &v) == 0 && value_equal(&v, &r->until.equals);
}
