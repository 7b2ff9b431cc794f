# SPDX-License-Identifier: MIT
"""Linz and Kaiserslautern, each with its own production broker, bridged (the bridge
tests, test_broker_bridge*.py).

Both brokers are set up with deploy/broker/ as their operators would: each its own CA
(make-ca), accounts, and the link from one partner description per side (bridge).
Linz dials (link: outgoing) over TLS with a client certificate from Kaiserslautern's
CA and an account there; Kaiserslautern's mirror description (link: incoming) makes
that account, allowed exactly the agreed topics:

    Kaiserslautern -> Linz   kaiserslautern/sensor/#, kaiserslautern/alerts/#,
                             kaiserslautern/analytics/#
    Linz -> Kaiserslautern   linz/sensor/waterlevel/#, linz/alerts/#, linz/analytics/#

Alerts and aggregates are the retained kinds: each side's alerting and analytics
accounts publish them at home, and operators read them at the other side.
"""

import shutil

import pytest

import harness
from broker_helpers import tool, waterlevel, write
from harness import wait_until

STREAM = "rheinhub:events:sensor.waterlevel"
KL_PROBE = "kaiserslautern/sensor/waterlevel/probe"
LINZ_PROBE = "linz/sensor/waterlevel/probe"


class Pair:
    """The two sites, linked; not started."""

    def __init__(self, sites, tmp):
        self.kl = kl = sites("kaiserslautern")
        self.linz = linz = sites("linz")
        kl.account("device", "pegel-7")
        kl.account("device", "probe")
        kl.account("device", "gauge-0")
        kl.account("hub", "watch", cert=False)
        kl.account("operator", "ops", cert=False)
        kl.account("alerting", "alerting", cert=False)
        kl.account("analytics", "analytics", cert=False)
        kl.account("platform", "platform", cert=False)
        linz.account("device", "rhein-pegel-1")
        linz.account("device", "probe")
        linz.account("hub", "rheinhub", cert=False)
        linz.account("hub", "watch", cert=False)
        linz.account("operator", "ops", cert=False)
        linz.account("alerting", "alerting", cert=False)
        linz.account("analytics", "analytics", cert=False)

        # What Kaiserslautern hands to Linz: its CA, a client certificate for Linz's
        # bridge, and the password of the account it makes for Linz.
        handover = tmp / "handover"
        handover.mkdir()
        write(handover / "password", "linz-bridge-secret\n")
        crt, key = kl.issue("linz")
        shutil.copy(crt, handover / "linz.crt")
        shutil.copy(key, handover / "linz.key")
        shutil.copy(kl.ca, handover / "kaiserslautern-ca.crt")

        # Kaiserslautern's side: Linz connects to us.
        kl_desc = write(tmp / "kaiserslautern-side-linz.yaml", f"""\
# Linz, seen from Kaiserslautern
partner: linz
link: incoming
password_file: {handover / "password"}
in: linz/sensor/waterlevel/# linz/alerts/# linz/analytics/#
out: kaiserslautern/sensor/# kaiserslautern/alerts/# kaiserslautern/analytics/#
""")
        tool("bridge", "-d", kl.etc, kl_desc)
        # Linz's side: we connect to Kaiserslautern.
        linz_desc = write(handover / "kaiserslautern.yaml", f"""\
# Kaiserslautern, seen from Linz
partner: kaiserslautern
link: outgoing
host: 127.0.0.1
port: {kl.tls_port}
username: linz
password_file: password             # relative: next to this file
cafile: kaiserslautern-ca.crt
certfile: linz.crt
keyfile: linz.key
in: kaiserslautern/sensor/# kaiserslautern/alerts/# kaiserslautern/analytics/#
out: linz/sensor/waterlevel/# linz/alerts/# linz/analytics/#
restart_timeout: 1 5
""")
        tool("bridge", "-d", linz.etc, linz_desc)
        self.probes = 0

    def start(self):
        self.kl.start()
        self.linz.start()

    def probe(self, client, topic, watcher, timeout=20):
        """Publish probe events on topic until one arrives at watcher: the link is up
        (connected and subscribed). Returns the last probe's payload."""
        last = {"payload": None}

        def arrived():
            if last["payload"] and watcher.count(topic, last["payload"]):
                return True
            self.probes += 1
            last["payload"] = waterlevel(harness.loadgen_time(900_000_000 + self.probes))
            client.publish(topic, last["payload"], qos=1).wait_for_publish(5)
            return False
        wait_until(arrived, timeout, f"a probe on {topic} across the bridge", interval=0.2)
        return last["payload"]


@pytest.fixture
def pair(sites, tmp_path):
    p = Pair(sites, tmp_path)
    p.start()
    return p


def stream_events(r, subject=None):
    return [ev for ev in harness.read_events(r, STREAM)
            if ev.env and (subject is None or ev.env.get("subject") == subject)]


def stored(r, subject, payload):
    """True once an event with this subject and payload's time is in the stream."""
    t = harness.json.loads(payload)["time"]
    return any(ev.env.get("time") == t for ev in stream_events(r, subject))
