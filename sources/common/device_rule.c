// SPDX-License-Identifier: MIT
/*
 * The devices list of a TTN or ChirpStack source file: each device rule (which devices,
 * the municipality, event type and subject) and how each field of the event is made
 * from the decoded payload (path, scale and offset, a value map, a constant, optional).
 * Loading goes on after an error, so that one run reports them all.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "source_loader.h"
#include "topic.h"

/* A YAML scalar as the JSON value it reads as: plain true/false, numbers, else a string. */
static json_t *scalar_json(const yaml_node_t *node)
{
    const char *v = yaml_loader_text(node);
    char *end;
    bool b;

    if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        long long i;
        double d;
        if (source_loader_bool(node, &b))
            return json_boolean(b);
        errno = 0;
        i = strtoll(v, &end, 10);
        if (*v && !*end && !errno)
            return json_integer(i);
        d = strtod(v, &end);
        if (*v && !*end && isfinite(d))
            return json_real(d);
    }
    return json_stringn(v, node->data.scalar.length);
}

static bool parse_double(const yaml_node_t *node, double *out)
{
    char *end;

    if (node->type != YAML_SCALAR_NODE)
        return false;
    *out = strtod(yaml_loader_text(node), &end);
    return yaml_loader_text(node)[0] && !*end && isfinite(*out);
}

static void load_enum_map(struct source_loader *l, const yaml_node_t *map, struct field_map *f)
{
    if (map->type != YAML_MAPPING_NODE) {
        yaml_loader_report(&l->y, map,
                           "fields.%s.map must be a mapping of payload values to event values",
                           f->name);
        return;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_loader_node(&l->y, p->key),
                          *v = yaml_loader_node(&l->y, p->value);
        struct field_enum *e;

        if (f->n_enums == MAPPING_ENUM_MAX) {
            yaml_loader_report(&l->y, k, "fields.%s.map has more than %d entries", f->name,
                               MAPPING_ENUM_MAX);
            return;
        }
        e = &f->enums[f->n_enums];
        if (!source_loader_string(l, k, "a map key", e->from, sizeof(e->from)))
            continue;
        if (yaml_loader_seen_before(&l->y, map, p)) { /* "2" and 2 alike: they match alike */
            yaml_loader_report(&l->y, k, "fields.%s.map: \"%s\" is listed twice", f->name,
                               e->from);
            continue;
        }
        if (v->type != YAML_SCALAR_NODE) {
            yaml_loader_report(&l->y, v, "fields.%s.map values must be scalars", f->name);
            continue;
        }
        e->to = scalar_json(v);
        f->n_enums++;
    }
}

/* One entry of fields: "name: path" or "name: {from|const, scale, offset, map, optional}". */
static void load_field(struct source_loader *l, const yaml_node_t *key, const yaml_node_t *value,
                       struct field_map *f)
{
    bool has_scale = false, has_offset = false;

    memset(f, 0, sizeof(*f));
    f->scale = 1.0;
    if (!source_loader_string(l, key, "a field name", f->name, sizeof(f->name)))
        return;
    if (value->type == YAML_SCALAR_NODE) {
        source_loader_string(l, value, "a field's payload path", f->from, sizeof(f->from));
        return;
    }
    if (value->type != YAML_MAPPING_NODE) {
        yaml_loader_report(&l->y, value,
                           "fields.%s must be a payload path or a mapping (from, const, ...)",
                           f->name);
        return;
    }
    for (yaml_node_pair_t *p = value->data.mapping.pairs.start; p < value->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_loader_node(&l->y, p->key),
                          *v = yaml_loader_node(&l->y, p->value);
        const char *name = k->type == YAML_SCALAR_NODE ? yaml_loader_text(k) : "";

        if (yaml_loader_seen_before(&l->y, value, p)) {
            yaml_loader_report(&l->y, k, "fields.%s: %s is set twice", f->name, name);
            continue;
        }
        if (strcmp(name, "from") == 0) {
            source_loader_string(l, v, "from", f->from, sizeof(f->from));
        } else if (strcmp(name, "const") == 0) {
            if (v->type != YAML_SCALAR_NODE)
                yaml_loader_report(&l->y, v, "fields.%s.const must be a scalar", f->name);
            else
                f->constant = scalar_json(v);
        } else if (strcmp(name, "scale") == 0) {
            if (!parse_double(v, &f->scale))
                yaml_loader_report(&l->y, v, "fields.%s.scale must be a number", f->name);
            has_scale = true;
        } else if (strcmp(name, "offset") == 0) {
            if (!parse_double(v, &f->offset))
                yaml_loader_report(&l->y, v, "fields.%s.offset must be a number", f->name);
            has_offset = true;
        } else if (strcmp(name, "map") == 0) {
            load_enum_map(l, v, f);
        } else if (strcmp(name, "optional") == 0) {
            if (!source_loader_bool(v, &f->optional))
                yaml_loader_report(&l->y, v, "fields.%s.optional must be true or false", f->name);
        } else {
            yaml_loader_report(&l->y, k,
                               "unknown key '%s' in fields.%s (from, const, scale, offset, map, "
                               "optional)",
                               name, f->name);
        }
    }
    f->scaled = has_scale || has_offset;
    if (!f->constant == !f->from[0])
        yaml_loader_report(&l->y, value, "fields.%s needs exactly one of from and const", f->name);
    else if (f->constant && (f->scaled || f->n_enums || f->optional))
        yaml_loader_report(&l->y, value, "fields.%s: const takes no scale, offset, map or optional",
                           f->name);
    else if (f->scaled && f->n_enums)
        yaml_loader_report(&l->y, value, "fields.%s: scale/offset and map do not go together",
                           f->name);
}

