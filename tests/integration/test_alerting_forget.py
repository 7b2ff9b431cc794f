# SPDX-License-Identifier: MIT
"""alerting.forget_after against the real chain: a track quiet for longer than
forget_after, with its alert cleared, leaves the worker and the Redis hash (and the
worker's counter moves); one with an active alert and a silence rule's stay; a restart
does not bring the forgotten one back, and its subject's next event starts a new track;
`--check` refuses a bad value with FILE:LINE.
"""

import os
import signal
import subprocess

import harness
from alerting_helpers import (TRACKS, AlertWatcher, alerting_hub, publish_levels,
                              require_binary, stat, stats, status, wait_stat, worker_pid,
                              write_rules)

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


def test_alerting_forget_after_check(tmp_path):
    """--check refuses a forget_after that is not a duration, with FILE:LINE."""
    binary = require_binary()
    write_rules(tmp_path, RULES)
    hub_yaml = tmp_path / "hub.yaml"
    for value, ok in (("30d", True), ("0", True), ("2s", True), ("30", False),
                      ("a month", False), ("400d", False)):
        hub_yaml.write_text(f"alerting:\n  rules_file: rules.yaml\n  forget_after: {value}\n")
        p = subprocess.run([str(binary), "--check", "-c", str(hub_yaml)], capture_output=True,
                           timeout=20, env=harness.sanitizer_env())
        err = p.stderr.decode()
        if ok:
            assert p.returncode == 0, (value, err)
        else:
            assert p.returncode == 2, (value, p.returncode, err)
            assert (f"{hub_yaml}:3: alerting.forget_after must be a duration such as 90s, "
                    f"12h or 30d (at most 365d), or 0, not \"{value}\"") in err, err
