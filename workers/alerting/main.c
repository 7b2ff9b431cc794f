// SPDX-License-Identifier: MIT
/*
 * rheinhub-alerting: raises, updates and clears alerts from the events the hub routes
 * to it, and takes acknowledgements over MQTT (docs/alerting.md).
 *
 *   rheinhub-alerting -c hub.yaml [-i N] [--check]
 */
#include "alerting_worker.h"

int main(int argc, char **argv)
{
    return alerting_worker_main(argc, argv);
}
