// SPDX-License-Identifier: MIT
/* The windows file (YAML, with file:line errors) and the fields of each event type. */
#include "windows_file.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "window.h"
#include "yaml_loader.h"

void windows_file_defaults(struct windows_file *wf)
{
    static const int64_t defaults[] = {60, 900, 3600, 86400};

    memset(wf, 0, sizeof(*wf));
    memcpy(wf->defaults, defaults, sizeof(defaults));
    wf->n_defaults = 4;
}

/* A list of window lengths into out (ascending, no repeats); 0 when it was good. */
static int load_windows(struct yaml_loader *l, yaml_node_t *node, int64_t out[WINDOWS_PER_TYPE_MAX],
                        int *n_out)
{
    int before = l->errors, n = 0;

    if (node->type != YAML_SEQUENCE_NODE) {
        yaml_loader_report(l, node, "windows must be a list, e.g. [15m, 1h, 1d]");
        return -EINVAL;
    }
    for (yaml_node_item_t *it = node->data.sequence.items.start;
         it < node->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_loader_node(l, *it);
        const char *text = yaml_loader_text(item);
        int64_t s;
        int r;

        if ((r = window_length_parse(text, &s)) < 0) {
            yaml_loader_report(l, item,
                               "a window is a count 1..99999 and a unit s, m, h or d, e.g. 15m%s",
                               r == -ERANGE ? " (at most 31d)" : "");
            continue;
        }
        if (n == WINDOWS_PER_TYPE_MAX) {
            yaml_loader_report(l, item, "at most %d windows per type", WINDOWS_PER_TYPE_MAX);
            break;
        }
        for (int k = 0; k < n; k++) {
            if (out[k] == s) {
                yaml_loader_report(l, item, "window %s is listed twice (as the same length)", text);
                s = 0;
                break;
            }
        }
        if (s == 0)
            continue;
        /* insertion in ascending order */
        int k = n++;
        while (k > 0 && out[k - 1] > s) {
            out[k] = out[k - 1];
            k--;
        }
        out[k] = s;
    }
    if (l->errors == before && n == 0)
        yaml_loader_report(l, node, "the list of windows is empty");
    *n_out = n;
    return l->errors == before ? 0 : -EINVAL;
}

/* A list of field names. */
static void load_fields(struct yaml_loader *l, yaml_node_t *node, const char *what,
                        char out[WINDOWS_FIELDS_MAX][ACC_NAME_MAX], int *n_out)
{
    if (node->type != YAML_SEQUENCE_NODE) {
        yaml_loader_report(l, node, "%s must be a list of field names", what);
        return;
    }
    for (yaml_node_item_t *it = node->data.sequence.items.start;
         it < node->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_loader_node(l, *it);
        const char *text = yaml_loader_text(item);

        if (!acc_name_valid(text, strlen(text))) {
            yaml_loader_report(l, item, "%s: a field name matches [a-z][a-z0-9_]{0,62}", what);
            continue;
        }
        if (*n_out == WINDOWS_FIELDS_MAX) {
            yaml_loader_report(l, item, "%s: at most %d fields", what, WINDOWS_FIELDS_MAX);
            return;
        }
        snprintf(out[(*n_out)++], ACC_NAME_MAX, "%s", text);
    }
}

static void load_rule(struct yaml_loader *l, struct windows_file *wf, yaml_node_t *key,
                      yaml_node_t *value)
{
    const char *pattern = yaml_loader_text(key);
    struct windows_rule *rule;

    if (!pattern[0] || strlen(pattern) >= sizeof(rule->pattern)) {
        yaml_loader_report(l, key,
                           "a type is a name or glob such as sensor.waterlevel or citizen.*");
        return;
    }
    for (int i = 0; i < wf->n_rules; i++) {
        if (strcmp(wf->rules[i].pattern, pattern) == 0) {
            yaml_loader_report(l, key, "type %s is listed twice (first on line %d)", pattern,
                               wf->rules[i].line);
            return;
        }
    }
    if (wf->n_rules == WINDOWS_RULES_MAX) {
        yaml_loader_report(l, key, "at most %d types", WINDOWS_RULES_MAX);
        return;
    }
    rule = &wf->rules[wf->n_rules++];
    memset(rule, 0, sizeof(*rule));
    snprintf(rule->pattern, sizeof(rule->pattern), "%s", pattern);
    rule->line = (int)key->start_mark.line + 1;
    if (value->type != YAML_MAPPING_NODE) {
        yaml_loader_report(l, value, "type %s: expected keys windows, count, ignore", pattern);
        return;
    }
    for (yaml_node_pair_t *p = value->data.mapping.pairs.start; p < value->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_loader_node(l, p->key), *v = yaml_loader_node(l, p->value);
        const char *name = yaml_loader_text(k);

        if (yaml_loader_seen_before(l, value, p)) {
            yaml_loader_report(l, k, "%s is set twice under type %s", name, pattern);
            continue;
        }
        if (strcmp(name, "windows") == 0)
            load_windows(l, v, rule->windows, &rule->n_windows);
        else if (strcmp(name, "count") == 0)
            load_fields(l, v, "count", rule->count, &rule->n_count);
        else if (strcmp(name, "ignore") == 0)
            load_fields(l, v, "ignore", rule->ignore, &rule->n_ignore);
        else
            yaml_loader_report(l, k, "unknown key %s under type %s (known: windows, count, ignore)",
                               k->type == YAML_SCALAR_NODE ? name : "(not a scalar)", pattern);
    }
}

