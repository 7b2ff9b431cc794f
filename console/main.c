// SPDX-License-Identifier: MIT
/*
 * rheinhub-console: the operations console (docs/console.md). Reads hub.yaml (its
 * console section, the broker, Redis and storage it shares with the hub), loads the
 * page's files and the alert rules, then runs three threads: libmosquitto's for the
 * console's reading session, libmicrohttpd's for HTTP, and this one, which waits for
 * SIGINT/SIGTERM or the end of the supervisor's stdin pipe and once a second ends
 * idle sessions, ends the board's resync once the broker's replay is over (when no
 * message comes to do it) and (every PING_S) pings the live streams.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mosquitto.h>

#include "clock.h"
#include "console.h"
#include "log.h"
#include "rules.h"
#include "storage_config.h"
#include "watch.h"
#include "web.h"

#define PING_S 15
#define PEM_MAX (256 * 1024)

static void usage(FILE *out)
{
    fprintf(out, "usage: rheinhub-console -c hub.yaml [--check]\n"
                 "  -c, --config FILE  the configuration (its console section: docs/console.md)\n"
                 "      --check        check the configuration, the page's files and the\n"
                 "                     alert rules, then exit (0: fine)\n");
}

static bool loopback(const char *ip)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, ip, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, ip, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static char *read_pem(const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    buf = calloc(1, PEM_MAX + 1);
    n = buf ? fread(buf, 1, PEM_MAX, f) : 0;
    if (!buf || ferror(f) || n == 0 || n == PEM_MAX) {
        snprintf(err, err_size, "%s: cannot read it (empty, too large or unreadable)", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static void session_ended(void *data, const char *token)
{
    struct console *c = data;

    board_end_session(c->board, token);
}

/* The supervisor's pipe on stdin: its end means the hub is gone. */
static bool stdin_is_pipe(void)
{
    struct stat st;

    return fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

static int run(struct console *c)
{
    sigset_t mask;
    int sfd, ticks = 0;
    bool watch_stdin = stdin_is_pipe();

    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
        log_error("console", "signalfd: %s", strerror(errno));
        return 1;
    }
    for (;;) {
        struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = STDIN_FILENO, .events = POLLIN}};
        int n = poll(p, watch_stdin ? 2 : 1, 1000);

        if (n < 0 && errno != EINTR) {
            log_error("console", "poll: %s", strerror(errno));
            break;
        }
        if (n > 0 && (p[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                log_info("console", "%s received; stopping", strsignal((int)si.ssi_signo));
            break;
        }
        if (n > 0 && watch_stdin && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[256];
            ssize_t k = read(STDIN_FILENO, buf, sizeof(buf));
            if (k <= 0) {
                log_info("console", "the hub is gone (stdin closed); stopping");
                break;
            }
        }
        sessions_expire(c->sessions, session_ended, c);
        board_resync_tick(c->board, clock_now_ms());
        if (++ticks % PING_S == 0)
            board_ping(c->board);
    }
    close(sfd);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct hub_config cfg;
    struct console c = {.cfg = &cfg};
    struct rules rules = {0};
    struct watch *watch = NULL;
    struct web *web = NULL;
    const char *config_path = NULL;
    char err[1024] = "", *cert = NULL, *key = NULL;
    bool check = false, have_rules = false;
    sigset_t mask;
    int opt, status = 1;

    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'C': check = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!config_path || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (config_load(&cfg, config_path, stderr) != 0)
        return 1;
    log_set_level(cfg.log.level);
    if (cfg.console.tls_cert[0] != '\0' && cfg.console.tls_key[0] == '\0') {
        fprintf(stderr, "%s: console.tls_cert needs console.tls_key\n", config_path);
        return 1;
    }
    c.tls = cfg.console.tls_cert[0] != '\0';
    if (!c.tls && !loopback(cfg.console.bind)) {
        fprintf(stderr, "%s: console.bind %s is not a loopback address: without "
                        "console.tls_cert and tls_key the console serves plain HTTP, which "
                        "only loopback may carry\n", config_path, cfg.console.bind);
        return 1;
    }
    if (c.tls && (!(cert = read_pem(cfg.console.tls_cert, err, sizeof(err))) ||
                  !(key = read_pem(cfg.console.tls_key, err, sizeof(err))))) {
        fprintf(stderr, "%s: console TLS: %s\n", config_path, err);
        goto out;
    }
    if (!(c.files = files_load(cfg.console.files, err, sizeof(err)))) {
        /* The default is the source tree's folder; an installed console without it
         * finds its files where they were installed. */
        char err2[1024];
        if (access(cfg.console.files, F_OK) == 0 ||
            !(c.files = files_load(RHEINHUB_CONSOLE_FILES_INSTALLED, err2, sizeof(err2)))) {
            fprintf(stderr, "%s: console.files: %s\n", config_path, err);
            goto out;
        }
        log_warn("console", "no page files in %s; using %s", cfg.console.files,
                 RHEINHUB_CONSOLE_FILES_INSTALLED);
    }
    if (cfg.alerting.rules_file[0]) {
        if (rules_load(&rules, cfg.alerting.rules_file, stderr) != 0)
            goto out;
        have_rules = true;
    }
    c.history.cfg = &cfg;
    c.history.rules = have_rules ? &rules : NULL;
    if (storage_config_sqlite_path(&cfg, config_path, c.history.sqlite_path,
                                   sizeof(c.history.sqlite_path)) < 0) {
        fprintf(stderr, "%s: storage.sqlite_path is too long\n", config_path);
        goto out;
    }
    if (check) {
        /* Read at each login; without it every login is refused as no_registry. */
        if (access(cfg.console.accounts_file, R_OK) != 0) {
            fprintf(stderr, "%s: console.accounts_file %s: %s\n", config_path,
                    cfg.console.accounts_file, strerror(errno));
            goto out;
        }
        printf("%s: the console's configuration is fine\n", config_path);
        status = 0;
        goto out;
    }

    /* Every thread started from here on inherits the mask: signals reach run() only. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    mosquitto_lib_init();
    counters_init(&c.counters);
    c.broker_host = cfg.mqtt.host;
    c.broker_port = cfg.mqtt.port;
    if (!(c.board = board_new(web_park, web_wake)) ||
        !(c.sessions = sessions_new(cfg.console.max_sessions, cfg.console.idle_timeout_s)) ||
        !(c.throttle = throttle_new())) {
        log_error("console", "out of memory");
        goto out;
    }
    {
        struct watch_options wo = {
            .host = cfg.mqtt.host,
            .port = cfg.mqtt.port,
            .client_id = cfg.console.client_id,
            .username = cfg.console.username[0] ? cfg.console.username : cfg.mqtt.username,
            .password = cfg.console.username[0] ? cfg.console.password : cfg.mqtt.password,
            .keepalive_s = cfg.mqtt.keepalive_s,
        };
        if (!(watch = watch_start(&wo, c.board)))
            goto out;
        c.watch = watch;
    }
    if (!(web = web_start(&c, cert, key, err, sizeof(err)))) {
        log_error("console", "%s", err);
        goto out;
    }
    log_info("console", "listening on %s://%s:%d/", c.tls ? "https" : "http", cfg.console.bind,
             web_port(web));
    status = run(&c);
out:
    web_stop(web);
    watch_stop(watch);
    sessions_free(c.sessions);
    throttle_free(c.throttle);
    board_free(c.board);
    files_free(c.files);
    if (have_rules)
        rules_free(&rules);
    free(cert);
    free(key);
    if (!check)
        mosquitto_lib_cleanup();
    return status;
}
