# SPDX-License-Identifier: MIT
"""The hub's supervisor, routes, stream trimming and SIGHUP reload (no worker SDK needed)."""

import os
import signal
import stat
import time

import harness
from harness import publish

T = "2026-11-26T07:30:00Z"

# A worker that needs nothing but a shell: it says hello, leaves a marker, and ends on
# SIGTERM or when its standard input (the hub's pipe) closes.
SHELL_WORKER = """#!/bin/sh
echo "hello from $RHEINHUB_WORKER_KIND-$RHEINHUB_WORKER_INSTANCE ($*)"
echo $$ > "{marks}/$RHEINHUB_WORKER_KIND-$RHEINHUB_WORKER_INSTANCE.pid"
trap 'echo term > "{marks}/$RHEINHUB_WORKER_KIND-$RHEINHUB_WORKER_INSTANCE.term"; exit 0' TERM
while read line; do :; done
echo eof > "{marks}/$RHEINHUB_WORKER_KIND-$RHEINHUB_WORKER_INSTANCE.eof"
"""


def shell_worker(stack):
    marks = stack.tmp / "marks"
    marks.mkdir(exist_ok=True)
    path = stack.tmp / "shell-worker.sh"
    path.write_text(SHELL_WORKER.format(marks=marks))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path, marks


def pid_of(marks, name):
    return int((marks / f"{name}.pid").read_text())


def worker_states(hub):
    return {labels["worker"]: labels["state"]
            for labels, v in hub.metrics().series("rheinhub_worker_state") if v == 1}


def test_workers_start_restart_and_crash_loops_are_given_up(hub_factory, stack):
    script, marks = shell_worker(stack)
    hub = hub_factory(workers=[
        {"name": "echo", "command": str(script), "instances": 2, "types": ["sensor.*"]},
        {"name": "crash", "command": "/bin/false"},
    ])
    harness.wait_until(lambda: (marks / "echo-1.pid").exists() and (marks / "echo-2.pid").exists(),
                       20, "both echo workers to start")
    log = hub.log_path.read_text()
    assert "echo-1 | hello from echo-1 (-c " in log, harness.tail(hub.log_path)

    # A worker killed is started again, with backoff, and counted.
    first = pid_of(marks, "echo-1")
    os.kill(first, signal.SIGKILL)
    harness.wait_until(lambda: pid_of(marks, "echo-1") != first, 20, "echo-1 to be restarted")
    harness.wait_until(lambda: hub.metric("rheinhub_worker_restarts_total", worker="echo-1") == 1,
                       10, "the restart to be counted")

    # /bin/false exits at once: after repeated quick failures it is given up on.
    harness.wait_until(lambda: worker_states(hub).get("crash-1") == "failed", 30,
                       "crash-1 to be given up on")
    status, body = hub.http_get("/healthz")
    assert status == 503 and b'"crash-1":"failed"' in body, body
    assert worker_states(hub)["echo-1"] == "running" and worker_states(hub)["echo-2"] == "running"
    # Ingest goes on meanwhile.
    publish(stack.mqtt_port, [("linz/sensor/waterlevel/p", f'{{"time":"{T}","value":1,"unit":"cm"}}'.encode())])
    harness.wait_until(lambda: hub.metric("rheinhub_events_accepted_total") == 1, 10, "ingest")


def test_workers_get_sigterm_on_stop_and_eof_when_the_hub_dies(hub_factory, stack):
    script, marks = shell_worker(stack)
    hub = hub_factory(workers=[{"name": "echo", "command": str(script)}])
    harness.wait_until(lambda: (marks / "echo-1.pid").exists(), 20, "the worker to start")
    hub.term()
    assert (marks / "echo-1.term").exists(), "the worker got no SIGTERM on a graceful stop"

    (marks / "echo-1.pid").unlink()
    hub.start()
    harness.wait_until(lambda: (marks / "echo-1.pid").exists(), 20, "the worker to start again")
    hub.kill()
    harness.wait_until(lambda: (marks / "echo-1.eof").exists(), 10,
                       "the worker to see end of input after the hub died")


