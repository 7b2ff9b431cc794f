// SPDX-License-Identifier: MIT
/*
 * The console's /healthz and /metrics (probe.h): the state of its broker session, its
 * database and its account registry, and the counters with the gauges read now.
 */
#include "probe.h"

#include <unistd.h>

#include "watch.h"

void probe_health(struct console *c, struct api_reply *reply)
{
    char err[512] = "";
    enum watch_state link = watch_state(c->watch);
    bool broker = link == WATCH_UP;
    bool database = history_check(&c->history, err, sizeof(err)) == 0;
    bool accounts = access(c->cfg->console.accounts_file, R_OK) == 0;
    bool ok = broker && database && accounts;

    reply->status = ok ? 200 : 503;
    reply->body = json_pack("{s:s,s:s,s:s,s:s,s:I,s:i}",
                            "status", ok ? "ok" : "degraded",
                            "broker", watch_state_name(link),
                            "database", database ? "ok" : "unreadable",
                            "accounts", accounts ? "ok" : "unreadable",
                            "streams", (json_int_t)board_clients(c->board),
                            "sessions", sessions_count(c->sessions));
}

void probe_metrics(struct console *c, FILE *out)
{
    struct counters_gauges g = {0};
    size_t alerts = 0;

    g.broker_up = watch_state(c->watch) == WATCH_UP;
    board_stats(c->board, &alerts, &g.board_dropped);
    g.alerts = alerts;
    g.streams = board_clients(c->board);
    g.sessions = (uint64_t)sessions_count(c->sessions);
    counters_render(&c->counters, &g, out);
}
