// SPDX-License-Identifier: MIT
/*
 * rheinhub-source-pegelonline: the water levels of the configured PEGELONLINE gauges
 * as sensor.waterlevel events (docs/sources.md).
 *
 *   rheinhub-source-pegelonline -c hub.yaml [-f pegelonline.yaml] [--check]
 *
 * One thread polls every gauge through one libcurl multi handle: the requests of
 * different gauges run side by side, so a gauge that hangs until its timeout holds
 * up no other. The same loop drives the connection to our broker: its socket is one
 * of curl_multi_poll's extra descriptors.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "gauge.h"
#include "gauge_state.h"
#include "log.h"
#include "mqtt_link.h"

#define POLL_SLICE_MS 500
#define STATE_RETRY_MS 5000 /* the state file could not be written (a full disk): next try */

/* The state file's writes: after one failed, the next waits, and the error is logged once. */
struct state_saves {
    int64_t next_ms; /* no try before this (monotonic ms) */
    int error;       /* of the last try (a negative errno); 0 after one that worked */
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes the state file when a gauge has news and our broker has every event; last:
 * the try at exit, however soon after a failed one. */
static void save_if_delivered(struct source *s, struct gauge *g, int n, struct state_saves *st,
                              bool last)
{
    const char *path = s->sf.api.state_file;
    int64_t now = now_ms();
    bool dirty = false;
    int r;

    for (int i = 0; i < n; i++)
        dirty |= g[i].dirty;
    if (!dirty || !path[0] || atomic_load(&s->m.queued) != 0 || (!last && now < st->next_ms))
        return;
    if ((r = gauge_state_save(path, g, n)) < 0) {
        if (r != st->error)
            log_error("pegelonline", "cannot write %s: %s; trying again every %d s (a restart "
                      "meanwhile publishes again what it lacks, the hub stores it once)", path,
                      strerror(-r), STATE_RETRY_MS / 1000);
        st->error = r;
        st->next_ms = now + STATE_RETRY_MS;
        return;
    }
    if (st->error)
        log_info("pegelonline", "%s written again", path);
    st->error = 0;
}

static void start_due(struct source *s, CURLM *multi, struct gauge *g, int n, int64_t now)
{
    char url[1024];

    for (int i = 0; i < n; i++) {
        /* No new request while sources.queue_max events wait for our broker, or events
         * it refused wait to be taken. */
        if (g[i].busy || g[i].due_ms > now || publisher_full(&s->pub))
            continue;
        gauge_url(&g[i], s, url, sizeof(url));
        if (fetch_start(&g[i].req, url, s->sf.api.timeout_s, s->sf.api.ca_file, g[i].etag,
                        g[i].last_modified) < 0 ||
            curl_multi_add_handle(multi, g[i].req.easy) != CURLM_OK) {
            log_error("pegelonline", "cannot start a request for %s", g[i].st->station);
            fetch_close(&g[i].req);
            g[i].due_ms = now + 1000;
            continue;
        }
        g[i].busy = true;
    }
}

static void finish_done(struct source *s, CURLM *multi, struct gauge *g, int n)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(multi, &left))) {
        struct fetch *f = NULL;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&f);
        fetch_done(f, msg->data.result);
        curl_multi_remove_handle(multi, msg->easy_handle);
        for (int i = 0; i < n; i++)
            if (&g[i].req == f) {
                gauge_finish(&g[i], s, now_ms());
                g[i].busy = false;
            }
        fetch_close(f);
    }
}

static int run(struct source *s)
{
    static struct gauge gauges[SOURCE_STATIONS_MAX];
    struct state_saves saves = {0, 0};
    int n = s->sf.n_stations, running, r;
    CURLM *multi;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(multi = curl_multi_init())) {
        log_error("pegelonline", "cannot initialise libcurl");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        memset(&gauges[i], 0, sizeof(gauges[i]));
        gauges[i].st = &s->sf.stations[i];
        gauges[i].index = i;
        gauges[i].backfill = true; /* fill the gap since the last run first */
        gauges[i].last_dead_letter = -1;
        gauges[i].due_ms = now_ms();
    }
    if (s->sf.api.state_file[0] &&
        (r = gauge_state_load(s->sf.api.state_file, gauges, n, (int64_t)time(NULL))) < 0)
        log_warn("pegelonline", "cannot read %s (%s): the gap fill may publish again what "
                 "was published before (the hub stores it once)", s->sf.api.state_file,
                 strerror(-r));
    while (!source_stopping()) {
        int64_t now = now_ms(), next = now + POLL_SLICE_MS;
        struct pollfd pub;
        struct curl_waitfd extra;

        publisher_service(&s->pub, now);
        start_due(s, multi, gauges, n, now);
        curl_multi_perform(multi, &running);
        finish_done(s, multi, gauges, n);
        save_if_delivered(s, gauges, n, &saves, false);
        /* A gauge that is due waits while the publisher is full (start_due starts none):
         * then the loop waits for our broker's PUBACKs, not for a due time in the past. */
        for (int i = 0; i < n && !publisher_full(&s->pub); i++)
            if (!gauges[i].busy && gauges[i].due_ms < next)
                next = gauges[i].due_ms;
        mqtt_link_after_poll(&s->pub.link, 0); /* what the answers published */
        pub = mqtt_link_pollfd(&s->pub.link, true);
        extra = (struct curl_waitfd){
            .fd = pub.fd,
            .events = (short)(((pub.events & POLLIN) ? CURL_WAIT_POLLIN : 0) |
                              ((pub.events & POLLOUT) ? CURL_WAIT_POLLOUT : 0))};
        curl_multi_poll(multi, pub.fd >= 0 ? &extra : NULL, pub.fd >= 0 ? 1 : 0,
                        (int)(next > now ? next - now : 0), NULL);
        mqtt_link_after_poll(&s->pub.link, (short)((extra.revents & CURL_WAIT_POLLIN) ? POLLIN : 0));
    }
    for (int i = 0; i < n; i++)
        if (gauges[i].busy) {
            curl_multi_remove_handle(multi, gauges[i].req.easy);
            fetch_close(&gauges[i].req);
        }
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    if (publisher_drain(&s->pub, s->cfg.shutdown.drain_timeout_s * 1000) == 0)
        save_if_delivered(s, gauges, n, &saves, true);
    return 0;
}

int main(int argc, char **argv)
{
    return source_main(SOURCE_PEGELONLINE, argc, argv, run);
}
