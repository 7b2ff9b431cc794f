// SPDX-License-Identifier: MIT
/* The scalars a source file's parts read alike (source_loader.h). */
#include "source_loader.h"

#include <string.h>

#include "topic.h"

bool source_loader_string(struct source_loader *l, const yaml_node_t *node, const char *what,
                          char *dst, size_t size)
{
    if (node->type != YAML_SCALAR_NODE) {
        yaml_loader_report(&l->y, node, "%s must be a string", what);
        return false;
    }
    if (node->data.scalar.length >= size) {
        yaml_loader_report(&l->y, node, "%s is longer than %zu characters", what, size - 1);
        return false;
    }
    memcpy(dst, yaml_loader_text(node), node->data.scalar.length + 1);
    return true;
}

bool source_loader_bool(const yaml_node_t *node, bool *out)
{
    const char *v;

    if (!yaml_loader_is_plain(node))
        return false;
    v = yaml_loader_text(node);
    if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "on") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "off") == 0)
        *out = false;
    else
        return false;
    return true;
}

bool source_loader_slug_ok(const char *s)
{
    if (!*s || strlen(s) > TOPIC_MUNICIPALITY_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return false;
    return true;
}
