# SPDX-License-Identifier: MIT
"""The worker SDK against a real Redis: reading, the route, the status hash, stopping.

No hub runs here: each test publishes the route key and creates the consumer group
as the hub does, XADDs envelopes built per schemas/envelope.md, and runs
rheinhub-testworker, which records every event id it handles (sdk_helpers.py).
"""

import os
import signal
import time

import pytest

import harness
from sdk_helpers import sdk, wait_pending_zero  # noqa: F401 - the fixture

KIND = "tw"


def test_sdk_processes_events_and_reports_status(sdk):
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    ids = sdk.add(stream, 0, 500)
    w = sdk.worker(KIND, config=sdk.config(heartbeat_ms=300))
    sdk.wait_ids(KIND, ids, workers=[w])
    wait_pending_zero(sdk, stream, KIND)
    assert sdk.calls(KIND) == 500, "an event was handled twice without a failure"
    consumer = sdk.consumer(1)
    key = f"{sdk.prefix}worker:{KIND}:{consumer}"

    def status_counts_all():
        st = sdk.status(KIND, consumer)
        return st if st.get("processed") == "500" else None
    st = harness.wait_until(status_counts_all, 10, "processed=500 in the status hash")
    assert st["state"] == "ok", st
    assert st["pid"] == str(w.pid), st
    assert {k: st[k] for k in ("failed", "deadlettered", "skipped")} == {
        "failed": "0", "deadlettered": "0", "skipped": "0"}, st
    assert abs(int(st["updated_ms"]) - time.time() * 1000) < 5000, st
    ttl = sdk.r.pttl(key)
    assert 0 < ttl <= 5 * 300, f"status key TTL {ttl} ms, want (0, 1500]"
    # The heartbeat renews it.
    first = st["updated_ms"]
    harness.wait_until(lambda: sdk.status(KIND, consumer).get("updated_ms") != first, 5,
                       "a newer heartbeat")
    # Consumer name and group as documented.
    consumers = {c["name"].decode() for c in sdk.r.xinfo_consumers(stream, KIND)}
    assert consumers == {consumer}, consumers
    w.term()
    assert "signal 15: stopping" in w.log()
    assert not sdk.r.exists(key), "the status key outlived a graceful stop"


def test_sdk_pending_entries_first_after_kill(sdk):
    """SIGKILL mid-batch: the restarted worker reads its own pending entries (id 0).

    retry_ms is far beyond the test, so XAUTOCLAIM cannot be what rescues them.
    """
    config = sdk.config(batch_max=50, retry_ms=600000)
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    ids = sdk.add(stream, 0, 1000)
    w = sdk.worker(KIND, config=config, env={"RHEINHUB_TEST_DELAY_MS": "300"})
    harness.wait_until(lambda: sdk.calls(KIND) >= 100 and sdk.pending(stream, KIND) > 0, 30,
                       "a batch in progress after two were done")
    w.kill()
    held = sdk.pending(stream, KIND)
    assert held > 0, "the killed worker held no pending entries: nothing to test"
    done_before = len(sdk.ids(KIND))
    assert done_before < 1000

    again = sdk.worker(KIND, config=config)
    sdk.wait_ids(KIND, ids, workers=[again])
    wait_pending_zero(sdk, stream, KIND)
    extra = sdk.calls(KIND) - len(sdk.ids(KIND))
    assert 0 <= extra <= 50, f"{extra} events handled twice; at most one batch may be"
    assert "trimmed" not in again.log()


