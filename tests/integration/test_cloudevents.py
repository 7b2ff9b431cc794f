# SPDX-License-Identifier: MIT
"""A CloudEvent that says two different things about itself is refused, not guessed at.

The topic decides an event's type and subject; a structured CloudEvent whose
attributes contradict the topic or its own data goes to the dead letters with its own
reason (type_mismatch, subject_mismatch, time_mismatch; bad_cloudevent for a
datacontenttype that is not JSON), counted in /metrics; nothing is stored under
either type. One test per attribute; schemas/envelope.md says what is checked.

CloudEvents make source and id unique together: the hub tells duplicates by both, also
after a restart (docs/configuration.md).
"""

import json

import pytest

import harness
from harness import publish, read_events, read_stream

TOPIC = "linz/sensor/waterlevel/rhein-pegel-3"
T = "2026-11-26T07:00:00.25+01:00"
DATA = {"time": T, "value": 412, "unit": "cm"}
SCHEMA_ID = "https://schemas.rheinhub.linz-am-rhein.de/{}.schema.json"


def cloudevent(n, **attributes):
    ce = {"specversion": "1.0", "id": f"ce-{n}", "source": "urn:linz:pegel",
          "type": "sensor.waterlevel", "data": DATA}
    ce.update(attributes)
    return json.dumps(ce).encode()


def run(hub, redis_client, stack, payloads):
    publish(stack.mqtt_port, [(TOPIC, p) for p in payloads])
    harness.wait_until(lambda: hub.metric("rheinhub_events_received_total") >= len(payloads)
                       and hub.metric("rheinhub_queue_length") == 0
                       and hub.metric("rheinhub_redis_in_flight") == 0,
                       30, f"{len(payloads)} messages handled")
    dead = [{k.decode(): v.decode(errors="replace") for k, v in f.items()}
            for _, f in read_stream(redis_client, hub.deadletter)]
    stored = read_events(redis_client, hub.stream("sensor.waterlevel"))
    return dead, stored


# (attribute, contradicting value, reason, words the detail must hold)
CONTRADICTIONS = [
    ("type", "citizen.report", "type_mismatch",
     ["sensor.waterlevel", "citizen.report"]),
    ("type", "service.waterlevel", "type_mismatch",
     ["sensor.waterlevel", "service.waterlevel"]),
    ("dataschema", SCHEMA_ID.format("citizen/report"), "type_mismatch",
     ["sensor.waterlevel", "citizen/report.schema.json"]),
    ("subject", "rhein-pegel-4", "subject_mismatch", ["rhein-pegel-3", "rhein-pegel-4"]),
    ("time", "2026-11-26T07:00:00.25Z", "time_mismatch",
     ["2026-11-26T07:00:00.25Z", T]),
    ("datacontenttype", "text/plain", "bad_cloudevent", ["text/plain"]),
]


@pytest.mark.parametrize("attribute,value,reason,words", CONTRADICTIONS,
                         ids=[f"{a}-{r}" for a, _, r, _ in CONTRADICTIONS])
def test_contradicting_attribute_is_refused(hub, redis_client, stack, attribute, value, reason,
                                            words):
    dead, stored = run(hub, redis_client, stack, [cloudevent(1, **{attribute: value})])
    assert stored == []
    assert [d["reason"] for d in dead] == [reason]
    for w in words:
        assert w in dead[0]["detail"], dead[0]["detail"]
    assert dead[0]["topic"] == TOPIC
    assert hub.metric("rheinhub_events_rejected_total", reason=reason) == 1
    # Not stored under the declared type either.
    assert not redis_client.exists(hub.stream("citizen.report"))


def test_the_reported_case_type_citizen_report_on_a_water_level(hub, redis_client, stack):
    """Data that fits the water-level schema does not make a citizen.report one."""
    dead, stored = run(hub, redis_client, stack, [cloudevent(1, type="citizen.report")])
    assert stored == [] and [d["reason"] for d in dead] == ["type_mismatch"]
    assert dead[0]["detail"] == ('the topic says type sensor.waterlevel, '
                                 'the CloudEvent says type "citizen.report"')


