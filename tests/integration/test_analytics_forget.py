# SPDX-License-Identifier: MIT
"""analytics.forget_after against the real chain: a subject that stops sending loses its
retained aggregates on the broker (an empty retained publish per topic), a subject still
sending and one whose window is open keep theirs, the worker counts what it removed, and
a worker killed after the broker acknowledged a removal but before the record went
publishes the removal again after its restart."""

import re
import threading

import analytics_helpers as ah
import harness

START = "2026-11-26T06:00:30Z"
TOPIC = "linz/analytics/sensor.waterlevel/{}/{}"
BARRIER = "linz/test/barrier"


def level(subject, time, value=400):
    return {"topic": f"linz/sensor/waterlevel/{subject}",
            "payload": {"time": time, "value": value, "unit": "cm"}}


def topics(*subjects):
    return {TOPIC.format(s, w) for s in subjects for w in ("1m", "5m")}


def published(r, prefix):
    """The records: {"<m>/<type>/<subject>/<window>": end (s)}."""
    return {k.decode(): int(v) for k, v in r.hgetall(f"{prefix}analytics:published").items()}


def retained(port, wanted):
    """{topic: payload} of what a fresh subscriber gets retained on the topics wanted.

    Each topic is subscribed on its own, then BARRIER, which holds a retained message: the
    broker sends a subscription's retained messages in the order of the SUBSCRIBEs, so
    once BARRIER's has come, every other has come too (or there is none)."""
    got, lock, done = {}, threading.Lock(), threading.Event()
    c = harness.mqtt_client(port)

    def on_message(client, userdata, msg):
        if msg.topic == BARRIER:
            done.set()
        elif msg.retain:
            with lock:
                got[msg.topic] = bytes(msg.payload)
    c.on_message = on_message
    try:
        for topic in sorted(wanted) + [BARRIER]:
            c.subscribe(topic, qos=1)
        assert done.wait(10), "no retained message on the barrier"
        with lock:
            return dict(got)
    finally:
        c.disconnect()
        c.loop_stop()


def set_barrier(port):
    c = harness.mqtt_client(port)
    try:
        info = c.publish(BARRIER, b"x", qos=1, retain=True)
        info.wait_for_publish(10)
        assert info.is_published()
    finally:
        c.disconnect()
        c.loop_stop()


def status(r, prefix, key):
    return int(ah.worker_status(r, prefix).get(key, -1))


