# SPDX-License-Identifier: MIT
"""alerting.forget_after against the real chain: a track quiet for longer than
forget_after, with its alert cleared, leaves the worker and the Redis hash (and the
worker's counter moves); one with an active alert and a silence rule's stay; a restart
does not bring the forgotten one back, and its subject's next event starts a new track;
a forgotten track's cleared alert leaves the broker's retained store (an empty retained
message, confirmed by the broker before the track goes), also across a crash of the
worker while the broker is away; `--check` refuses a bad value with FILE:LINE.
"""

import os
import signal
import time

import pytest

import harness
from alerting_helpers import (TRACKS, AlertWatcher, alerting_hub, publish_levels,
                              require_binary, retained_topics, stat, stats, status, wait_stat,
                              worker_pid, write_rules)

RULES = """\
rules:
  - name: rhine-flood
    type: sensor.waterlevel
    field: value
    above: 650
    clear: 620
  - name: sensor-silent
    type: "sensor.*"
    silence: 1h
"""


def fields(r):
    return {k.decode() for k in r.hkeys(TRACKS)}


def test_alerting_forgets_quiet_cleared_tracks(hub_factory, stack, redis_client, tmp_path):
    watcher = AlertWatcher(stack)
    try:
        alerting_hub(hub_factory, write_rules(tmp_path, RULES), alerting={"forget_after": "2s"})
        pid = worker_pid(redis_client)
        publish_levels(stack, "pegel-active", [700])
        publish_levels(stack, "pegel-cleared", [700, 600])
        first = watcher.wait_for(lambda a: a["subject"] == "pegel-cleared" and
                                 a["state"] == "cleared", 20, "pegel-cleared's clear")
        watcher.wait_for(lambda a: a["subject"] == "pegel-active", 20, "pegel-active's alert")
        assert "linz/rhine-flood/pegel-cleared" in fields(redis_client)

        # Quiet for 2 s with its alert cleared: gone from the hash, and counted.
        harness.wait_until(lambda: "linz/rhine-flood/pegel-cleared" not in fields(redis_client),
                           30, "pegel-cleared's track to be forgotten")
        wait_stat(redis_client, "tracks_forgotten", 1)
        # pegel-active was as quiet, longer even, and was looked at in the same pass: its
        # alert is active, so it stays; so do the silence rule's tracks.
        assert fields(redis_client) == {"linz/rhine-flood/pegel-active",
                                        "linz/sensor-silent/pegel-active",
                                        "linz/sensor-silent/pegel-cleared"}
        assert stat(redis_client, "tracks_forgotten") == 1, stats(redis_client)
        harness.wait_until(lambda: stat(redis_client, "tracks") == 3, 10,
                           f"the tracks gauge to be 3 ({stats(redis_client)})")

        # A restart loads what Redis holds: the forgotten track does not come back.
        os.kill(pid, signal.SIGKILL)
        harness.wait_until(lambda: status(redis_client).get("pid") not in (None, str(pid)), 30,
                           "the supervisor to restart the worker")
        pid = worker_pid(redis_client)
        harness.wait_until(lambda: stat(redis_client, "tracks") == 3 and
                           stats(redis_client).get("events", 0) >= 3, 10,
                           "the new process to report its tracks")
        assert "linz/rhine-flood/pegel-cleared" not in fields(redis_client)

        # The subject sends again: a new track and a new alert (another id), raised as
        # such, not an update of the forgotten one.
        publish_levels(stack, "pegel-cleared", [710])
        again = watcher.wait_for(lambda a: a["subject"] == "pegel-cleared" and
                                 a["id"] != first["id"], 20, "pegel-cleared's new alert")
        assert again["state"] == "active" and again["value"] == 710, again
        harness.wait_until(lambda: "linz/rhine-flood/pegel-cleared" in fields(redis_client), 10,
                           "pegel-cleared's new track")
        assert worker_pid(redis_client) == pid
    finally:
        watcher.close()