def test_routes_create_groups_and_publish_the_route(hub_factory, stack, redis_client):
    hub = hub_factory(workers=[
        {"name": "alerting", "types": ["sensor.waterlevel", "citizen.*"],
         "municipalities": ["linz", "kaiserslautern"], "instances": 0},
        {"name": "storage", "instances": 0},
    ])
    import json
    everything = json.loads(redis_client.get(f"{hub.prefix}route:storage"))["streams"]
    assert len(everything) == 12, everything  # ten event types, alerts and aggregates
    assert hub.stream("rheinhub.alert") in everything
    assert hub.stream("rheinhub.aggregate") in everything
    route = json.loads(redis_client.get(f"{hub.prefix}route:alerting"))
    assert route["kind"] == "alerting"
    assert sorted(route["streams"]) == sorted(hub.stream(t) for t in
                                              ("sensor.waterlevel", "citizen.report",
                                               "citizen.feedback"))
    assert route["municipalities"] == ["linz", "kaiserslautern"]
    assert route["subjects"] == ["*"]
    for s in route["streams"]:
        groups = sorted(g["name"] for g in redis_client.xinfo_groups(s))
        assert groups == [b"alerting", b"storage"], (s, groups)
    assert [g["name"] for g in redis_client.xinfo_groups(hub.stream("sensor.soil"))] == [b"storage"]


def test_trimming_keeps_what_a_group_has_not_acknowledged(hub_factory, stack, redis_client):
    hub = hub_factory(redis={"trim_interval_ms": 200},
                      workers=[{"name": "slow", "types": ["sensor.waterlevel"], "instances": 0}])
    stream = hub.stream("sensor.waterlevel")
    n = 3000
    publish(stack.mqtt_port, [(f"linz/sensor/waterlevel/g{k % 5}",
                               f'{{"time":"2026-11-26T07:30:00.{k:06d}Z","value":{k % 900},'
                               f'"unit":"cm"}}'.encode()) for k in range(n)])
    harness.wait_until(lambda: harness.count_events(redis_client, stream) == n, 30,
                       "every event in the stream")
    entries = redis_client.xlen(stream)  # n, or fewer where the hub packed events
    # Nobody has read anything: nothing may go.
    time.sleep(0.6)  # three trim rounds; the assertion is that nothing happened
    assert redis_client.xlen(stream) == entries
    assert harness.count_events(redis_client, stream) == n
    # Read all, acknowledge the entries of the first 2000 events: the rest must stay.
    got = redis_client.xreadgroup("slow", "c1", {stream: ">"}, count=n)
    ids = [eid for eid, _ in got[0][1]]
    assert len(ids) == entries
    acked, acked_events = 0, 0
    for _, fields in got[0][1]:
        if acked_events + harness.entry_event_count(fields) > 2000:
            break
        acked += 1
        acked_events += harness.entry_event_count(fields)
    assert acked_events > 2000 - harness.ENTRY_EVENTS_MAX, acked_events
    redis_client.xack(stream, "slow", *ids[:acked])
    harness.wait_until(lambda: harness.count_events(redis_client, stream) < n - 1000, 10,
                       "the acknowledged entries to be trimmed")
    left = [eid for eid, _ in redis_client.xrange(stream)]
    assert set(ids[acked:]) <= set(left), "an unacknowledged entry was trimmed"
    assert harness.count_events(redis_client, stream, start=ids[acked]) == n - acked_events
    trimmed = entries - redis_client.xlen(stream)  # entries, as XTRIM counts them
    assert trimmed > 0
    harness.wait_until(lambda: hub.metric("rheinhub_stream_trimmed_total", stream=stream)
                       >= min(trimmed, 1000), 10, f"{trimmed} trimmed entries counted")
    # The trim is counted at its reply, the groups' figures when the whole round is in.
    harness.wait_until(lambda: hub.metric("rheinhub_group_pending", stream=stream, group="slow")
                       == entries - acked, 10, f"{entries - acked} pending entries shown")
    assert hub.metric("rheinhub_stream_dropped_total", stream=stream) == 0


