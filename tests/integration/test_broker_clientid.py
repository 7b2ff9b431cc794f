# SPDX-License-Identifier: MIT
"""Client ids on the production broker (broker-config/production/).

The hub keeps a persistent session under a fixed client id (mqtt.client_id,
rheinhub-hub); while it is away the broker queues its events there. Mosquitto 2.0.11
hands a session to whoever connects with its client id, whatever the account, and
disconnects the client that held it ("already connected, closing old connection"). A
device that resumed the hub's session got none of the queued events (each is checked
against its read rights when it is sent, and dropped), but they were gone when the hub
came back; one that connected with a clean session wiped the hub's session and its
subscriptions. On the listeners that face the outside (TLS, WebSockets) the broker
replaces the client id with the username (use_username_as_clientid), so an outside
account only ever gets a session of its own name.
"""

import json

import pytest

from broker_helpers import Refused, barrier, close, connect, sites  # noqa: F401
from harness import wait_until

T0 = "2026-11-26T06:00:00Z"
HUB_ID = "rheinhub-hub"
EVENTS = 5


@pytest.fixture
def linz(sites):
    site = sites("linz", websockets=True)
    site.account("device", "pegel-7")
    site.account("device", "pegel-8")
    site.account("app", "linz-app", "citizen.report")
    site.account("hub", "rheinhub", cert=False)
    site.start()
    return site


def _hub(site, got, drops):
    """The hub's persistent session (clean session off) on loopback, as the hub logs in.
    Like the hub, it connects again when the broker drops it; drops counts that."""
    c = connect(site.local_port, username="rheinhub", password=site.passwords["rheinhub"],
                client_id=HUB_ID, clean_session=False,
                on_message=lambda c, u, m: got.append((m.topic, bytes(m.payload))))
    c.on_disconnect = lambda client, userdata, rc: rc != 0 and drops.append(rc)
    return c


def _intruder(site, how, clean_session, got):
    kw = dict(client_id=HUB_ID, clean_session=clean_session,
              on_message=lambda c, u, m: got.append(m.topic))
    if how == "tls":
        return site.client("pegel-8", **kw)
    return connect(site.ws_port, transport="websockets", ca=site.ca, username="linz-app",
                   password=site.passwords["linz-app"], **kw)


def _synced(client):
    """barrier(client), False when the client is not connected at the moment."""
    try:
        barrier(client)
        return True
    except (RuntimeError, AssertionError):
        return False


@pytest.mark.parametrize("how", ["tls", "websockets"])
@pytest.mark.parametrize("clean_session", [False, True], ids=["resume", "clean"])
def test_broker_outside_account_cannot_take_the_hubs_session(linz, how, clean_session):
    """A device (TLS) or an app (WebSockets) that connects with the hub's client id,
    while the hub is connected and while it is away, neither disconnects the hub nor
    touches its session: the hub receives every event, in order, and the other client
    none."""
    hub_got, intruder_got, drops = [], [], []
    hub = _hub(linz, hub_got, drops)
    rc, _ = hub.subscribe([("+/sensor/#", 1), ("+/citizen/#", 1)])
    assert rc == 0
    barrier(hub)
    dev = linz.client("pegel-7")
    topic = "linz/sensor/waterlevel/pegel-7"
    sent = [f'{{"time":"{T0}","value":{300 + i},"unit":"cm","trend":0}}'.encode()
            for i in range(3 * EVENTS)]

    def publish(payloads):
        for payload in payloads:
            dev.publish(topic, payload, qos=1).wait_for_publish(10)
        barrier(dev)  # routed (delivered or queued for the hub) before this PUBACK

    def intrude():
        try:
            intruder = _intruder(linz, how, clean_session, intruder_got)
        except Refused:
            return  # refused outright is as good as a session of its own
        try:
            _synced(intruder)  # what the session it got held came before this PUBACK
        finally:
            close(intruder)

    try:
        # 1. The hub is connected.
        publish(sent[:EVENTS])
        intrude()
        wait_until(lambda: _synced(hub), 30, "the hub connected")
        # 2. The hub is away; the broker queues its events.
        close(hub)
        publish(sent[EVENTS:2 * EVENTS])
        intrude()
        hub = _hub(linz, hub_got, drops)
        publish(sent[2 * EVENTS:])
        barrier(hub)
        got = [p for t, p in hub_got]
        facts = (f"the hub was disconnected {len(drops)} times and got {len(got)} of "
                 f"{len(sent)} events {[json.loads(p)['value'] for p in got]}; the account with "
                 f"client id {HUB_ID} got {intruder_got}")
        assert intruder_got == [] and got == sent and drops == [], facts
        log = linz.log_text()
        assert "already connected, closing old connection" not in log
        # It was let in, under its own name: a session of its own.
        account = "pegel-8" if how == "tls" else "linz-app"
        assert f" as {account} (p2, c{int(clean_session)}, k30, u'{account}')" in log
    finally:
        close(hub)
        close(dev)