def test_sdk_trimmed_pending_entries_are_acknowledged(sdk):
    """A pending entry deleted from the stream comes back as [id, nil]: acknowledged."""
    config = sdk.config(batch_max=20, retry_ms=600000)
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    ids = sdk.add(stream, 0, 40)
    # Deliver everything to this consumer (as a worker killed before XACK would leave it).
    got = sdk.r.xreadgroup(KIND, sdk.consumer(1), {stream: ">"}, count=100)
    entry_ids = [eid for eid, _ in got[0][1]]
    assert len(entry_ids) == 40
    sdk.r.xdel(stream, *entry_ids[:10])
    w = sdk.worker(KIND, config=config)
    sdk.wait_ids(KIND, ids[10:], workers=[w])
    wait_pending_zero(sdk, stream, KIND)
    assert not (set(ids[:10]) & sdk.ids(KIND))
    assert sdk.deadletters() == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sdk_sigterm_finishes_the_batch_and_acknowledges(sdk, sig):
    config = sdk.config(batch_max=50, retry_ms=600000)
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    sdk.add(stream, 0, 400)
    w = sdk.worker(KIND, config=config, env={"RHEINHUB_TEST_DELAY_MS": "600"})
    harness.wait_until(lambda: sdk.pending(stream, KIND) > 0, 20, "a batch in progress")
    w.send(sig)
    assert w.wait(20) == 0, harness.tail(w.log_path)
    assert f"signal {int(sig)}: stopping" in w.log()
    # The batch in progress was finished and acknowledged: nothing pending, nothing lost.
    assert sdk.pending(stream, KIND) == 0
    handled = sdk.calls(KIND)
    assert handled >= 50 and handled % 50 == 0, handled
    assert len(sdk.ids(KIND)) == handled
    assert handled < 400, "the worker did not stop after the current batch"


def test_sdk_end_of_stdin_stops_the_worker(sdk):
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    supervised = sdk.worker(KIND, stdin_pipe=True, instance=1)
    alone = sdk.worker(KIND, instance=2)  # stdin is /dev/null: no supervisor to lose
    ids = sdk.add(stream, 0, 100)
    sdk.wait_ids(KIND, ids, workers=[supervised, alone])
    supervised.popen.stdin.write(b"anything the supervisor may say\n")
    supervised.popen.stdin.flush()
    supervised.close_stdin()
    assert supervised.wait(10) == 0, harness.tail(supervised.log_path)
    assert "standard input closed" in supervised.log()
    assert not sdk.r.exists(f"{sdk.prefix}worker:{KIND}:{sdk.consumer(1)}")
    # The one without a pipe keeps working.
    more = sdk.add(stream, 100, 50)
    sdk.wait_ids(KIND, more, workers=[alone])


def test_sdk_route_filters_municipalities_and_subjects(sdk):
    stream = sdk.route(KIND, ["sensor.waterlevel"], municipalities=["linz", "kaisers*"],
                       subjects=["pegel-*"])[0]
    w = sdk.worker(KIND)
    want = sdk.add(stream, 0, 20, subject="pegel-1")
    want += sdk.add(stream, 20, 20, municipality="kaiserslautern", subject="pegel-2")
    other = sdk.add(stream, 40, 15, subject="tree-1")
    other += sdk.add(stream, 55, 15, municipality="mainz", subject="pegel-3")
    more = sdk.add(stream, 70, 10, subject="pegel-10")
    sdk.wait_ids(KIND, want + more, workers=[w])
    wait_pending_zero(sdk, stream, KIND)  # the skipped ones are acknowledged too
    assert not (set(other) & sdk.ids(KIND)), "an event outside the route was handled"
    harness.wait_until(lambda: sdk.status(KIND, sdk.consumer(1)).get("skipped") == "30", 10,
                       "skipped=30 in the status hash")


