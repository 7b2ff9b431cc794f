# SPDX-License-Identifier: MIT
"""What the hub logs of libmosquitto's own lines: all of them at log level debug, and
none per event at other levels (formatting them cost a tenth of the hub's work per
event; hub/mqtt_in.c, watch_library_log)."""

import json

from harness import publish, settle

STREAM = "sensor.waterlevel"


def publish_three(stack):
    publish(stack.mqtt_port, [
        (f"linz/sensor/waterlevel/log-{i}",
         json.dumps({"time": f"2026-12-05T06:00:0{i}Z", "value": 400 + i, "unit": "cm"}).encode())
        for i in range(3)])


def test_library_lines_at_debug_level(hub_factory, stack, redis_client):
    hub = hub_factory(log={"level": "debug"})
    publish_three(stack)
    settle(hub, redis_client, hub.stream(STREAM), min_len=3)
    text = hub.log_path.read_text(errors="replace")
    assert "libmosquitto: Client" in text and "received CONNACK" in text, text[-2000:]
    assert text.count("received PUBLISH") >= 3, text[-2000:]


def test_no_library_line_per_event_at_info_level(hub_factory, stack, redis_client):
    hub = hub_factory()
    publish_three(stack)
    settle(hub, redis_client, hub.stream(STREAM), min_len=3)
    text = hub.log_path.read_text(errors="replace")
    assert "received PUBLISH" not in text and "sending PUBACK" not in text, text[-2000:]


def test_start_line_names_the_instance(hub_factory):
    """hub.instance is "the name used in logs" (docs/configuration.md): the start and stop
    lines carry it, so that the logs of several hubs in one place tell them apart."""
    hub = hub_factory(hub={"instance": "linz-north"})
    text = hub.log_path.read_text(errors="replace")
    started = [line for line in text.splitlines() if " started: " in line]
    assert started and "instance linz-north" in started[0], text[-2000:]
