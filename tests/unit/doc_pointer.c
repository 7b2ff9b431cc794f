// SPDX-License-Identifier: MIT
/*
 * JSON pointers (RFC 6901) into a jansson value or a libyaml document, and a YAML
 * node as JSON, for the tests that check the shipped contract (asyncapi.yaml's $refs
 * and message examples). Written independently of the schema compiler's own pointer
 * code, so that a fault in one is not hidden by the other.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "doc_pointer.h"
#include "yaml_loader.h"

/* Copies the next reference token of a JSON pointer (at *p, after its '/') to tok,
 * unescaping ~1 and ~0, and moves *p past it. Returns false on a bad escape. */
static bool pointer_token(const char **p, char *tok, size_t size)
{
    size_t n = 0;
    const char *s = *p;

    while (*s && *s != '/') {
        char c = *s++;
        if (c == '~') {
            if (*s == '0')
                c = '~';
            else if (*s == '1')
                c = '/';
            else
                return false;
            s++;
        }
        if (n + 1 >= size)
            return false;
        tok[n++] = c;
    }
    tok[n] = '\0';
    *p = s;
    return true;
}

/* Parses a whole decimal array index; false when tok is not one. */
static bool array_index(const char *tok, size_t *index)
{
    char *end;
    unsigned long long v;

    if (!*tok || (tok[0] == '0' && tok[1]) || tok[0] == '-' || tok[0] == '+')
        return false;
    errno = 0;
    v = strtoull(tok, &end, 10);
    if (errno || *end)
        return false;
    *index = (size_t)v;
    return true;
}

/* The value at JSON pointer ptr ("" or "/a/0") in doc, or NULL. */
json_t *doc_json_at(json_t *doc, const char *ptr)
{
    char tok[256];
    json_t *v = doc;

    if (*ptr && *ptr != '/')
        return NULL;
    while (*ptr) {
        size_t i;

        ptr++;
        if (!pointer_token(&ptr, tok, sizeof(tok)))
            return NULL;
        if (json_is_object(v))
            v = json_object_get(v, tok);
        else if (json_is_array(v) && array_index(tok, &i))
            v = json_array_get(v, i);
        else
            return NULL;
        if (!v)
            return NULL;
    }
    return v;
}

/* The text of a scalar node, or NULL. */
const char *doc_yaml_scalar(yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

/* The value of key in mapping node, or NULL. */
yaml_node_t *doc_yaml_get(yaml_document_t *doc, yaml_node_t *node, const char *key)
{
    if (!node || node->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        const char *k = doc_yaml_scalar(yaml_document_get_node(doc, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

/* The node at JSON pointer ptr in the YAML document, or NULL. */
yaml_node_t *doc_yaml_at(yaml_document_t *doc, const char *ptr)
{
    char tok[256];
    yaml_node_t *node = yaml_document_get_root_node(doc);

    if (*ptr && *ptr != '/')
        return NULL;
    while (node && *ptr) {
        size_t i;

        ptr++;
        if (!pointer_token(&ptr, tok, sizeof(tok)))
            return NULL;
        if (node->type == YAML_MAPPING_NODE) {
            node = doc_yaml_get(doc, node, tok);
        } else if (node->type == YAML_SEQUENCE_NODE && array_index(tok, &i)) {
            yaml_node_item_t *items = node->data.sequence.items.start;
            size_t n = (size_t)(node->data.sequence.items.top - items);
            node = i < n ? yaml_document_get_node(doc, items[i]) : NULL;
        } else {
            return NULL;
        }
    }
    return node;
}

/* A YAML node as JSON (YAML 1.2 core schema for plain scalars), or NULL. */
json_t *doc_yaml_to_json(yaml_document_t *doc, yaml_node_t *node)
{
    json_t *v;

    if (!node)
        return NULL;
    switch (node->type) {
    case YAML_SCALAR_NODE: {
        const char *s = (const char *)node->data.scalar.value;
        char *end;

        if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
            return json_string(s);
        if (yaml_loader_is_null(node))
            return json_null();
        if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)
            return json_boolean(s[0] == 't');
        errno = 0;
        {
            long long i = strtoll(s, &end, 10);
            if (!*end && !errno)
                return json_integer(i);
        }
        {
            double d = strtod(s, &end);
            if (!*end && !errno)
                return json_real(d);
        }
        return json_string(s);
    }
    case YAML_SEQUENCE_NODE:
        v = json_array();
        for (yaml_node_item_t *i = node->data.sequence.items.start;
             v && i < node->data.sequence.items.top; i++)
            json_array_append_new(v, doc_yaml_to_json(doc, yaml_document_get_node(doc, *i)));
        return v;
    case YAML_MAPPING_NODE:
        v = json_object();
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
             v && p < node->data.mapping.pairs.top; p++) {
            const char *k = doc_yaml_scalar(yaml_document_get_node(doc, p->key));
            if (k)
                json_object_set_new(v, k,
                                    doc_yaml_to_json(doc, yaml_document_get_node(doc, p->value)));
        }
        return v;
    default:
        return NULL;
    }
}
