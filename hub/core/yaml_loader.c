// SPDX-License-Identifier: MIT
/* The parts every YAML loader shares: parsing, counted reports, scalars (yaml_loader.h). */
#include "yaml_loader.h"

#include <stdarg.h>
#include <string.h>

#include "yaml_report.h"

int yaml_loader_parse(struct yaml_loader *l, yaml_parser_t *parser, yaml_document_t *doc)
{
    if (!yaml_parser_load(parser, doc)) {
        l->errors++;
        if (l->err)
            fprintf(l->err, "%s:%lu: %s%s%s\n", l->path,
                    (unsigned long)parser->problem_mark.line + 1,
                    parser->problem ? parser->problem : "YAML error", parser->context ? " " : "",
                    parser->context ? parser->context : "");
        return -1;
    }
    l->doc = doc;
    return 0;
}

void yaml_loader_report(struct yaml_loader *l, const yaml_node_t *node, const char *fmt, ...)
{
    va_list ap;

    l->errors++;
    if (!l->err)
        return;
    va_start(ap, fmt);
    yaml_vreport(l->err, l->path, node, fmt, ap);
    va_end(ap);
}

yaml_node_t *yaml_loader_node(const struct yaml_loader *l, int index)
{
    return yaml_document_get_node(l->doc, index);
}

const char *yaml_loader_text(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : "";
}

bool yaml_loader_is_plain(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE &&
           node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool yaml_loader_is_null(const yaml_node_t *node)
{
    static const char *const spellings[] = {"", "~", "null", "Null", "NULL"};
    const char *v = yaml_loader_text(node);

    if (!yaml_loader_is_plain(node))
        return false;
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++)
        if (strcmp(v, spellings[i]) == 0)
            return true;
    return false;
}

bool yaml_loader_seen_before(const struct yaml_loader *l, const yaml_node_t *map,
                             const yaml_node_pair_t *pair)
{
    const yaml_node_t *key = yaml_loader_node(l, pair->key);

    if (key->type != YAML_SCALAR_NODE)
        return false;
    for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
        const yaml_node_t *prev = yaml_loader_node(l, q->key);
        if (prev->type == YAML_SCALAR_NODE &&
            strcmp(yaml_loader_text(prev), yaml_loader_text(key)) == 0)
            return true;
    }
    return false;
}
