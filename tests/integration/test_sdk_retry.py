# SPDX-License-Identifier: MIT
"""The worker SDK's retries, dead letters and claims against a real Redis.

A failed entry stays pending and comes back through XAUTOCLAIM after worker.retry_ms;
after worker.max_deliveries it goes to the dead-letter stream with its history. An
entry that is not a valid envelope goes there at once ("poison"). Entries a killed
consumer left pending are claimed by another consumer of the group.
"""

import json
import signal

import msgpack

import harness
from sdk_helpers import envelope, sdk, wait_pending_zero  # noqa: F401 - the fixture

KIND = "tw"
DEADLETTER_FIELDS = {"topic", "reason", "detail", "payload", "size", "time", "stream", "entry",
                     "group", "consumer", "deliveries", "history"}


def test_sdk_retries_then_dead_letters_with_history(sdk):
    config = sdk.config(max_deliveries=3, retry_ms=300, batch_max=16)
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    good = sdk.add(stream, 0, 30, subject="pegel-1")
    bad = sdk.add(stream, 30, 2, subject="bad-1")
    good += sdk.add(stream, 32, 30, subject="pegel-2")
    entries = {event_id: (entry_id, env)
               for entry_id, events in sdk.entries(stream) for event_id, env in events}
    w = sdk.worker(KIND, config=config, env={"RHEINHUB_TEST_FAIL_SUBJECT": "bad-*"})
    sdk.wait_ids(KIND, good, workers=[w])
    dls = harness.wait_until(lambda: sdk.deadletters() if len(sdk.deadletters()) >= 2 else None,
                             30, "two dead letters")
    wait_pending_zero(sdk, stream, KIND)
    assert len(dls) == 2, dls
    assert not (set(bad) & sdk.ids(KIND))
    assert sdk.calls(KIND) == len(good), "a good event was handled twice"
    by_entry = {f["entry"].decode(): f for _, f in dls}
    for event_id in bad:
        entry_id, env = entries[event_id]
        f = by_entry[entry_id]
        assert set(f) == DEADLETTER_FIELDS, sorted(f)
        assert f["reason"] == b"worker_failed"
        assert f["detail"] == b"test failure"
        assert f["deliveries"] == b"3"
        assert json.loads(f["history"]) == ["test failure"] * 3
        assert f["stream"].decode() == stream
        assert f["group"].decode() == KIND
        assert f["consumer"].decode() == sdk.consumer(1)
        assert f["topic"].decode() == msgpack.unpackb(env)["source"]
        assert f["payload"] == env[:256] and f["size"] == str(len(env)).encode()
        assert harness.RFC3339_UTC_RE.match(f["time"].decode()), f["time"]
    st = harness.wait_until(
        lambda: (lambda s: s if s.get("deadlettered") == "2" else None)(
            sdk.status(KIND, sdk.consumer(1))), 10, "deadlettered=2 in the status hash")
    assert st["failed"] == "6" and st["processed"] == str(len(good)), st


def test_sdk_failed_entries_stay_pending_until_they_succeed(sdk):
    """Failed entries are neither acknowledged nor lost: once they succeed, they are done."""
    config = sdk.config(max_deliveries=5, retry_ms=200)
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    w = sdk.worker(KIND, config=config, env={"RHEINHUB_TEST_FAIL_SUBJECT": "flaky"})
    ids = sdk.add(stream, 0, 5, subject="flaky")
    harness.wait_until(lambda: int(sdk.status(KIND, sdk.consumer(1)).get("failed", 0)) >= 10,
                       20, "two failed deliveries of each")
    assert sdk.pending(stream, KIND) == 5
    w.term()
    # The same entries, now succeeding: the restarted worker reads them back (id 0).
    w2 = sdk.worker(KIND, config=config)
    sdk.wait_ids(KIND, ids, workers=[w2])
    wait_pending_zero(sdk, stream, KIND)
    assert sdk.deadletters() == []


