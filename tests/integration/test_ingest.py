# SPDX-License-Identifier: MIT
"""The ingest path without faults: MQTT in, one envelope per event in Redis."""

import json

import pytest

import harness
from harness import publish, settle

STREAM = "sensor.waterlevel"

REQUIRED_METRICS = [
    "rheinhub_events_received_total",
    "rheinhub_events_accepted_total",
    "rheinhub_events_duplicate_total",
    "rheinhub_queue_length",
    "rheinhub_redis_in_flight",
    "rheinhub_mqtt_paused",
    "rheinhub_mqtt_connected",
    "rheinhub_redis_connected",
    "rheinhub_xadd_latency_seconds_sum",
    "rheinhub_xadd_latency_seconds_count",
]


def assert_histogram(m, name):
    buckets = sorted(((float(labels["le"]), v) for labels, v in m.series(f"{name}_bucket")),
                     key=lambda b: b[0])
    assert buckets, f"{name}_bucket missing"
    assert buckets[-1][0] == float("inf"), f"{name} has no le=\"+Inf\" bucket"
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), f"{name} buckets not cumulative: {buckets}"
    assert buckets[-1][1] == m.get(f"{name}_count"), "+Inf bucket != _count"


def test_metrics_and_healthz_on_start(hub):
    assert hub.healthz() == 200
    m = hub.metrics()
    for name in REQUIRED_METRICS:
        m.get(name)
    for link in ("mqtt", "redis"):
        assert m.get("rheinhub_reconnects_total", link=link) == 0
    assert m.get("rheinhub_mqtt_connected") == 1
    assert m.get("rheinhub_redis_connected") == 1
    assert m.get("rheinhub_mqtt_paused") == 0
    assert m.get("rheinhub_events_received_total") == 0
    assert_histogram(m, "rheinhub_xadd_latency_seconds")


@pytest.mark.slow
def test_10000_events_qos1_each_stored_once(hub, loadgen, redis_client, clock, stack):
    t_lo, now = clock
    lg = loadgen(n=10000, rate=0, qos=1, subjects=37, prefix="gauge-")
    lg.start().wait(timeout=120)
    events = settle(hub, redis_client, hub.stream(STREAM), min_len=10000)
    m = hub.metrics()
    check = lg.check(events, t_lo, now())
    check.assert_exactly_once()
    assert len(events) == 10000
    assert m.get("rheinhub_events_received_total") == 10000
    assert m.get("rheinhub_events_accepted_total") == 10000
    assert m.get("rheinhub_events_duplicate_total") == 0
    assert sum(v for _, v in m.series("rheinhub_events_rejected_total")) == 0
    assert m.get("rheinhub_xadd_latency_seconds_count") >= 1
    assert_histogram(m, "rheinhub_xadd_latency_seconds")
    ids = [ev.env["id"] for ev in events]
    assert len(set(ids)) == 10000, "event ids are not unique"
    assert redis_client.xlen(hub.deadletter) == 0


def wait_received(hub, n, timeout=20):
    harness.wait_until(lambda: hub.metric("rheinhub_events_received_total") >= n
                       and hub.metric("rheinhub_queue_length") == 0
                       and hub.metric("rheinhub_redis_in_flight") == 0,
                       timeout, f"{hub.name} to take {n} events")


def test_event_id_is_deterministic_and_duplicates_are_dropped(hub_factory, redis_client, clock,
                                                              stack):
    t_lo, now = clock
    # A second hub with its own session and key prefix sees the same messages: the
    # ids it computes must be the same (a hash, not a counter or a random number).
    hub = hub_factory("hub")
    twin = hub_factory("twin", redis={"stream_prefix": "twin:"})
    topic_a = "linz/sensor/waterlevel/pegel-linz-1"
    topic_b = "linz/sensor/waterlevel/pegel-linz-2"
    payload = b'{"time":"2026-11-26T06:15:00.123Z","value":312.5,"unit":"cm","trend":-1}'
    changed = b'{"time":"2026-11-26T06:15:00.123Z","value":312.6,"unit":"cm","trend":-1}'
    spaced = b'{"time": "2026-11-26T06:15:00.123Z", "value": 312.5, "unit": "cm", "trend": -1}'

    publish(stack.mqtt_port, [(topic_a, payload)])
    for h in (hub, twin):
        wait_received(h, 1)
    publish(stack.mqtt_port, [(topic_a, payload)])  # the same event again
    for h in (hub, twin):
        wait_received(h, 2)
    publish(stack.mqtt_port, [(topic_b, payload), (topic_a, changed), (topic_a, spaced)])
    for h in (hub, twin):
        wait_received(h, 5)

    results = {}
    for h in (hub, twin):
        m = h.metrics()
        assert m.get("rheinhub_events_received_total") == 5, h.name
        assert m.get("rheinhub_events_accepted_total") == 4, h.name
        assert m.get("rheinhub_events_duplicate_total") == 1, h.name
        events = harness.read_events(redis_client, h.stream(STREAM))
        got = [(ev.env["subject"], ev.env["data"]) for ev in events]
        expect = [("pegel-linz-1", json.loads(payload)), ("pegel-linz-2", json.loads(payload)),
                  ("pegel-linz-1", json.loads(changed)), ("pegel-linz-1", json.loads(spaced))]
        assert got == expect, f"{h.name}: stream holds {got}"
        for ev, (topic, body) in zip(events, [(topic_a, payload), (topic_b, payload),
                                              (topic_a, changed), (topic_a, spaced)]):
            probs = harness.envelope_problems(ev, topic=topic, payload=body,
                                              mqtt_port=stack.mqtt_port, t_lo=t_lo, t_hi=now())
            assert not probs, f"{h.name}: {probs}"
        # JSON reals stay floats, integers stay integers.
        assert type(events[0].env["data"]["value"]) is float
        assert type(events[0].env["data"]["trend"]) is int
        results[h.name] = [ev.env["id"] for ev in events]

    ids = results["hub"]
    assert len(set(ids)) == 4, f"ids not distinct: {ids} (subject, value and bytes differ)"
    assert results["twin"] == ids, "two hub processes computed different ids for the same events"
