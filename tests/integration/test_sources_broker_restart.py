# SPDX-License-Identifier: MIT
"""A source's events over a broker restart with two hubs on one shared subscription.

Mosquitto 2.0.11 restores the hubs' sessions after a restart but not their $share
subscription (docs/reliability.md, "The broker restart"); until a hub subscribes
again it acknowledges and drops what arrives on their topics, telling an MQTT v5
publisher so with PUBACK reason code 0x10. The sources publish over MQTT v5 and send
again what a PUBACK refuses (sources/common/publisher.h): every uplink the network
server delivers in that window is stored exactly once. With the former MQTT 3.1.1
publisher those events were acknowledged and lost, and this test fails.

The hubs are held with SIGSTOP while the broker restarts, so that the window without
a subscription is certain and lasts until SIGCONT.
"""

import json
import signal
import time

import harness
from harness import wait_until
from source_helpers import events, recorded
from test_sources_lorawan import (TTN_TOPIC, harness_close, netserver,  # noqa: F401
                                  sources, start_ttn)

ETYPE = "sensor.waterlevel"
BEFORE, DURING = 10, 30


def uplink(base, k):
    doc = json.loads(json.dumps(base))
    doc["uplink_message"]["f_cnt"] = 7000 + k
    doc["uplink_message"]["decoded_payload"]["water_level_cm"] = 300 + k
    doc["uplink_message"]["received_at"] = f"2026-11-26T09:{k // 60:02d}:{k % 60:02d}.75Z"
    return json.dumps(doc).encode()


def refused_total(src):
    return sum(v for _, v in src.metrics().series("rheinhub_source_refused_total"))


def test_ttn_broker_restart_shared_subscription_loses_nothing(stack, hub_factory, redis_client,
                                                              netserver, sources):
    r = redis_client
    hubs = [hub_factory(name=f"hub-{h}", mqtt={"shared_group": "hubs"}) for h in "ab"]
    src = start_ttn(hubs[0], netserver, sources)
    ns = netserver.client()
    base = json.loads(recorded("ttn", "waterlevel-702.json"))
    topic = TTN_TOPIC.format("pegel-linz-1")
    total = BEFORE + DURING

    for k in range(BEFORE):
        netserver.publish(ns, topic, uplink(base, k))
    wait_until(lambda: len(events(r, hubs[0], ETYPE)) >= BEFORE, 30, "the first events")

    for hub in hubs:
        hub.proc.send(signal.SIGSTOP)
    try:
        stack.mosquitto.stop()
        stack.mosquitto.start()
        wait_until(lambda: src.metric("rheinhub_source_broker_up") == 1, 30,
                   "the source connected to the restarted broker", interval=0.05)
        # The broker is back with the hubs' sessions but without their $share
        # subscription: what the source publishes now matches no subscriber.
        for k in range(BEFORE, total):
            netserver.publish(ns, topic, uplink(base, k))
        # The source either has every uplink acknowledged (MQTT 3.1.1: and dropped) or
        # is refused, holds the refused events and reads no further.
        wait_until(lambda: (src.metric("rheinhub_source_received_total") == total or
                            src.metrics().has("rheinhub_source_refused_pending",
                                              source="ttn") and
                            src.metric("rheinhub_source_refused_pending") > 0),
                   30, "the source publishing in the window", interval=0.05)
        time.sleep(1.0)  # a few rounds of re-sends, all refused
    finally:
        for hub in hubs:
            hub.proc.send(signal.SIGCONT)

    # The hubs notice the restart, resume their sessions and subscribe again; the
    # re-sent events reach them, then the rest of the uplinks.
    wait_until(lambda: len(events(r, hubs[0], ETYPE)) >= total, 60,
               f"all {total} events in the stream (an MQTT 3.1.1 publisher loses those "
               "published while no hub is subscribed)")
    wait_until(lambda: src.metric("rheinhub_source_published_total") == total, 30,
               "every event taken by our broker")
    time.sleep(0.5)  # room for a duplicate to show up
    stored = events(r, hubs[0], ETYPE)
    values = sorted(e.env["data"]["value"] for e in stored)
    assert values == list(range(300, 300 + total)), values
    assert len({e.env["id"] for e in stored}) == total

    refused = refused_total(src)
    m = src.metrics()
    print(f"refused {refused:.0f} PUBACKs (0x10: "
          f"{m.get('rheinhub_source_refused_total', source='ttn', reason_code='0x10'):.0f}), "
          f"re-sent {m.get('rheinhub_source_resent_total', source='ttn'):.0f}")
    assert refused >= 1, "no PUBACK refused an event: the window was missed"
    assert m.get("rheinhub_source_refused_total", source="ttn", reason_code="0x10") == refused
    assert m.get("rheinhub_source_resent_total", source="ttn") == refused
    assert m.get("rheinhub_source_refused_pending", source="ttn") == 0
    assert m.get("rheinhub_source_queued", source="ttn") == 0
    assert src.healthz()[0] == 200
    log = src.log_path.read_text()
    assert log.count("our broker refused the event on") == 1, "one warning per episode"
    assert log.count("our broker takes events again") == 1
    harness_close(ns)
