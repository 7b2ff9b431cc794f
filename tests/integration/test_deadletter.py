# SPDX-License-Identifier: MIT
"""Rejected messages go to the dead-letter stream with their reason; valid ones still flow."""

import re
import signal
from collections import Counter

import harness
from harness import publish, read_events, read_stream

T = "2026-11-26T06:30:00.5Z"
VALID = f'{{"time":"{T}","value":320,"unit":"cm","trend":0}}'.encode()


def padded(size):
    """A valid waterlevel event of exactly `size` bytes (white space before the brace)."""
    head = f'{{"time":"{T}","value":321,"unit":"cm"'.encode()
    out = head + b" " * (size - len(head) - 1) + b"}"
    assert len(out) == size
    return out


DEEP = (f'{{"time":"{T}","value":1,"unit":"cm","deep":'.encode()
        + b"[" * 40 + b"]" * 40 + b"}")

BAD = [
    ("linz/sensor/waterlevel/p1", b"not json {", "bad_json"),
    ("linz/sensor/waterlevel/p1", b"[1,2,3]", "not_object"),
    ("linz/sensor/waterlevel/p1", b'"just a string"', "not_object"),
    ("linz/sensor/waterlevel/p1", padded(70000), "too_large"),
    ("linz/sensor/waterlevel/p1", DEEP, "too_deep"),
    ("linz/sensor/waterlevel/p1", b'{"time":"x\xff"}', "bad_utf8"),
    ("linz/sensor/waterlevel/p1", b'{"value":320,"unit":"cm"}', "bad_time"),
    ("linz/sensor/waterlevel/p1", b'{"time":1795672800,"value":320,"unit":"cm"}', "bad_time"),
    ("linz/sensor/waterlevel/a/b", VALID, "bad_topic"),
    ("Linz/sensor/waterlevel/x", VALID, "bad_topic"),
    ("linz/sensor/water level/x", VALID, "bad_topic"),
    ("linz/sensor/waterlevel", VALID, "bad_topic"),
    ("linz/sensor/waterlevel/", VALID, "bad_topic"),
    ("linz/sensor/Waterlevel/x", VALID, "bad_topic"),
    ("linz/sensor/9level/x", VALID, "bad_topic"),
    ("-linz/sensor/waterlevel/x", VALID, "bad_topic"),
    ("linz/sensor/waterlevel/p:1", VALID, "bad_topic"),
    ("linz/sensor/waterlevel/" + "s" * 129, VALID, "bad_topic"),
    ("m" * 64 + "/sensor/waterlevel/x", VALID, "bad_topic"),
]

GOOD = [
    ("linz/sensor/waterlevel/pegel-1", VALID),
    # The longest names the contract allows.
    ("m" * 63 + "/sensor/waterlevel/" + "S.-_9" * 25 + "abc", VALID),
]


def test_bad_payloads_land_in_deadletter_with_reason(hub, redis_client, clock, stack):
    t_lo, now = clock
    publish(stack.mqtt_port, [(topic, payload) for topic, payload, _ in BAD] + GOOD)
    total = len(BAD) + len(GOOD)
    harness.wait_until(lambda: hub.metric("rheinhub_events_received_total") >= total
                       and harness.events_at_least(redis_client, hub.stream("sensor.waterlevel"),
                                                   len(GOOD))
                       and redis_client.xlen(hub.deadletter) >= len(BAD),
                       30, "every message to be handled")
    harness.wait_until(lambda: hub.metric("rheinhub_queue_length") == 0
                       and hub.metric("rheinhub_redis_in_flight") == 0, 10, "an idle hub")

    entries = read_stream(redis_client, hub.deadletter)
    for eid, fields in entries:
        assert set(fields) == harness.DEADLETTER_FIELDS, f"{eid}: fields {sorted(fields)}"
        assert re.match(harness.RFC3339_UTC_RE, fields[b"time"].decode()), fields[b"time"]
    got = Counter((f[b"topic"], f[b"reason"].decode(), f[b"payload"], f[b"size"])
                  for _, f in entries)
    expect = Counter((topic.encode(), reason, payload[:256], str(len(payload)).encode())
                     for topic, payload, reason in BAD)
    assert got == expect, (f"missing: {sorted(expect - got)}\n"
                           f"unexpected: {sorted(got - expect)}")

    m = hub.metrics()
    for reason, count in Counter(reason for _, _, reason in BAD).items():
        assert m.get("rheinhub_events_rejected_total", reason=reason) == count, reason
    assert m.get("rheinhub_events_received_total") == total
    assert m.get("rheinhub_events_accepted_total") == len(GOOD)

    events = read_events(redis_client, hub.stream("sensor.waterlevel"))
    assert len(events) == len(GOOD), [ev.env for ev in events]
    for ev, (topic, payload) in zip(events, GOOD):
        probs = harness.envelope_problems(ev, topic=topic, payload=payload,
                                          mqtt_port=stack.mqtt_port, t_lo=t_lo, t_hi=now())
        assert not probs, probs
    assert hub.healthz() == 200
    assert hub.running()