static void load_fields(struct source_loader *l, const yaml_node_t *map, struct device_rule *r)
{
    if (map->type != YAML_MAPPING_NODE) {
        yaml_loader_report(&l->y, map,
                           "fields must be a mapping of event fields (value: {from: ...})");
        return;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_loader_node(&l->y, p->key);

        if (r->n_fields == MAPPING_FIELDS_MAX) {
            yaml_loader_report(&l->y, k, "more than %d fields", MAPPING_FIELDS_MAX);
            return;
        }
        if (yaml_loader_seen_before(&l->y, map, p)) {
            yaml_loader_report(&l->y, k, "field '%s' is mapped twice", yaml_loader_text(k));
            continue;
        }
        load_field(l, k, yaml_loader_node(&l->y, p->value), &r->fields[r->n_fields]);
        if (strcmp(r->fields[r->n_fields].name, "time") == 0)
            yaml_loader_report(&l->y, k, "time is the uplink's time: it cannot be mapped");
        r->n_fields++;
    }
}

/* <category>.<type> with a known category and a type that can be a topic level. */
static bool event_type_ok(const char *s)
{
    const char *dot = strchr(s, '.');
    size_t n;

    if (!dot)
        return false;
    n = (size_t)(dot - s);
    if (!((n == 6 && strncmp(s, "sensor", 6) == 0) || (n == 7 && strncmp(s, "service", 7) == 0) ||
          (n == 7 && strncmp(s, "citizen", 7) == 0)))
        return false;
    for (const char *p = dot + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return dot[1] != '\0' && strlen(dot + 1) <= TOPIC_TYPE_MAX;
}

static void load_rule(struct source_loader *l, const yaml_node_t *item, struct device_rule *r)
{
    int errors = l->y.errors;

    memset(r, 0, sizeof(*r));
    r->line = (int)item->start_mark.line + 1;
    strcpy(r->subject, "{device}");
    if (item->type != YAML_MAPPING_NODE) {
        yaml_loader_report(&l->y, item,
                           "each device rule is a mapping (device, type, fields, ...)");
        return;
    }
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_loader_node(&l->y, p->key),
                          *v = yaml_loader_node(&l->y, p->value);
        const char *name = k->type == YAML_SCALAR_NODE ? yaml_loader_text(k) : "";

        if (yaml_loader_seen_before(&l->y, item, p))
            yaml_loader_report(&l->y, k, "'%s' is set twice in this rule", name);
        if (strcmp(name, "device") == 0)
            source_loader_string(l, v, "device", r->device, sizeof(r->device));
        else if (strcmp(name, "municipality") == 0)
            source_loader_string(l, v, "municipality", r->municipality, sizeof(r->municipality));
        else if (strcmp(name, "type") == 0)
            source_loader_string(l, v, "type", r->event_type, sizeof(r->event_type));
        else if (strcmp(name, "subject") == 0)
            source_loader_string(l, v, "subject", r->subject, sizeof(r->subject));
        else if (strcmp(name, "radio") == 0) {
            if (!source_loader_bool(v, &r->radio))
                yaml_loader_report(&l->y, v, "radio must be true or false");
        } else if (strcmp(name, "fields") == 0)
            load_fields(l, v, r);
        else
            yaml_loader_report(&l->y, k,
                               "unknown key '%s' in a device rule (device, municipality, type, "
                               "subject, radio, fields)",
                               name);
    }
    if (l->y.errors != errors)
        return;
    if (!r->device[0])
        yaml_loader_report(&l->y, item,
                           "a device rule needs device: a device id, DevEUI or glob (\"*\")");
    if (!event_type_ok(r->event_type))
        yaml_loader_report(&l->y, item,
                           "type must be <category>.<type>, e.g. sensor.waterlevel, not \"%s\"",
                           r->event_type);
    if (!r->municipality[0])
        strcpy(r->municipality, l->sf->municipality);
    if (!source_loader_slug_ok(r->municipality))
        yaml_loader_report(&l->y, item,
                           "the rule needs a municipality (a lower-case slug, here or at the top)");
    if (r->n_fields == 0)
        yaml_loader_report(&l->y, item, "a device rule needs fields");
}

void device_rule_load_list(struct source_loader *l, const yaml_node_t *list)
{
    int n = 0;

    if (list->type != YAML_SEQUENCE_NODE) {
        yaml_loader_report(&l->y, list, "devices must be a list of device rules (- device: ...)");
        return;
    }
    n = (int)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (n > MAPPING_RULES_MAX) {
        yaml_loader_report(&l->y, list, "more than %d device rules", MAPPING_RULES_MAX);
        return;
    }
    if (n == 0)
        return;
    if (!(l->sf->rules = calloc((size_t)n, sizeof(*l->sf->rules)))) {
        yaml_loader_report(&l->y, list, "out of memory");
        return;
    }
    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
         it++)
        load_rule(l, yaml_loader_node(&l->y, *it), &l->sf->rules[l->sf->n_rules++]);
}
