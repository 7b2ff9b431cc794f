# SPDX-License-Identifier: MIT
"""The hub checks every event against its type's schema (schemas/), and unwraps CloudEvents."""

import json
from pathlib import Path

import harness
from harness import publish, read_events, read_stream

ROOT = Path(__file__).resolve().parents[2]
T = "2026-11-26T07:00:00.25+01:00"


def settle(hub, redis_client, received):
    harness.wait_until(lambda: hub.metric("rheinhub_events_received_total") >= received
                       and hub.metric("rheinhub_queue_length") == 0
                       and hub.metric("rheinhub_redis_in_flight") == 0,
                       30, f"{received} messages handled")


def deadletters(redis_client, hub):
    return [{k.decode(): v for k, v in f.items()} for _, f in read_stream(redis_client, hub.deadletter)]


def test_every_shipped_example_is_judged_by_its_schema(hub, redis_client, stack):
    """Each schemas/examples/<type>/valid-* is accepted, each invalid-* rejected with 'schema'."""
    valid, invalid = [], []
    for folder in sorted((ROOT / "schemas" / "examples").iterdir()):
        category, _, etype = folder.name.partition(".")
        if category not in ("sensor", "service", "citizen"):
            continue  # alert, ack, aggregate: outbound, not published by devices
        for i, f in enumerate(sorted(folder.glob("*.json"))):
            topic = f"linz/{category}/{etype}/ex-{i}"
            (valid if f.name.startswith("valid") else invalid).append((topic, f.read_bytes(), f.name))
    assert len(valid) >= 30 and len(invalid) >= 40, (len(valid), len(invalid))
    publish(stack.mqtt_port, [(t, p) for t, p, _ in valid + invalid])
    settle(hub, redis_client, len(valid) + len(invalid))

    m = hub.metrics()
    assert m.get("rheinhub_events_accepted_total") == len(valid)
    dead = deadletters(redis_client, hub)
    got = sorted((d["topic"].decode(), d["reason"].decode()) for d in dead)
    # An invalid example may fail for its time (bad_time) before the schema is asked.
    expect_topics = sorted(t for t, _, _ in invalid)
    assert [t for t, _ in got] == expect_topics, [n for t, _, n in invalid if t not in dict(got)]
    for topic, reason in got:
        assert reason in ("schema", "bad_time"), (topic, reason)
    assert sum(1 for _, r in got if r == "schema") >= len(invalid) - 10


def test_schema_failure_names_pointer_keyword_and_values(hub, redis_client, stack):
    publish(stack.mqtt_port, [
        ("linz/sensor/waterlevel/g1", f'{{"time":"{T}","value":9000,"unit":"cm"}}'.encode()),
        ("linz/sensor/waterlevel/g2", f'{{"time":"{T}","value":"high","unit":"cm"}}'.encode()),
        ("linz/citizen/report/r1", json.dumps({
            "time": T, "service_code": "pothole", "description": "Loch in der Rheinstraße",
            "lat": 50.57, "lon": 7.28, "email": "anna@example.org"}).encode()),
    ])
    settle(hub, redis_client, 3)
    dead = {d["topic"].decode(): d for d in deadletters(redis_client, hub)}
    assert set(dead) == {"linz/sensor/waterlevel/g1", "linz/sensor/waterlevel/g2",
                         "linz/citizen/report/r1"}
    assert all(d["reason"] == b"schema" for d in dead.values())
    d1 = dead["linz/sensor/waterlevel/g1"]["detail"].decode()
    assert "/value" in d1 and "maximum" in d1 and "9000" in d1, d1
    d2 = dead["linz/sensor/waterlevel/g2"]["detail"].decode()
    assert "/value" in d2 and "type" in d2, d2
    d3 = dead["linz/citizen/report/r1"]["detail"].decode()
    assert "email" in d3, d3
    assert hub.metric("rheinhub_events_rejected_total", reason="schema") == 3
    assert hub.healthz() == 200


def test_unknown_type_is_rejected(hub, redis_client, stack):
    publish(stack.mqtt_port, [
        ("linz/sensor/teapot/t1", f'{{"time":"{T}","value":1}}'.encode()),
        ("linz/service/waterlevel/t2", f'{{"time":"{T}","value":1,"unit":"cm"}}'.encode()),
    ])
    settle(hub, redis_client, 2)
    dead = {d["topic"].decode(): d for d in deadletters(redis_client, hub)}
    assert {t: d["reason"] for t, d in dead.items()} == {
        "linz/sensor/teapot/t1": b"unknown_type", "linz/service/waterlevel/t2": b"unknown_type"}
    assert b"sensor.teapot" in dead["linz/sensor/teapot/t1"]["detail"]
    assert not redis_client.exists(hub.stream("sensor.teapot"))
    assert hub.metric("rheinhub_events_rejected_total", reason="unknown_type") == 2


