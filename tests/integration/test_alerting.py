# SPDX-License-Identifier: MIT
"""The alerting worker against the real chain: MQTT -> hub -> Redis -> rheinhub-alerting
-> MQTT (retained alerts) and Redis (the alerts stream). Raise, acknowledge over MQTT,
clear; hysteresis; silence on the clock; a SIGKILL with an alert active; redelivered
events; a citizen report's alert cleared by its closed update (until); the outbox while
the broker is away; `--check` with FILE:LINE errors; a cleared alert removed from the
broker not published again by the next process; a backlog after a restart not taken for
silence.
"""

import json
import os
import signal
import subprocess
import threading
import time

import msgpack
import pytest

import harness
from alerting_helpers import (OUTBOX, TRACKS, AlertWatcher, ack, alerting_hub, event_topic,
                              mosquitto_pub, publish_levels, require_binary, retained_alert,
                              stat, stats, status, stream_alerts, validate_alert, wait_applied,
                              wait_idle, wait_stat, waterlevel, worker_pid, write_rules)

FLOOD = """\
rules:
  - name: rhine-flood
    type: sensor.waterlevel
    field: value
    where: {unit: cm}
    above: 650
    clear: 620
    severity: warning
    levels:
      - {above: 800, severity: critical}
    message: "{subject}: water level {value} cm ≥ {threshold} cm"
"""

TOPIC = "linz/alerts/rhine-flood/pegel-1"


@pytest.fixture
def watcher(stack):
    w = AlertWatcher(stack)
    yield w
    w.close()


def test_alerting_raise_acknowledge_clear(hub_factory, stack, redis_client, watcher, tmp_path):
    """An alert is raised, published retained and written to the alerts stream;
    acknowledged over MQTT; a level oscillating between the clear and raise levels makes
    no second alert; it clears below the clear level and stays retained as cleared."""
    hub = alerting_hub(hub_factory, write_rules(tmp_path, FLOOD))
    pid = worker_pid(redis_client)
    publish_levels(stack, "pegel-1", [600, 712])
    active = watcher.wait_for(lambda a: a["state"] == "active", 20, "the alert")
    assert active["rule"] == "rhine-flood" and active["subject"] == "pegel-1"
    assert active["municipality"] == "linz" and active["type"] == "sensor.waterlevel"
    assert active["severity"] == "warning"
    assert active["value"] == 712 and active["threshold"] == 650
    assert active["message"] == "pegel-1: water level 712 cm ≥ 650 cm"
    assert active["acked_by"] is None and active["cleared_at"] is None
    assert active["raised_at"] == active["updated_at"]
    assert active["id"].startswith("linz:rhine-flood:pegel-1:")
    validate_alert(hub, active)
    alert, retain = retained_alert(stack, TOPIC)
    assert retain and alert == active

    # The stream: one envelope for the raise, in the contract's shape.
    harness.wait_until(lambda: len(stream_alerts(redis_client)) == 1, 10, "the stream entry")
    env, data = stream_alerts(redis_client)[0]
    assert env["type"] == "rheinhub.alert" and env["source"] == "rheinhub-alerting"
    assert env["category"] == "alert" and env["municipality"] == "linz"
    assert env["subject"] == "rhine-flood/pegel-1" and env["time"] == active["updated_at"]
    assert data == active

    # Oscillating between 620 and 650 and above: no new message, no new stream entry.
    publish_levels(stack, "pegel-1", [640, 660, 625, 700, 630, 690, 621])
    wait_stat(redis_client, "events", 9)
    wait_idle(redis_client, hub)
    assert [a["state"] for a in watcher.alerts(TOPIC)] == ["active"]
    assert len(stream_alerts(redis_client)) == 1

    # An invalid acknowledgement is refused and counted; the worker lives on.
    mosquitto_pub(stack, TOPIC + "/ack", '{"who":"nobody"}')
    mosquitto_pub(stack, TOPIC + "/ack", "not json")
    wait_stat(redis_client, "acks_invalid", 2)
    ack(stack, "linz", "rhine-flood", "pegel-1", comment="Sandsäcke an der Rheinpromenade")
    acked = watcher.wait_for(lambda a: a["state"] == "acknowledged", 20, "the acknowledgement")
    assert acked["acked_by"] == "Bauhof Bereitschaft" and acked["id"] == active["id"]
    assert acked["value"] == 621 and acked["updated_at"] > active["updated_at"]
    validate_alert(hub, acked)
    ack(stack, "linz", "rhine-flood", "pegel-1", by="late")  # not active any more
    wait_stat(redis_client, "acks_ignored", 1)

    publish_levels(stack, "pegel-1", [619])
    cleared = watcher.wait_for(lambda a: a["state"] == "cleared", 20, "the clear")
    assert cleared["id"] == active["id"] and cleared["value"] == 619
    assert cleared["acked_by"] == "Bauhof Bereitschaft" and cleared["cleared_at"]
    validate_alert(hub, cleared)
    alert, retain = retained_alert(stack, TOPIC)
    assert retain and alert["state"] == "cleared"
    states = [(d["state"], e["id"]) for e, d in stream_alerts(redis_client)]
    assert [s for s, _ in states] == ["active", "acknowledged", "cleared"]
    assert len({i for _, i in states}) == 3
    assert worker_pid(redis_client) == pid
    assert [a["state"] for a in watcher.alerts(TOPIC)] == ["active", "acknowledged", "cleared"]
    wait_stat(redis_client, "cleared", 1)
    counts = stats(redis_client)
    assert {k: counts.get(k) for k in ("raised", "acknowledged", "cleared", "acks_invalid",
                                       "acks_ignored", "events")} == {
        "raised": 1, "acknowledged": 1, "cleared": 1, "acks_invalid": 2, "acks_ignored": 1,
        "events": 10}, counts


