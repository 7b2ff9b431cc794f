// SPDX-License-Identifier: MIT
/*
 * JSON pointers into a jansson value or a libyaml document, and a YAML node as JSON
 * (doc_pointer.c), for the contract tests.
 */
#ifndef RHEINHUB_TESTS_DOC_POINTER_H
#define RHEINHUB_TESTS_DOC_POINTER_H

#include <jansson.h>
#include <yaml.h>

/* The value at JSON pointer ptr ("" or "/a/0") in doc, or NULL. */
json_t *doc_json_at(json_t *doc, const char *ptr);
/* The text of a scalar node, or NULL. */
const char *doc_yaml_scalar(yaml_node_t *node);
/* The value of key in mapping node, or NULL. */
yaml_node_t *doc_yaml_get(yaml_document_t *doc, yaml_node_t *node, const char *key);
/* The node at JSON pointer ptr in the YAML document, or NULL. */
yaml_node_t *doc_yaml_at(yaml_document_t *doc, const char *ptr);
/* A YAML node as JSON (YAML 1.2 core schema for plain scalars), or NULL. */
json_t *doc_yaml_to_json(yaml_document_t *doc, yaml_node_t *node);

#endif
