# SPDX-License-Identifier: MIT
"""Accounts, ACLs and TLS of the production broker (broker-config/production/).

One Linz broker set up with deploy/broker/ (configure, make-ca, account, bridge), with
its loopback, TLS and WebSockets listeners. "A message did not arrive" is checked
after a barrier (broker_helpers.barrier): the broker handles one client's packets in
order and writes each client's packets in order, so once a later message (or the
PUBACK of a barrier message) is there, an earlier one that was let through would be
there too.
"""

import pytest

from broker_helpers import (Refused, barrier, close, connect, refusal, sites,  # noqa: F401
                            tool, waterlevel, write)
from harness import wait_until

T0 = "2026-11-26T06:00:00Z"


@pytest.fixture
def linz(sites):
    site = sites("linz", websockets=True)
    site.account("device", "pegel-7")
    site.account("device", "pegel-8")
    site.account("operator", "ops.anna")
    site.account("operator", "ops.watch", cert=False)   # these three use loopback
    site.account("hub", "rheinhub", cert=False)
    site.account("alerting", "alerting", cert=False)
    site.account("app", "linz-app", "citizen.report")
    site.start()
    return site


def test_broker_device_publishes_only_its_own_topics(linz):
    """pegel-7 may publish linz/<category>/<type>/pegel-7, nothing else."""
    events = linz.watcher("rheinhub", ["#"])
    alerts = linz.watcher("ops.watch", ["+/alerts/#"])
    dev = linz.client("pegel-7")
    forbidden = [
        "linz/sensor/waterlevel/pegel-8",            # another device's topic
        "kaiserslautern/sensor/waterlevel/pegel-7",  # another municipality
        "linz/alerts/high-water/pegel-7",            # a forged alert
        "linz/sensor/waterlevel/pegel-7/extra",      # below its topic
        "linz/analytics/sensor.waterlevel/pegel-7/1h",
    ]
    try:
        for topic in forbidden:
            info = dev.publish(topic, waterlevel(T0), qos=1, retain=True)
            info.wait_for_publish(10)  # MQTT 3.1.1: acknowledged, then dropped
        own = "linz/sensor/waterlevel/pegel-7"
        dev.publish(own, waterlevel(T0), qos=1).wait_for_publish(10)
        events.wait_for(own)
        alerts.sync()
        got = events.topics() + alerts.topics()
        assert got == [own], f"only {own} may arrive; got {got}"
    finally:
        close(dev)
        events.close()
        alerts.close()


def test_broker_device_reads_no_alerts(linz):
    """Neither retained nor live alerts reach a device, though it may subscribe."""
    ops = linz.watcher("ops.watch", ["linz/alerts/#"])
    alerting = linz.client("alerting", tls=False)
    retained = "linz/alerts/high-water/pegel-7"
    alerting.publish(retained, b'{"state":"active"}', qos=1, retain=True).wait_for_publish(10)
    ops.wait_for(retained)

    got = []
    dev = linz.client("pegel-7", on_message=lambda c, u, m: got.append(m.topic))
    try:
        rc, _ = dev.subscribe([("linz/alerts/#", 1), ("#", 1)])
        assert rc == 0
        barrier(dev)  # SUBACK and any retained message came before this PUBACK
        live = "linz/alerts/high-water/pegel-8"
        alerting.publish(live, b'{"state":"active"}', qos=1).wait_for_publish(10)
        ops.wait_for(live)
        barrier(dev)
        assert got == [], f"a device received {got}"
        assert ops.count(retained) == 1 and ops.count(live) == 1
    finally:
        close(dev)
        close(alerting)
        ops.close()


def test_broker_operator_reads_alerts_and_acks_but_publishes_no_events(linz):
    events = linz.watcher("rheinhub", ["+/sensor/#", "+/service/#", "+/citizen/#"])
    acks = linz.watcher("alerting", ["+/alerts/+/+/ack"])
    ops = linz.client("ops.anna")
    try:
        forbidden = [
            "linz/sensor/waterlevel/pegel-7",    # a device's topic
            "linz/sensor/waterlevel/ops.anna",   # the device pattern for its own name
            "linz/citizen/report/ops.anna",
            "linz/alerts/high-water/pegel-7",    # an alert itself: only the worker
        ]
        for topic in forbidden:
            ops.publish(topic, waterlevel(T0), qos=1).wait_for_publish(10)
        ack = "linz/alerts/high-water/pegel-7/ack"
        ops.publish(ack, b'{"by":"ops.anna","comment":"on site"}', qos=1).wait_for_publish(10)
        acks.wait_for(ack)
        events.sync()
        assert events.topics() == [], f"an operator published events: {events.topics()}"
        assert acks.topics() == [ack]
    finally:
        close(ops)
        events.close()
        acks.close()