def test_alerting_ack_names_its_alert(hub_factory, stack, redis_client, watcher, tmp_path):
    """An acknowledgement that names an alert (alert_id) acknowledges that alert only: one
    sent for an alert that has cleared while the next flood raised the next alert of the
    same rule and gauge leaves that next alert active (logged with both ids, counted as
    ignored); one with the next alert's id acknowledges it. A malformed alert_id is
    refused as invalid."""
    hub = alerting_hub(hub_factory, write_rules(tmp_path, FLOOD))
    publish_levels(stack, "pegel-1", [700])
    first = watcher.wait_for(lambda a: a["state"] == "active", 20, "the first alert")
    publish_levels(stack, "pegel-1", [600])
    watcher.wait_for(lambda a: a["state"] == "cleared", 20, "the first alert's clear")
    publish_levels(stack, "pegel-1", [710])
    second = watcher.wait_for(lambda a: a["state"] == "active" and a["id"] != first["id"], 20,
                              "the second alert")

    # The operator saw the first alert and acknowledges it: not the second one.
    ack(stack, "linz", "rhine-flood", "pegel-1", by="Leitstelle", alert_id=first["id"])
    wait_stat(redis_client, "acks_ignored", 1)
    harness.wait_until(lambda: f"names alert {first['id']}, the current alert is {second['id']}"
                       in hub.log_path.read_text(), 10, "the log line naming both ids")
    for bad in ("", 7, None, "x" * 129, "linz/rhine-flood/pegel-1"):
        mosquitto_pub(stack, TOPIC + "/ack", json.dumps({"by": "Leitstelle", "alert_id": bad}))
    wait_stat(redis_client, "acks_invalid", 5)
    harness.wait_until(lambda: "\"alert_id\" must be" in hub.log_path.read_text(), 10,
                       "the reason of the refusal")
    wait_idle(redis_client, hub)
    alert, _ = retained_alert(stack, TOPIC)
    assert alert["id"] == second["id"] and alert["state"] == "active", alert
    assert stat(redis_client, "acknowledged") == 0

    ack(stack, "linz", "rhine-flood", "pegel-1", alert_id=second["id"])
    acked = watcher.wait_for(lambda a: a["state"] == "acknowledged", 20, "the acknowledgement")
    assert acked["id"] == second["id"] and acked["acked_by"] == "Bauhof Bereitschaft"
    assert [a["state"] for a in watcher.alerts(TOPIC)] == ["active", "cleared", "active",
                                                           "acknowledged"]
    wait_stat(redis_client, "acknowledged", 1)
    assert stat(redis_client, "acks_ignored") == 1


