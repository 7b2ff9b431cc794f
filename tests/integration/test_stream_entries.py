# SPDX-License-Identifier: MIT
"""The hub's stream entries: several events of one stream per entry under load
(redis.entry_events_max), each event exactly once, and the layout of
schemas/envelope.md: one event is `id` + `env`, several are `n` + `ids` + `env`."""

import msgpack
import pytest

import harness

STREAM = "sensor.waterlevel"


def decode(fields):
    """(ids, envelopes) of one entry, through the harness's reader of both layouts."""
    multi = b"n" in fields
    assert set(fields) == ({b"n", b"ids", b"env"} if multi else {b"id", b"env"}), \
        f"fields {sorted(fields)}"
    events = harness.entry_events(fields)
    assert multi or len(events) == 1, f"one-event entry holds {len(events)} envelopes"
    envs = [msgpack.unpackb(raw, raw=False, strict_map_key=False) for _, raw in events]
    assert all(isinstance(e, dict) for e in envs), f"env holds {envs!r}"
    assert 1 <= len(envs) <= 64, f"{len(envs)} envelopes in one entry"
    ids = [eid for eid, _ in events]
    assert ids == [e["id"] for e in envs], "ids and the envelopes' ids differ"
    return ids, envs


def stream_events(r, key):
    entries = harness.read_stream(r, key)
    sizes, ids, envs = [], [], []
    for _, fields in entries:
        i, e = decode(fields)
        sizes.append(len(e))
        ids += i
        envs += e
    return sizes, ids, envs


def wait_for_events(hub, r, key, n, timeout=120):
    def done():
        sizes, _, _ = stream_events(r, key)
        m = hub.metrics()
        return (sum(sizes) >= n and m.get("rheinhub_queue_length") == 0
                and m.get("rheinhub_redis_in_flight") == 0)
    harness.wait_until(done, timeout, f"{n} events in {key}")
    return stream_events(r, key)


@pytest.mark.slow
def test_burst_packs_events_each_once(hub_factory, loadgen, redis_client, clock):
    hub = hub_factory()  # the default, 64
    t_lo, now = clock
    lg = loadgen(n=20000, rate=0, qos=1, subjects=10, prefix="gauge-")
    lg.start().wait(timeout=180)
    sizes, ids, envs = wait_for_events(hub, redis_client, hub.stream(STREAM), 20000)
    print(f"{len(sizes)} entries for {sum(sizes)} events, {sum(sizes) / len(sizes):.1f} per entry, "
          f"at most {max(sizes)}")
    assert sum(sizes) == 20000, f"{sum(sizes)} events in the stream"
    assert len(set(ids)) == 20000, "an event is in the stream twice"
    assert 1 < max(sizes) <= 64, f"entries of up to {max(sizes)} events"
    assert len(sizes) < 20000, f"{len(sizes)} entries for 20000 events"
    # Per subject, the events keep the order they were published in.
    last = {}
    for e in envs:
        assert e["time"] > last.get(e["subject"], ""), f"{e['subject']} out of order"
        last[e["subject"]] = e["time"]
    m = hub.metrics()
    assert m.get("rheinhub_events_accepted_total") == 20000
    assert m.get("rheinhub_redis_entries_total") == len(sizes)
    hub.assert_clean()


@pytest.mark.slow
def test_entry_events_max_1_writes_one_entry_per_event(hub_factory, loadgen, redis_client):
    hub = hub_factory(redis={"entry_events_max": 1})
    lg = loadgen(n=3000, rate=0, qos=1, subjects=5, prefix="gauge-")
    lg.start().wait(timeout=120)
    sizes, ids, _ = wait_for_events(hub, redis_client, hub.stream(STREAM), 3000)
    assert sizes == [1] * 3000
    assert len(set(ids)) == 3000


def test_entry_events_max_bounds(hub_factory, loadgen, redis_client):
    hub = hub_factory(redis={"entry_events_max": 4})
    lg = loadgen(n=4000, rate=0, qos=1, subjects=5, prefix="gauge-")
    lg.start().wait(timeout=120)
    sizes, ids, _ = wait_for_events(hub, redis_client, hub.stream(STREAM), 4000)
    assert max(sizes) <= 4
    assert len(set(ids)) == 4000 == sum(sizes)
