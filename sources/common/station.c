// SPDX-License-Identifier: MIT
/*
 * The stations list of a PEGELONLINE source file: each gauge by its UUID or name, the
 * municipality it belongs to and the subject its events carry.
 */
#include <string.h>

#include <yaml.h>

#include "source_loader.h"
#include "topic.h"

static bool subject_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > TOPIC_SUBJECT_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return false;
    return true;
}

/*
 * A name that goes into the API's URL path as it is and into the state file's lines
 * and the /metrics labels: no path or query delimiters, no space, no control character.
 */
static bool station_name_ok(const char *name)
{
    if (!name[0])
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || strchr("/?#% ", *p))
            return false;
    return true;
}

void station_load_list(struct source_loader *l, const yaml_node_t *list)
{
    if (list->type != YAML_SEQUENCE_NODE) {
        yaml_loader_report(&l->y, list, "stations must be a list (- station: ANDERNACH ...)");
        return;
    }
    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
         it++) {
        const yaml_node_t *item = yaml_loader_node(&l->y, *it);
        struct station *s;

        if (l->sf->n_stations == SOURCE_STATIONS_MAX) {
            yaml_loader_report(&l->y, item, "more than %d stations", SOURCE_STATIONS_MAX);
            return;
        }
        s = &l->sf->stations[l->sf->n_stations];
        memset(s, 0, sizeof(*s));
        if (item->type != YAML_MAPPING_NODE) {
            yaml_loader_report(&l->y, item,
                               "each station is a mapping (station, subject, municipality)");
            continue;
        }
        for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
             p++) {
            const yaml_node_t *k = yaml_loader_node(&l->y, p->key),
                              *v = yaml_loader_node(&l->y, p->value);
            const char *name = k->type == YAML_SCALAR_NODE ? yaml_loader_text(k) : "";

            if (yaml_loader_seen_before(&l->y, item, p)) {
                yaml_loader_report(&l->y, k, "%s is set twice in a station", name);
                continue;
            }
            if (strcmp(name, "station") == 0)
                source_loader_string(l, v, "station", s->station, sizeof(s->station));
            else if (strcmp(name, "subject") == 0)
                source_loader_string(l, v, "subject", s->subject, sizeof(s->subject));
            else if (strcmp(name, "municipality") == 0)
                source_loader_string(l, v, "municipality", s->municipality,
                                     sizeof(s->municipality));
            else
                yaml_loader_report(&l->y, k,
                                   "unknown key '%s' in a station (station, subject, municipality)",
                                   name);
        }
        if (!station_name_ok(s->station)) {
            yaml_loader_report(&l->y, item,
                               "a station needs station: its PEGELONLINE UUID or name "
                               "(no '/', '?', '#', '%%', space or control character)");
            continue;
        }
        if (!s->municipality[0])
            strcpy(s->municipality, l->sf->municipality);
        if (!source_loader_slug_ok(s->municipality)) {
            yaml_loader_report(&l->y, item,
                               "the station needs a municipality (here or at the top)");
            continue;
        }
        if (!subject_ok(s->subject)) {
            yaml_loader_report(&l->y, item,
                               "subject must match [A-Za-z0-9._-]{1,128}, e.g. pegel-andernach");
            continue;
        }
        l->sf->n_stations++;
    }
}
