// SPDX-License-Identifier: MIT
/* The query command's arguments, and the store and export it wires together. */
#include "query.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "storage_config.h"
#include "store.h"
#include "timestamp.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rheinhub-storage query -c FILE [options]\n"
            "  -c, --config FILE       hub.yaml (its storage section names the database)\n"
            "      --table NAME        events (default), alerts or aggregates\n"
            "  -m, --municipality M    only this municipality\n"
            "  -t, --type T            only this type (<category>.<type>; for alerts and\n"
            "                          aggregates the type of the events they are about)\n"
            "  -s, --subject S         only this subject\n"
            "      --id ID             only this id (events: the event; alerts: every change\n"
            "                          of this alert; aggregates: the window). Without\n"
            "                          --since/--until it reads the whole table\n"
            "      --since TIME        from TIME on (RFC 3339, or YYYY-MM-DD for midnight UTC)\n"
            "      --until TIME        before TIME\n"
            "  -n, --limit N           at most N rows\n"
            "  -f, --format FORMAT     jsonl (default) or csv (RFC 4180)\n"
            "Rows come oldest first: events by their time, alerts by updated_at, aggregates\n"
            "by the start of their window.\n");
}

/* Reports "--option must be what, not "value"". Returns the usage exit status. */
static int bad(const char *option, const char *what, const char *value)
{
    fprintf(stderr, "rheinhub-storage query: --%s must be %s, not \"%s\"\n", option, what,
            value);
    return 2;
}

int query_main(int argc, char **argv)
{
    enum { OPT_TABLE = 256, OPT_SINCE, OPT_UNTIL, OPT_ID };
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"table", required_argument, NULL, OPT_TABLE},
        {"municipality", required_argument, NULL, 'm'},
        {"type", required_argument, NULL, 't'},
        {"subject", required_argument, NULL, 's'},
        {"id", required_argument, NULL, OPT_ID},
        {"since", required_argument, NULL, OPT_SINCE},
        {"until", required_argument, NULL, OPT_UNTIL},
        {"limit", required_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct store_filter filter = {.table = STORE_EVENTS};
    enum export_format format = EXPORT_JSONL;
    const char *config_path = NULL;
    struct hub_config *cfg = NULL;
    char path[PATH_MAX], err[STORE_ERROR_MAX];
    struct store *store = NULL;
    struct export out;
    static char outbuf[1 << 16];
    int opt, r, status = 1;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:m:t:s:n:f:h", options, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'c': config_path = optarg; break;
        case OPT_TABLE:
            if (store_table_parse(optarg, &filter.table) < 0)
                return bad("table", "events, alerts or aggregates", optarg);
            break;
        case 'm': filter.municipality = optarg; break;
        case 't': filter.type = optarg; break;
        case 's': filter.subject = optarg; break;
        case OPT_ID: filter.id = optarg; break;
        case OPT_SINCE:
            if (timestamp_parse_bound(optarg, &filter.since_ns) < 0)
                return bad("since", "an RFC 3339 date-time or YYYY-MM-DD", optarg);
            filter.has_since = true;
            break;
        case OPT_UNTIL:
            if (timestamp_parse_bound(optarg, &filter.until_ns) < 0)
                return bad("until", "an RFC 3339 date-time or YYYY-MM-DD", optarg);
            filter.has_until = true;
            break;
        case 'n':
            errno = 0;
            filter.limit = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end || filter.limit < 1)
                return bad("limit", "a positive number", optarg);
            break;
        case 'f':
            if (export_format_parse(optarg, &format) < 0)
                return bad("format", "jsonl or csv", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!config_path || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (!(cfg = malloc(sizeof(*cfg)))) {
        fprintf(stderr, "rheinhub-storage query: out of memory\n");
        return 1;
    }
    if (config_load(cfg, config_path, stderr) != 0) {
        free(cfg);
        return 2;
    }
    if (storage_config_check(cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", config_path, err);
        free(cfg);
        return 2;
    }
    if ((r = storage_config_sqlite_path(cfg, config_path, path, sizeof(path))) < 0) {
        fprintf(stderr, "rheinhub-storage query: storage.sqlite_path: %s\n", strerror(-r));
        free(cfg);
        return 2;
    }
    if (store_open(&store, cfg, path, STORE_READ, err, sizeof(err)) < 0) {
        fprintf(stderr, "rheinhub-storage query: %s\n", err);
        free(cfg);
        return 1;
    }
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
    export_init(&out, stdout, format, filter.table);
    if ((r = store_query(store, &filter, &out)) < 0)
        fprintf(stderr, "rheinhub-storage query: %s\n", store_error(store));
    else if (export_finish(&out) < 0)
        fprintf(stderr, "rheinhub-storage query: writing the output: %s\n", strerror(errno));
    else
        status = 0;
    store_close(store);
    free(cfg);
    return status;
}