def test_alerting_critical_level_and_other_types(hub_factory, stack, redis_client, watcher,
                                                 tmp_path):
    """A level past 800 cm makes the open alert critical (one more message); equality
    rules on a street light's status and a citizen report's service_code."""
    rules = FLOOD + """\
  - name: streetlight-fault
    type: service.streetlight
    field: status
    equals: fault
    severity: info
    message: "Street light {subject}: fault {data.fault_code}"
  - name: citizen-danger
    type: citizen.report
    field: service_code
    equals: danger
"""
    hub = alerting_hub(hub_factory, write_rules(tmp_path, rules))
    publish_levels(stack, "pegel-2", [700, 820, 700])
    crit = watcher.wait_for(lambda a: a["severity"] == "critical", 20, "critical")
    assert crit["threshold"] == 800 and crit["state"] == "active" and crit["value"] == 820
    harness.publish(stack.mqtt_port, [
        ("linz/service/streetlight/lamp-7",
         json.dumps({"time": "2026-11-26T06:00:00Z", "status": "fault",
                     "fault_code": "LAMP_FAILURE"}).encode()),
        ("linz/citizen/report/r-42",
         json.dumps({"time": "2026-11-26T21:47:03Z", "service_code": "danger",
                     "description": "Geländer abgebrochen", "lat": 50.57, "lon": 7.28}).encode()),
    ])
    lamp = watcher.wait_for(lambda a: a["rule"] == "streetlight-fault", 20, "the lamp")
    assert lamp["message"] == "Street light lamp-7: fault LAMP_FAILURE"
    assert lamp["severity"] == "info" and lamp["value"] == "fault"
    assert lamp["event_time"] == "2026-11-26T06:00:00Z"
    danger = watcher.wait_for(lambda a: a["rule"] == "citizen-danger", 20, "the report")
    assert danger["subject"] == "r-42" and danger["type"] == "citizen.report"
    for a in (crit, lamp, danger):
        validate_alert(hub, a)
    harness.publish(stack.mqtt_port, [
        ("linz/service/streetlight/lamp-7",
         json.dumps({"time": "2026-11-26T07:00:00Z", "status": "ok"}).encode())])
    watcher.wait_for(lambda a: a["rule"] == "streetlight-fault" and a["state"] == "cleared",
                     20, "the lamp cleared")
    assert len(watcher.alerts("linz/alerts/rhine-flood/pegel-2")) == 2


def _report(subject, minute, status):
    return (f"linz/citizen/report/{subject}",
            json.dumps({"time": f"2026-11-26T21:{minute:02d}:00Z", "service_code": "danger",
                        "description": "Geländer abgebrochen", "lat": 50.57, "lon": 7.28,
                        "status": status}).encode())


def test_alerting_citizen_danger_clears_when_closed(hub_factory, stack, redis_client, watcher):
    """The shipped citizen-danger rule (until: status closed): a danger report raises its
    alert; an update still open keeps it; the closed update, still service_code danger,
    clears it; a report closed before it raised raises nothing."""
    hub = alerting_hub(hub_factory, harness.REPO / "deploy/local/alerting-rules.yaml")
    topic = "linz/alerts/citizen-danger/r-77"
    harness.publish(stack.mqtt_port, [_report("r-77", 0, "open")])
    active = watcher.wait_for(lambda a: a["rule"] == "citizen-danger", 20, "the report")
    assert active["subject"] == "r-77" and active["state"] == "active"
    harness.publish(stack.mqtt_port, [_report("r-77", 5, "open"), _report("r-78", 0, "closed")])
    wait_stat(redis_client, "events", 3)
    wait_idle(redis_client, hub)
    assert [a["state"] for a in watcher.alerts(topic)] == ["active"]
    harness.publish(stack.mqtt_port, [_report("r-77", 9, "closed")])
    cleared = watcher.wait_for(lambda a: a["state"] == "cleared", 20, "the closed report")
    assert cleared["id"] == active["id"] and cleared["value"] == "danger"
    assert cleared["event_time"] == "2026-11-26T21:09:00Z" and cleared["cleared_at"]
    validate_alert(hub, cleared)
    alert, retain = retained_alert(stack, topic)
    assert retain and alert["state"] == "cleared"
    track = json.loads(redis_client.hget(TRACKS, "linz/citizen-danger/r-77"))
    assert track["holds"] is False
    assert watcher.alerts("linz/alerts/citizen-danger/r-78") == []
    wait_stat(redis_client, "cleared", 1)
    assert stat(redis_client, "raised") == 1 and stat(redis_client, "cleared") == 1


SILENCE = """\
rules:
  - name: sensor-silent
    type: "sensor.*"
    subject: "quiet-*"
    silence: 1500ms
    message: "{subject} has sent nothing for {value} s"
"""


