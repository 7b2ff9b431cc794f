// SPDX-License-Identifier: MIT
/*
 * Routing: which event streams each worker kind reads. Every event is written once,
 * to the stream of its type; a worker kind is a consumer group on each stream its
 * route covers (types, as globs on "<category>.<type>"), and its municipality and
 * subject patterns are applied by the worker SDK. The hub creates the groups and
 * publishes each route as JSON in <prefix>route:<kind>, where workers (on any host,
 * in any language) follow it.
 */
#ifndef RHEINHUB_ROUTER_H
#define RHEINHUB_ROUTER_H

#include <stdbool.h>

#include "catalog.h"
#include "config.h"
#include "redis_out.h"

/*
 * Streams the workers themselves write, as envelopes like any event: alert state
 * changes (alerting) and closed windows (analytics). They are routed like event
 * types, so that e.g. storage (types ["*"]) keeps them.
 */
#define ROUTER_INTERNAL_TYPES(X)                                                                   \
    X("rheinhub.alert")                                                                            \
    X("rheinhub.aggregate")

/* Every routable type: the catalog's, then the internal ones. */
size_t router_type_count(const struct catalog *cat);
const char *router_type(const struct catalog *cat, size_t i);

/* Whether worker kind w receives events of event_type. */
bool router_routes(const struct worker_config *w, const char *event_type);

/*
 * Pipelines, on the writer's current link, XGROUP CREATE <stream> <kind> $ MKSTREAM
 * for every (kind, stream) pair and the route keys. Groups that exist already are
 * left as they are. Returns 0, or -ENOTCONN when no link is up (the next link_up
 * applies it).
 */
int router_apply(struct redis_out *out, const struct hub_config *cfg, const struct catalog *cat);

#endif
