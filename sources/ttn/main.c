// SPDX-License-Identifier: MIT
/*
 * rheinhub-source-ttn: uplinks of a The Things Stack v3 application (its MQTT
 * integration) as canonical events (docs/sources.md).
 *
 *   rheinhub-source-ttn -c hub.yaml [-f ttn.yaml] [--check]
 */
#include "ttn_uplink.h"

static int run(struct source *s)
{
    return lorawan_run(s, ttn_uplink_parse);
}

int main(int argc, char **argv)
{
    return source_main(SOURCE_TTN, argc, argv, run);
}
