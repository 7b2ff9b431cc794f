# SPDX-License-Identifier: MIT
"""Stream entries that hold several events, against the C worker SDK and its workers.

Under load the hub writes 2 to 64 events in one stream entry: fields `n` (the count),
`ids` (a msgpack array of the event ids) and `env` (the envelopes back to back, a
msgpack stream). These tests XADD such entries by hand, as the hub would, and check
that every event reaches the worker, that an entry is acknowledged once all its events
are done (the route skipping some of them included), that a failing event brings its
entry back whole and ends as one dead letter of its own, that an entry whose `n` does
not match its `env` is one poison dead letter, and that storage and analytics take
each event of such entries exactly once, also when an entry is delivered again.
"""

import json
import re
import signal
import sqlite3

import msgpack

import harness
from sdk_helpers import WorkerProc, envelope, sdk, stored_ids, wait_pending_zero  # noqa: F401 - the fixture

KIND = "tw"


def multi_entry(events):
    """The fields of one entry of several events, as the hub writes them (n, ids, env),
    from [(event id, envelope bytes)]."""
    return {"n": str(len(events)),
            "ids": msgpack.packb([eid for eid, _ in events], use_bin_type=True),
            "env": b"".join(env for _, env in events)}


def add_multi(r, stream, start, count, **kw):
    """XADDs one entry of events start..start+count-1: (entry id, [(event id, env)])."""
    events = [envelope(n, **kw) for n in range(start, start + count)]
    return r.xadd(stream, multi_entry(events)).decode(), events


def test_sdk_multi_entry_hands_every_event(sdk):
    """A 3-event entry between entries of one event: every event once, all acknowledged."""
    config = sdk.config(batch_max=2)  # smaller than the entry: it still comes whole
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    single = sdk.add(stream, 0, 1)
    entry, events = add_multi(sdk.r, stream, 1, 3)
    single += sdk.add(stream, 4, 1)
    w = sdk.worker(KIND, config=config)
    expected = single + [eid for eid, _ in events]
    sdk.wait_ids(KIND, expected, workers=[w])
    wait_pending_zero(sdk, stream, KIND)
    assert sdk.ids(KIND) == set(expected)
    assert sdk.calls(KIND) == 5, "an event was handed twice"
    # Batches of whole entries: cut before the entry that would pass batch_max, and the
    # entry larger than batch_max alone.
    batches = [int(b) for b in sdk.r.lrange(f"{sdk.prefix}test:{KIND}:batches", 0, -1)]
    assert batches == [1, 3, 1], batches
    assert sdk.deadletters() == []
    harness.wait_until(lambda: sdk.status(KIND, sdk.consumer(1)).get("processed") == "5", 10,
                       "processed=5 (events, not entries) in the status hash")
    w.term()
    sdk.assert_clean(w)


def test_sdk_multi_entry_route_skips_one_event_and_acks_the_entry(sdk):
    """The route applies per event: the skipped one is not handed, the entry is done."""
    stream = sdk.route(KIND, ["sensor.waterlevel"], municipalities=["linz"])[0]
    events = [envelope(0), envelope(1, municipality="mainz"), envelope(2)]
    sdk.r.xadd(stream, multi_entry(events))
    # A whole entry outside the route is acknowledged unseen too.
    sdk.r.xadd(stream, multi_entry([envelope(3, municipality="mainz"),
                                    envelope(4, municipality="mainz")]))
    w = sdk.worker(KIND)
    sdk.wait_ids(KIND, [events[0][0], events[2][0]], workers=[w])
    wait_pending_zero(sdk, stream, KIND)
    assert sdk.ids(KIND) == {events[0][0], events[2][0]}
    assert sdk.calls(KIND) == 2
    st = harness.wait_until(
        lambda: (lambda s: s if s.get("skipped") == "3" else None)(
            sdk.status(KIND, sdk.consumer(1))), 10, "skipped=3 in the status hash")
    assert st["processed"] == "2" and st["deadlettered"] == "0", st
    assert sdk.deadletters() == []