def test_cloudevent_keeps_id_source_and_time(hub, redis_client, stack):
    # data's time is the CloudEvent's instant, written in UTC.
    data = {"time": "2026-11-26T06:00:00.25Z", "value": 512, "unit": "cm", "trend": 1}
    ce = {"specversion": "1.0", "id": "kl-pegel-0042", "source": "urn:kaiserslautern:pegel",
          "type": "de.kaiserslautern.waterlevel", "time": T,
          "datacontenttype": "application/json", "data": data}
    bad = dict(ce, id="kl-pegel-0043", data=dict(data, value="very high"))
    no_id = {k: v for k, v in ce.items() if k != "id"}
    publish(stack.mqtt_port, [
        ("kaiserslautern/sensor/waterlevel/pegel-7", json.dumps(ce).encode()),
        ("kaiserslautern/sensor/waterlevel/pegel-7", json.dumps(bad).encode()),
        ("kaiserslautern/sensor/waterlevel/pegel-7", json.dumps(no_id).encode()),
        # The same CloudEvent again (e.g. a bridge replay): one entry only.
        ("kaiserslautern/sensor/waterlevel/pegel-7", json.dumps(ce).encode()),
    ])
    settle(hub, redis_client, 4)
    events = read_events(redis_client, hub.stream("sensor.waterlevel"))
    assert len(events) == 1
    env = events[0].env
    assert env["id"] == "kl-pegel-0042"
    assert env["source"] == "urn:kaiserslautern:pegel"
    assert env["time"] == T
    assert env["municipality"] == "kaiserslautern"
    assert env["type"] == "sensor.waterlevel"
    assert harness.plain(env["data"]) == data
    reasons = sorted(d["reason"] for d in deadletters(redis_client, hub))
    assert reasons == [b"bad_cloudevent", b"schema"]
    assert hub.metric("rheinhub_events_duplicate_total") == 1


def test_check_reports_a_broken_schema(tmp_path):
    """--check compiles every schema: a broken one is named with its file and the exit is 2."""
    import shutil
    import subprocess
    schemas = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    (schemas / "sensor" / "waterlevel.schema.json").write_text('{"type": "object",\n "minimum": "x"')
    (schemas / "sensor" / "soil.schema.json").write_text('{"type": "object", "pattern": "(["}')
    cfg = tmp_path / "hub.yaml"
    cfg.write_text("schemas:\n  dir: schemas\n")
    r = subprocess.run([str(harness.hub_binary()), "--check", "-c", str(cfg)],
                       capture_output=True, text=True, env=harness.sanitizer_env(), timeout=60)
    assert r.returncode == 2, r
    assert "waterlevel.schema.json:2:" in r.stderr, r.stderr
    assert "soil.schema.json" in r.stderr, r.stderr
    (schemas / "sensor" / "waterlevel.schema.json").unlink()
    (schemas / "sensor" / "soil.schema.json").unlink()
    r = subprocess.run([str(harness.hub_binary()), "--check", "-c", str(cfg)],
                       capture_output=True, text=True, env=harness.sanitizer_env(), timeout=60)
    assert r.returncode == 0, r
    assert "8 event types" in r.stdout, r.stdout


def test_catalog_knows_the_draft07_metaschema_without_a_file(hub_factory, stack, tmp_path,
                                                             redis_client):
    """A catalog schema may $ref the draft-07 meta-schema; it is built in, not a file."""
    import shutil
    schemas = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    shutil.rmtree(schemas / "meta")
    # citizen.feedback's comment, for the test's sake, must itself be a draft-07 schema.
    path = schemas / "citizen" / "feedback.schema.json"
    doc = json.loads(path.read_text())
    doc["properties"]["comment"] = {"$ref": "http://json-schema.org/draft-07/schema#"}
    path.write_text(json.dumps(doc))
    hub = hub_factory(schemas={"dir": str(schemas)})
    t = "2026-11-26T06:00:00Z"
    good = {"time": t, "topic": "parks", "rating": 4, "comment": {"type": "string"}}
    bad = {"time": t, "topic": "parks", "rating": 4, "comment": {"type": "no-such-type"}}
    publish(stack.mqtt_port, [("linz/citizen/feedback/f1", json.dumps(good).encode()),
                              ("linz/citizen/feedback/f2", json.dumps(bad).encode())])
    settle(hub, redis_client, 2)
    assert len(read_events(redis_client, hub.stream("citizen.feedback"))) == 1
    assert [d["reason"] for d in deadletters(redis_client, hub)] == [b"schema"]