def test_sdk_route_changes_without_restart(sdk):
    a, b = sdk.stream("sensor.waterlevel"), sdk.stream("sensor.soil")
    c = sdk.stream("sensor.parking")
    sdk.route(KIND, [a], version=1)
    w = sdk.worker(KIND)
    ids_a = sdk.add(a, 0, 30)
    sdk.wait_ids(KIND, ids_a, workers=[w])

    # The hub adds a stream (its group made first) and one the worker must join itself.
    sdk.group(b, KIND)
    ids_b = sdk.add(b, 100, 30, event_type="sensor.soil")
    sdk.route(KIND, [a, b, c], version=2, create_groups=False)
    sdk.wait_log(w, "version 2: 3 streams (2 new, 0 left)")
    sdk.wait_log(w, f"created group {KIND} on {c}")
    ids_c = sdk.add(c, 200, 30, event_type="sensor.parking")
    sdk.wait_ids(KIND, ids_b + ids_c, workers=[w])

    # A stream leaves the route: its new entries are not read any more.
    sdk.route(KIND, [b, c], version=3, create_groups=False)
    sdk.wait_log(w, "version 3: 2 streams (0 new, 1 left)")
    left = sdk.add(a, 300, 20)
    ids_c2 = sdk.add(c, 400, 20, event_type="sensor.parking")
    sdk.wait_ids(KIND, ids_c2, workers=[w])
    assert not (set(left) & sdk.ids(KIND))
    lag = [g for g in sdk.r.xinfo_groups(a) if g["name"].decode() == KIND][0]
    assert lag["pending"] == 0 and lag["lag"] == 20, lag


def test_sdk_waits_for_the_route(sdk):
    w = sdk.worker(KIND)
    sdk.wait_log(w, "waiting for the route at")
    harness.wait_until(lambda: sdk.status(KIND, sdk.consumer(1)).get("state") == "unhealthy",
                       10, "unhealthy while there is no route")
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    ids = sdk.add(stream, 0, 10)
    sdk.wait_ids(KIND, ids, workers=[w])
    harness.wait_until(lambda: sdk.status(KIND, sdk.consumer(1)).get("state") == "ok", 10,
                       "ok once the route is there")


def test_sdk_unhealthy_with_backoff_while_batches_fail(sdk, tmp_path):
    fail_file = tmp_path / "database-away"
    fail_file.write_text("")
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    ids = sdk.add(stream, 0, 50)
    errors_key = f"{sdk.prefix}test:{KIND}:batch_errors"
    t0 = time.monotonic()
    w = sdk.worker(KIND, env={"RHEINHUB_TEST_BATCH_FAIL_FILE": str(fail_file)})

    def unhealthy():
        st = sdk.status(KIND, sdk.consumer(1))
        return st if st.get("state") == "unhealthy" and "batch failed" in st["detail"] else None
    st = harness.wait_until(unhealthy, 20, "state unhealthy after a failed batch")
    assert st["processed"] == "0", st
    # Exponential backoff from 100 ms: four attempts take at least 100+200+400 ms.
    harness.wait_until(lambda: int(sdk.r.get(errors_key) or 0) >= 4, 20, "four attempts")
    spent = time.monotonic() - t0
    attempts = int(sdk.r.get(errors_key))
    assert spent >= 0.6, f"{attempts} attempts in {spent:.2f} s: no backoff"
    assert sdk.pending(stream, KIND) == 50, "entries of a failed batch were acknowledged"
    assert sdk.calls(KIND) == 0

    fail_file.unlink()
    sdk.wait_ids(KIND, ids, workers=[w], timeout=30)
    wait_pending_zero(sdk, stream, KIND)
    harness.wait_until(lambda: sdk.status(KIND, sdk.consumer(1)).get("state") == "ok", 10,
                       "ok again")
    # A failed batch is not a failed entry: nothing was dead-lettered for it.
    assert sdk.deadletters() == []


def test_sdk_survives_a_redis_restart(sdk):
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    w = sdk.worker(KIND)
    ids = sdk.add(stream, 0, 50)
    sdk.wait_ids(KIND, ids, workers=[w])
    sdk.r.save()
    sdk.redis.shutdown()
    sdk.redis.proc.start()
    harness.wait_until(lambda: sdk.redis.client(timeout=1).ping(), 30, "redis back")
    sdk.r = sdk.redis.client()
    more = sdk.add(stream, 50, 50)
    sdk.wait_ids(KIND, more, workers=[w], timeout=30)
    assert "redis link lost" in w.log() and "redis link up again" in w.log()