def test_alerting_silence_on_the_clock(hub_factory, stack, redis_client, watcher, tmp_path):
    """A subject that stops sending raises a silence alert on time, with no event to
    trigger it; one that keeps sending does not; the next event clears the alert."""
    alerting_hub(hub_factory, write_rules(tmp_path, SILENCE))
    worker_pid(redis_client)
    publish_levels(stack, "quiet-1", [300])
    sent = time.time()
    stop = time.monotonic() + 4
    while time.monotonic() < stop and not watcher.alerts("linz/alerts/sensor-silent/quiet-1"):
        publish_levels(stack, "quiet-2", [300])  # keeps talking
        time.sleep(0.2)
    silent = watcher.wait_for(lambda a: a["state"] == "active", 10, "the silence alert")
    arrived = time.time()
    assert silent["subject"] == "quiet-1", silent
    assert 1.5 <= arrived - sent < 1.5 + 2.0, arrived - sent
    assert silent["threshold"] == 1.5 and silent["value"] >= 1
    assert watcher.alerts("linz/alerts/sensor-silent/quiet-2") == []
    publish_levels(stack, "quiet-1", [300])
    cleared = watcher.wait_for(lambda a: a["state"] == "cleared", 10, "the silence to end")
    assert cleared["id"] == silent["id"]


RESTART = FLOOD + """\
  - name: sensor-silent
    type: "sensor.*"
    subject: "quiet-*"
    silence: 3s
"""


def test_alerting_restart_keeps_state(hub_factory, stack, redis_client, watcher, tmp_path):
    """SIGKILL while an alert is active: an acknowledgement published while no worker
    runs waits in its persistent session and is applied by the next process; that
    process raises no second alert for the same condition, and watches for silence the
    subjects seen before the restart."""
    hub = alerting_hub(hub_factory, write_rules(tmp_path, RESTART))
    pid = worker_pid(redis_client)
    publish_levels(stack, "pegel-1", [700])
    publish_levels(stack, "quiet-1", [300])
    active = watcher.wait_for(lambda a: a["rule"] == "rhine-flood", 20, "the alert")
    harness.wait_until(lambda: redis_client.hexists(TRACKS, "linz/sensor-silent/quiet-1"), 10,
                       "quiet-1 in the state")
    os.kill(pid, signal.SIGKILL)
    ack(stack, "linz", "rhine-flood", "pegel-1")  # the supervisor restarts it in 500 ms
    harness.wait_until(lambda: status(redis_client).get("pid") not in (None, str(pid)), 30,
                       "the supervisor to restart the worker")
    acked = watcher.wait_for(lambda a: a["state"] == "acknowledged", 20, "the acknowledgement")
    assert acked["id"] == active["id"] and acked["acked_by"] == "Bauhof Bereitschaft"
    # The same condition again: an update of the open alert, not a new one.
    publish_levels(stack, "pegel-1", [710, 705])
    wait_applied(redis_client, hub, hub.stream("sensor.waterlevel"), 4)
    # The new process may publish the open alert once more from the outbox (when the
    # broker's confirmation had not been written yet): the same alert, byte for byte.
    flood = watcher.alerts(TOPIC)
    assert {a["id"] for a in flood} == {active["id"]}
    assert [a["state"] for a in flood if a != active] == ["acknowledged"], flood
    # quiet-1 was seen only by the killed process: the new one still notices its silence.
    silent = watcher.wait_for(lambda a: a["rule"] == "sensor-silent", 20, "silence of quiet-1")
    assert silent["subject"] == "quiet-1"
    states = [d["state"] for e, d in stream_alerts(redis_client) if d["rule"] == "rhine-flood"]
    assert states == ["active", "acknowledged"]
    assert hub.metric("rheinhub_worker_restarts_total", worker="alerting-1") == 1


def test_alerting_redelivery_raises_nothing_twice(hub_factory, stack, redis_client, watcher,
                                                  tmp_path):
    """The same event published twice, an entry written twice, and every entry delivered
    again to the group (as after a crash before the acknowledgement): one alert."""
    hub = alerting_hub(hub_factory, write_rules(tmp_path, FLOOD))
    worker_pid(redis_client)
    # The same bytes twice: the hub drops the duplicate by its id.
    body = json.dumps({"time": "2026-11-26T06:00:00.5Z", "value": 700, "unit": "cm"}).encode()
    harness.publish(stack.mqtt_port, [(event_topic("pegel-1"), body),
                                      (event_topic("pegel-1"), body)])
    watcher.wait_for(lambda a: a["state"] == "active", 20, "the alert")
    publish_levels(stack, "pegel-1", [600])
    watcher.wait_for(lambda a: a["state"] == "cleared", 20, "the clear")
    stream = hub.stream("sensor.waterlevel")
    events = harness.read_events(redis_client, stream)
    assert len(events) == 2
    # The raising event written again, as a second hub or a replayed spool might.
    redis_client.xadd(stream, harness.pack_entry([(events[0].event_id, events[0].raw)]))
    wait_stat(redis_client, "stale", 1)
    # Every entry handed to the group again.
    redis_client.xgroup_setid(stream, "alerting", "0")
    wait_stat(redis_client, "stale", 4)
    wait_idle(redis_client, hub)
    assert [a["state"] for a in watcher.alerts(TOPIC)] == ["active", "cleared"]
    assert [d["state"] for e, d in stream_alerts(redis_client)] == ["active", "cleared"]
    assert stat(redis_client, "raised") == 1