def test_broker_app_publishes_only_its_types(linz):
    events = linz.watcher("rheinhub", ["#"])
    app = linz.client("linz-app")
    try:
        for topic in ("linz/citizen/feedback/f-1", "linz/sensor/waterlevel/linz-app",
                      "kaiserslautern/citizen/report/r-1"):
            app.publish(topic, b"{}", qos=1).wait_for_publish(10)
        own = "linz/citizen/report/r-1"
        app.publish(own, b"{}", qos=1).wait_for_publish(10)
        events.wait_for(own)
        assert events.topics() == [own]
    finally:
        close(app)
        events.close()


def test_broker_tls_refuses_anonymous_and_foreign_certificates(linz, tmp_path):
    crt, key = linz.cert("pegel-7")
    pw = linz.passwords["pegel-7"]
    tls = dict(ca=linz.ca, cert=crt, key=key)

    # The positive case first: otherwise every refusal below could be a broken setup.
    close(connect(linz.tls_port, username="pegel-7", password=pw, **tls))

    assert "CONNACK 5" in refusal(linz.tls_port, **tls)  # anonymous
    assert "CONNACK 5" in refusal(linz.tls_port, username="pegel-7", password="wrong", **tls)
    assert "CONNACK 5" in refusal(linz.tls_port, username="nobody", password=pw, **tls)

    # A client certificate from another CA, with a valid account: the TLS handshake
    # fails (with TLS 1.3 the broker's alert comes right after it), no CONNACK.
    rogue = tmp_path / "rogue"
    tool("configure", "-d", rogue, "--municipality", "rogue", "--data", tmp_path / "rogue-data",
         "--local-port", 1, "--tls-port", 2)
    tool("make-ca", "-d", rogue, "--client", "pegel-7")
    reason = refusal(linz.tls_port, username="pegel-7", password=pw, ca=linz.ca,
                     cert=rogue / "clients" / "pegel-7.crt", key=rogue / "clients" / "pegel-7.key")
    assert "CONNACK" not in reason, reason
    # No client certificate at all.
    reason = refusal(linz.tls_port, username="pegel-7", password=pw, ca=linz.ca)
    assert "CONNACK" not in reason, reason
    # And a client that trusts another CA does not accept this broker.
    reason = refusal(linz.tls_port, username="pegel-7", password=pw,
                     ca=rogue / "ca" / "ca.crt", cert=crt, key=key)
    assert "CERTIFICATE_VERIFY_FAILED" in reason, reason

    # Loopback: plain MQTT, but no anonymous access there either.
    assert "CONNACK 5" in refusal(linz.local_port)
    close(connect(linz.local_port, username="rheinhub", password=linz.passwords["rheinhub"]))


def test_broker_websockets_tls_needs_an_account(linz):
    """Browsers present no client certificate; an account is what lets them in."""
    c = connect(linz.ws_port, transport="websockets", ca=linz.ca,
                username="linz-app", password=linz.passwords["linz-app"])
    close(c)
    assert "CONNACK 5" in refusal(linz.ws_port, transport="websockets", ca=linz.ca)