def test_sdk_multi_entry_failing_event_retries_the_entry_then_one_dead_letter(sdk):
    """A failed event keeps its entry pending: it comes back whole, and after
    max_deliveries only the failing event goes to the dead letters."""
    config = sdk.config(max_deliveries=3, retry_ms=300)
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    events = [envelope(0, subject="ok-1"), envelope(1, subject="bad-1"),
              envelope(2, subject="ok-2")]
    entry = sdk.r.xadd(stream, multi_entry(events)).decode()
    after = sdk.add(stream, 3, 2, subject="ok-3")
    w = sdk.worker(KIND, config=config, env={"RHEINHUB_TEST_FAIL_SUBJECT": "bad-*"})
    dls = harness.wait_until(lambda: sdk.deadletters() or None, 30, "a dead letter")
    wait_pending_zero(sdk, stream, KIND)
    dls = sdk.deadletters()
    assert len(dls) == 1, dls
    f = dls[0][1]
    bad_id, bad_env = events[1]
    assert f["reason"] == b"worker_failed"
    assert f["entry"].decode() == entry
    assert f["detail"] == b"test failure"
    assert f["payload"] == bad_env[:256] and f["size"] == str(len(bad_env)).encode()
    assert f["topic"].decode() == msgpack.unpackb(bad_env)["source"]
    assert f["deliveries"] == b"3"
    assert json.loads(f["history"]) == ["event 1: test failure"] * 3
    # The others were handled at every delivery of the entry, and are done.
    assert sdk.ids(KIND) == {events[0][0], events[2][0], *after}
    assert bad_id not in sdk.ids(KIND)
    assert sdk.calls(KIND) == 2 * 3 + len(after), sdk.calls(KIND)
    st = harness.wait_until(
        lambda: (lambda s: s if s.get("deadlettered") == "1" else None)(
            sdk.status(KIND, sdk.consumer(1))), 10, "deadlettered=1 in the status hash")
    assert st["failed"] == "3", st
    w.term()
    sdk.assert_clean(w)


def test_sdk_multi_entry_wrong_n_is_one_poison_dead_letter(sdk):
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    before = sdk.add(stream, 0, 2)
    events = [envelope(10), envelope(11)]
    fields = multi_entry(events)
    fields["n"] = "3"
    bad = sdk.r.xadd(stream, fields).decode()
    after = sdk.add(stream, 20, 2)
    w = sdk.worker(KIND)
    sdk.wait_ids(KIND, before + after, workers=[w])
    wait_pending_zero(sdk, stream, KIND)
    dls = sdk.deadletters()
    assert len(dls) == 1, dls
    f = dls[0][1]
    assert f["reason"] == b"poison"
    assert f["entry"].decode() == bad
    assert f["detail"] == b"entry says n=3 but env holds 2 envelopes"
    assert f["topic"] == b""
    assert f["payload"] == fields["env"][:256]
    assert f["size"] == str(len(fields["env"])).encode()
    # None of the poison entry's events was handed.
    assert sdk.ids(KIND) == set(before + after)
    assert sdk.calls(KIND) == 4


def test_storage_stores_every_event_of_multi_entries_once(sdk):
    """Entries of 3, 64 and 2 events, one of them delivered twice (claimed from a
    consumer that read it and died): each event one row."""
    db_path = sdk.tmp / "events.db"
    stream = sdk.route("storage", ["sensor.waterlevel"])[0]
    _, first = add_multi(sdk.r, stream, 0, 3)
    # A consumer that reads the first entry and dies: it stays pending, to be claimed.
    assert sdk.r.xreadgroup("storage", "ghost", {stream: ">"}, count=1)
    _, big = add_multi(sdk.r, stream, 3, 64)
    single = sdk.add(stream, 67, 1)
    _, last = add_multi(sdk.r, stream, 68, 2)
    expected = {eid for eid, _ in first + big + last} | set(single)
    assert len(expected) == 70

    w = sdk.storage_worker(db_path, worker={"batch_max": 16})

    def stored():
        assert w.running(), harness.tail(w.log_path, 30)
        return stored_ids(db_path)
    harness.wait_until(lambda: stored() == expected, 30, "70 events stored")
    wait_pending_zero(sdk, stream, "storage")
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        rows, distinct = con.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone()
    finally:
        con.close()
    assert (rows, distinct) == (70, 70)
    assert sdk.deadletters() == []
    w.term()
    sdk.assert_clean(w)


