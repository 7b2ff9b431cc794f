// SPDX-License-Identifier: MIT
/*
 * The rules file (rules.h), read with libyaml's document API, which keeps each node's
 * line for the error messages. Every check that can be made without events is made
 * here, so that `rheinhub-alerting --check` finds what would go wrong at run time.
 */
#include "rules.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "rules_parse.h"
#include "times.h"
#include "until.h"
#include "yaml_loader.h"

static const char *const severity_names[] = {
#define X(name, text) text,
    SEVERITY_MAP(X)
#undef X
};

static const char *const kind_names[] = {
#define X(name, text) text,
    RULE_KIND_MAP(X)
#undef X
};

const char *severity_name(enum severity s)
{
    return (unsigned)s < SEVERITY_COUNT ? severity_names[s] : "?";
}

int severity_parse(const char *text, enum severity *out)
{
    for (int i = 0; i < SEVERITY_COUNT; i++) {
        if (strcmp(text, severity_names[i]) == 0) {
            *out = (enum severity)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *rule_kind_name(enum rule_kind k)
{
    return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "?";
}

/* ------------------------------------------------------------------------------------------ */
/* Loading */

static bool get_string(struct yaml_loader *l, const yaml_node_t *node, const char *key, char *dst,
                       size_t size)
{
    if (node->type != YAML_SCALAR_NODE || yaml_loader_is_null(node)) {
        yaml_loader_report(l, node, "%s must be a string", key);
        return false;
    }
    if (node->data.scalar.length >= size) {
        yaml_loader_report(l, node, "%s is longer than %zu bytes", key, size - 1);
        return false;
    }
    memcpy(dst, yaml_loader_text(node), node->data.scalar.length + 1);
    return true;
}

static bool get_number(struct yaml_loader *l, const yaml_node_t *node, const char *key, double *out)
{
    char *end;

    if (!yaml_loader_is_plain(node) || !yaml_loader_text(node)[0]) {
        yaml_loader_report(l, node, "%s must be a number", key);
        return false;
    }
    errno = 0;
    *out = strtod(yaml_loader_text(node), &end);
    if (errno || *end || !isfinite(*out)) {
        yaml_loader_report(l, node, "%s must be a number, not \"%s\"", key, yaml_loader_text(node));
        return false;
    }
    return true;
}

static bool get_duration(struct yaml_loader *l, const yaml_node_t *node, const char *key,
                         int64_t *out)
{
    if (node->type != YAML_SCALAR_NODE || times_duration_parse(yaml_loader_text(node), out) < 0) {
        yaml_loader_report(l, node,
                           "%s must be a duration such as 90s, 30m, 1h30m or 2d (at most 365d), "
                           "not \"%s\"",
                           key, node->type == YAML_SCALAR_NODE ? yaml_loader_text(node) : "?");
        return false;
    }
    return true;
}

/* rules_parse.h */
bool rules_get_value(struct yaml_loader *l, const yaml_node_t *node, const char *key,
                     struct value *out)
{
    const char *s;
    char *end;

    if (node->type != YAML_SCALAR_NODE || yaml_loader_is_null(node)) {
        yaml_loader_report(l, node, "%s must be a string, a number or true/false", key);
        return false;
    }
    s = yaml_loader_text(node);
    if (node->data.scalar.length >= VALUE_STR_MAX) {
        yaml_loader_report(l, node, "%s is longer than %d bytes", key, VALUE_STR_MAX - 1);
        return false;
    }
    if (yaml_loader_is_plain(node)) {
        if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
            value_set_bool(out, s[0] == 't');
            return true;
        }
        errno = 0;
        long long i = strtoll(s, &end, 10);
        if (!errno && !*end) {
            value_set_int(out, i);
            return true;
        }
        errno = 0;
        double d = strtod(s, &end);
        if (!errno && !*end && isfinite(d)) {
            value_set_real(out, d);
            return true;
        }
    }
    value_set_str(out, s, node->data.scalar.length);
    return true;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= RULE_NAME_MAX || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

/* rules_parse.h */
bool rules_path_ok(const char *s)
{
    if (!s[0] || s[0] == '.')
        return false;
    for (const char *p = s; *p; p++) {
        if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
            return false;
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    }
    return true;
}

static bool glob_ok(struct yaml_loader *l, const yaml_node_t *node, const char *key, char *dst)
{
    if (!get_string(l, node, key, dst, RULE_GLOB_MAX))
        return false;
    if (!dst[0]) {
        yaml_loader_report(l, node, "%s must not be empty (\"*\" matches everything)", key);
        return false;
    }
    return true;
}

/* The keys a rule may have; KEY_SEEN marks which were given. */
#define RULE_KEY_MAP(X)                                                                            \
    X(NAME, "name")                                                                                \
    X(MUNICIPALITY, "municipality")                                                                \
    X(TYPE, "type")                                                                                \
    X(SUBJECT, "subject")                                                                          \
    X(WHERE, "where")                                                                              \
    X(FIELD, "field")                                                                              \
    X(ABOVE, "above")                                                                              \
    X(BELOW, "below")                                                                              \
    X(CLEAR, "clear")                                                                              \
    X(RATE, "rate")                                                                                \
    X(EQUALS, "equals")                                                                            \
    X(SILENCE, "silence")                                                                          \
    X(FOR, "for")                                                                                  \
    X(UNTIL, "until")                                                                              \
    X(SEVERITY, "severity")                                                                        \
    X(LEVELS, "levels")                                                                            \
    X(MESSAGE, "message")                                                                          \
    X(RENOTIFY, "renotify")                                                                        \
    X(ESCALATE, "escalate")

enum rule_key {
#define X(name, text) KEY_##name,
    RULE_KEY_MAP(X)
#undef X
        KEY_COUNT
};

static const char *const key_names[] = {
#define X(name, text) text,
    RULE_KEY_MAP(X)
#undef X
};

static void load_where(struct yaml_loader *l, const yaml_node_t *node, struct rule *r)
{
    if (node->type != YAML_MAPPING_NODE) {
        yaml_loader_report(l, node,
                           "where must be a mapping of data fields to values, e.g. {unit: cm}");
        return;
    }
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_loader_node(l, p->key);
        const yaml_node_t *v = yaml_loader_node(l, p->value);
        struct rule_where *w;

        if (r->n_where == RULE_WHERE_MAX) {
            yaml_loader_report(l, k, "where has more than %d fields", RULE_WHERE_MAX);
            return;
        }
        w = &r->where[r->n_where];
        if (k->type != YAML_SCALAR_NODE || k->data.scalar.length >= RULE_PATH_MAX ||
            !rules_path_ok(yaml_loader_text(k))) {
            yaml_loader_report(l, k,
                               "where: a field name is letters, digits, '_' and '-', with '.' "
                               "between the names of nested fields");
            continue;
        }
        if (yaml_loader_seen_before(l, node, p)) {
            yaml_loader_report(l, k, "where: %s is set twice", yaml_loader_text(k));
            continue;
        }
        snprintf(w->path, sizeof(w->path), "%s", yaml_loader_text(k));
        if (rules_get_value(l, v, "a where value", &w->equals))
            r->n_where++;
    }
}

static void load_levels(struct yaml_loader *l, const yaml_node_t *node, struct rule *r,
                        const yaml_node_t **level_nodes)
{
    if (node->type != YAML_SEQUENCE_NODE) {
        yaml_loader_report(l, node,
                           "levels must be a list such as [{above: 800, severity: critical}]");
        return;
    }
    for (yaml_node_item_t *it = node->data.sequence.items.start;
         it < node->data.sequence.items.top; it++) {
        const yaml_node_t *item = yaml_loader_node(l, *it);
        struct rule_level *lv;
        bool have_at = false, have_sev = false;

        if (r->n_levels == RULE_LEVELS_MAX) {
            yaml_loader_report(l, item, "more than %d levels", RULE_LEVELS_MAX);
            return;
        }
        lv = &r->levels[r->n_levels];
        if (item->type != YAML_MAPPING_NODE) {
            yaml_loader_report(l, item,
                               "a level is a mapping such as {above: 800, severity: critical}");
            continue;
        }
        for (yaml_node_pair_t *p = item->data.mapping.pairs.start;
             p < item->data.mapping.pairs.top; p++) {
            const yaml_node_t *k = yaml_loader_node(l, p->key);
            const yaml_node_t *v = yaml_loader_node(l, p->value);
            const char *name = k->type == YAML_SCALAR_NODE ? yaml_loader_text(k) : "?";

            if (strcmp(name, "severity") == 0 && yaml_loader_seen_before(l, item, p)) {
                yaml_loader_report(l, k, "a level's severity is set twice");
                continue;
            }
            if (strcmp(name, "above") == 0 || strcmp(name, "below") == 0) {
                if (have_at) {
                    yaml_loader_report(l, k, "a level has one of above or below");
                    continue;
                }
                have_at = get_number(l, v, name, &lv->at);
                if (have_at && (r->kind == RULE_ABOVE || r->kind == RULE_BELOW) &&
                    (r->kind == RULE_ABOVE) != (strcmp(name, "above") == 0)) {
                    yaml_loader_report(l, k, "a level of a rule with '%s' uses '%s'",
                                       rule_kind_name(r->kind),
                                       r->kind == RULE_BELOW ? "below" : "above");
                    have_at = false;
                }
            } else if (strcmp(name, "severity") == 0) {
                if (v->type != YAML_SCALAR_NODE ||
                    severity_parse(yaml_loader_text(v), &lv->severity) < 0)
                    yaml_loader_report(l, v, "severity must be info, warning or critical");
                else
                    have_sev = true;
            } else {
                yaml_loader_report(l, k, "unknown key '%s' in a level (above or below, severity)",
                                   name);
            }
        }
        if (!have_at || !have_sev) {
            if (!have_at && !have_sev)
                yaml_loader_report(l, item, "a level needs above (or below) and severity");
            else if (!have_sev)
                yaml_loader_report(l, item, "a level needs a severity");
            else
                yaml_loader_report(l, item, "a level needs above (or below)");
            continue;
        }
        level_nodes[r->n_levels] = item;
        r->n_levels++;
    }
}

static const char *default_message(enum rule_kind kind, bool rate)
{
    switch (kind) {
    case RULE_ABOVE:
        return rate ? "{rule}: {subject}: {field} rose by {value} within {duration} "
                      "(limit {threshold})"
                    : "{rule}: {subject}: {field} {value} at or above {threshold}";
    case RULE_BELOW:
        return rate ? "{rule}: {subject}: {field} changed by {value} within {duration} "
                      "(limit {threshold})"
                    : "{rule}: {subject}: {field} {value} at or below {threshold}";
    case RULE_EQUALS: return "{rule}: {subject}: {field} is {value}";
    default: return "{rule}: {subject}: no event for {value} s (limit {threshold} s)";
    }
}

/* Checks a loaded rule as a whole; node is the rule's mapping, keys[k] each key's node. */
static void check_rule(struct yaml_loader *l, const yaml_node_t *node, struct rule *r,
                       const yaml_node_t *const *keys, const yaml_node_t *const *level_nodes)
{
    int conditions = !!keys[KEY_ABOVE] + !!keys[KEY_BELOW] + !!keys[KEY_EQUALS] +
                     !!keys[KEY_SILENCE];
    char why[256];

    if (!keys[KEY_NAME])
        yaml_loader_report(l, node, "a rule needs a name");
    if (!keys[KEY_TYPE])
        yaml_loader_report(l, node,
                           "rule '%s' needs a type (a glob on <category>.<type>, e.g. "
                           "sensor.waterlevel or sensor.*)",
                           r->name);
    if (conditions != 1) {
        yaml_loader_report(l, node,
                           "rule '%s' needs exactly one condition: above, below, equals or "
                           "silence (it has %d)",
                           r->name, conditions);
        return;
    }
    if (r->kind == RULE_SILENCE) {
        static const enum rule_key not_with_silence[] = {KEY_FIELD, KEY_CLEAR, KEY_RATE, KEY_FOR,
                                                         KEY_LEVELS, KEY_UNTIL};
        for (size_t i = 0; i < sizeof(not_with_silence) / sizeof(not_with_silence[0]); i++)
            if (keys[not_with_silence[i]])
                yaml_loader_report(l, keys[not_with_silence[i]], "rule '%s': silence takes no %s",
                                   r->name, key_names[not_with_silence[i]]);
    } else if (!keys[KEY_FIELD]) {
        yaml_loader_report(l, node, "rule '%s' needs a field: the data field that %s tests",
                           r->name, rule_kind_name(r->kind));
    }
    if (r->kind == RULE_EQUALS) {
        static const enum rule_key not_with_equals[] = {KEY_CLEAR, KEY_RATE, KEY_LEVELS};
        for (size_t i = 0; i < sizeof(not_with_equals) / sizeof(not_with_equals[0]); i++)
            if (keys[not_with_equals[i]])
                yaml_loader_report(l, keys[not_with_equals[i]],
                                   "rule '%s': equals takes no %s "
                                   "(it clears when the field has another value)",
                                   r->name, key_names[not_with_equals[i]]);
    }
    if (r->kind == RULE_ABOVE || r->kind == RULE_BELOW) {
        if (!keys[KEY_CLEAR])
            r->clear = r->raise;
        else if (r->kind == RULE_ABOVE && r->clear > r->raise)
            yaml_loader_report(l, keys[KEY_CLEAR],
                               "rule '%s': clear (%g) must be at or below above (%g): "
                               "it clears below it",
                               r->name, r->clear, r->raise);
        else if (r->kind == RULE_BELOW && r->clear < r->raise)
            yaml_loader_report(l, keys[KEY_CLEAR],
                               "rule '%s': clear (%g) must be at or above below (%g): "
                               "it clears above it",
                               r->name, r->clear, r->raise);
    }
    for (int i = 0; (r->kind == RULE_ABOVE || r->kind == RULE_BELOW) && i < r->n_levels; i++) {
        const struct rule_level *lv = &r->levels[i];
        double prev_at = i ? r->levels[i - 1].at : r->raise;
        enum severity prev_sev = i ? r->levels[i - 1].severity : r->severity;
        bool beyond = r->kind == RULE_ABOVE ? lv->at > prev_at : lv->at < prev_at;

        if (!beyond)
            yaml_loader_report(l, level_nodes[i], "rule '%s': level %g must be %s %g", r->name,
                               lv->at, r->kind == RULE_ABOVE ? "above" : "below", prev_at);
        else if (lv->severity <= prev_sev)
            yaml_loader_report(l, level_nodes[i],
                               "rule '%s': level %g must raise the severity above %s", r->name,
                               lv->at, severity_name(prev_sev));
    }
    if (!keys[KEY_MESSAGE])
        snprintf(r->message, sizeof(r->message), "%s", default_message(r->kind, r->rate_ns > 0));
    else if (template_check(r->message, why, sizeof(why)) < 0)
        yaml_loader_report(l, keys[KEY_MESSAGE], "rule '%s': message: %s", r->name, why);
    if (r->escalate_ns && r->severity == SEVERITY_CRITICAL)
        yaml_loader_report(l, keys[KEY_ESCALATE],
                           "rule '%s': escalate needs a severity below critical", r->name);
}

static void load_rule(struct yaml_loader *l, const yaml_node_t *node, struct rule *r)
{
    const yaml_node_t *keys[KEY_COUNT] = {0};
    const yaml_node_t *level_nodes[RULE_LEVELS_MAX] = {0};
    const yaml_node_t *levels = NULL;

    memset(r, 0, sizeof(*r));
    r->line = (int)node->start_mark.line + 1;
    strcpy(r->municipality, "*");
    strcpy(r->subject, "*");
    r->severity = SEVERITY_WARNING;
    if (node->type != YAML_MAPPING_NODE) {
        yaml_loader_report(l, node, "a rule is a mapping (name, type, field, above, ...)");
        return;
    }
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_loader_node(l, p->key);
        const yaml_node_t *v = yaml_loader_node(l, p->value);
        int key;

        if (k->type != YAML_SCALAR_NODE) {
            yaml_loader_report(l, k, "rule keys must be plain names");
            continue;
        }
        for (key = 0; key < KEY_COUNT; key++)
            if (strcmp(yaml_loader_text(k), key_names[key]) == 0)
                break;
        if (key == KEY_COUNT) {
            yaml_loader_report(l, k, "unknown key '%s' in a rule", yaml_loader_text(k));
            continue;
        }
        if (keys[key]) {
            yaml_loader_report(l, k, "%s is set twice", key_names[key]);
            continue;
        }
        keys[key] = k;
        switch ((enum rule_key)key) {
        case KEY_NAME:
            if (get_string(l, v, "name", r->name, sizeof(r->name)) && !name_ok(r->name))
                yaml_loader_report(l, v,
                                   "a rule name is 1..63 lower-case letters, digits, '_' and '-', "
                                   "starting with a letter or digit, not \"%s\"",
                                   r->name);
            break;
        case KEY_MUNICIPALITY: glob_ok(l, v, "municipality", r->municipality); break;
        case KEY_TYPE: glob_ok(l, v, "type", r->type); break;
        case KEY_SUBJECT: glob_ok(l, v, "subject", r->subject); break;
        case KEY_WHERE: load_where(l, v, r); break;
        case KEY_FIELD:
            if (get_string(l, v, "field", r->field, sizeof(r->field)) && !rules_path_ok(r->field))
                yaml_loader_report(l, v,
                                   "field is a data field name (letters, digits, '_', '-'; '.' "
                                   "between nested names), not \"%s\"",
                                   r->field);
            break;
        case KEY_ABOVE:
            r->kind = RULE_ABOVE;
            get_number(l, v, "above", &r->raise);
            break;
        case KEY_BELOW:
            r->kind = RULE_BELOW;
            get_number(l, v, "below", &r->raise);
            break;
        case KEY_CLEAR: get_number(l, v, "clear", &r->clear); break;
        case KEY_RATE: get_duration(l, v, "rate", &r->rate_ns); break;
        case KEY_EQUALS:
            r->kind = RULE_EQUALS;
            rules_get_value(l, v, "equals", &r->equals);
            break;
        case KEY_SILENCE:
            r->kind = RULE_SILENCE;
            get_duration(l, v, "silence", &r->silence_ns);
            break;
        case KEY_FOR: get_duration(l, v, "for", &r->for_ns); break;
        case KEY_UNTIL: until_load(l, v, r); break;
        case KEY_SEVERITY:
            if (v->type != YAML_SCALAR_NODE ||
                severity_parse(yaml_loader_text(v), &r->severity) < 0)
                yaml_loader_report(l, v, "severity must be info, warning or critical");
            break;
        case KEY_LEVELS: levels = v; break;
        case KEY_MESSAGE:
            if (get_string(l, v, "message", r->message, sizeof(r->message)) && !r->message[0])
                yaml_loader_report(l, v, "message must not be empty");
            break;
        case KEY_RENOTIFY: get_duration(l, v, "renotify", &r->renotify_ns); break;
        case KEY_ESCALATE: get_duration(l, v, "escalate", &r->escalate_ns); break;
        case KEY_COUNT: break;
        }
    }
    /* Levels last: they are checked against the rule's condition. */
    if (levels)
        load_levels(l, levels, r, level_nodes);
    check_rule(l, node, r, keys, level_nodes);
}

static void load_root(struct yaml_loader *l, const yaml_node_t *root, struct rules *out)
{
    const yaml_node_t *list = NULL;
    size_t n;

    if (!root || yaml_loader_is_null(root)) {
        yaml_loader_report(l, root,
                           "the rules file is empty: it needs 'rules:' with a list of rules");
        return;
    }
    if (root->type != YAML_MAPPING_NODE) {
        yaml_loader_report(l, root, "the rules file is a mapping with one key, 'rules'");
        return;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_loader_node(l, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(yaml_loader_text(k), "rules") == 0) {
            if (list)
                yaml_loader_report(l, k, "'rules' appears twice");
            list = yaml_loader_node(l, p->value);
        } else {
            yaml_loader_report(l, k, "unknown key '%s' (the file has one key, 'rules')",
                               k->type == YAML_SCALAR_NODE ? yaml_loader_text(k) : "?");
        }
    }
    if (!list) {
        yaml_loader_report(l, root, "'rules:' is missing");
        return;
    }
    if (yaml_loader_is_null(list))
        return; /* no rules: valid, the worker raises nothing */
    if (list->type != YAML_SEQUENCE_NODE) {
        yaml_loader_report(l, list, "rules must be a list (- name: ...)");
        return;
    }
    n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (n > RULES_MAX) {
        yaml_loader_report(l, list, "more than %d rules", RULES_MAX);
        return;
    }
    if (n && !(out->rules = calloc(n, sizeof(*out->rules)))) {
        yaml_loader_report(l, list, "out of memory");
        return;
    }
    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
         it++) {
        const yaml_node_t *item = yaml_loader_node(l, *it);
        struct rule *r;
        int errors = l->errors;

        r = &out->rules[out->n];
        load_rule(l, item, r);
        if (l->errors != errors)
            continue;
        for (size_t i = 0; i < out->n; i++) {
            if (strcmp(out->rules[i].name, r->name) == 0) {
                yaml_loader_report(l, item, "rule '%s' is defined twice (first at line %d)",
                                   r->name, out->rules[i].line);
                break;
            }
        }
        if (l->errors == errors)
            out->n++;
    }
}