def test_alerting_skips_a_time_beyond_int64_nanoseconds(hub_factory, stack, redis_client,
                                                         watcher, tmp_path):
    """Valid RFC 3339 times that 64 bits of nanoseconds do not hold (years 9999 and 1) are
    skipped and counted: they raise nothing, and the next event raises as it should."""
    hub = alerting_hub(hub_factory, write_rules(tmp_path, FLOOD))
    pid = worker_pid(redis_client)
    harness.publish(stack.mqtt_port, [
        (event_topic("pegel-1"), waterlevel(712, "9999-12-31T23:59:59Z")),
        (event_topic("pegel-1"), waterlevel(850, "0001-01-01T00:00:00Z"))])
    wait_stat(redis_client, "skipped", 2)
    wait_idle(redis_client, hub)
    assert watcher.alerts(TOPIC) == [] and stat(redis_client, "events") == 0
    publish_levels(stack, "pegel-1", [712])
    active = watcher.wait_for(lambda a: a["state"] == "active", 20, "the alert")
    assert active["value"] == 712 and active["severity"] == "warning"
    assert wait_stat(redis_client, "raised", 1) == 1 and worker_pid(redis_client) == pid


def _entry_with(env_bytes, **changes):
    """A copy of a stream entry's envelope with some fields and data members changed."""
    env = dict(harness.plain(harness.unpack_envelope(env_bytes)))
    data = dict(env["data"])
    data.update(changes.pop("data", {}))
    env.update(changes)
    env["data"] = data
    return msgpack.packb(env, use_bin_type=True)


def test_alerting_outbox_survives_a_crash(hub_factory, stack, redis_client, watcher, tmp_path):
    """The broker stops answering after the worker wrote a state change to Redis; the
    worker is killed before any PUBACK. The change waits in the outbox, and the next
    process publishes it once the broker is back."""
    hub = alerting_hub(hub_factory, write_rules(tmp_path, FLOOD))
    pid = worker_pid(redis_client)
    publish_levels(stack, "pegel-1", [600])
    wait_stat(redis_client, "events", 1)
    stream = hub.stream("sensor.waterlevel")
    [first] = harness.read_events(redis_client, stream)
    stack.mosquitto.proc.send(signal.SIGSTOP)
    try:
        # Newer than the first event: older ones are ignored as out of order.
        t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
        redis_client.xadd(stream, {"id": "outbox-test-1",
                                   "env": _entry_with(first.raw, id="outbox-test-1", time=t,
                                                      data={"time": t, "value": 900})})
        harness.wait_until(lambda: redis_client.hexists(OUTBOX, "linz/rhine-flood/pegel-1"),
                           20, "the change in the outbox")
        assert [d["state"] for e, d in stream_alerts(redis_client)] == ["active"]
        os.kill(pid, signal.SIGKILL)
        assert redis_client.hexists(OUTBOX, "linz/rhine-flood/pegel-1")
    finally:
        stack.mosquitto.proc.send(signal.SIGCONT)
    alert = watcher.wait_for(lambda a: a["state"] == "active", 30, "the alert after all")
    assert alert["value"] == 900 and alert["severity"] == "critical"
    harness.wait_until(lambda: not redis_client.hexists(OUTBOX, "linz/rhine-flood/pegel-1"), 30,
                       "the outbox emptied by the PUBACK")
    retained, retain = retained_alert(stack, TOPIC)
    assert retain and retained["id"] == alert["id"]
    # The first process may have got its PUBLISH into the socket before it died; the
    # second one publishes from the outbox in any case.
    assert "published 1 alerts again from the outbox" in hub.log_path.read_text()