def test_sdk_poison_entries_go_to_dead_letters_and_processing_continues(sdk):
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    w = sdk.worker(KIND)
    before = sdk.add(stream, 0, 10)
    garbage = b"\xc1" + bytes(range(256)) + b"tail" * 20  # 0xc1 is never valid msgpack
    _, valid = envelope(99)
    not_envelope = msgpack.packb({"id": "x", "type": "sensor.waterlevel"})
    missing = msgpack.unpackb(valid)
    del missing["receivedtime"]
    poison = [
        ({"id": "p1", "env": garbage}, "envelope: not a single well-formed msgpack object"),
        ({"id": "p2"}, "entry has no env field"),
        ({"id": "p3", "env": not_envelope}, "envelope: envelope lacks a required field"),
        ({"id": "p4", "env": msgpack.packb(missing)}, "envelope: envelope lacks a required field"),
        ({"id": "p5", "env": valid + b"\x00"}, "envelope: not a single well-formed msgpack object"),
        ({"id": "p6", "env": msgpack.packb([1, 2, 3])}, "envelope: envelope is not a map"),
    ]
    poison_entries = {sdk.r.xadd(stream, fields).decode(): (fields, detail)
                      for fields, detail in poison}
    after = sdk.add(stream, 10, 10)
    sdk.wait_ids(KIND, before + after, workers=[w])
    wait_pending_zero(sdk, stream, KIND)
    dls = sdk.deadletters()
    assert len(dls) == len(poison), dls
    for _, f in dls:
        fields, detail = poison_entries[f["entry"].decode()]
        raw = fields.get("env", b"")
        assert f["reason"] == b"poison"
        assert f["detail"].decode() == detail
        assert f["topic"] == b""
        assert f["payload"] == raw[:256], f
        assert f["size"] == str(len(raw)).encode()
        assert f["deliveries"] == b"1"
        assert f["history"] == b"[]"
    assert sdk.calls(KIND) == 20


def test_sdk_claims_entries_a_dead_consumer_left(sdk):
    config = sdk.config(batch_max=40, retry_ms=500)
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    ids = sdk.add(stream, 0, 400)
    a = sdk.worker(KIND, config=config, instance=1, env={"RHEINHUB_TEST_DELAY_MS": "400"})
    consumer_a = sdk.consumer(1)

    def held_by_a():
        return sum(c["pending"] for c in sdk.r.xinfo_consumers(stream, KIND)
                   if c["name"].decode() == consumer_a)

    def stopped_holding():
        # Frozen, A cannot acknowledge between the look and the kill; between two
        # batches (acknowledged, the next not read yet) it holds nothing: go on.
        if sdk.calls(KIND) < 40:
            return False
        a.send(signal.SIGSTOP)
        if held_by_a() > 0:
            return True
        a.send(signal.SIGCONT)
        return False
    harness.wait_until(stopped_holding, 30, "consumer A in the middle of a batch")
    a.kill()
    assert held_by_a() > 0, "consumer A held nothing when it was killed"

    b = sdk.worker(KIND, config=config, instance=2)
    sdk.wait_ids(KIND, ids, workers=[b])
    wait_pending_zero(sdk, stream, KIND)
    assert held_by_a() == 0
    extra = sdk.calls(KIND) - len(ids)
    assert 0 <= extra <= 40, f"{extra} events handled twice; at most A's last batch may be"
    assert sdk.deadletters() == []


def test_sdk_claimed_entries_past_max_deliveries_are_dead_lettered(sdk):
    """Entries delivered too often elsewhere (history unknown here) end as dead letters."""
    config = sdk.config(max_deliveries=2, retry_ms=200)
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    ids = sdk.add(stream, 0, 3)
    other = "elsewhere-9"
    # Another consumer read them twice and died.
    sdk.r.xreadgroup(KIND, other, {stream: ">"})
    sdk.r.xreadgroup(KIND, other, {stream: "0"})
    w = sdk.worker(KIND, config=config)
    dls = harness.wait_until(lambda: sdk.deadletters() if len(sdk.deadletters()) >= 3 else None,
                             20, "three dead letters")
    wait_pending_zero(sdk, stream, KIND)
    assert w.running()
    for _, f in dls:
        assert f["reason"] == b"worker_failed"
        assert f["deliveries"] == b"3"
        assert f["history"] == b"[]"
        assert b"no history here" in f["detail"]
    assert not (set(ids) & sdk.ids(KIND))
