# SPDX-License-Identifier: MIT
"""The LoRaWAN sources (rheinhub-source-ttn, rheinhub-source-chirpstack) end to end.

A second Mosquitto with TLS stands in for the network server's MQTT integration; the
test publishes recorded uplinks (tests/data/sources/) there as the network server
would, and reads what arrives in Redis through our broker and a real hub. The device
rules are the shipped Linz files' (sources/linz/), with the server section pointed at
the stand-in.
"""

import json
import subprocess
import uuid

import pytest
import yaml

import harness
from harness import wait_until
from source_helpers import NetServer, Source, deadletters, events, recorded, source_binary
from source_helpers import sources  # noqa: F401 - fixture

LINZ = harness.REPO / "sources" / "linz"
TTN_TOPIC = "v3/linz-sensors@ttn/devices/{}/up"
CS_APP = "7c2a1d9e-5b0f-4c3e-9a57-1f2b3c4d5e6f"
CS_TOPIC = "application/" + CS_APP + "/device/{}/event/up"


@pytest.fixture
def netserver(tmp_path, request):
    ns = NetServer(tmp_path)
    harness.add_logs(request.node, ("netserver", ns.proc.log_path))
    ns.start()
    yield ns
    ns.stop()


def linz_file(kind, netserver, client_id, http_port, topics=None):
    """The shipped Linz file of kind with server and http pointed at the test's."""
    doc = yaml.safe_load((LINZ / f"{kind}.yaml").read_text())
    doc["server"] = netserver.server_section(client_id, topics)
    doc["http"] = {"bind": "127.0.0.1", "port": http_port}
    return yaml.safe_dump(doc, sort_keys=False)


def start_ttn(hub, netserver, sources, client_id=None, name=None, healthy=True):
    port = harness.free_port()
    text = linz_file("ttn", netserver, client_id or f"it-ttn-{uuid.uuid4().hex[:8]}", port)
    return sources(hub, "ttn", text, name=name).start(port, healthy=healthy)


def one_event(r, hub, etype, timeout=20):
    wait_until(lambda: len(events(r, hub, etype)) >= 1, timeout, f"an event in {etype}")
    return events(r, hub, etype)