BAD_RULES = """\
rules:
  - name: rhine-flood
    type: sensor.waterlevel
    field: value
    above: 650
    clear: 700
  - name: sensor-silent
    type: "sensor.*"
    silence: half an hour
"""


def test_alerting_check(tmp_path):
    """--check: exit 0 for the shipped rules, 2 with FILE:LINE errors for bad ones."""
    binary = require_binary()
    hub_yaml = tmp_path / "hub.yaml"
    shipped = harness.REPO / "deploy" / "local" / "alerting-rules.yaml"
    hub_yaml.write_text(f"alerting:\n  rules_file: {shipped}\n  username: alerting-linz\n"
                        "  password: secret\n")
    p = subprocess.run([str(binary), "--check", "-c", str(hub_yaml)], capture_output=True,
                       timeout=20, env=harness.sanitizer_env())
    assert p.returncode == 0, p.stderr.decode()
    assert b"5 rules are valid" in p.stdout
    bad = write_rules(tmp_path, BAD_RULES, "bad-rules.yaml")
    hub_yaml.write_text("alerting:\n  rules_file: bad-rules.yaml\n")  # relative to hub.yaml
    p = subprocess.run([str(binary), "--check", "-c", str(hub_yaml)], capture_output=True,
                       timeout=20, env=harness.sanitizer_env())
    err = p.stderr.decode()
    assert p.returncode == 2, (p.returncode, err)
    assert f"{bad}:6: rule 'rhine-flood': clear (700) must be at or below above (650)" in err
    assert f"{bad}:9: silence must be a duration" in err
    # A bad hub.yaml is the SDK's error, also with its line.
    hub_yaml.write_text("alerting:\n  rules_file: bad-rules.yaml\n  colour: red\n")
    p = subprocess.run([str(binary), "--check", "-c", str(hub_yaml)], capture_output=True,
                       timeout=20, env=harness.sanitizer_env())
    assert p.returncode == 2 and f"{hub_yaml}:3: unknown key 'colour'" in p.stderr.decode()
    # And a worker started with bad rules does not start.
    p = subprocess.run([str(binary), "-c", str(hub_yaml)], capture_output=True, timeout=20,
                       stdin=subprocess.DEVNULL, env=harness.sanitizer_env())
    assert p.returncode == 2


def test_alerting_check_without_rules_file(tmp_path):
    """alerting.rules_file has no default: a hub.yaml without it is refused, naming the key,
    not an empty file name that cannot be opened."""
    binary = require_binary()
    hub_yaml = tmp_path / "hub.yaml"
    (tmp_path / "alerting-rules.yaml").write_text("rules:\n")  # not taken without the key
    for text in ("log:\n  level: info\n", "alerting:\n  check_interval_ms: 500\n"):
        hub_yaml.write_text(text)
        p = subprocess.run([str(binary), "--check", "-c", str(hub_yaml)], capture_output=True,
                           timeout=20, env=harness.sanitizer_env())
        err = p.stderr.decode()
        assert p.returncode == 2, (p.returncode, err)
        assert err == f"{hub_yaml}: alerting.rules_file is not set: the alert rules file\n", err


def test_alerting_redis_restart(hub_factory, stack, redis_client, watcher, tmp_path):
    """Redis goes away and comes back (its data kept, as the shipped config does): the
    worker reconnects, its state is the one in Redis, the open alert is not raised again
    and clears as before."""
    alerting_hub(hub_factory, write_rules(tmp_path, FLOOD))
    pid = worker_pid(redis_client)
    publish_levels(stack, "pegel-1", [700])
    active = watcher.wait_for(lambda a: a["state"] == "active", 20, "the alert")
    stack.redis.shutdown()
    stack.redis.start()
    publish_levels(stack, "pegel-1", [720, 610])
    cleared = watcher.wait_for(lambda a: a["state"] == "cleared", 30, "the clear")
    assert cleared["id"] == active["id"] and cleared["value"] == 610
    assert [a["state"] for a in watcher.alerts(TOPIC)] == ["active", "cleared"]
    assert worker_pid(redis_client) == pid  # the same process, reconnected