def test_trimming_keeps_what_the_17th_group_has_not_read(hub_factory, stack, redis_client):
    """Groups removed from the configuration stay in Redis, so a stream can carry more
    groups than the configuration has kinds: each of them keeps what it has not read."""
    hub = hub_factory(redis={"trim_interval_ms": 200})
    stream = hub.stream("sensor.waterlevel")
    n = 1000
    publish(stack.mqtt_port, [(f"linz/sensor/waterlevel/g{k % 5}",
                               f'{{"time":"2026-11-26T07:32:00.{k:06d}Z","value":{k % 900},'
                               f'"unit":"cm"}}'.encode()) for k in range(n)])
    harness.wait_until(lambda: harness.count_events(redis_client, stream) == n, 30,
                       "every event in the stream")
    entries = redis_client.xlen(stream)
    # The last group by name has read nothing yet; 16 more have read everything. It is
    # made first, so that no round sees those 16 without it.
    redis_client.xgroup_create(stream, "zz-lagging", id="0")
    for g in range(16):
        redis_client.xgroup_create(stream, f"g{g:02d}", id="$")

    def round_with_the_groups():
        pending = hub.metrics().series("rheinhub_group_pending")
        return any(labels.get("group") == "g15" for labels, _ in pending)
    # A published round has had its trims answered: what it trimmed is gone by now.
    harness.wait_until(round_with_the_groups, 10, "a trim round that saw the groups")
    assert redis_client.xlen(stream) == entries, "entries the 17th group had not read trimmed"
    got = redis_client.xreadgroup("zz-lagging", "c1", {stream: ">"}, count=n)
    assert sum(harness.entry_event_count(f) for _, f in got[0][1]) == n
    assert hub.metric("rheinhub_group_lag", stream=stream, group="zz-lagging") >= 0


def test_memory_cap_counts_what_it_drops(hub_factory, stack, redis_client):
    hub = hub_factory(redis={"trim_interval_ms": 200, "stream_maxlen": 20},
                      workers=[{"name": "never", "types": ["sensor.waterlevel"], "instances": 0}])
    stream = hub.stream("sensor.waterlevel")
    publish(stack.mqtt_port, [(f"linz/sensor/waterlevel/g{k % 5}",
                               f'{{"time":"2026-11-26T07:31:00.{k:06d}Z","value":1,'
                               f'"unit":"cm"}}'.encode()) for k in range(5000)])
    harness.wait_until(lambda: hub.metric("rheinhub_events_accepted_total") == 5000, 30, "ingest")
    harness.wait_until(lambda: hub.metric("rheinhub_stream_dropped_total", stream=stream) > 0,
                       10, "the cap to act")
    # The cap counts entries: what is left and what was dropped are every entry written.
    harness.wait_until(lambda: hub.metric("rheinhub_queue_length") == 0
                       and hub.metric("rheinhub_redis_in_flight") == 0, 10, "every entry confirmed")
    # The cap trims every 200 ms: once it has cut the stream to its length nothing more
    # changes (a trim between reading the count and the length would be counted after).
    # The hub counts a trim when its reply is in: the equation holds once both are seen.
    def balance():
        dropped = hub.metric("rheinhub_stream_dropped_total", stream=stream)
        return redis_client.xlen(stream) + dropped, hub.metric("rheinhub_redis_entries_total")
    harness.wait_until(lambda: redis_client.xlen(stream) == 20 and len(set(balance())) == 1, 10,
                       "the last trim, counted")
    left_and_dropped, written = balance()
    assert left_and_dropped == written
    assert "memory cap: dropped" in hub.log_path.read_text()


