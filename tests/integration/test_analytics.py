# SPDX-License-Identifier: MIT
"""rheinhub-analytics end to end: the recorded sequence in tests/data/analytics replayed
through the broker, the hub and the worker, and every aggregate it emits (MQTT and the
aggregate stream) compared with an independent model; a restart in the middle of the
windows (kill -9, and crashes at the two points where a restart could count twice or
lose a publish) emits exactly what a run without one emits."""

import json
import os
import re
import signal
from collections import Counter

import pytest

import analytics_helpers as ah
import harness

EVENT_ID_RE = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def clock_file(tmp_path, monkeypatch):
    path = tmp_path / "analytics-clock"
    steps = ah.load_steps()
    first = next(s["clock"] for s in steps if "clock" in s)
    ah.write_clock(path, first)
    monkeypatch.setenv("RHEINHUB_ANALYTICS_CLOCK_FILE", str(path))
    return path


def start(hub_factory, **extra):
    return start_with(hub_factory, ah.hub_config(), **extra)


def start_with(hub_factory, config, **extra):
    assert ah.analytics_binary().exists(), f"build {ah.analytics_binary()} first"
    return hub_factory(**config, **extra)


def run(hub, r, clock_file, steps, expected, hooks=None):
    """Replays, waits for every expected window on MQTT and the stream, returns both."""
    collector = ah.Collector(hub.stack.mqtt_port)
    try:
        ah.replay(hub, r, steps, clock_file, hooks=hooks)
        stream_key = f"{hub.prefix}events:rheinhub.aggregate"
        harness.wait_until(lambda: r.exists(stream_key) and r.xlen(stream_key) >= len(expected),
                           60, f"{len(expected)} aggregates on {stream_key}")

        def all_published():
            got, _ = ah.emitted_mqtt(collector.snapshot())
            return set(got) >= set(expected)
        harness.wait_until(all_published, 60, "every aggregate on MQTT")
        harness.wait_until(lambda: not r.hlen(f"{hub.prefix}analytics:outbox"), 30,
                           "the outbox to empty (every PUBACK)")
        messages = collector.snapshot()
    finally:
        collector.stop()
    return ah.emitted_stream(r, hub.prefix), messages


def check_stream(entries, expected):
    """Each window once on the stream, as an envelope that storage keeps."""
    by_key, ids = {}, set()
    problems = []
    for entry_id, env, fields in entries:
        agg = env["data"]
        key = ah.key_of(agg)
        if key in by_key:
            problems.append(f"{key} written twice to the aggregate stream")
        by_key[key] = agg
        if set(fields) != {b"id", b"env"} or fields[b"id"].decode() != env["id"]:
            problems.append(f"{entry_id}: fields {sorted(fields)}")
        want = {"specversion": "1.0", "source": "rheinhub-analytics",
                "type": "rheinhub.aggregate",
                "subject": f"{agg['type']}/{agg['subject']}/{agg['window']}",
                "time": agg["end"], "municipality": agg["municipality"],
                "category": "aggregate"}
        for k, v in want.items():
            if env.get(k) != v:
                problems.append(f"{key}: envelope {k} {env.get(k)!r} != {v!r}")
        if not EVENT_ID_RE.match(env["id"]) or env["id"] in ids:
            problems.append(f"{key}: id {env['id']!r} not 32 hex digits or not unique")
        ids.add(env["id"])
        if not isinstance(env.get("receivedtime"), int):
            problems.append(f"{key}: receivedtime {env.get('receivedtime')!r}")
    assert not problems, "\n".join(problems[:20])
    ah.compare(by_key, expected, "the aggregate stream")
    return by_key