static void load_root(struct yaml_loader *l, struct windows_file *wf, yaml_node_t *root)
{
    if (root->type != YAML_MAPPING_NODE) {
        yaml_loader_report(l, root, "expected a mapping with the keys default and types");
        return;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_loader_node(l, p->key), *v = yaml_loader_node(l, p->value);
        const char *name = yaml_loader_text(k);

        if (yaml_loader_seen_before(l, root, p)) {
            yaml_loader_report(l, k, "%s is set twice", name);
            continue;
        }
        if (strcmp(name, "default") == 0) {
            load_windows(l, v, wf->defaults, &wf->n_defaults);
        } else if (strcmp(name, "types") == 0) {
            if (yaml_loader_is_null(v))
                continue; /* "types:" with nothing under it */
            if (v->type != YAML_MAPPING_NODE) {
                yaml_loader_report(l, v,
                                   "types must be a mapping from a type (or glob) to its settings");
                continue;
            }
            for (yaml_node_pair_t *q = v->data.mapping.pairs.start;
                 q < v->data.mapping.pairs.top; q++)
                load_rule(l, wf, yaml_loader_node(l, q->key), yaml_loader_node(l, q->value));
        } else {
            yaml_loader_report(l, k, "unknown key %s (known: default, types)",
                               k->type == YAML_SCALAR_NODE ? name : "(not a scalar)");
        }
    }
}

int windows_file_load(struct windows_file *wf, const char *path, FILE *err)
{
    struct yaml_loader l = {.path = path, .err = err};
    yaml_document_t doc;
    yaml_node_t *root;
    int r;

    windows_file_defaults(wf);
    if ((r = yaml_loader_read_file(&l, "the windows file", &doc)) < 0)
        return r;
    root = yaml_document_get_root_node(&doc);
    if (root && !yaml_loader_is_null(root))
        load_root(&l, wf, root);
    yaml_document_delete(&doc);
    return l.errors ? -l.errors : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Event types */

static bool listed(char (*list)[ACC_NAME_MAX], int n, const char *field, size_t len)
{
    for (int i = 0; i < n; i++)
        if (strncmp(list[i], field, len) == 0 && list[i][len] == '\0')
            return true;
    return false;
}

bool windows_type_is_categorical(const struct windows_type *t, const char *field, size_t n)
{
    return listed((char (*)[ACC_NAME_MAX])t->categorical, t->n_categorical, field, n);
}

bool windows_type_is_ignored(const struct windows_type *t, const char *field, size_t n)
{
    return listed((char (*)[ACC_NAME_MAX])t->ignore, t->n_ignore, field, n);
}

static void add_categorical(struct windows_type *t, const char *field)
{
    if (t->n_categorical < WINDOWS_FIELDS_MAX &&
        !listed(t->categorical, t->n_categorical, field, strlen(field)))
        snprintf(t->categorical[t->n_categorical++], ACC_NAME_MAX, "%s", field);
}

/* Whether a property schema allows only a fixed list of strings (enum, const) or a boolean. */
static bool schema_categorical(const json_t *prop)
{
    const json_t *e = json_object_get(prop, "enum"), *c = json_object_get(prop, "const"),
                 *type = json_object_get(prop, "type");
    size_t i;
    json_t *v;

    if (json_is_string(type) && strcmp(json_string_value(type), "boolean") == 0)
        return true;
    if (json_is_string(c))
        return true;
    if (!json_is_array(e) || json_array_size(e) == 0)
        return false;
    json_array_foreach(e, i, v)
        if (!json_is_string(v))
            return false;
    return true;
}

/* The schema's categorical top-level properties into t (nothing when it cannot be read). */
static void schema_fields(struct windows_type *t, const char *schemas_dir)
{
    char path[2048];
    const char *dot = strchr(t->name, '.');
    json_t *schema, *props, *prop;
    const char *key;

    snprintf(path, sizeof(path), "%s/%.*s/%s.schema.json", schemas_dir, (int)(dot - t->name),
             t->name, dot + 1);
    if (!(schema = json_load_file(path, 0, NULL)))
        return;
    props = json_object_get(schema, "properties");
    json_object_foreach(props, key, prop)
        if (acc_name_valid(key, strlen(key)) && schema_categorical(prop))
            add_categorical(t, key);
    json_decref(schema);
}

int windows_file_resolve(const struct windows_file *wf, const char *name, const char *schemas_dir,
                         struct windows_type *out)
{
    const struct windows_rule *rule = NULL;
    const int64_t *windows = wf->defaults;
    const char *dot = strchr(name, '.');
    int n = wf->n_defaults;

    memset(out, 0, sizeof(*out));
    if (!dot || dot == name || !dot[1] || strchr(dot + 1, '/') || strchr(name, '/') ||
        strlen(name) >= sizeof(out->name))
        return -EINVAL;
    snprintf(out->name, sizeof(out->name), "%s", name);
    for (int i = 0; i < wf->n_rules && !rule; i++)
        if (fnmatch(wf->rules[i].pattern, name, 0) == 0)
            rule = &wf->rules[i];
    if (rule && rule->n_windows > 0) {
        windows = rule->windows;
        n = rule->n_windows;
    }
    for (int i = 0; i < n; i++) {
        out->windows[i] = windows[i];
        window_length_format(windows[i], out->window_text[i]);
    }
    out->n_windows = n;
    if (schemas_dir && schemas_dir[0])
        schema_fields(out, schemas_dir);
    if (rule) {
        for (int i = 0; i < rule->n_count; i++)
            add_categorical(out, rule->count[i]);
        for (int i = 0; i < rule->n_ignore; i++)
            snprintf(out->ignore[out->n_ignore++], ACC_NAME_MAX, "%s", rule->ignore[i]);
    }
    return 0;
}
