// SPDX-License-Identifier: MIT
/* Prometheus text rendering of the hub's metrics. */
#include "metrics.h"

#include <inttypes.h>

#include "prom_text.h"

static const double bucket_bounds[] = {
#define X(v) v,
    METRICS_LATENCY_BUCKETS
#undef X
};

void metrics_observe_xadd(struct metrics *m, uint64_t ns)
{
    double s = (double)ns / 1e9;

    for (int i = 0; i < METRICS_N_BUCKETS; i++) {
        if (s <= bucket_bounds[i]) {
            m->xadd_latency_buckets[i]++;
            break;
        }
    }
    m->xadd_latency_count++;
    m->xadd_latency_sum_s += s;
}

void metrics_render(const struct metrics *m, const struct metrics_gauges *g, FILE *out)
{
    uint64_t cumulative = 0;

    prom_counter(out, "rheinhub_events_received_total", "MQTT messages taken from the broker.",
                 m->received);
    prom_counter(out, "rheinhub_events_accepted_total", "Events written to Redis and confirmed.",
                 m->accepted);
    prom_counter(out, "rheinhub_events_duplicate_total", "Events dropped as recently seen (same source and id).",
                 m->duplicates);
    fprintf(out, "# HELP rheinhub_events_rejected_total Messages rejected, by reason.\n"
                 "# TYPE rheinhub_events_rejected_total counter\n");
    for (int i = 0; i < REJECT_REASON_COUNT; i++)
        fprintf(out, "rheinhub_events_rejected_total{reason=\"%s\"} %" PRIu64 "\n",
                reject_reason_name((enum reject_reason)i), m->rejected[i]);
    prom_counter(out, "rheinhub_deadletters_total", "Dead-letter entries written to Redis.",
                 m->deadletters);
    prom_counter(out, "rheinhub_redis_entries_total",
                 "Stream entries written for events; each carries up to redis.entry_events_max.",
                 m->entries);
    prom_counter(out, "rheinhub_events_resent_total",
                 "Events in doubt after a lost Redis link, re-sent without duplicates.", m->resent);
    prom_counter(out, "rheinhub_redis_errors_total", "Error replies from Redis.", m->redis_errors);
    prom_gauge(out, "rheinhub_queue_length", "Entries waiting to be sent to Redis.", g->queued);
    prom_gauge(out, "rheinhub_redis_in_flight", "Entries sent to Redis and awaiting a reply.",
               g->in_flight);
    prom_gauge(out, "rheinhub_redis_in_doubt", "Entries whose Redis link was lost before a reply.",
               g->in_doubt);
    prom_gauge(out, "rheinhub_mqtt_paused", "1 while MQTT reading is paused by backpressure.",
               g->mqtt_paused);
    prom_counter(out, "rheinhub_mqtt_pauses_total", "Times MQTT reading was paused.",
                 m->mqtt_pauses);
    prom_gauge(out, "rheinhub_journal_bytes", "Bytes in the crash journal (segments and buffer).",
               g->journal_bytes);
    prom_gauge(out, "rheinhub_journal_blocked", "1 while the crash journal cannot be written.",
               g->journal_blocked);
    prom_gauge(out, "rheinhub_mqtt_connected", "1 while the MQTT session is up.",
               g->mqtt_connected);
    prom_gauge(out, "rheinhub_mqtt_subscriptions_refused",
               "Topic filters not subscribed: refused at the last SUBACK, or not sent.",
               g->mqtt_refused);
    prom_counter(out, "rheinhub_mqtt_subscription_refusals_total",
                 "Topic filters the broker refused, counted at each SUBACK.",
                 m->mqtt_subscriptions_refused);
    prom_gauge(out, "rheinhub_redis_connected", "1 while the Redis link is up.",
               g->redis_connected);
    prom_gauge(out, "rheinhub_redis_refusing_writes",
               "1 while Redis refuses writes with an error (maxmemory, its disk full).",
               g->redis_refusing);
    fprintf(out,
            "# HELP rheinhub_reconnects_total Connections re-established after a loss.\n"
            "# TYPE rheinhub_reconnects_total counter\n"
            "rheinhub_reconnects_total{link=\"mqtt\"} %" PRIu64 "\n"
            "rheinhub_reconnects_total{link=\"redis\"} %" PRIu64 "\n",
            m->mqtt_reconnects, m->redis_reconnects);
    fprintf(out, "# HELP rheinhub_xadd_latency_seconds Time from sending an XADD to its reply.\n"
                 "# TYPE rheinhub_xadd_latency_seconds histogram\n");
    for (int i = 0; i < METRICS_N_BUCKETS; i++) {
        cumulative += m->xadd_latency_buckets[i];
        fprintf(out, "rheinhub_xadd_latency_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                bucket_bounds[i], cumulative);
    }
    fprintf(out,
            "rheinhub_xadd_latency_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
            "rheinhub_xadd_latency_seconds_sum %.9f\n"
            "rheinhub_xadd_latency_seconds_count %" PRIu64 "\n",
            m->xadd_latency_count, m->xadd_latency_sum_s, m->xadd_latency_count);
}