def test_sdk_bad_usage_and_config_exit_2(sdk, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("worker:\n  batch_max: 0\n")
    for args, text in ((["-c", bad], f"{bad}:2:"), ([], "usage:"), (["-c", sdk.config(), "-i",
                                                                    "0"], "instance")):
        w = sdk.worker(KIND, start=False)
        w.argv = [w.argv[0], "-k", KIND] + [str(a) for a in args]
        w.start()
        assert w.wait(10) == 2, harness.tail(w.log_path)
        assert text in w.log(), w.log()
    ok = sdk.worker(KIND, start=False)
    ok.argv = [ok.argv[0], "-k", KIND, "-c", str(sdk.config()), "--check"]
    ok.start()
    assert ok.wait(10) == 0, harness.tail(ok.log_path)


def test_sdk_instance_from_the_environment(sdk):
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    w = sdk.worker(KIND, start=False)
    w.argv = [w.argv[0], "-k", KIND, "-c", str(sdk.config())]
    w.env = dict(w.env, RHEINHUB_WORKER_INSTANCE="7")
    w.start()
    ids = sdk.add(stream, 0, 5)
    sdk.wait_ids(KIND, ids, workers=[w])
    consumers = {c["name"].decode() for c in sdk.r.xinfo_consumers(stream, KIND)}
    assert consumers == {f"{os.uname().nodename}-7"}, consumers


def test_sdk_hung_redis_does_not_hang_the_worker(sdk):
    """SIGSTOP on Redis: the read timeout drops the link; the worker reconnects later
    and still stops on SIGTERM while Redis hangs."""
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    w = sdk.worker(KIND)  # block_ms 200: the read timeout is 3.2 s
    ids = sdk.add(stream, 0, 20)
    sdk.wait_ids(KIND, ids, workers=[w])
    sdk.redis.proc.send(signal.SIGSTOP)
    try:
        sdk.wait_log(w, "redis link lost", timeout=15)
    finally:
        sdk.redis.proc.send(signal.SIGCONT)
    more = sdk.add(stream, 20, 20)
    sdk.wait_ids(KIND, more, workers=[w], timeout=30)
    sdk.redis.proc.send(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        w.send(signal.SIGTERM)
        assert w.wait(15) == 0, harness.tail(w.log_path)
        assert time.monotonic() - t0 < 10
    finally:
        sdk.redis.proc.send(signal.SIGCONT)


def test_sdk_recovers_from_a_failed_read_while_idle(sdk):
    """A read that fails as a whole (a stream of the route deleted: NOGROUP) makes the
    worker unhealthy; once reads work again it is healthy and claims again, though no
    new entry arrives to make a batch succeed."""
    a, b = sdk.route(KIND, ["sensor.waterlevel", "sensor.soil"])
    w = sdk.worker(KIND, config=sdk.config(retry_ms=500))
    ids = sdk.add(a, 0, 5)
    sdk.wait_ids(KIND, ids, workers=[w])
    sdk.r.delete(b)
    sdk.wait_log(w, "XREADGROUP: ")
    sdk.wait_log(w, f"created group {KIND} on {b}")

    # An entry a dead consumer left, on a stream the route gains now: only a claim takes it.
    c = sdk.stream("sensor.parking")
    sdk.group(c, KIND)
    left = sdk.add(c, 100, 1, event_type="sensor.parking")
    sdk.r.xreadgroup(KIND, "gone-1", {c: ">"}, count=1)
    assert sdk.pending(c, KIND) == 1
    sdk.route(KIND, [a, b, c], version=2, create_groups=False)
    sdk.wait_log(w, "version 2: 3 streams (1 new, 0 left)")
    sdk.wait_ids(KIND, left, workers=[w], timeout=20)
    wait_pending_zero(sdk, c, KIND)
    harness.wait_until(lambda: sdk.status(KIND, sdk.consumer(1)).get("state") == "ok", 10,
                       "ok again after the failed read")
