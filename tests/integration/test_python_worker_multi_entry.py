# SPDX-License-Identifier: MIT
"""The Python example worker reads entries that hold several events.

Under load the hub writes up to 64 events in one entry of an event stream: fields `n`
(the count), `ids` (a msgpack array of the event ids) and `env` (the envelopes back to
back). These tests XADD such entries by hand, next to one-event entries, and show that
the example handles every event, acknowledges the entry once all its events are done,
retries only the event that failed, dead-letters it after max_deliveries, and
dead-letters an entry whose count does not match as poison.
"""

import importlib.util
import json

import msgpack
import pytest

import harness
from sdk_helpers import PY_WORKER, envelope, sdk, wait_pending_zero  # noqa: F401 - the fixture

KIND = "py"


def example_module():
    spec = importlib.util.spec_from_file_location("rheinhub_worker", PY_WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bytes_fields(fields):
    """XADD fields as redis-py hands them to a reader: bytes keys and values."""
    return {k.encode(): v.encode() if isinstance(v, str) else v for k, v in fields.items()}


def test_python_worker_decode_entry_one_or_several():
    decode_entry = example_module().decode_entry
    events = [envelope(k) for k in range(5)]
    one = bytes_fields(harness.pack_entry(events[:1]))
    several = bytes_fields(harness.pack_entry(events))
    assert [e["id"] for e in decode_entry(one)] == [events[0][0]]
    assert [e["id"] for e in decode_entry(several)] == [eid for eid, _ in events]
    assert [e["id"] for e in decode_entry(several)] == [
        e["id"] for e in harness.entry_envelopes(several)], "the test helper reads otherwise"


@pytest.mark.parametrize("change", [
    {b"n": b"4"},                                   # fewer envelopes than n
    {b"n": b"6"},                                   # more
    {b"n": b"x"},
    {b"n": b"65"},
    {b"ids": msgpack.packb(["a", "b"])},            # ids do not match n
    {b"env": None},                                 # no env
], ids=["n-short", "n-long", "n-text", "n-too-large", "ids-short", "no-env"])
def test_python_worker_decode_entry_refuses_poison(change):
    decode_entry = example_module().decode_entry
    fields = bytes_fields(harness.pack_entry([envelope(k) for k in range(5)]))
    fields.update(change)
    fields = {k: v for k, v in fields.items() if v is not None}
    with pytest.raises(ValueError):
        decode_entry(fields)


def test_python_worker_decode_entry_refuses_bad_envelopes():
    decode_entry = example_module().decode_entry
    events = [envelope(k) for k in range(3)]
    fields = bytes_fields(harness.pack_entry(events))
    for env in (fields[b"env"] + b"\x00",                           # garbage after them
                fields[b"env"] + b"\x85",                           # a cut-off map
                fields[b"env"][:-1],                                # the last one cut off
                events[0][1] + msgpack.packb([1, 2]) + events[2][1],  # not a map
                events[0][1] + b"\xc1" + events[2][1]):             # not msgpack
        with pytest.raises(ValueError):
            decode_entry({**fields, b"env": env})
    with pytest.raises(ValueError):  # one event, and something after its envelope
        decode_entry({b"id": events[0][0].encode(), b"env": events[0][1] + events[1][1]})


def test_python_worker_handles_every_event_of_multi_event_entries(sdk):
    stream = sdk.route(KIND, ["sensor.waterlevel"], subjects=["pegel-*"])[0]
    py = sdk.worker(KIND, python=True, extra_args=["--block-ms", "200", "--heartbeat-ms", "200"])
    added = sdk.add_packed(stream, 0, [1, 3, 64, 2, 1, 17], subject="pegel-1")
    skipped = sdk.add_packed(stream, 1000, [5], subject="tree-1")
    want = [eid for _, ids in added for eid in ids]
    assert sdk.r.xlen(stream) == 7 and harness.count_events(sdk.r, stream) == 93
    sdk.wait_ids(KIND, want, workers=[py])
    wait_pending_zero(sdk, stream, KIND)
    assert sdk.ids(KIND) == set(want)
    assert sdk.calls(KIND) == len(want) == 88
    assert not sdk.deadletters()
    st = harness.wait_until(
        lambda: (lambda s: s if s.get("processed") == str(len(want)) else None)(
            sdk.status(KIND, sdk.consumer(1))), 10, "processed=88 in the status hash")
    assert st["skipped"] == str(len(skipped[0][1])) and st["deadlettered"] == "0", st


def test_python_worker_retries_only_the_failed_event_then_dead_letters_it(sdk):
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    good = sdk.add_packed(stream, 0, [4], subject="pegel-1")
    single = sdk.add_packed(stream, 4, [1], subject="pegel-2")  # a one-event entry
    # One entry of five: the third event fails every time.
    events = [envelope(k, subject="pegel-3") for k in (10, 11)]
    events.append(envelope(12, subject="bad-1"))
    events += [envelope(k, subject="pegel-3") for k in (13, 14)]
    mixed_entry = sdk.r.xadd(stream, harness.pack_entry(events)).decode()
    ok_ids = [eid for _, ids in good + single for eid in ids] + [
        eid for eid, _ in events if eid != events[2][0]]
    py = sdk.worker(KIND, python=True, env={"RHEINHUB_TEST_FAIL_SUBJECT": "bad-*"},
                    extra_args=["--block-ms", "200", "--retry-ms", "300",
                                "--max-deliveries", "4", "--heartbeat-ms", "200"])
    sdk.wait_ids(KIND, ok_ids, workers=[py])

    # The entry stays pending and comes back; its done events are not handled again.
    def redelivered():
        info = sdk.r.xpending_range(stream, KIND, mixed_entry, mixed_entry, 1)
        return info and info[0]["times_delivered"] >= 2
    harness.wait_until(redelivered, 20, "the failed entry delivered again")
    assert sdk.calls(KIND) == len(ok_ids)

    dls = harness.wait_until(lambda: sdk.deadletters() or None, 30, "a dead letter")
    wait_pending_zero(sdk, stream, KIND)
    assert len(dls) == 1, dls
    f = dls[0][1]
    assert f["reason"] == b"worker_failed" and f["detail"] == b"test failure", f
    assert f["entry"].decode() == mixed_entry and f["stream"].decode() == stream, f
    assert f["deliveries"] == b"4", f
    assert json.loads(f["history"]) == ["test failure"] * 4, f
    bad_env = events[2][1]
    assert f["payload"] == bad_env[:256] and f["size"] == str(len(bad_env)).encode(), f
    assert f["topic"].decode() == msgpack.unpackb(bad_env)["source"], f
    assert sdk.ids(KIND) == set(ok_ids) and sdk.calls(KIND) == len(ok_ids)
    st = harness.wait_until(
        lambda: (lambda s: s if s.get("deadlettered") == "1" else None)(
            sdk.status(KIND, sdk.consumer(1))), 10, "deadlettered=1 in the status hash")
    assert st["failed"] == "4" and st["processed"] == str(len(ok_ids)), st


def test_python_worker_dead_letters_an_entry_whose_count_is_wrong(sdk):
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    a, b, c = (envelope(k) for k in range(100, 103))
    wrong = {  # n says three, env holds two
        "n": "3", "ids": msgpack.packb([a[0], b[0], c[0]]), "env": a[1] + b[1]}
    short = {  # n says two, env holds one: read as one event, it would pass
        "n": "2", "ids": msgpack.packb([c[0], a[0]]), "env": c[1]}
    garbage = {"n": "2", "ids": msgpack.packb([a[0], b[0]]), "env": a[1] + b[1] + b"\x00"}
    poison = [sdk.r.xadd(stream, fields).decode() for fields in (wrong, short, garbage)]
    good = sdk.add_packed(stream, 0, [3, 1, 2])
    want = [eid for _, ids in good for eid in ids]
    py = sdk.worker(KIND, python=True, extra_args=["--block-ms", "200"])
    sdk.wait_ids(KIND, want, workers=[py])
    wait_pending_zero(sdk, stream, KIND)
    assert sdk.ids(KIND) == set(want), "an event of a poison entry was handled"
    dls = harness.wait_until(lambda: (lambda d: d if len(d) >= 3 else None)(sdk.deadletters()),
                             10, "three dead letters")
    assert sorted(f["entry"].decode() for _, f in dls) == sorted(poison), dls
    by_entry = {f["entry"].decode(): f for _, f in dls}
    for entry_id, fields in zip(poison, (wrong, short, garbage)):
        f = by_entry[entry_id]
        assert f["reason"] == b"poison" and f["topic"] == b"", f
        assert f["payload"] == fields["env"][:256], f
        assert f["size"] == str(len(fields["env"])).encode(), f
        assert f["group"].decode() == KIND and f["deliveries"] == b"1", f
