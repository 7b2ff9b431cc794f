# SPDX-License-Identifier: MIT
"""What a partner sends across the link that the hub cannot accept (bridge_helpers.Pair).

A partner's broker need not hold its clients to this project's ACL: here a client at
Kaiserslautern may publish anything under kaiserslautern/sensor/#, the link's "in"
filter, and does: oversized, binary, empty and retained payloads, topics of the wrong
shape or type. Each arrives at Linz's hub over the link, is counted by its reason and
written to the dead-letter stream once, and the events after it are stored: nothing
stalls the link or the hub.
"""

from collections import Counter

import pytest

from bridge_helpers import KL_PROBE, Pair, stored
from broker_helpers import close, hubs, redis_server, sites, waterlevel  # noqa: F401
from harness import read_stream, wait_until

T = "2026-11-26T06:40:00Z"
VALID = waterlevel(T, 333)

# (topic, payload, retain, reason)
HOSTILE = [
    ("kaiserslautern/sensor/waterlevel/big",
     b'{"time":"' + T.encode() + b'","value":1,"unit":"cm","x":"' + b"a" * 70_000 + b'"}',
     False, "too_large"),
    ("kaiserslautern/sensor/waterlevel/bin", bytes(range(256)), False, "bad_json"),
    ("kaiserslautern/sensor/waterlevel/bin-utf8", b'{"time":"\xff\xfe"}', False, "bad_utf8"),
    ("kaiserslautern/sensor/waterlevel/nul", b'{"time":"' + T.encode() + b'\x00"}', False, "bad_json"),
    ("kaiserslautern/sensor/waterlevel/empty", b"", False, "bad_json"),
    ("kaiserslautern/sensor/waterlevel/ret", b"\x00\x01retained", True, "bad_json"),
    ("kaiserslautern/sensor/waterlevel/a/b", VALID, False, "bad_topic"),
    ("kaiserslautern/sensor/waterlevel/p:1", VALID, False, "bad_topic"),
    ("kaiserslautern/sensor/Waterlevel/x", VALID, False, "bad_topic"),
    ("kaiserslautern/sensor/nosuchtype/x", VALID, False, "unknown_type"),
    ("kaiserslautern/sensor/waterlevel/pegel-7", b'{"time":"' + T.encode() + b'"}', False, "schema"),
]


def loose_pair(sites, tmp, kl_max_packet_size=None):
    """The pair, started, with a Kaiserslautern client "hostile" that may publish
    anything under kaiserslautern/sensor/# (an ACL line this project's tools never
    write), and Kaiserslautern's max_packet_size raised when given."""
    p = Pair(sites, tmp)
    p.kl.account("device", "hostile")
    with open(p.kl.etc / "acl", "a") as f:
        f.write("\nuser hostile\ntopic write kaiserslautern/sensor/#\n")
    if kl_max_packet_size:
        (p.kl.etc / "conf.d" / "packets.conf").write_text(f"max_packet_size {kl_max_packet_size}\n")
    p.start()
    return p


def probe_hub(pair, client, r):
    """Publish probe events at Kaiserslautern until one is in Linz's Redis: the link is
    up and the hub subscribed (a probe sent before its SUBSCRIBE reached the broker is
    not delivered to it)."""
    last = {"payload": None}

    def through():
        if last["payload"] and stored(r, "probe", last["payload"]):
            return True
        pair.probes += 1
        last["payload"] = waterlevel(f"2026-11-26T07:00:{pair.probes % 60:02d}.{pair.probes:09d}Z")
        client.publish(KL_PROBE, last["payload"], qos=1).wait_for_publish(5)
        return False
    wait_until(through, 30, "a probe through the link into Linz's Redis", interval=0.2)


