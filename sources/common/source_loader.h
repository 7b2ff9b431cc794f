// SPDX-License-Identifier: MIT
/*
 * The state of loading one source file (source_file.h) and the scalars its parts read
 * alike: strings into fixed buffers, booleans, municipality slugs. Shared by
 * source_file.c (the sections), device_rule.c (devices) and station.c (stations);
 * reports go through yaml_loader.h as "FILE:LINE: message".
 */
#ifndef RHEINHUB_SOURCE_LOADER_H
#define RHEINHUB_SOURCE_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "source_file.h"
#include "yaml_loader.h"

struct source_loader {
    struct yaml_loader y;
    struct source_file *sf; /* what is being loaded; borrowed */
};

/* Copies a scalar into dst[size]; reports what is wrong (naming it what) and returns false
 * otherwise. */
bool source_loader_string(struct source_loader *l, const yaml_node_t *node, const char *what,
                          char *dst, size_t size);

/* A plain true/yes/on or false/no/off into *out; false (nothing reported) for anything else. */
bool source_loader_bool(const yaml_node_t *node, bool *out);

/* A municipality: [a-z0-9_-], 1 to TOPIC_MUNICIPALITY_MAX characters. */
bool source_loader_slug_ok(const char *s);

/* The devices list into l->sf->rules (device_rule.c). */
void device_rule_load_list(struct source_loader *l, const yaml_node_t *list);

/* The stations list into l->sf->stations (station.c). */
void station_load_list(struct source_loader *l, const yaml_node_t *list);

#endif