def test_reload_applies_routes_and_refuses_a_broken_file(hub_factory, stack, redis_client):
    hub = hub_factory(workers=[{"name": "first", "types": ["sensor.soil"], "instances": 0}])
    stream = hub.stream("sensor.waterlevel")
    good = hub.config_path.read_text()

    # A broken file is refused; the hub keeps running as it was.
    hub.config_path.write_text(good + "mqtt:\n  port: [\n")
    hub.proc.send(signal.SIGHUP)
    harness.wait_until(lambda: "keeping the running configuration" in hub.log_path.read_text(),
                       10, "the reload to be refused")
    assert hub.healthz() == 200
    assert not redis_client.exists(f"{hub.prefix}route:second")

    # A new route during a stream takes effect; what comes after it all reaches the group.
    hub.config_path.write_text(good.replace(
        "workers:\n",
        'workers:\n  - name: "second"\n    types: ["sensor.waterlevel"]\n    instances: 0\n'))
    lg = harness.Loadgen(stack, n=4000, rate=2000, offset=0).start()
    harness.wait_until(lambda: harness.events_at_least(redis_client, stream, 501),
                       20, "the stream to be under way")
    hub.proc.send(signal.SIGHUP)
    harness.wait_until(lambda: redis_client.exists(f"{hub.prefix}route:second"), 10,
                       "the new route")
    lg.wait()
    harness.wait_until(lambda: harness.count_events(redis_client, stream) == 4000, 30,
                       "every event")
    info = {g["name"]: g for g in redis_client.xinfo_groups(stream)}
    assert b"second" in info
    # Everything after the group was created is there for it: lag + read == the rest.
    read = redis_client.xreadgroup("second", "c", {stream: ">"}, count=10000)
    got = sum(harness.entry_event_count(f) for _, f in read[0][1]) if read else 0
    assert 0 < got < 4000
    last = read[0][1][-1][0]
    assert last == redis_client.xrevrange(stream, count=1)[0][0]


def test_reload_refuses_an_empty_file(hub_factory, stack, redis_client):
    """A hub.yaml cut to nothing (a full disk, a failed copy) would be every default:
    no workers. A reload refuses it and keeps the running configuration and workers."""
    hub = hub_factory(workers=[{"name": "first", "types": ["sensor.soil"], "instances": 0}])
    for text in ("", "# nothing but a comment\n", "{}\n"):
        hub.config_path.write_text(text)
        before = hub.log_path.read_text().count("keeping the running configuration")
        hub.proc.send(signal.SIGHUP)
        harness.wait_until(
            lambda: hub.log_path.read_text().count("keeping the running configuration") > before,
            10, f"the reload of {text!r} to be refused")
        log = hub.log_path.read_text()
        assert "sets nothing" in log, log[-2000:]
        assert "reload done" not in log, log[-2000:]
    assert redis_client.exists(f"{hub.prefix}route:first")
    assert hub.healthz() == 200


def test_reload_names_sections_only_the_workers_read(hub_factory, stack, redis_client):
    """A reload changes nothing of what workers read at their start (worker:, storage:,
    alerting:, ...): the hub says so, naming the section, instead of staying silent."""
    hub = hub_factory()
    hub.config["storage"] = {"retention_days": 30}
    hub.config["worker"] = {"batch_max": 64}
    hub.config_path.write_text(harness.to_yaml(hub.config))
    hub.proc.send(signal.SIGHUP)
    harness.wait_until(lambda: "reload done" in hub.log_path.read_text(), 10, "the reload")
    log = hub.log_path.read_text()
    for section in ("storage", "worker"):
        assert (f"reload: '{section}' is read by the workers at their start: restart them to "
                "apply it") in log, log[-2000:]
    assert "reload: 'alerting'" not in log


def test_worker_status_is_found_among_many_other_keys(hub_factory, stack, redis_client):
    """A Redis shared with other applications: the status hashes are found wherever
    SCAN's cursor meets them, not only among the first keys it returns."""
    import json
    hub = hub_factory(redis={"trim_interval_ms": 200})
    redis_client.eval("for i = 1, 100000 do redis.call('SET', 'other:' .. i, 'x') end", 0)
    n = 40
    for k in range(n):
        redis_client.hset(f"{hub.prefix}worker:probe:c{k}",
                          mapping={"state": "unhealthy", "detail": "test", "processed": 0})

    def all_found():
        return len(hub.metrics().series("rheinhub_worker_consumer_healthy")) == n
    harness.wait_until(all_found, 30, f"the {n} status hashes in /metrics")
    status, body = hub.http_get("/healthz")
    health = json.loads(body)
    assert health["unhealthy_consumers"] == n, body
    assert health["consumers_unhealthy"] == {
        f"{hub.prefix}worker:probe:c{k}": "test" for k in range(n)}, body