def test_broker_bridge_hostile_partner_messages_dead_lettered(sites, tmp_path, hubs,
                                                              redis_server):
    pair = loose_pair(sites, tmp_path)
    linz, kl = pair.linz, pair.kl
    hub = hubs(linz, "rheinhub")
    r = redis_server.client()
    kl_probe, hostile = kl.client("probe"), kl.client("hostile")
    try:
        probe_hub(pair, kl_probe, r)
        before = hub.metric("rheinhub_events_received_total")
        for topic, payload, retain, _ in HOSTILE:
            info = hostile.publish(topic, payload, qos=1, retain=retain)
            info.wait_for_publish(10)
            assert info.is_published(), topic
        good = waterlevel("2026-11-26T06:41:00Z", 344)
        hostile.publish("kaiserslautern/sensor/waterlevel/after", good, qos=1).wait_for_publish(10)
        wait_until(lambda: stored(r, "after", good), 20, "the valid event after the hostile ones")
        wait_until(lambda: r.xlen(hub.deadletter) >= len(HOSTILE), 20,
                   f"{len(HOSTILE)} dead letters")
        entries = read_stream(r, hub.deadletter)
        got = Counter((f[b"topic"].decode(), f[b"reason"].decode(), f[b"size"].decode())
                      for _, f in entries)
        want = Counter((t, reason, str(len(p))) for t, p, _, reason in HOSTILE)
        assert got == want, f"missing: {sorted(want - got)}\nunexpected: {sorted(got - want)}"
        m = hub.metrics()
        for reason, n in Counter(reason for *_, reason in HOSTILE).items():
            assert m.get("rheinhub_events_rejected_total", reason=reason) == n, reason
        assert m.get("rheinhub_events_received_total") - before == len(HOSTILE) + 1
        assert hub.healthz() == 200
    finally:
        for c in (kl_probe, hostile):
            close(c)


OVER = 200_000     # payload bytes: over our broker's max_packet_size (135168)
RAISED = 1_048_576  # a max_packet_size over it


def oversize_disconnects(site):
    return site.log_text().count("bridge-kaiserslautern disconnected due to oversize packet")


def test_broker_bridge_packet_over_our_limit_holds_the_link_until_the_remedy(
        sites, tmp_path, hubs, redis_server):
    """A partner whose broker takes bigger packets than ours (this project's brokers
    both take 135168 bytes at most) sends one over the link: our broker closes the
    link at that packet, the partner keeps it in our session and sends it first again
    at every reconnect, and nothing after it arrives. No setting on our side can make
    the partner send less over MQTT 3.1.1. The remedy (docs/broker.md, "Partner
    bridges"): raise our max_packet_size over it for one restart; the hub then takes it
    as too_large, the events behind it follow, and the limit goes back."""
    pair = loose_pair(sites, tmp_path, kl_max_packet_size=RAISED * 4)
    linz, kl = pair.linz, pair.kl
    hub = hubs(linz, "rheinhub")
    r = redis_server.client()
    big_topic = "kaiserslautern/sensor/waterlevel/big"
    big = b'{"time":"' + T.encode() + b'","value":1,"unit":"cm","x":"' + b"a" * OVER + b'"}'
    behind = waterlevel("2026-11-26T06:42:00Z", 355)
    hostile = kl.client("hostile")
    try:
        probe_hub(pair, hostile, r)
        hostile.publish(big_topic, big, qos=1).wait_for_publish(10)
        hostile.publish("kaiserslautern/sensor/waterlevel/behind", behind, qos=1).wait_for_publish(10)
        # The link is made again and closed again at the same packet.
        wait_until(lambda: oversize_disconnects(linz) >= 2, 20,
                   "Linz closing the link at the oversized packet twice")
        assert not stored(r, "behind", behind), "an event behind the oversized packet arrived"
    finally:
        close(hostile)

    remedy = linz.etc / "conf.d" / "partner-packets.conf"
    remedy.write_text(f"max_packet_size {RAISED}\n")
    linz.stop()
    linz.start()
    wait_until(lambda: stored(r, "behind", behind), 30, "the event behind it in Redis")
    [(_, dl)] = read_stream(r, hub.deadletter)
    assert (dl[b"topic"].decode(), dl[b"reason"], dl[b"size"]) == (
        big_topic, b"too_large", str(len(big)).encode())
    assert hub.metric("rheinhub_events_rejected_total", reason="too_large") == 1

    remedy.unlink()
    linz.stop()
    linz.start()
    at_linz = linz.watcher("watch", ["kaiserslautern/#"])
    probe = kl.client("probe")
    try:
        pair.probe(probe, KL_PROBE, at_linz, timeout=30)
    finally:
        close(probe)
        at_linz.close()