def test_ttn_uplinks_become_events_or_dead_letters(stack, hub, redis_client, netserver,
                                                   sources):
    r = redis_client
    src = start_ttn(hub, netserver, sources)
    ns = netserver.client()
    cases = [  # device, file, the reason of its dead letter (None: an event)
        ("pegel-linz-1", "waterlevel-702.json", None),
        ("bin-markt-3", "wastebin-85.json", None),
        ("unbekannt-7", "unknown-device.json", "unknown_device"),
        ("pegel-linz-1", "no-decoded-payload.json", "no_decoded_payload"),
        ("pegel-linz-1", "level-as-string.json", "bad_field_type"),
        ("pegel-linz-1", "level-missing.json", "missing_field"),
        ("bin-markt-3", "wastebin-unknown-state.json", "unmapped_value"),
        ("pegel-linz-1", "level-out-of-range.json", "schema"),
    ]
    for device, name, _ in cases:
        netserver.publish(ns, TTN_TOPIC.format(device), recorded("ttn", name))
    good = recorded("ttn", "waterlevel-702.json")
    netserver.publish(ns, TTN_TOPIC.format("pegel-linz-1"), good[: len(good) // 2])
    # The network server delivers the same uplink again (a resend after a lost ack).
    netserver.publish(ns, TTN_TOPIC.format("pegel-linz-1"), good)

    reasons = [c[2] for c in cases if c[2]] + ["bad_json"]
    wait_until(lambda: len(deadletters(r, hub, "ttn")) >= len(reasons), 20,
               f"{len(reasons)} dead letters from the ttn source")
    wait_until(lambda: src.metric("rheinhub_source_received_total") == len(cases) + 2, 20,
               "every uplink read")
    wait_until(lambda: src.metric("rheinhub_source_published_total") == 3, 20,
               "three events acknowledged by our broker")
    # The hub drops the resend as a duplicate of the same id: one event, not two.
    wait_until(lambda: hub.metric("rheinhub_events_duplicate_total") >= 1, 20,
               "the duplicate seen by the hub")

    levels = events(r, hub, "sensor.waterlevel")
    assert len(levels) == 1, [e.env for e in levels]
    ev = levels[0].env
    assert ev["subject"] == "pegel-linz-1" and ev["municipality"] == "linz"
    assert ev["type"] == "sensor.waterlevel"
    assert ev["time"] == "2026-11-26T06:00:00.989054813Z"  # uplink_message.received_at
    assert ev["source"] == "ttn:linz-sensors"
    assert harness.EVENT_ID_RE.match(ev["id"]), ev["id"]
    assert dict(ev["data"]) == {"time": "2026-11-26T06:00:00.989054813Z", "value": 702,
                                "unit": "cm", "battery": 0.87, "rssi": -97, "snr": 6.5}

    bins = events(r, hub, "sensor.wastebin")
    assert len(bins) == 1
    assert dict(bins[0].env["data"]) == {"time": "2026-11-26T05:40:00.402194556Z",
                                         "fill": 0.85, "status": "full", "battery": 0.62,
                                         "rssi": -97, "snr": 6.5}
    assert bins[0].env["subject"] == "bin-markt-3"

    dls = deadletters(r, hub, "ttn")
    assert sorted(d["reason"] for d in dls) == sorted(reasons)
    by_reason = {d["reason"]: d for d in dls}
    for d in dls:
        assert set(d) >= {"topic", "reason", "detail", "payload", "size", "time", "source"}
        assert d["topic"].startswith("v3/linz-sensors@ttn/devices/")
        assert d["detail"], d
    assert "unbekannt-7" in by_reason["unknown_device"]["detail"]
    assert 'value "702" has type string' in by_reason["bad_field_type"]["detail"]
    assert "state" in by_reason["unmapped_value"]["detail"]
    assert "/value" in by_reason["schema"]["detail"] or "value" in by_reason["schema"]["detail"]
    assert by_reason["unknown_device"]["payload"] == recorded("ttn", "unknown-device.json")[:256]
    assert int(by_reason["unknown_device"]["size"]) == len(recorded("ttn", "unknown-device.json"))

    m = src.metrics()
    for reason in set(reasons):
        assert m.get("rheinhub_source_deadletters_total", source="ttn", reason=reason) == \
            reasons.count(reason), reason
    assert src.running() and src.healthz()[0] == 200
    harness_close(ns)


def harness_close(client):
    import broker_helpers
    broker_helpers.close(client)


def test_ttn_sigkill_and_restart_lose_nothing_and_store_once(stack, hub, redis_client,
                                                             netserver, sources):
    """Uplinks queued for the persistent session while the source is down arrive after
    the restart; an uplink delivered again after the restart is stored once."""
    r = redis_client
    client_id = f"it-ttn-{uuid.uuid4().hex[:8]}"
    src = start_ttn(hub, netserver, sources, client_id=client_id)
    ns = netserver.client()
    base = json.loads(recorded("ttn", "waterlevel-702.json"))

    def uplink(k):
        doc = json.loads(json.dumps(base))
        doc["uplink_message"]["f_cnt"] = 5000 + k
        doc["uplink_message"]["decoded_payload"]["water_level_cm"] = 400 + k
        doc["uplink_message"]["received_at"] = f"2026-11-26T07:{k // 60:02d}:{k % 60:02d}.5Z"
        return json.dumps(doc).encode()

    netserver.publish(ns, TTN_TOPIC.format("pegel-linz-1"), uplink(0))
    wait_until(lambda: len(events(r, hub, "sensor.waterlevel")) == 1, 20, "the first event")
    src.kill()
    for k in range(1, 21):
        netserver.publish(ns, TTN_TOPIC.format("pegel-linz-1"), uplink(k))
    src2 = start_ttn(hub, netserver, sources, client_id=client_id, name="source-ttn-2")
    wait_until(lambda: len(events(r, hub, "sensor.waterlevel")) >= 21, 30,
               "the 20 uplinks queued while the source was down")
    # The network server resends the first uplink and one of the queued ones.
    netserver.publish(ns, TTN_TOPIC.format("pegel-linz-1"), uplink(0))
    netserver.publish(ns, TTN_TOPIC.format("pegel-linz-1"), uplink(7))
    wait_until(lambda: src2.metric("rheinhub_source_published_total") == 22, 20,
               "the resends published by the source")
    levels = events(r, hub, "sensor.waterlevel")
    values = sorted(e.env["data"]["value"] for e in levels)
    assert values == list(range(400, 421)), values
    assert len({e.env["id"] for e in levels}) == 21
    harness_close(ns)


def test_chirpstack_events_and_dead_letters(stack, hub, redis_client, netserver, sources):
    r = redis_client
    port = harness.free_port()
    text = linz_file("chirpstack", netserver, f"it-cs-{uuid.uuid4().hex[:8]}", port)
    src = sources(hub, "chirpstack", text).start(port)
    ns = netserver.client()
    parking = recorded("chirpstack", "parking-occupied.json")
    netserver.publish(ns, CS_TOPIC.format("a840410001812f3c"), parking)
    netserver.publish(ns, CS_TOPIC.format("a840410001813a77"),
                      recorded("chirpstack", "soil-no-time.json"))
    netserver.publish(ns, CS_TOPIC.format("a840410001812f3c"),
                      recorded("chirpstack", "no-object.json"))
    netserver.publish(ns, CS_TOPIC.format("a840410001812f3c"), parking)  # delivered twice

    wait_until(lambda: src.metric("rheinhub_source_received_total") == 4, 20, "4 uplinks read")
    wait_until(lambda: len(deadletters(r, hub, "chirpstack")) == 1, 20, "one dead letter")
    wait_until(lambda: src.metric("rheinhub_source_published_total") == 3, 20, "3 published")
    park = one_event(r, hub, "sensor.parking")
    soil = one_event(r, hub, "sensor.soil")
    assert len(park) == 1 and len(soil) == 1
    ev = park[0].env
    assert ev["subject"] == "parken-marktplatz-4"
    assert ev["time"] == "2026-11-26T07:15:42.508311+00:00"
    assert ev["source"] == "chirpstack:" + CS_APP
    assert dict(ev["data"]) == {"time": "2026-11-26T07:15:42.508311+00:00",
                                "status": "occupied", "rssi": -88, "snr": 9.5}
    ev = soil[0].env
    assert ev["subject"] == "baum-a840410001813a77"
    assert ev["time"] == "2026-11-26T07:15:42.491637+00:00"  # rxInfo[0].nsTime
    assert dict(ev["data"]) == {"time": "2026-11-26T07:15:42.491637+00:00", "moisture": 23.5,
                                "temperature": 11.2}
    dl = deadletters(r, hub, "chirpstack")[0]
    assert dl["reason"] == "no_decoded_payload" and "parken-marktplatz-4" in dl["detail"]
    assert src.metric("rheinhub_source_deadletters_total", reason="no_decoded_payload") == 1
    assert src.running() and src.healthz()[0] == 200
    harness_close(ns)


def test_source_check(tmp_path, stack, hub_factory):
    hub = hub_factory(start=False, sources={"ttn": str(LINZ / "ttn.yaml"),
                                            "chirpstack": str(LINZ / "chirpstack.yaml")})
    for kind in ("ttn", "chirpstack"):
        p = subprocess.run([str(source_binary(kind)), "--check", "-c", str(hub.config_path)],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        assert "ok" in p.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  host: 127.0.0.1\n  port: 99999\n  client_id: x\n"
                   "municipality: linz\ndevices:\n  - device: \"x-*\"\n"
                   "    type: sensor.nosuchtype\n    fields:\n      value: {from: a, const: 1}\n")
    p = subprocess.run([str(source_binary("ttn")), "--check", "-c", str(hub.config_path), "-f",
                        str(bad)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert f"{bad}:3: server.port must be between 1 and 65535, not 99999" in p.stderr, p.stderr
    assert f"{bad}:10: fields.value needs exactly one of from and const" in p.stderr, p.stderr


def test_ttn_uplink_above_650_raises_rhine_flood(stack, hub_factory, redis_client, netserver,
                                                 tmp_path):
    """A recorded TTN uplink of 702 cm, through the TTN source (run by the hub's
    supervisor), the hub and the alerting worker with the shipped demo rules, raises
    rhine-flood for the gauge."""
    import alerting_helpers
    alerting_helpers.require_binary()
    port = harness.free_port()
    ttn_file = tmp_path / "ttn.yaml"
    ttn_file.write_text(linz_file("ttn", netserver, f"it-ttn-{uuid.uuid4().hex[:8]}", port))
    source_entry = {"name": "source-ttn", "command": str(source_binary("ttn")), "types": []}
    hub = alerting_helpers.alerting_hub(
        hub_factory, harness.REPO / "deploy" / "local" / "alerting-rules.yaml",
        workers=[alerting_helpers.worker_entry(), source_entry],
        sources={"ttn": str(ttn_file)})
    watcher = alerting_helpers.AlertWatcher(stack)
    try:
        wait_until(lambda: Source.health_of(port) == 200, 30,
                   "the supervised TTN source healthy")
        # The recorded uplink, received now: the alert's event_time is the uplink's.
        doc = json.loads(recorded("ttn", "waterlevel-702.json"))
        now = alerting_helpers.event_time()
        doc["uplink_message"]["received_at"] = now
        ns = netserver.client()
        netserver.publish(ns, TTN_TOPIC.format("pegel-linz-1"), json.dumps(doc).encode())
        alert = watcher.wait_for(lambda a: a["rule"] == "rhine-flood", 30, "rhine-flood")
        assert alert["state"] == "active" and alert["subject"] == "pegel-linz-1"
        assert alert["value"] == 702 and alert["threshold"] == 650
        assert alert["event_time"] == now and alert["municipality"] == "linz"
        assert alert["severity"] == "warning"
        stored = events(redis_client, hub, "sensor.waterlevel")
        assert len(stored) == 1 and alert["event_id"] == stored[0].env["id"]
        harness_close(ns)
    finally:
        watcher.close()


def test_ttn_our_broker_away_loses_nothing(stack, hub, redis_client, netserver, sources):
    """Our broker stops while uplinks arrive: the source stops reading the network
    server, whose persistent session holds them; /healthz says so; after the broker's
    restart each uplink is stored once."""
    r = redis_client
    src = start_ttn(hub, netserver, sources)
    ns = netserver.client()
    base = json.loads(recorded("ttn", "waterlevel-702.json"))
    stack.mosquitto.stop()
    wait_until(lambda: src.metric("rheinhub_source_broker_up") == 0, 20, "broker down seen")
    for k in range(30):
        doc = json.loads(json.dumps(base))
        doc["uplink_message"]["f_cnt"] = 9000 + k
        doc["uplink_message"]["decoded_payload"]["water_level_cm"] = 500 + k
        doc["uplink_message"]["received_at"] = f"2026-11-26T08:00:{k:02d}.25Z"
        netserver.publish(ns, TTN_TOPIC.format("pegel-linz-1"), json.dumps(doc).encode())
    status, text = src.healthz()
    assert status == 503 and "not connected to our broker" in text, (status, text)
    stack.mosquitto.start()
    wait_until(lambda: len(events(r, hub, "sensor.waterlevel")) >= 30, 60,
               "the 30 uplinks stored after the broker's restart")
    wait_until(lambda: src.metric("rheinhub_source_published_total") == 30, 20,
               "all acknowledged")
    values = sorted(e.env["data"]["value"] for e in events(r, hub, "sensor.waterlevel"))
    assert values == list(range(500, 530)), values
    assert src.metric("rheinhub_source_received_total") == 30
    assert src.running() and src.healthz()[0] == 200
    harness_close(ns)


def test_ttn_network_server_away_is_unhealthy_until_it_is_back(stack, hub, redis_client,
                                                               netserver, sources):
    """The network server stops: rheinhub_source_upstream_up is 0 and /healthz answers
    503 naming it, our broker still up; after its restart the source subscribes again,
    is healthy, and the next uplink is stored."""
    r = redis_client
    src = start_ttn(hub, netserver, sources)
    wait_until(lambda: src.metric("rheinhub_source_upstream_up") == 1, 20,
               "connected to the network server")
    netserver.stop()
    wait_until(lambda: src.metric("rheinhub_source_upstream_up") == 0, 20,
               "the network server's loss seen")
    status, text = src.healthz()
    assert status == 503 and text.strip() == "not connected to the network server", text
    assert src.metric("rheinhub_source_broker_up") == 1
    netserver.start()
    wait_until(lambda: src.metric("rheinhub_source_upstream_up") == 1, 30,
               "connected to the network server again")
    wait_until(lambda: src.healthz()[0] == 200, 10, "healthy again")
    # Up means subscribed again (the restarted network server kept no session): the
    # first uplink after it is read.
    ns = netserver.client()
    netserver.publish(ns, TTN_TOPIC.format("pegel-linz-1"), recorded("ttn", "waterlevel-702.json"))
    one_event(r, hub, "sensor.waterlevel")
    assert [e.env["data"]["value"] for e in events(r, hub, "sensor.waterlevel")] == [702]
    harness_close(ns)


def test_ttn_subscription_refused_by_the_network_server_is_unhealthy(stack, hub, netserver,
                                                                     sources):
    """A network server whose access rules do not let the source read its topic filter
    refuses the subscription: the source connects but is not up (metric 0, /healthz 503
    naming the refusal) and its log names the filter, instead of looking healthy while
    it receives nothing."""
    netserver.stop()
    netserver.restrict(["v3/another-app@ttn/#"])
    netserver.start()
    src = start_ttn(hub, netserver, sources, healthy=False)
    wait_until(lambda: "refused the subscription" in harness.tail(src.log_path, 50), 20,
               "the refusal logged")
    log = harness.tail(src.log_path, 50)
    assert "refused the subscription to v3/linz-sensors@ttn/devices/+/up" in log, log
    status, text = src.healthz()
    assert status == 503, text
    assert text.strip() == ("the network server refused 1 of the source's topic filters "
                            "(server.topics, see the log)"), text
    assert src.metric("rheinhub_source_upstream_up") == 0
    assert src.metric("rheinhub_source_broker_up") == 1