def aggregates(r, prefix="rheinhub:"):
    """The aggregates the analytics worker wrote: [data] of the aggregate stream."""
    return [msgpack.unpackb(f[b"env"])["data"]
            for _, f in harness.read_stream(r, f"{prefix}events:rheinhub.aggregate")]


def test_analytics_counts_each_event_of_a_redelivered_entry_once(stack, redis_client, tmp_path):
    """The worker dies after storing a batch of multi-event entries and before its
    acknowledgement: the entries come back, and none of their events is counted again;
    events of entries written after that are counted."""
    r = redis_client
    prefix = "rheinhub:"
    binary = harness.build_dir() / "workers" / "analytics" / "rheinhub-analytics"
    assert binary.exists(), f"analytics worker not built: {binary}"
    windows = tmp_path / "windows.yaml"
    windows.write_text("default: [1m]\n")
    clock = tmp_path / "clock"
    clock.write_text("2026-11-26T06:00:30Z\n")
    crash = tmp_path / "crash"
    crash.write_text("batch 1\n")
    config = tmp_path / "analytics.yaml"
    config.write_text(harness.to_yaml({
        "mqtt": {"host": "127.0.0.1", "port": stack.mqtt_port},
        "redis": {"host": "127.0.0.1", "port": stack.redis_port},
        "worker": {"block_ms": 200, "heartbeat_ms": 200, "retry_ms": 500},
        "analytics": {"windows_file": str(windows), "lateness_s": 0, "check_interval_ms": 100},
        "log": {"level": "info"},
    }))
    stream = f"{prefix}events:sensor.waterlevel"
    r.xgroup_create(stream, "analytics", id="$", mkstream=True)
    r.set(f"{prefix}route:analytics", json.dumps({
        "kind": "analytics", "streams": [stream], "municipalities": ["*"], "subjects": ["*"],
        "version": 1}))
    add_multi(r, stream, 0, 3, subject="g1")
    single_id, single_env = envelope(3, subject="g1")
    r.xadd(stream, {"id": single_id, "env": single_env})
    add_multi(r, stream, 4, 4, subject="g1")
    env = harness.sanitizer_env()
    env.update({"RHEINHUB_ANALYTICS_CLOCK_FILE": str(clock),
                "RHEINHUB_ANALYTICS_CRASH_FILE": str(crash)})
    log_path = tmp_path / "analytics.log"

    def start():
        w = WorkerProc("analytics", [binary, "-c", config], log_path, env)
        return w.start()

    # The first process stores the batch of the three entries and dies before XACK.
    w = start()
    assert w.wait(30) == -signal.SIGKILL, harness.tail(log_path, 30)
    assert not crash.exists()
    assert r.xpending(stream, "analytics")["pending"] == 3
    w = start()
    try:
        harness.wait_until(lambda: r.xpending(stream, "analytics")["pending"] == 0, 30,
                           "the redelivered entries acknowledged")
        log = log_path.read_text(errors="replace")
        assert re.search(r"8 redelivered events \(3 entries\) were counted before", log), \
            log[-3000:]
        # New entries after the restart are counted.
        later = add_multi(r, stream, 8, 2, subject="g1")[1]
        harness.wait_until(lambda: r.xpending(stream, "analytics")["pending"] == 0 and
                           r.xinfo_groups(stream)[0]["last-delivered-id"] ==
                           r.xinfo_stream(stream)["last-generated-id"], 30,
                           "the new entry acknowledged")
        clock.write_text("2026-11-26T06:05:00Z\n")
        got = harness.wait_until(
            lambda: [a for a in aggregates(r, prefix) if a["subject"] == "g1"] or None, 30,
            "the window of g1 closed")
        assert len(got) == 1, got
        assert got[0]["window"] == "1m" and got[0]["count"] == 3 + 1 + 4 + len(later), got
    finally:
        if w.running():
            w.send(signal.SIGTERM)
            assert w.wait(30) == 0, harness.tail(log_path, 30)
    report = harness.sanitizer_report(log_path)
    assert report is None, report