def test_healthz_names_the_unhealthy_consumers_and_why(hub_factory, redis_client):
    """/healthz names each unhealthy consumer with its worker's reason and still answers
    200, and /metrics has every counter of its status hash, the retries ("failed") among
    them."""
    import json
    hub = hub_factory(redis={"trim_interval_ms": 200})
    ok, bad = f"{hub.prefix}worker:storage:c1", f"{hub.prefix}worker:alerting:c1"
    redis_client.hset(ok, mapping={"state": "ok", "detail": "", "processed": 7, "failed": 0,
                                   "deadlettered": 0})
    redis_client.hset(bad, mapping={"state": "unhealthy", "processed": 5, "failed": 3,
                                    "deadlettered": 1,
                                    "detail": 'rules: "level" \\ not a number'})

    def seen():
        return len(hub.metrics().series("rheinhub_worker_consumer_healthy")) == 2
    harness.wait_until(seen, 30, "both status hashes in /metrics")
    status, body = hub.http_get("/healthz")
    health = json.loads(body)
    # Shown, but they leave the answer at 200 (docs/operations.md, Monitor).
    assert status == 200 and health["status"] == "ok", (status, health)
    assert health["unhealthy_consumers"] == 1, health
    assert health["consumers_unhealthy"] == {bad: 'rules: "level" \\ not a number'}, health
    m = hub.metrics()
    assert m.get("rheinhub_worker_consumer_failed_total", consumer=bad) == 3
    assert m.get("rheinhub_worker_consumer_deadlettered_total", consumer=bad) == 1
    assert m.get("rheinhub_worker_consumer_processed_total", consumer=ok) == 7


# Fails at once, leaving a child that holds the hub's output pipes open (so the run's
# pipes are still open when its exit is seen), unless the "healthy" mark exists: then
# it runs until SIGTERM or the end of its input.
HOLDING_WORKER = """#!/bin/sh
echo $$ >> "{marks}/starts"
if [ -e "{marks}/healthy" ]; then
    echo $$ > "{marks}/running.pid"
    trap 'exit 0' TERM
    while read line; do :; done
    exit 0
fi
sleep 120 &
echo $! >> "{marks}/holders"
exit 3
"""


def test_reload_restarts_a_worker_whose_output_pipes_are_still_open(hub_factory, stack):
    marks = stack.tmp / "marks"
    marks.mkdir()
    script = stack.tmp / "holding-worker.sh"
    script.write_text(HOLDING_WORKER.format(marks=marks))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)

    def starts():
        path = marks / "starts"
        return len(path.read_text().split()) if path.exists() else 0

    hub = hub_factory(workers=[{"name": "held", "command": str(script), "types": []}])
    try:
        # Given up on after five quick failures: a reload is another chance.
        harness.wait_until(lambda: worker_states(hub).get("held-1") == "failed", 60,
                           "held-1 to be given up on")
        before = starts()
        hub.proc.send(signal.SIGHUP)
        harness.wait_until(lambda: starts() > before, 20,
                           "held-1 to be started again after the reload")

        # In backoff (its restart timer armed), a reload starts it at once.
        backoff = "restarting held-1 in 4000 ms"
        seen = hub.log_path.read_text().count(backoff)
        harness.wait_until(lambda: hub.log_path.read_text().count(backoff) > seen, 30,
                           "held-1 to be in backoff again")
        (marks / "healthy").write_text("")
        hub.proc.send(signal.SIGHUP)
        harness.wait_until(lambda: (marks / "running.pid").exists(), 20,
                           "held-1 to run after the reload")
        harness.wait_until(lambda: worker_states(hub).get("held-1") == "running", 10,
                           "held-1 reported running")
    finally:
        holders = marks / "holders"
        for pid in (holders.read_text().split() if holders.exists() else []):
            try:
                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                pass