def test_attributes_that_agree_are_accepted(hub, redis_client, stack):
    agreeing = [
        cloudevent(1),
        cloudevent(2, type="de.linz.waterlevel"),      # reverse-DNS, the type's name last
        cloudevent(3, subject="rhein-pegel-3"),
        cloudevent(4, time="2026-11-26T06:00:00.25Z"),  # data's instant, in UTC
        cloudevent(5, dataschema=SCHEMA_ID.format("sensor/waterlevel")),
        cloudevent(6, dataschema="https://partner.example/schemas/pegel.json"),
        cloudevent(7, datacontenttype="application/json; charset=utf-8"),
    ]
    dead, stored = run(hub, redis_client, stack, agreeing)
    assert dead == []
    assert sorted(e.env["id"] for e in stored) == [f"ce-{n}" for n in range(1, 8)]
    times = {e.env["id"]: e.env["time"] for e in stored}
    assert times["ce-4"] == "2026-11-26T06:00:00.25Z"   # the attribute's text is kept
    assert times["ce-1"] == T                           # no attribute: data's time


def test_missing_type_is_a_bad_cloudevent(hub, redis_client, stack):
    ce = json.loads(cloudevent(1))
    del ce["type"]
    dead, stored = run(hub, redis_client, stack, [json.dumps(ce).encode()])
    assert stored == [] and [d["reason"] for d in dead] == ["bad_cloudevent"]
    assert "type" in dead[0]["detail"]


# Two publishers that number their events 1, 2, 3 ...: the same id, other sources.
T_B = "2026-11-26T07:05:00.5+01:00"


def from_source(source, t=T, event_id="1"):
    return cloudevent(0, id=event_id, source=source, data={**DATA, "time": t})


def stored_by_source(redis_client, hub):
    return sorted((e.env["source"], e.env["id"], e.env["time"])
                  for e in read_events(redis_client, hub.stream("sensor.waterlevel")))


def test_same_id_from_two_sources_is_two_events(hub, redis_client, stack):
    """CloudEvents make source and id unique together, not id alone: the event of a second
    source with an id the first one used is an event of its own and is stored. The same
    event sent again (same source, same id) is still dropped as a duplicate."""
    a, b = from_source("urn:linz:pegel-a"), from_source("urn:linz:pegel-b", T_B)
    dead, _ = run(hub, redis_client, stack, [a, b, a])
    assert dead == []
    assert stored_by_source(redis_client, hub) == [("urn:linz:pegel-a", "1", T),
                                                   ("urn:linz:pegel-b", "1", T_B)]
    assert hub.metric("rheinhub_events_accepted_total") == 2
    assert hub.metric("rheinhub_events_duplicate_total") == 1


def test_restart_remembers_source_and_id(hub_factory, redis_client, stack):
    """After a restart the hub knows the stored events by source and id (the preload of
    ingest.dedupe_preload): the broker's redelivery of a stored event is dropped, while
    another source's event with that id is taken."""
    hub = hub_factory()
    a, b = from_source("urn:linz:pegel-a"), from_source("urn:linz:pegel-b", T_B)
    run(hub, redis_client, stack, [a])
    hub.term()
    hub.start()
    dead, _ = run(hub, redis_client, stack, [a, b])
    assert dead == []
    assert stored_by_source(redis_client, hub) == [("urn:linz:pegel-a", "1", T),
                                                   ("urn:linz:pegel-b", "1", T_B)]
    assert hub.metric("rheinhub_events_duplicate_total") == 1
    assert hub.metric("rheinhub_events_accepted_total") == 1


def test_restart_with_another_broker_name_is_told(hub_factory, redis_client, stack):
    """A plain event's source names the broker (mqtt.source, else the hub's host:port).
    A hub that starts under another name than its stored events carry says so once,
    with the mqtt.source that keeps the old name; a start under the same name, or
    events of a publisher's own source, say nothing."""
    plain = json.dumps(DATA).encode()
    old = hub_factory(name="old", mqtt={"source": "broker.old.example:1883"})
    run(old, redis_client, stack, [plain, from_source("mqtt://gateway.example/x")])
    old.term()
    hub = hub_factory(name="new")
    hint = 'set mqtt.source: "broker.old.example:1883" in hub.yaml'
    log = hub.log_path.read_text()
    assert log.count(hint) == 1, log[-3000:]
    assert "1 of the newest events in Redis name the broker 'broker.old.example:1883'" in log
    hub.term()
    old.start()
    old.term()
    assert hint not in old.log_path.read_text(), "a start under the same name warned"
