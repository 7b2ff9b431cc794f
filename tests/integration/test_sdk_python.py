# SPDX-License-Identifier: MIT
"""The Python example worker (workers/examples/python/rheinhub_worker.py) speaks the
same protocol as the C SDK: on the same streams, with its own consumer group, it
handles exactly the events the C test worker handles, skips and dead-letters the same
entries, reads its own pending entries first after a kill, and stops on SIGTERM or
at the end of stdin.
"""

import signal

import msgpack

import harness
from sdk_helpers import sdk, wait_pending_zero  # noqa: F401 - the fixture

PY, C = "py", "c"


def add_mixed(sdk, streams, start):
    """Events the route takes, events it filters out, and one poison entry per stream."""
    want, skip = [], []
    water, soil = streams
    want += sdk.add(water, start, 60, subject="pegel-1")
    skip += sdk.add(water, start + 60, 10, municipality="mainz", subject="pegel-1")
    want += sdk.add(soil, start + 70, 40, event_type="sensor.soil", subject="pegel-7")
    skip += sdk.add(soil, start + 110, 10, event_type="sensor.soil", subject="tree-1")
    for s in streams:
        sdk.r.xadd(s, {"id": "poison", "env": b"\xc1not msgpack"})
    return want, skip


def test_sdk_python_example_handles_what_the_c_worker_handles(sdk):
    routes = dict(municipalities=["linz"], subjects=["pegel-*"])
    streams = sdk.route(PY, ["sensor.waterlevel", "sensor.soil"], **routes)
    sdk.route(C, streams, **routes)
    py = sdk.worker(PY, python=True, extra_args=["--block-ms", "200", "--heartbeat-ms", "200"])
    c = sdk.worker(C)
    want, skip = add_mixed(sdk, streams, 0)
    sdk.wait_ids(PY, want, workers=[py])
    sdk.wait_ids(C, want, workers=[c])
    for kind in (PY, C):
        for s in streams:
            wait_pending_zero(sdk, s, kind)
    assert sdk.ids(PY) == sdk.ids(C) == set(want)
    assert sdk.calls(PY) == sdk.calls(C) == len(want)
    assert not (set(skip) & sdk.ids(PY))

    # One poison dead letter per stream from each group, with the same fields.
    dls = sdk.deadletters()
    assert sorted((f["group"].decode(), f["stream"].decode()) for _, f in dls) == sorted(
        (k, s) for k in (PY, C) for s in streams), dls
    by_group = {}
    for _, f in dls:
        assert f["reason"] == b"poison" and f["topic"] == b"", f
        assert f["payload"] == b"\xc1not msgpack" and f["size"] == b"12", f
        by_group.setdefault(f["group"].decode(), set()).add(frozenset(f))
    assert by_group[PY] == by_group[C], "the two workers' dead letters have different fields"

    st = harness.wait_until(
        lambda: (lambda s: s if s.get("processed") == str(len(want)) else None)(
            sdk.status(PY, sdk.consumer(1))), 10, "the Python worker's status hash")
    assert st["state"] == "ok" and st["skipped"] == str(len(skip)), st
    py.term()
    assert not sdk.r.exists(f"{sdk.prefix}worker:{PY}:{sdk.consumer(1)}")


def test_sdk_python_example_reads_pending_entries_after_a_kill(sdk):
    stream = sdk.route(PY, ["sensor.waterlevel"])[0]
    ids = sdk.add(stream, 0, 100)
    # Entries delivered to the example's consumer and never acknowledged, as a kill leaves
    # them; retry_ms is far away, so only the read of id 0 can bring them back.
    got = sdk.r.xreadgroup(PY, sdk.consumer(1), {stream: ">"}, count=30)
    assert len(got[0][1]) == 30
    py = sdk.worker(PY, python=True, extra_args=["--retry-ms", "600000", "--block-ms", "200"])
    sdk.wait_ids(PY, ids, workers=[py])
    wait_pending_zero(sdk, stream, PY)
    assert sdk.calls(PY) == 100
    py.send(signal.SIGINT)
    assert py.wait(20) == 0


def test_sdk_python_example_stops_at_the_end_of_stdin(sdk):
    stream = sdk.route(PY, ["sensor.waterlevel"])[0]
    py = sdk.worker(PY, python=True, stdin_pipe=True, extra_args=["--block-ms", "200"])
    ids = sdk.add(stream, 0, 10)
    sdk.wait_ids(PY, ids, workers=[py])
    py.close_stdin()
    assert py.wait(20) == 0, harness.tail(py.log_path)
    assert "standard input closed" in py.log()


def test_sdk_python_example_decodes_the_envelope(sdk):
    """Without --record it prints each event: its fields come from the envelope."""
    stream = sdk.route(PY, ["sensor.waterlevel"])[0]
    py = sdk.worker(PY, python=True, record=False, extra_args=["--block-ms", "200"])
    sdk.r.xadd(stream, {"id": "e1", "env": msgpack.packb({
        "specversion": "1.0", "id": "e1", "source": "mqtt://127.0.0.1:1883/linz/x",
        "type": "sensor.waterlevel", "subject": "pegel-1", "time": "2026-11-26T06:00:00Z",
        "municipality": "linz", "category": "sensor", "receivedtime": 1,
        "data": {"time": "2026-11-26T06:00:00Z", "value": 412, "unit": "cm"}})})
    want = ('sensor.waterlevel linz/pegel-1 2026-11-26T06:00:00Z e1: '
            '{"time": "2026-11-26T06:00:00Z", "value": 412, "unit": "cm"}')
    sdk.wait_log(py, want)