def check_schema(payloads):
    """Every payload is valid against schemas/aggregate.schema.json (rheinhub validate)."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, p in enumerate(payloads):
            path = f"{d}/{i}.json"
            with open(path, "wb") as f:
                f.write(p)
            paths.append(path)
        for k in range(0, len(paths), 200):
            res = subprocess.run([str(harness.hub_binary()), "validate",
                                  str(harness.REPO / "schemas" / "aggregate.schema.json"),
                                  *paths[k:k + 200]], capture_output=True, text=True)
            assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]


def test_replay_matches_the_model(hub_factory, stack, redis_client, clock_file):
    """Every window of the recorded sequence, on MQTT (retained, on its topic) and on the
    aggregate stream, equals the model's; late events are counted per type and window."""
    steps = ah.load_steps()
    model = ah.model_for(steps)
    expected = model.aggregates()
    assert len(expected) > 300 and sum(model.late.values()) > 20  # the data covers it
    hub = start(hub_factory)
    entries, messages = run(hub, redis_client, clock_file, steps, expected)

    check_stream(entries, expected)
    got, raw = ah.emitted_mqtt(messages)
    ah.compare(got, expected, "the MQTT publishes")
    check_schema(list(raw.values()))

    late = {k.decode(): int(v) for k, v in
            redis_client.hgetall(f"{hub.prefix}analytics:late").items()}
    assert late == dict(model.late), (late, dict(model.late))
    harness.wait_until(lambda: int(ah.worker_status(redis_client).get("late", -1)) ==
                       sum(v for k, v in model.late.items() if not k.endswith("/future")),
                       10, "the late count in the status hash")
    # Nothing left open or waiting, nothing rejected on the way.
    assert redis_client.hlen(f"{hub.prefix}analytics:windows") == 0
    assert redis_client.xlen(hub.deadletter) == 0 if redis_client.exists(hub.deadletter) else True

    # Retained: a new subscriber gets the newest window of every topic.
    newest = {}
    for key, agg in expected.items():
        topic = f"{agg['municipality']}/analytics/{agg['type']}/{agg['subject']}/{agg['window']}"
        if topic not in newest or agg["start"] > newest[topic]["start"]:
            newest[topic] = agg
    late_sub = ah.Collector(stack.mqtt_port)
    try:
        harness.wait_until(lambda: len({t for t, _, _ in late_sub.snapshot()}) >= len(newest),
                           20, "every retained aggregate")
        retained = {t: json.loads(p) for t, p, flag in late_sub.snapshot() if flag}
    finally:
        late_sub.stop()
    assert set(retained) == set(newest)
    for topic, agg in newest.items():
        assert ah.key_of(retained[topic]) == ah.key_of(agg), topic


def most_closing_step(steps, windows, lateness_s=60):
    """Index of the clock step (not the last) that closes the most windows, and how many."""
    model = ah.model_for(steps, windows, lateness_s)
    ends = Counter(ah.parse_time(k[4]) + ah.window_seconds(k[3]) * ah.NS + lateness_s * ah.NS
                   for k in model.aggregates())
    best, prev = (None, 0), None
    clocks = [(i, ah.parse_time(s["clock"])) for i, s in enumerate(steps) if "clock" in s]
    for (i, clock) in clocks[:-1]:
        n = sum(c for end, c in ends.items() if (prev is None or end > prev) and end <= clock)
        if n > best[1]:
            best = (i, n)
        prev = clock
    return best


def baseline_run(tmp_path, monkeypatch, steps, expected):
    """The same replay on a stack of its own, without any restart."""
    stack = harness.Stack(tmp_path / "baseline")
    stack.start()
    try:
        clock = tmp_path / "baseline-clock"
        ah.write_clock(clock, next(s["clock"] for s in steps if "clock" in s))
        monkeypatch.setenv("RHEINHUB_ANALYTICS_CLOCK_FILE", str(clock))
        hub = harness.Hub(stack, name="hub-baseline", overrides=ah.hub_config())
        hub.start()
        r = stack.redis.client()
        try:
            return run(hub, r, clock, steps, expected)
        finally:
            r.close()
            hub.term()
    finally:
        stack.stop()