def test_alerting_broker_restart(hub_factory, stack, redis_client, tmp_path):
    """The broker restarts: the retained alert survives it, the worker reconnects on its
    own, and acknowledgements and state changes flow again."""
    hub = alerting_hub(hub_factory, write_rules(tmp_path, FLOOD))
    pid = worker_pid(redis_client)
    w = AlertWatcher(stack)
    try:
        publish_levels(stack, "pegel-1", [700])
        active = w.wait_for(lambda a: a["state"] == "active", 20, "the alert")
    finally:
        w.close()
    stack.mosquitto.stop()
    stack.mosquitto.start()
    harness.wait_until(lambda: hub.healthz() == 200, 30, "the hub back on the broker")
    w = AlertWatcher(stack)
    try:
        # The retained alert survived the restart (the broker persists it).
        w.wait_for(lambda a: a["id"] == active["id"], 20, "the retained alert")
        ack(stack, "linz", "rhine-flood", "pegel-1")
        w.wait_for(lambda a: a["state"] == "acknowledged", 30, "the acknowledgement")
        publish_levels(stack, "pegel-1", [600])
        cleared = w.wait_for(lambda a: a["state"] == "cleared", 30, "the clear")
        assert cleared["id"] == active["id"]
    finally:
        w.close()
    assert worker_pid(redis_client) == pid


def pending_events(r, stream, group):
    """The events in a group's pending entries (the hub may put both in one entry)."""
    pending = r.xpending_range(stream, group, min="-", max="+", count=100)
    total = 0
    for p in pending:
        for _, fields in r.xrange(stream, min=p["message_id"], max=p["message_id"]):
            total += harness.entry_event_count(fields)
    return total


def test_alerting_killed_before_the_acknowledgement(hub_factory, stack, redis_client, watcher,
                                                    tmp_path):
    """The worker writes and publishes an alert's changes but dies before XACK (Redis
    refuses XACK to it, then SIGKILL): the next process is handed the same entries again
    and they change nothing."""
    # retry_ms long enough that the SDK does not claim the held entries before the kill
    hub = alerting_hub(hub_factory, write_rules(tmp_path, FLOOD), worker={"retry_ms": 10000})
    pid = worker_pid(redis_client)
    stream = hub.stream("sensor.waterlevel")
    publish_levels(stack, "pegel-1", [700])
    active = watcher.wait_for(lambda a: a["state"] == "active", 20, "the alert")
    wait_applied(redis_client, hub, stream, 1)
    redis_client.execute_command("ACL", "SETUSER", "default", "-xack")
    try:
        publish_levels(stack, "pegel-1", [720, 600])
        watcher.wait_for(lambda a: a["state"] == "cleared", 20, "the clear")
        harness.wait_until(lambda: pending_events(redis_client, stream, "alerting") == 2, 20,
                           "both events handled and left pending")
        os.kill(pid, signal.SIGKILL)
    finally:
        redis_client.execute_command("ACL", "SETUSER", "default", "+xack")
    harness.wait_until(lambda: status(redis_client).get("pid") not in (None, str(pid)), 30,
                       "the supervisor to restart the worker")
    harness.wait_until(lambda: redis_client.xpending(stream, "alerting")["pending"] == 0, 30,
                       "the entries handled again and acknowledged")
    wait_stat(redis_client, "stale", 2)
    # One alert: raised, cleared (the clear perhaps published once more from the outbox).
    alerts = watcher.alerts(TOPIC)
    assert {a["id"] for a in alerts} == {active["id"]}
    assert [a["state"] for a in alerts][:2] == ["active", "cleared"], alerts
    assert all(a == alerts[1] for a in alerts[2:]), alerts
    assert [d["state"] for e, d in stream_alerts(redis_client)] == ["active", "cleared"]