def test_quiet_subject_loses_its_retained_aggregates(hub_factory, stack, redis_client, tmp_path,
                                                     monkeypatch):
    """Windows 1m and 5m, forget_after 10m. pegel-1, -2 and -3 send at 06:00; then pegel-2
    sends at 06:10 and pegel-3 at 06:16:30. At 06:16 pegel-1's two topics are removed
    (their last windows ended 06:01 and 06:05); pegel-2's (ended 06:11 and 06:15) and the
    roll-up's stay, and so do pegel-3's, whose last closed windows are as old as pegel-1's
    but whose next windows are open. Then everything goes quiet and the worker is killed
    after the broker acknowledged the first removals and before it deleted their
    records: after the restart it publishes those removals again, and every record and
    retained aggregate is gone."""
    clock = tmp_path / "analytics-clock"
    ah.write_clock(clock, START)
    monkeypatch.setenv("RHEINHUB_ANALYTICS_CLOCK_FILE", str(clock))
    crash = tmp_path / "analytics-crash"
    monkeypatch.setenv("RHEINHUB_ANALYTICS_CRASH_FILE", str(crash))
    windows = tmp_path / "windows.yaml"
    windows.write_text("default: [1m, 5m]\n")
    config = ah.hub_config(windows_file=windows)
    config["analytics"]["forget_after"] = "10m"
    hub = hub_factory(**config)
    r, prefix, port = redis_client, hub.prefix, stack.mqtt_port
    set_barrier(port)
    collector = ah.Collector(port)
    try:
        ah.replay(hub, r, [level("pegel-1", "2026-11-26T06:00:05Z"),
                           level("pegel-2", "2026-11-26T06:00:06Z"),
                           level("pegel-3", "2026-11-26T06:00:07Z"),
                           {"clock": "2026-11-26T06:07:00Z"}], clock)
        every = topics("pegel-1", "pegel-2", "pegel-3", "_all")
        harness.wait_until(lambda: set(retained(port, every)) == every, 30,
                           "the 06:00 aggregates retained")
        first = published(r, prefix)
        ends = {"1m": 1795672860, "5m": 1795673100}  # 06:01:00Z, 06:05:00Z
        assert first == {f"linz/sensor.waterlevel/{s}/{w}": e for s in
                         ("pegel-1", "pegel-2", "pegel-3", "_all") for w, e in ends.items()}, first

        # Still at 06:07 (processed ahead of the clock): pegel-2's 06:10 and pegel-3's
        # 06:16:30, whose windows open now. At 06:16 pegel-2's and the roll-up's close.
        ah.replay(hub, r, [level("pegel-2", "2026-11-26T06:10:05Z"),
                           level("pegel-3", "2026-11-26T06:16:30Z"),
                           {"clock": "2026-11-26T06:16:00Z"}], clock)
        harness.wait_until(lambda: status(r, prefix, "unretained") == 2, 30,
                           "pegel-1's two aggregates removed")
        records = published(r, prefix)
        assert not any("/pegel-1/" in k for k in records), records
        assert records["linz/sensor.waterlevel/pegel-2/1m"] == 1795673460  # 06:11:00Z
        assert records["linz/sensor.waterlevel/pegel-3/1m"] == ends["1m"]  # open: kept
        assert records["linz/sensor.waterlevel/pegel-3/5m"] == ends["5m"]
        kept = topics("pegel-2", "pegel-3", "_all")
        got = retained(port, every)
        assert set(got) == kept, sorted(got)
        log = hub.log_path.read_text(errors="replace")
        assert f"unretained {TOPIC.format('pegel-1', '1m')}: its last window ended " \
               "2026-11-26T06:01:00Z, over 10m ago" in log
        assert f"unretained {TOPIC.format('pegel-1', '5m')}: its last window ended " \
               "2026-11-26T06:05:00Z, over 10m ago" in log

        # All quiet. The first removals acknowledged, the worker dies before their records go.
        crash.write_text("forget\n")
        ah.write_clock(clock, "2026-11-26T06:40:00Z")
        harness.wait_until(lambda: not crash.exists(), 30, "the crash after a removal")
        harness.wait_until(lambda: not published(r, prefix), 60, "every record removed")
        assert retained(port, every) == {}
        harness.wait_until(lambda: status(r, prefix, "unretained") == 6, 30,
                           "the new process counting its six removals")
        log = hub.log_path.read_text(errors="replace")
        m = re.search(r"crash file says forget \((\d+)\)", log)
        assert m and int(m.group(1)) >= 1, "no crash after an acknowledged removal"
        assert hub.metric("rheinhub_worker_restarts_total", worker="analytics-1") == 1
        # The broker saw a removal twice for each topic whose removal the killed process
        # had published: once before the kill, once from the process after it.
        empties = [t for t, payload, _ in collector.snapshot() if payload == b""]
        twice = {t for t in kept if empties.count(t) == 2}
        assert len(twice) >= int(m.group(1)), (m.group(0), sorted(empties))
        assert all(empties.count(t) == 1 for t in topics("pegel-1")), sorted(empties)
    finally:
        collector.stop()


def test_forget_after_check(tmp_path):
    """--check refuses an analytics.forget_after that is not a duration, with FILE:LINE."""
    harness.check_forget_after(harness.hub_binary(), tmp_path / "hub.yaml",
                               "analytics:\n  lateness_s: 60\n")