def test_broker_partner_account_only_its_agreed_prefixes(linz, tmp_path):
    """An incoming partner link (deploy/broker/bridge, link: incoming): the partner may
    publish only under its own prefix and read only what was agreed."""
    secret = write(tmp_path / "kl.password", "kl-secret\n")
    desc = write(tmp_path / "kaiserslautern.yaml", f"""\
partner: kaiserslautern
link: incoming
password_file: {secret}
in: kaiserslautern/sensor/waterlevel/#   # it sends us its gauges
out: linz/alerts/#                       # and reads our alerts
""")
    tool("bridge", "-d", linz.etc, desc)
    linz.issue("kaiserslautern")
    linz.passwords["kaiserslautern"] = "kl-secret"
    linz.reload()

    events = linz.watcher("rheinhub", ["#"])
    alerting = linz.client("alerting", tls=False)
    got = []
    kl = _connect_when_reloaded(linz, "kaiserslautern", on_message=lambda c, u, m: got.append(m.topic))
    try:
        kl.subscribe([("#", 1)])
        barrier(kl)
        for topic in ("linz/sensor/waterlevel/pegel-7",          # posing as a Linz device
                      "linz/sensor/waterlevel/kaiserslautern",   # the device pattern, its name
                      "kaiserslautern/sensor/airquality/s-1"):   # not agreed
            kl.publish(topic, waterlevel(T0), qos=1).wait_for_publish(10)
        agreed = "kaiserslautern/sensor/waterlevel/pegel-7"
        kl.publish(agreed, waterlevel(T0), qos=1).wait_for_publish(10)
        events.wait_for(agreed)
        assert events.topics() == [agreed]

        alerting.publish("linz/alerts/high-water/pegel-7", b"{}", qos=1).wait_for_publish(10)
        dev = linz.client("pegel-7")
        dev.publish("linz/sensor/waterlevel/pegel-7", waterlevel(T0), qos=1).wait_for_publish(10)
        close(dev)
        events.wait_for("linz/sensor/waterlevel/pegel-7")
        barrier(kl)
        assert got == ["linz/alerts/high-water/pegel-7"], f"the partner read {got}"
    finally:
        close(kl)
        close(alerting)
        events.close()


def _connect_when_reloaded(site, name, **kw):
    """Log in as name once the broker has read the new password file (after SIGHUP)."""
    def attempt():
        try:
            return site.client(name, **kw)
        except Refused:
            return None
    return wait_until(attempt, 10, f"{name} accepted after SIGHUP", interval=0.1)


def test_broker_removed_account_is_refused_after_reload(linz):
    close(linz.client("pegel-8"))
    tool("account", "-d", linz.etc, "remove", "device", "pegel-8")
    linz.reload()

    def refused():
        try:
            close(linz.client("pegel-8"))
            return False
        except Refused as exc:
            return "CONNACK 5" in exc.reason
    wait_until(refused, 10, "pegel-8 refused after removal and SIGHUP", interval=0.1)
    close(linz.client("pegel-7"))  # the others stay


def test_broker_sources_publish_the_municipalitys_events(sites):
    """The sources (docs/sources.md) publish the events of many devices under their
    subjects, with hub.yaml's account (platform: sources.username "") or one of their
    own (role source): this municipality's inbound topics, nothing else."""
    site = sites("linz")
    site.account("hub", "rheinhub", cert=False)
    site.account("platform", "rheinhub-1", cert=False)
    site.account("source", "sources", cert=False)
    site.account("operator", "ops.watch", cert=False)
    site.start()
    events = site.watcher("rheinhub", ["#"])
    alerts = site.watcher("ops.watch", ["+/alerts/#"])
    try:
        for name in ("rheinhub-1", "sources"):
            src = site.client(name, tls=False)
            try:
                forbidden = ["kaiserslautern/sensor/waterlevel/andernach",  # another municipality
                             "linz/sensor/waterlevel/andernach/extra"]     # below a subject
                if name == "sources":  # platform: also the alerting worker's alerts
                    forbidden.append("linz/alerts/rhine-flood/andernach")
                for topic in forbidden:
                    src.publish(topic, waterlevel(T0), qos=1).wait_for_publish(10)
                own = [f"linz/sensor/waterlevel/{name}-andernach",
                       f"linz/service/parking/{name}-bay-1", f"linz/citizen/report/{name}-r-1"]
                for topic in own:
                    src.publish(topic, waterlevel(T0), qos=1).wait_for_publish(10)
                barrier(src)
                events.sync()
                alerts.sync()
                got = events.topics() + alerts.topics()
                assert got == own, f"{name}: {own} must arrive, and nothing else; got {got}"
                for w in (events, alerts):
                    with w.lock:
                        w.messages.clear()
            finally:
                close(src)
    finally:
        events.close()
        alerts.close()