/* Loads the rules of the document l read, and deletes the document. */
static int load(struct rules *out, struct yaml_loader *l, yaml_document_t *doc)
{
    load_root(l, yaml_document_get_root_node(doc), out);
    yaml_document_delete(doc);
    if (l->errors) {
        rules_free(out);
        return -l->errors;
    }
    return 0;
}

int rules_load(struct rules *out, const char *path, FILE *err)
{
    struct yaml_loader l = {.path = path, .err = err};
    yaml_document_t doc;

    int r;

    memset(out, 0, sizeof(*out));
    if ((r = yaml_loader_read_file(&l, "the rules file", &doc)) < 0)
        return r;
    return load(out, &l, &doc);
}

int rules_load_buffer(struct rules *out, const char *name, const char *text, size_t len,
                      FILE *err)
{
    struct yaml_loader l = {.path = name, .err = err};
    yaml_document_t doc;

    int r;

    memset(out, 0, sizeof(*out));
    if ((r = yaml_loader_read_text(&l, text, len, &doc)) < 0)
        return r;
    return load(out, &l, &doc);
}

void rules_free(struct rules *rules)
{
    if (!rules)
        return;
    free(rules->rules);
    rules->rules = NULL;
    rules->n = 0;
}

const struct rule *rules_find(const struct rules *rules, const char *name)
{
    for (size_t i = 0; i < rules->n; i++)
        if (strcmp(rules->rules[i].name, name) == 0)
            return &rules->rules[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Matching */

/*
 * fnmatch(pattern, s, 0) == 0, without fnmatch's cost in the two common cases: "*"
 * matches every string (no flags: '/' and a leading '.' are ordinary characters), and a
 * pattern without a special character matches only itself.
 */
static bool glob_matches(const char *pattern, const char *s)
{
    if (pattern[0] == '*' && pattern[1] == '\0')
        return true;
    if (strpbrk(pattern, "*?[\\"))
        return fnmatch(pattern, s, 0) == 0;
    return strcmp(pattern, s) == 0;
}

bool rule_matches(const struct rule *r, const char *municipality, const char *type,
                  const char *subject, const msgpack_object *data)
{
    if (!glob_matches(r->type, type) || !glob_matches(r->municipality, municipality) ||
        !glob_matches(r->subject, subject))
        return false;
    for (int i = 0; i < r->n_where; i++) {
        const msgpack_object *o = data ? value_lookup(data, r->where[i].path) : NULL;
        struct value v;

        if (!o || value_from_msgpack(o, &v) < 0 || !value_equal(&v, &r->where[i].equals))
            return false;
    }
    return true;
}