def test_alerting_retained_ack_acknowledges_no_later_alert(hub_factory, stack, redis_client,
                                                           watcher, tmp_path):
    """An acknowledgement published with the retain flag (an MQTT tool's checkbox) counts
    once, when it is sent. The broker keeps it and hands it over again at every
    subscription of the worker (a restart, a reconnect): there it is refused, so that it
    does not acknowledge the next flood's alert of the same gauge, which nobody saw."""
    alerting_hub(hub_factory, write_rules(tmp_path, FLOOD))
    pid = worker_pid(redis_client)
    publish_levels(stack, "pegel-1", [700])
    first = watcher.wait_for(lambda a: a["state"] == "active", 20, "the first alert")
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(stack.mqtt_port), "-q", "1",
                    "-r", "-t", TOPIC + "/ack", "-m", '{"by":"Bauhof Bereitschaft"}'],
                   check=True, timeout=10)
    watcher.wait_for(lambda a: a["state"] == "acknowledged", 20, "the acknowledgement")
    publish_levels(stack, "pegel-1", [600])
    watcher.wait_for(lambda a: a["state"] == "cleared", 20, "the clear")
    # The next flood: a new alert, which nobody has acknowledged.
    publish_levels(stack, "pegel-1", [720])
    second = watcher.wait_for(lambda a: a["state"] == "active" and a["id"] != first["id"], 20,
                              "the second alert")
    wait_stat(redis_client, "raised", 2)  # the counters of this process written
    os.kill(pid, signal.SIGKILL)
    harness.wait_until(lambda: status(redis_client).get("pid") not in (None, str(pid)), 30,
                       "the supervisor to restart the worker")
    # The restarted worker subscribes again and is handed the retained acknowledgement.
    harness.wait_until(lambda: stat(redis_client, "acks_invalid") + stat(redis_client,
                                                                         "acknowledged") >= 2,
                       30, "the retained acknowledgement handed to the new process")
    assert stat(redis_client, "acks_invalid") == 1, stats(redis_client)
    assert stat(redis_client, "acknowledged") == 1, stats(redis_client)
    alert, _ = retained_alert(stack, TOPIC)
    assert alert["id"] == second["id"] and alert["state"] == "active", alert
    assert [d["state"] for e, d in stream_alerts(redis_client)] == [
        "active", "acknowledged", "cleared", "active"]


def test_alerting_removed_cleared_alert_stays_removed_after_a_restart(hub_factory, stack,
                                                                      redis_client, watcher,
                                                                      tmp_path):
    """A cleared alert removed from the broker (an empty retained message, as docs/alerting.md
    says) is not published again by the next worker process: its publication was confirmed
    before the restart, so nothing of it is in the outbox."""
    alerting_hub(hub_factory, write_rules(tmp_path, FLOOD))
    pid = worker_pid(redis_client)
    publish_levels(stack, "pegel-1", [700, 600])
    watcher.wait_for(lambda a: a["state"] == "cleared", 20, "the clear")
    harness.wait_until(lambda: redis_client.hlen(OUTBOX) == 0, 10, "the broker's confirmations")
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(stack.mqtt_port), "-r", "-n",
                    "-t", TOPIC], check=True, timeout=10)
    harness.wait_until(lambda: len(watcher.alerts(TOPIC)) == 3, 10, "the empty message")
    os.kill(pid, signal.SIGKILL)
    harness.wait_until(lambda: status(redis_client).get("pid") not in (None, str(pid)), 30,
                       "the supervisor to restart the worker")
    # The next alert, of another gauge, comes after whatever the new process publishes
    # at its start (one connection, QoS 1, in order).
    publish_levels(stack, "pegel-2", [700])
    watcher.wait_for(lambda a: a["subject"] == "pegel-2", 20, "the next alert")
    assert [a and a["state"] for a in watcher.alerts(TOPIC)] == ["active", "cleared", None]
    w = AlertWatcher(stack, TOPIC)
    try:
        time.sleep(1)
        assert w.alerts() == [], "the removed alert is retained again"
    finally:
        w.close()


def test_alerting_backlog_after_a_restart_is_not_silence(hub_factory, stack, redis_client,
                                                         watcher, tmp_path):
    """A subject that kept sending while the worker was away (stopped, then killed) is not
    silent: the next process applies the backlog before it looks for silence, so no
    silence alert is raised though its state's last event is older than the silence."""
    alerting_hub(hub_factory, write_rules(tmp_path, SILENCE))
    pid = worker_pid(redis_client)
    stop = threading.Event()

    def sender():
        while not stop.is_set():
            publish_levels(stack, "quiet-1", [300])
            stop.wait(0.2)

    th = threading.Thread(target=sender, name="quiet-1")
    th.start()
    try:
        harness.wait_until(lambda: redis_client.hexists(TRACKS, "linz/sensor-silent/quiet-1"),
                           10, "quiet-1 in the state")
        os.kill(pid, signal.SIGSTOP)
        time.sleep(3)  # twice the silence: a backlog of quiet-1's events builds up
        os.kill(pid, signal.SIGKILL)
        new = harness.wait_until(lambda: (lambda p: p if p not in (None, str(pid)) else None)(
            status(redis_client).get("pid")), 30, "the supervisor to restart the worker")
        worker_pid(redis_client)
        time.sleep(2)  # the new process catches up and checks for silence meanwhile
    finally:
        stop.set()
        th.join(10)
    assert status(redis_client).get("pid") == new
    silent = [a for a in watcher.alerts() if a and a["rule"] == "sensor-silent"]
    assert silent == [], f"a backlog taken for silence: {silent}"