def test_alerting_forget_removes_the_retained_alert(hub_factory, stack, redis_client,
                                                   tmp_path):
    """A forgotten track whose alert was raised takes its retained (cleared) alert off
    the broker: a new subscriber is handed nothing, the subscribers saw an empty
    message, and alerts_unretained counts it. A track never alerted publishes nothing."""
    cleared_topic = "linz/alerts/rhine-flood/pegel-cleared"
    quiet_topic = "linz/alerts/rhine-flood/pegel-quiet"
    watcher = AlertWatcher(stack)
    try:
        alerting_hub(hub_factory, write_rules(tmp_path, RULES), alerting={"forget_after": "2s"})
        publish_levels(stack, "pegel-cleared", [700, 600])
        publish_levels(stack, "pegel-quiet", [600])
        watcher.wait_for(lambda a: a["subject"] == "pegel-cleared" and a["state"] == "cleared",
                         20, "pegel-cleared's clear")
        assert cleared_topic in retained_topics(stack, cleared_topic, quiet=0.5)

        harness.wait_until(lambda: not {"linz/rhine-flood/pegel-cleared",
                                        "linz/rhine-flood/pegel-quiet"} & fields(redis_client),
                           30, "both rhine-flood tracks to be forgotten")
        # The track goes after the broker confirmed the removal: it is gone already.
        assert retained_topics(stack, "+/alerts/#") == []
        with watcher.cond:
            assert watcher.emptied == [cleared_topic], watcher.emptied
            assert [t for t, _, _, _ in watcher.messages if t == quiet_topic] == []
        wait_stat(redis_client, "tracks_forgotten", 2)
        wait_stat(redis_client, "alerts_unretained", 1)
        time.sleep(1)  # a second look at the silence rule's tracks removes nothing more
        assert stat(redis_client, "alerts_unretained") == 1, stats(redis_client)
        assert stat(redis_client, "tracks_forgotten") == 2, stats(redis_client)
        assert fields(redis_client) == {"linz/sensor-silent/pegel-cleared",
                                        "linz/sensor-silent/pegel-quiet"}
        with watcher.cond:
            assert watcher.emptied == [cleared_topic], watcher.emptied
    finally:
        watcher.close()


@pytest.mark.parametrize("broker", ["stopped", "frozen"])
def test_alerting_forget_waits_for_the_removal_across_a_crash(hub_factory, stack,
                                                              redis_client, tmp_path, broker):
    """The broker is away when the cleared track's time comes (stopped: the worker
    cannot send the removal of its retained alert; frozen with SIGSTOP: it sends it and
    no PUBACK comes), so the track stays in Redis. The worker is killed (SIGKILL)
    meanwhile; once the broker is back, the new process removes the retained alert and
    only then forgets the track."""
    topic = "linz/alerts/rhine-flood/pegel-cleared"
    key = "linz/rhine-flood/pegel-cleared"
    hub = alerting_hub(hub_factory, write_rules(tmp_path, RULES), alerting={"forget_after": "4s"})
    pid = worker_pid(redis_client)
    watcher = AlertWatcher(stack)
    try:
        publish_levels(stack, "pegel-cleared", [700, 600])
        watcher.wait_for(lambda a: a["subject"] == "pegel-cleared" and a["state"] == "cleared",
                         20, "pegel-cleared's clear")
        cleared_at = time.monotonic()
    finally:
        watcher.close()
    # The broker confirmed both publications to the worker (counted as it takes them):
    # from here on, only the removal keeps the track.
    wait_stat(redis_client, "confirmed", 2, timeout=3)
    if broker == "stopped":
        stack.mosquitto.stop()
    else:
        stack.mosquitto.proc.send(signal.SIGSTOP)
    try:
        time.sleep(max(0.0, cleared_at + 8 - time.monotonic()))  # twice forget_after
        if broker == "frozen":  # the removal went out: raised, cleared, removal
            wait_stat(redis_client, "published", 3, timeout=3)
        assert key in fields(redis_client), "forgotten before its retained alert was removed"
        assert stat(redis_client, "tracks_forgotten") == 0, stats(redis_client)
        os.kill(pid, signal.SIGKILL)
        harness.wait_until(lambda: status(redis_client).get("pid") not in (None, str(pid)), 30,
                           "the supervisor to restart the worker")
        time.sleep(2)
        assert key in fields(redis_client), "forgotten by the new process without the broker"
    finally:
        if broker == "stopped":
            stack.mosquitto.start()
        else:
            stack.mosquitto.proc.send(signal.SIGCONT)
    harness.wait_until(lambda: hub.healthz() == 200, 30, "the hub back on the broker")
    harness.wait_until(lambda: key not in fields(redis_client), 60,
                       "the track to be forgotten once the broker is back")
    assert retained_topics(stack, topic) == []
    wait_stat(redis_client, "alerts_unretained", 1)
    wait_stat(redis_client, "tracks_forgotten", 1)


def test_alerting_forget_after_check(tmp_path):
    """--check refuses a forget_after that is not a duration, with FILE:LINE."""
    binary = require_binary()
    write_rules(tmp_path, RULES)
    harness.check_forget_after(binary, tmp_path / "hub.yaml",
                               "alerting:\n  rules_file: rules.yaml\n")
