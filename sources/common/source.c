// SPDX-License-Identifier: MIT
/*
 * The frame every source runs in (source.h): command line, configuration and schema
 * loading, --check, the stop signals, and the emit step from a mapped event to our
 * broker or to the dead-letter stream.
 *
 * Signals: SIGTERM, SIGINT and SIGHUP are blocked in every thread (the mask is set
 * before any thread starts) and read from a signalfd by the main thread, so that the
 * MQTT, HTTP and curl threads never see them.
 */
#include "source.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mosquitto.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cloudevent.h"
#include "json_arena.h"
#include "log.h"
#include "schema.h"
#include "topic.h"


static int signal_fd = -1;
static bool stdin_watched;
static bool stop_asked;

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s -c hub.yaml [-f FILE] [--check]\n"
            "  -c hub.yaml  the hub's configuration: our broker, Redis, and in its sources\n"
            "               section the file of this source\n"
            "  -f FILE      this source's file instead of the one hub.yaml names\n"
            "  --check      check hub.yaml and the source's file, print the errors as\n"
            "               FILE:LINE: message, and exit (0: good, 2: errors)\n",
            prog);
}

/* Reads what is pending on the signal fd and stdin; never blocks. */
static void poll_stop(int timeout_ms)
{
    struct pollfd fds[2] = {{.fd = signal_fd, .events = POLLIN},
                            {.fd = stdin_watched ? STDIN_FILENO : -1, .events = POLLIN}};

    if (stop_asked)
        return;
    if (poll(fds, 2, timeout_ms) <= 0)
        return;
    if (fds[0].revents & POLLIN) {
        struct signalfd_siginfo si;
        if (read(signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            if (si.ssi_signo == SIGHUP) {
                log_info("source", "SIGHUP: a source reads its files at start only; restart "
                                   "it to apply a change");
            } else {
                log_info("source", "signal %u: stopping", si.ssi_signo);
                stop_asked = true;
            }
        }
    }
    if (fds[1].revents) {
        char buf[256];
        ssize_t n = (fds[1].revents & POLLNVAL) ? 0 : read(STDIN_FILENO, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
            log_info("source", "standard input closed (the hub is gone): stopping");
            stdin_watched = false;
            stop_asked = true;
        }
    }
}

bool source_stopping(void)
{
    poll_stop(0);
    return stop_asked;
}

void source_sleep_ms(int ms)
{
    poll_stop(ms);
}

static void setup_signals(void)
{
    sigset_t set;
    struct stat st;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    /* A pipe or socket on stdin is the supervisor's: its end means the hub is gone. */
    stdin_watched = fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/* Writes x as 16 lower-case hex digits. */
static void hex64(char *out, unsigned long long x)
{
    static const char digits[] = "0123456789abcdef";

    for (int i = 15; i >= 0; i--, x >>= 4)
        out[i] = digits[x & 15];
}

void source_event_id(char out[SOURCE_ID_HEX + 1], const char *const *parts, int n)
{
    char joined[1024];
    size_t len = 0;
    XXH128_hash_t h;
    int i;

    /* The parts joined in one buffer and hashed at once, the same digest as the
     * streaming form below, which takes parts too long for the buffer. */
    for (i = 0; i < n; i++) {
        size_t k = strlen(parts[i]) + 1;
        if (k > sizeof(joined) - len)
            break;
        memcpy(joined + len, parts[i], k);
        len += k;
    }
    if (i == n) {
        h = XXH3_128bits(joined, len);
    } else {
        XXH3_state_t state;
        XXH3_INITSTATE(&state);
        XXH3_128bits_reset(&state);
        for (i = 0; i < n; i++)
            XXH3_128bits_update(&state, parts[i], strlen(parts[i]) + 1);
        h = XXH3_128bits_digest(&state);
    }
    hex64(out, (unsigned long long)h.high64);
    hex64(out + 16, (unsigned long long)h.low64);
    out[SOURCE_ID_HEX] = '\0';
}

void source_reject(struct source *s, enum source_reason reason, const char *detail,
                   const struct source_input *in)
{
    deadletters_add(&s->dl, reason, in->topic, detail, in->payload, in->len);
}

int source_emit(struct source *s, const struct source_event *ev, const struct source_input *in)
{
    char topic_text[TOPIC_MUNICIPALITY_MAX + TOPIC_EVENT_TYPE_MAX + TOPIC_SUBJECT_MAX + 8];
    char detail[SCHEMA_POINTER_MAX + SCHEMA_MESSAGE_MAX + 64];
    const struct schema *schema;
    struct schema_error err;
    struct topic topic;
    const char *why = NULL, *text;
    char *heap = NULL;
    size_t len;
    int r;

    snprintf(topic_text, sizeof(topic_text), "%s/%s/%s", ev->municipality, ev->event_type,
             ev->subject);
    *strchr(topic_text + strlen(ev->municipality) + 1, '.') = '/';
    if (topic_parse(topic_text, &topic, &why) < 0) {
        snprintf(detail, sizeof(detail), "topic %s: %s", topic_text, why ? why : "invalid");
        source_reject(s, SOURCE_REASON_BAD_SUBJECT, detail, in);
        return -1 - SOURCE_REASON_BAD_SUBJECT;
    }
    if (!(schema = catalog_find(s->catalog, ev->event_type))) {
        snprintf(detail, sizeof(detail), "no schema for event type %s", ev->event_type);
        source_reject(s, SOURCE_REASON_SCHEMA, detail, in);
        return -1 - SOURCE_REASON_SCHEMA;
    }
    if (schema_validate(schema, ev->data, &err, 1) > 0) {
        /* A field of another JSON type than its schema's is a changed payload format. */
        enum source_reason reason = strcmp(err.keyword, "type") == 0
                                        ? SOURCE_REASON_BAD_FIELD_TYPE
                                        : SOURCE_REASON_SCHEMA;
        snprintf(detail, sizeof(detail), "%s at \"%s\": %s", ev->event_type, err.pointer,
                 err.message);
        source_reject(s, reason, detail, in);
        return -1 - (int)reason;
    }
    len = cloudevent_format(ev, s->ce_text, sizeof(s->ce_text));
    text = s->ce_text;
    if (len > sizeof(s->ce_text)) { /* rare: a larger text on the heap */
        text = heap = malloc(len);
        len = heap ? cloudevent_format(ev, heap, len) : 0;
    }
    if (len == 0) {
        log_error("source", "out of memory: event %s not published", ev->id);
        free(heap);
        return -ENOMEM;
    }
    r = publisher_publish(&s->pub, topic_text, text, len);
    free(heap);
    return r;
}

/* Every rule's event type must have a schema; the gauges' type too. */
static int check_types(struct source *s)
{
    int errors = 0;

    for (int i = 0; i < s->sf.n_rules; i++)
        if (!catalog_find(s->catalog, s->sf.rules[i].event_type)) {
            fprintf(stderr, "%s:%d: no schema for event type %s in %s\n", s->sf.path,
                    s->sf.rules[i].line, s->sf.rules[i].event_type, s->cfg.schemas.dir);
            errors++;
        }
    if (s->kind == SOURCE_PEGELONLINE && !catalog_find(s->catalog, "sensor.waterlevel")) {
        fprintf(stderr, "%s: no schema for sensor.waterlevel\n", s->cfg.schemas.dir);
        errors++;
    }
    return errors;
}

static const char *file_of(const struct hub_config *cfg, enum source_kind kind)
{
    switch (kind) {
    case SOURCE_TTN: return cfg->sources.ttn;
    case SOURCE_CHIRPSTACK: return cfg->sources.chirpstack;
    case SOURCE_PEGELONLINE: return cfg->sources.pegelonline;
    }
    return "";
}

int source_main(enum source_kind kind, int argc, char **argv, int (*run)(struct source *s))
{
    static struct source src;
    struct source *s = &src;
    const char *config = NULL, *file = NULL;
    char component[48];
    bool check = false;
    int status = 1, r;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--check") == 0)
            check = true;
        else {
            usage(argv[0]);
            return 2;
        }
    }
    if (!config) {
        usage(argv[0]);
        return 2;
    }
    json_arena_install(); /* before any JSON is made */
    s->kind = kind;
    s->name = source_kind_name(kind);
    snprintf(component, sizeof(component), "source-%s", s->name);
    if (config_load(&s->cfg, config, stderr) != 0)
        return 2;
    log_set_level(s->cfg.log.level);
    if (!file || !file[0])
        file = file_of(&s->cfg, kind);
    if (!file[0]) {
        fprintf(stderr, "%s: the sources section names no file for %s (sources.%s), and no "
                        "-f FILE was given\n", config, s->name, s->name);
        return 2;
    }
    if (source_file_load(&s->sf, kind, file, stderr) != 0)
        return 2;
    if (!(s->catalog = catalog_load(s->cfg.schemas.dir, stderr))) {
        source_file_close(&s->sf);
        return 2;
    }
    if (check_types(s) > 0) {
        status = 2;
        goto out_files;
    }
    if (check) {
        printf("%s: ok (%d device rules, %d stations)\n", s->sf.path, s->sf.n_rules,
               s->sf.n_stations);
        status = 0;
        goto out_files;
    }

    setup_signals();
    mosquitto_lib_init();
    source_metrics_init(&s->m, s->name);
    s->m.has_upstream = kind != SOURCE_PEGELONLINE;
    for (int i = 0; i < s->sf.n_stations; i++)
        snprintf(s->m.stations[i].station, sizeof(s->m.stations[i].station), "%s",
                 s->sf.stations[i].station);
    s->m.n_stations = s->sf.n_stations;
    if (source_metrics_serve(&s->m, s->sf.http.bind, s->sf.http.port) < 0)
        goto out_metrics;
    deadletters_init(&s->dl, &s->cfg, s->name, &s->m);
    if ((r = publisher_start(&s->pub, &s->cfg, s->name, &s->m)) < 0) {
        log_error(component, "cannot start the publisher: %s", strerror(-r));
        goto out_dl;
    }
    log_info(component, "started: %s, %d device rules, %d stations", s->sf.path, s->sf.n_rules,
             s->sf.n_stations);
    status = run(s);
    r = publisher_drain(&s->pub, s->cfg.shutdown.drain_timeout_s * 1000);
    if (r > 0)
        log_error(component, "%d events were not acknowledged by our broker within %d s", r,
                  s->cfg.shutdown.drain_timeout_s);
    publisher_stop(&s->pub);
out_dl:
    deadletters_close(&s->dl);
out_metrics:
    source_metrics_close(&s->m);
    mosquitto_lib_cleanup();
    log_info(component, "stopped");
out_files:
    catalog_free(s->catalog);
    source_file_close(&s->sf);
    return status;
}
