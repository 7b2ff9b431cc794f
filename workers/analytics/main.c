// SPDX-License-Identifier: MIT
/*
 * rheinhub-analytics: windowed aggregates per sensor and per town, published retained
 * over MQTT and stored (docs/analytics.md).
 *
 *   rheinhub-analytics -c hub.yaml [-i N] [--check]
 *
 * --check also checks the windows file (analytics.windows_file).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "analytics.h"
#include "config.h"
#include "windows_file.h"

/* The -c argument, or NULL: the SDK's own parsing reports a missing one. */
static const char *config_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
        if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2])
            return argv[i] + 2;
    }
    return NULL;
}

static bool has_check(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--check") == 0)
            return true;
    return false;
}

/* --check: the windows file too; the SDK then checks the rest and says so. */
static int check_windows(const char *config_path)
{
    static struct hub_config cfg;
    static struct windows_file wf;

    if (config_load(&cfg, config_path, stderr) != 0)
        return 2;
    if (cfg.analytics.windows_file[0] &&
        windows_file_load(&wf, cfg.analytics.windows_file, stderr) != 0)
        return 2;
    return 0;
}

int main(int argc, char **argv)
{
    const char *config_path = config_arg(argc, argv);

    if (config_path && has_check(argc, argv) && check_windows(config_path) != 0)
        return 2;
    return analytics_main(argc, argv);
}
