// SPDX-License-Identifier: MIT
/*
 * rheinhub-alerting: raises, updates and clears alerts from the events the hub routes
 * to it, and takes acknowledgements over MQTT (docs/alerting.md).
 *
 *   rheinhub-alerting -c hub.yaml [-i N] [--check]
 *
 * The command line: the configuration and the rules file are loaded (and with --check
 * only checked) before the worker SDK takes over the process (alerting_worker.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "alerting_worker.h"
#include "config.h"
#include "rules.h"

#define KIND "alerting"

/* The -c/--config argument and whether --check is there, without reordering argv. */
static void scan_args(int argc, char **argv, const char **config, bool *check)
{
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            *config = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            *config = argv[i] + 9;
        else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2])
            *config = argv[i] + 2;
        else if (strcmp(argv[i], "--check") == 0)
            *check = true;
        else if (strcmp(argv[i], "-i") == 0 || strcmp(argv[i], "--instance") == 0)
            i++;
    }
}

int main(int argc, char **argv)
{
    static struct hub_config cfg;
    struct rules rules = {0};
    const char *config = NULL;
    bool check = false;
    int r;

    scan_args(argc, argv, &config, &check);
    if (!config)
        return alerting_worker_run(&rules, "", argc, argv); /* prints the usage */
    if (config_load(&cfg, config, stderr) != 0)
        return 2;
    if (!cfg.alerting.rules_file[0]) {
        fprintf(stderr, "%s: alerting.rules_file is not set: the alert rules file\n", config);
        return 2;
    }
    if ((r = rules_load(&rules, cfg.alerting.rules_file, stderr)) != 0) {
        /* A file that cannot be read (-errno) was reported already; else r counts errors. */
        if (r < 0 && r > -1000 && r != -ENOENT && r != -EACCES && r != -EISDIR && r != -EFBIG)
            fprintf(stderr, "%s: %d error%s\n", cfg.alerting.rules_file, -r, r == -1 ? "" : "s");
        return 2;
    }
    if (check) {
        printf("%s: configuration is valid for worker kind %s\n", config, KIND);
        printf("%s: %zu rule%s valid\n", cfg.alerting.rules_file, rules.n,
               rules.n == 1 ? " is" : "s are");
        rules_free(&rules);
        return 0;
    }
    return alerting_worker_run(&rules, cfg.alerting.rules_file, argc, argv);
}
