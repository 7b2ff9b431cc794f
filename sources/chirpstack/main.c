// SPDX-License-Identifier: MIT
/*
 * rheinhub-source-chirpstack: uplink events of a ChirpStack v4 application (its MQTT
 * integration, JSON) as canonical events (docs/sources.md).
 *
 *   rheinhub-source-chirpstack -c hub.yaml [-f chirpstack.yaml] [--check]
 */
#include "chirpstack_uplink.h"

static int run(struct source *s)
{
    return lorawan_run(s, chirpstack_uplink_parse);
}

int main(int argc, char **argv)
{
    return source_main(SOURCE_CHIRPSTACK, argc, argv, run);
}