def test_payload_limit_is_configurable(hub_factory, redis_client, stack):
    hub = hub_factory(ingest={"max_payload_bytes": 1024})
    at_limit = ("linz/sensor/waterlevel/at-limit", padded(1024))
    over = ("linz/sensor/waterlevel/over-limit", padded(1025))
    publish(stack.mqtt_port, [at_limit, over])
    harness.wait_until(lambda: hub.metric("rheinhub_events_received_total") >= 2
                       and redis_client.xlen(hub.deadletter) >= 1
                       and redis_client.xlen(hub.stream("sensor.waterlevel")) >= 1,
                       20, "both messages to be handled")
    [(_, dl)] = read_stream(redis_client, hub.deadletter)
    assert (dl[b"topic"], dl[b"reason"], dl[b"size"]) == (
        over[0].encode(), b"too_large", b"1025")
    [ev] = read_events(redis_client, hub.stream("sensor.waterlevel"))
    assert ev.env["subject"] == "at-limit"
    assert hub.metric("rheinhub_events_rejected_total", reason="too_large") == 1


def test_reload_applies_the_deadletter_bound(hub_factory, redis_client, stack):
    """ingest.deadletter_maxlen is one of the ingest limits a reload applies at once."""
    hub = hub_factory()
    hub.config["ingest"]["deadletter_maxlen"] = 100
    hub.config_path.write_text(harness.to_yaml(hub.config))
    hub.proc.send(signal.SIGHUP)
    harness.wait_until(lambda: "reload done" in hub.log_path.read_text(), 10, "the reload")
    n = 1000
    publish(stack.mqtt_port, [(f"linz/sensor/waterlevel/p{k}", b"not json {") for k in range(n)])
    harness.wait_until(lambda: hub.metric("rheinhub_deadletters_total") == n, 30,
                       f"{n} dead letters written")
    # MAXLEN ~ trims whole nodes of 100 entries (stream-node-max-entries): about 100 stay.
    assert redis_client.xlen(hub.deadletter) <= 300, redis_client.xlen(hub.deadletter)


def test_an_event_redis_refuses_for_good_is_dead_lettered(hub, redis_client, stack):
    """An event Redis refuses with an error no retry cures (WRONGTYPE: its stream's key
    holds something else) is dead-lettered with reason store_failed and Redis's reply,
    and counted under that reason; the hub goes on."""
    key = hub.stream("sensor.waterlevel")
    redis_client.set(key, "not a stream")
    try:
        publish(stack.mqtt_port, [("linz/sensor/waterlevel/pegel-1", VALID)])
        harness.wait_until(lambda: redis_client.xlen(hub.deadletter) >= 1, 20, "the dead letter")
        [(_, dl)] = read_stream(redis_client, hub.deadletter)
        assert (dl[b"topic"], dl[b"reason"]) == (b"linz/sensor/waterlevel/pegel-1",
                                                 b"store_failed"), dl
        assert b"WRONGTYPE" in dl[b"detail"], dl
        harness.wait_until(lambda: hub.metric("rheinhub_deadletters_total") == 1, 10,
                           "the dead letter counted")
        m = hub.metrics()
        assert m.get("rheinhub_events_rejected_total", reason="store_failed") == 1
        assert m.get("rheinhub_events_accepted_total") == 0
        assert hub.running()
    finally:
        redis_client.delete(key)


def test_retained_messages_are_taken_once_not_at_every_reconnect(hub, redis_client, stack):
    """A device's retained message reaches the hub once: its subscriptions ask for
    retained messages only when they are new (MQTT 5 retain handling 1), so neither a
    hub restart nor a broker restart, which resume the hub's session, hands them over
    again: a retained bad message is one dead letter, not one more per reconnect."""
    publish(stack.mqtt_port, [("linz/sensor/waterlevel/r-bad", b"not json {"),
                              ("linz/sensor/waterlevel/r-good", VALID)], retain=True)
    harness.wait_until(lambda: redis_client.xlen(hub.deadletter) == 1
                       and hub.metric("rheinhub_events_accepted_total") == 1, 20,
                       "the retained pair taken")
    hub.proc.stop()
    hub.start()
    stack.mosquitto.stop()
    stack.mosquitto.start()
    later = b'{"time":"2026-11-26T06:31:00Z","value":321,"unit":"cm"}'
    harness.wait_until(lambda: hub.healthz() == 200, 30, "the hub back on the broker")
    publish(stack.mqtt_port, [("linz/sensor/waterlevel/after", later)])
    harness.wait_until(lambda: len(read_events(redis_client, hub.stream("sensor.waterlevel")))
                       == 2, 20, "the event after the restarts")
    assert hub.metric("rheinhub_events_received_total") == 1  # since its restart: only that
    assert redis_client.xlen(hub.deadletter) == 1, read_stream(redis_client, hub.deadletter)