def test_restart_mid_window_emits_the_same(hub_factory, stack, redis_client, tmp_path,
                                           monkeypatch):
    """kill -9 with windows open, a crash after a batch was stored but before the SDK
    acknowledged it (so the batch comes back), and crashes after windows were closed but
    before they were published (twice): every aggregate is byte for byte what a run without a
    restart emits, each window is on the stream once, and nothing is counted twice."""
    steps = ah.load_steps()
    expected = ah.model_for(steps).aggregates()
    base_entries, base_messages = baseline_run(tmp_path, monkeypatch, steps, expected)
    base_stream = {ah.key_of(env["data"]): env for _, env, _ in base_entries}
    _, base_raw = ah.emitted_mqtt(base_messages)

    clock = tmp_path / "analytics-clock"
    ah.write_clock(clock, next(s["clock"] for s in steps if "clock" in s))
    monkeypatch.setenv("RHEINHUB_ANALYTICS_CLOCK_FILE", str(clock))
    crash_file = tmp_path / "analytics-crash"
    monkeypatch.setenv("RHEINHUB_ANALYTICS_CRASH_FILE", str(crash_file))
    hub = start(hub_factory)
    r = redis_client
    events = [i for i, s in enumerate(steps) if "topic" in s]
    kill_at = events[len(events) // 3]
    batch_crash_at = events[len(events) // 2]
    close_crash_at, closing = most_closing_step(steps, ah.Windows())
    assert closing >= 20, closing
    # The last step closes more windows than one transaction holds (64): there the crash
    # falls between two transactions, and the rest is closed by the next process.
    last_clock = max(i for i, s in enumerate(steps) if "clock" in s)
    state = {}

    def kill(later):
        state["open_at_kill"] = r.hlen(f"{hub.prefix}analytics:windows")
        state["killed"] = ah.kill_worker(r, hub.prefix)

    def crash_in_batch(later):
        # Hold the worker while the next stretch of events reaches Redis, so that it
        # reads them in one or two batches of several: the batch that is stored, then
        # lost with the process before its acknowledgement, has at least five events.
        crash_file.write_text("batch 5\n")
        pid = ah.worker_pid(r, hub.prefix)
        os.kill(pid, signal.SIGSTOP)
        later.append(lambda: os.kill(pid, signal.SIGCONT))

    def crash_in_close(later):
        harness.wait_until(lambda: not crash_file.exists(), 30, "the previous crash")
        crash_file.write_text("close\n")

    hooks = {kill_at: kill, batch_crash_at: crash_in_batch, close_crash_at: crash_in_close,
             last_clock: crash_in_close}
    assert len(hooks) == 4, hooks
    entries, messages = run(hub, r, clock, steps, expected, hooks=hooks)

    # What it emitted: each window once on the stream, equal to the model and to the run
    # without a restart, byte for byte.
    stream = check_stream(entries, expected)
    envs = {ah.key_of(env["data"]): env for _, env, _ in entries}
    assert set(envs) == set(base_stream)
    for key, env in envs.items():
        assert env["id"] == base_stream[key]["id"], key
        assert env["data"] == base_stream[key]["data"], (key, env["data"],
                                                         base_stream[key]["data"])
    _, raw = ah.emitted_mqtt(messages)
    assert set(raw) == set(base_raw)
    diff = [k for k in raw if raw[k] != base_raw[k]]
    assert not diff, f"{len(diff)} payloads differ, e.g. {diff[0]}: {raw[diff[0]]!r} " \
                     f"!= {base_raw[diff[0]]!r}"
    assert len(stream) == len(expected)

    # And the restarts happened where they were meant to.
    assert state["open_at_kill"] > 10, state  # windows were open when it died
    assert not crash_file.exists(), "a crash point was never reached"
    assert hub.metric("rheinhub_worker_restarts_total", worker="analytics-1") == 4
    log = hub.log_path.read_text(errors="replace")
    m = re.search(r"crash file says batch \((\d+)\)", log)
    assert m and int(m.group(1)) >= 5, "no crash after a stored batch"
    crashed_batch = int(m.group(1))
    # The lost batch comes back (as one or more batches, read again or claimed): none of
    # it is counted again.
    after = log[m.end():]
    again = sum(int(n) for n in re.findall(r"(\d+) redelivered events \(\d+ entries\) were "
                                           r"counted before",
                                           after))
    assert again >= crashed_batch, f"{again} of {crashed_batch} events came back"
    # Each crash after closing: the next process finds the closed windows in the outbox.
    closes = list(re.finditer(r"crash file says close \((\d+)\)", log))
    assert len(closes) == 2, closes
    for c in closes:
        loaded = re.compile(r"state loaded: \d+ open windows, \d+ batches counted but maybe "
                            r"not acknowledged, (\d+) aggregates to publish").search(log, c.end())
        assert loaded and int(loaded.group(1)) >= int(c.group(1)), (c.group(0), loaded)


def worker_config(stack, tmp_path, name="analytics.yaml", **sections):
    """A hub.yaml for running the worker by hand (no hub): the stack's broker and Redis."""
    config = {"mqtt": {"host": "127.0.0.1", "port": stack.mqtt_port},
              "redis": {"host": "127.0.0.1", "port": stack.redis_port},
              "worker": {"block_ms": 200, "heartbeat_ms": 200}}
    config.update(sections)
    path = tmp_path / name
    path.write_text(harness.to_yaml(config))
    return path


def run_worker(config, *args, timeout=20, env=None):
    import subprocess
    return subprocess.run([str(ah.analytics_binary()), "-c", str(config), *args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, env=env or harness.sanitizer_env())


def test_check_reports_the_windows_file_with_lines(stack, tmp_path):
    """--check reads the windows file too: every problem with its file and line, exit 2."""
    windows = tmp_path / "windows.yaml"
    windows.write_text("default: [1m, 1w]\ntypes:\n  sensor.soil:\n    windowz: [1h]\n")
    config = worker_config(stack, tmp_path, analytics={"windows_file": str(windows)})
    res = run_worker(config, "--check")
    assert res.returncode == 2, res
    assert f"{windows}:1: a window is a count 1..99999" in res.stderr, res.stderr
    assert f"{windows}:4: unknown key windowz under type sensor.soil" in res.stderr, res.stderr
    windows.write_text("default: [1m, 1h]\n")
    res = run_worker(config, "--check")
    assert res.returncode == 0 and "configuration is valid" in res.stdout, res


def test_one_process_per_redis(stack, tmp_path, redis_client):
    """A second analytics process (another host, or instances: 2) does not start: the
    windows of a type must live in one process."""
    config = worker_config(stack, tmp_path)
    first = harness.Proc("analytics-1", [ah.analytics_binary(), "-c", config, "-i", "1"],
                         tmp_path / "analytics-1.log", env=harness.sanitizer_env()).start()
    try:
        harness.wait_until(lambda: redis_client.get("rheinhub:analytics:lock"), 20,
                           "the first worker's lock")
        holder = redis_client.get("rheinhub:analytics:lock").decode()
        assert holder.endswith("-1"), holder
        res = run_worker(config, "-i", "2")
        assert res.returncode == 1, res
        assert f"rheinhub:analytics:lock is held by {holder}" in res.stderr, res.stderr
        assert first.running()
    finally:
        assert first.stop() == 0
    assert not redis_client.exists("rheinhub:analytics:lock")  # released on a clean stop
    assert harness.sanitizer_report(tmp_path / "analytics-1.log") is None

    twice = worker_config(stack, tmp_path, "twice.yaml", workers=[
        {"name": "analytics", "command": "", "instances": 2, "types": ["sensor.*"]}])
    res = run_worker(twice)
    assert res.returncode == 1, res
    assert "instances: 2" in res.stderr, res.stderr


def test_broker_away_aggregates_wait_in_the_outbox(hub_factory, stack, redis_client, clock_file):
    """Windows that close while the broker is away are stored at once and wait in the
    outbox; once the broker is back every one is published (retained), as the model says."""
    steps = [{"clock": "2026-11-26T06:00:30Z"}]
    for k, subject in enumerate(["pegel-1", "pegel-2", "pegel-1"]):
        steps.append({"topic": f"linz/sensor/waterlevel/{subject}",
                      "payload": {"time": f"2026-11-26T06:00:0{k}.5Z", "value": 400 + k,
                                  "unit": "cm", "trend": 0}})
    expected = ah.model_for(steps).aggregates()
    assert len(expected) == 9  # 1m, 15m, 1h; two gauges and the roll-up
    ah.write_clock(clock_file, steps[0]["clock"])
    hub = start(hub_factory)
    r = redis_client
    ah.replay(hub, r, steps, clock_file)
    stack.mosquitto.stop()
    ah.write_clock(clock_file, "2026-11-28T00:00:00Z")
    outbox = f"{hub.prefix}analytics:outbox"
    harness.wait_until(lambda: r.hlen(outbox) == len(expected), 30,
                       "every closed window in the outbox")
    stored = {ah.key_of(env["data"]) for _, env, _ in ah.emitted_stream(r, hub.prefix)}
    assert stored == set(expected)  # storage has them while the broker is away
    stack.mosquitto.start()
    harness.wait_until(lambda: r.hlen(outbox) == 0, 90, "the outbox to empty after the broker "
                       "came back")
    sub = ah.Collector(stack.mqtt_port)
    try:
        harness.wait_until(lambda: len(sub.snapshot()) >= len(expected), 20,
                           "every retained aggregate")
        got, _ = ah.emitted_mqtt(sub.snapshot())
    finally:
        sub.stop()
    ah.compare(got, expected, "the retained aggregates")


def test_clock_set_back_over_a_restart_reopens_no_window(hub_factory, stack, redis_client,
                                                         clock_file):
    """The clock never goes back, also over a restart: a worker that closed a window and
    is started again while the host's clock runs behind where it was (set back by NTP
    after a reboot) takes a later event of that window for late, instead of opening the
    window again and publishing its aggregate a second time, with other figures under
    the same id."""
    def level(second, value):
        return {"topic": "linz/sensor/waterlevel/pegel-1",
                "payload": {"time": f"2026-11-26T06:00:{second:02d}Z", "value": value,
                            "unit": "cm"}}
    r = redis_client
    ah.write_clock(clock_file, "2026-11-26T06:00:30Z")
    hub = start(hub_factory)
    collector = ah.Collector(stack.mqtt_port)
    try:
        # 06:02:00 is the end of the minute 06:00 plus the lateness: the 1m windows close.
        ah.replay(hub, r, [level(5, 400), {"clock": "2026-11-26T06:02:00Z"}], clock_file)
        stream_key = f"{hub.prefix}events:rheinhub.aggregate"
        harness.wait_until(lambda: r.exists(stream_key) and r.xlen(stream_key) == 2, 30,
                           "the two 1m aggregates (pegel-1 and _all) on the stream")
        ah.write_clock(clock_file, "2026-11-26T06:00:40Z")  # the host's clock set back
        ah.kill_worker(r, hub.prefix)
        ah.worker_pid(r, hub.prefix)
        ah.replay(hub, r, [level(10, 401)], clock_file)  # stored before it is acknowledged
        late = r.hget(f"{hub.prefix}analytics:late", "sensor.waterlevel/1m")
        reopened = [k.decode() for k in r.hkeys(f"{hub.prefix}analytics:windows")
                    if b"/1m/" in k]
        assert late == b"1" and reopened == [], (late, reopened)
        ah.write_clock(clock_file, "2026-11-26T06:03:00Z")
        harness.wait_until(lambda: int(ah.worker_status(r, hub.prefix).get("late", 0)) == 1, 30,
                           "the worker's status to count the late event")
        minute = [env["data"] for _, env, _ in ah.emitted_stream(r, hub.prefix)
                  if env["data"]["window"] == "1m"]
        assert len(minute) == 2 and all(a["count"] == 1 for a in minute), minute
        ah.emitted_mqtt(collector.snapshot())  # each window's payload the same every time
    finally:
        collector.stop()


def test_timezone_puts_day_windows_on_local_days(hub_factory, stack, redis_client, clock_file,
                                                 tmp_path):
    """With analytics.timezone Europe/Berlin a 1d window is a local day of Linz am Rhein:
    its aggregate keeps the topic's name (1d) and starts and ends at local midnight
    (23:00Z in winter); 00:30 local counts on that local day, not on the UTC day before
    (where it would be late). A restart (kill -9) finds the open windows again."""
    def level(time, value):
        return {"topic": "linz/sensor/waterlevel/pegel-1",
                "payload": {"time": time, "value": value, "unit": "cm"}}
    def aggregates():
        return sorted(((a["subject"], a["start"], a["end"], a["count"]) for a in
                       (env["data"] for _, env, _ in ah.emitted_stream(r, hub.prefix))),
                      key=lambda a: (a[1], a[0]))
    windows = tmp_path / "windows.yaml"
    windows.write_text("default: [1d]\n")
    config = ah.hub_config(windows_file=windows)
    config["analytics"]["timezone"] = "Europe/Berlin"
    r = redis_client
    ah.write_clock(clock_file, "2026-11-26T23:00:30Z")
    hub = start_with(hub_factory, config)
    collector = ah.Collector(stack.mqtt_port)
    try:
        ah.replay(hub, r, [level("2026-11-25T23:30:00Z", 400),  # 00:30 local, the 26th
                           level("2026-11-26T22:59:59Z", 402),  # 23:59:59 local
                           level("2026-11-26T23:00:00Z", 404)],  # local midnight: the 27th
                  clock_file)
        assert r.hget(f"{hub.prefix}analytics:late", "sensor.waterlevel/1d") is None
        # 1795647600: 2026-11-25T23:00:00Z; 1795734000: 2026-11-26T23:00:00Z
        keys = sorted(k.decode() for k in r.hkeys(f"{hub.prefix}analytics:windows"))
        assert keys == sorted(f"linz/sensor.waterlevel/{s}/1d/{start}" for s in ("pegel-1", "_all")
                              for start in (1795647600, 1795734000)), keys
        ah.kill_worker(r, hub.prefix)
        ah.worker_pid(r, hub.prefix)
        ah.write_clock(clock_file, "2026-11-26T23:01:00Z")  # the 26th's end and the lateness
        harness.wait_until(lambda: len(aggregates()) == 2, 30, "the 26th's two aggregates")
        day = ("2026-11-25T23:00:00Z", "2026-11-26T23:00:00Z", 2)
        assert aggregates() == [("_all",) + day, ("pegel-1",) + day]
        ah.write_clock(clock_file, "2026-11-27T23:01:00Z")
        harness.wait_until(lambda: len(aggregates()) == 4, 30, "the 27th's two aggregates")
        day = ("2026-11-26T23:00:00Z", "2026-11-27T23:00:00Z", 1)
        assert aggregates()[2:] == [("_all",) + day, ("pegel-1",) + day], aggregates()
        harness.wait_until(lambda: len(collector.snapshot()) >= 4, 20, "the four publishes")
        got, _ = ah.emitted_mqtt(collector.snapshot())  # topics end in /1d
        assert sorted((a["subject"], a["window"], a["start"]) for a in got.values()) == sorted(
            (s, "1d", start) for s in ("pegel-1", "_all")
            for start in ("2026-11-25T23:00:00Z", "2026-11-26T23:00:00Z"))
    finally:
        collector.stop()
