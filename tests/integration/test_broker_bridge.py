# SPDX-License-Identifier: MIT
"""Linz and Kaiserslautern bridged (bridge_helpers.Pair): events cross once each way,
without loops, and survive an outage; retained alerts and aggregates cross, and so
does their removal.

The real hub runs against the Linz broker (loopback listener, its own account) and a
throwaway Redis, so a Kaiserslautern event is followed all the way into Redis.
"""

import subprocess
import threading
import time

import pytest

import harness
from bridge_helpers import KL_PROBE, LINZ_PROBE, pair, stored, stream_events  # noqa: F401
from broker_helpers import close, hubs, redis_server, sites, waterlevel  # noqa: F401
from harness import wait_until

KL_EVENT = "kaiserslautern/sensor/waterlevel/pegel-7"
LINZ_EVENT = "linz/sensor/waterlevel/rhein-pegel-1"
KL_STREAM = "kaiserslautern/sensor/waterlevel/gauge-0"   # the outage test's device


def observe_quiet(watchers, seconds):
    """Nothing more arrives at any watcher for seconds (bounded: a loop would show as
    copies arriving again and again); fails as soon as something does."""
    before = [w.counts() for w in watchers]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = [w.counts() for w in watchers]
        assert now == before, f"messages kept arriving after the links were idle: {before} -> {now}"
        time.sleep(0.05)


def test_broker_bridge_events_cross_once_each_way_without_loops(pair, hubs, redis_server):
    linz, kl = pair.linz, pair.kl
    t_lo = time.time_ns()
    hub = hubs(linz, "rheinhub")
    r = redis_server.client()
    at_linz = linz.watcher("watch", ["+/sensor/#"])
    at_kl = kl.watcher("watch", ["+/sensor/#"])
    kl_probe, linz_probe = kl.client("probe"), linz.client("probe")
    kl_dev, linz_dev = kl.client("pegel-7"), linz.client("rhein-pegel-1")
    try:
        pair.probe(kl_probe, KL_PROBE, at_linz)
        pair.probe(linz_probe, LINZ_PROBE, at_kl)
        state = linz.watcher("ops", ["$SYS/broker/connection/+/state"])
        state.wait_for("$SYS/broker/connection/kaiserslautern/state", b"1")
        state.close()

        kl_payload = waterlevel("2026-11-26T06:10:00.000000007Z", 412)
        linz_payload = waterlevel("2026-11-26T06:10:00.000000001Z", 388)
        kl_dev.publish(KL_EVENT, kl_payload, qos=1).wait_for_publish(10)
        linz_dev.publish(LINZ_EVENT, linz_payload, qos=1).wait_for_publish(10)
        at_linz.wait_for(KL_EVENT)
        at_kl.wait_for(LINZ_EVENT)

        # Everything sent before a probe on the same path has passed once that probe is
        # through; then the links must stay quiet (a loop would never stop sending).
        last_kl_probe = pair.probe(kl_probe, KL_PROBE, at_linz)
        pair.probe(linz_probe, LINZ_PROBE, at_kl)
        observe_quiet([at_linz, at_kl], 1.0)
        for where, w in (("Linz", at_linz), ("Kaiserslautern", at_kl)):
            assert w.count(KL_EVENT) == 1, f"{KL_EVENT} at {where}: {w.count(KL_EVENT)} times"
            assert w.count(LINZ_EVENT) == 1, f"{LINZ_EVENT} at {where}: {w.count(LINZ_EVENT)} times"
            assert not [t for t in w.topics() if not t.startswith(("linz/", "kaiserslautern/"))]

        # Through the hub: stored once, with Kaiserslautern as its municipality.
        wait_until(lambda: stored(r, "probe", last_kl_probe), 20,
                   "the last Kaiserslautern probe in Redis (so the event before it is too)")
        evs = stream_events(r, "pegel-7")
        assert len(evs) == 1, f"{KL_EVENT} stored {len(evs)} times"
        problems = harness.envelope_problems(evs[0], topic=KL_EVENT, payload=kl_payload,
                                             mqtt_port=linz.local_port, t_lo=t_lo,
                                             t_hi=time.time_ns())
        assert not problems, problems
        assert evs[0].env["municipality"] == "kaiserslautern"
        wait_until(lambda: stored(r, "rhein-pegel-1", linz_payload), 20, "the Linz event in Redis")
        evs = stream_events(r, "rhein-pegel-1")
        assert len(evs) == 1 and evs[0].env["municipality"] == "linz"
        assert hub.metric("rheinhub_events_duplicate_total") == 0
    finally:
        for c in (kl_probe, linz_probe, kl_dev, linz_dev):
            close(c)
        at_linz.close()
        at_kl.close()


N_EVENTS = 2000
RATE = 200          # events/s
STOP_AFTER = 400    # events acknowledged at Kaiserslautern before Linz stops
OUTAGE_S = 10


class Publisher(threading.Thread):
    """N_EVENTS QoS 1 waterlevel events from device gauge-0 at Kaiserslautern, RATE/s;
    event k carries k in the nanoseconds of its time. Records when each PUBACK came."""

    def __init__(self, site):
        super().__init__(daemon=True)
        self.acked = {}            # k -> time.monotonic() of its PUBACK
        self.lock = threading.Lock()
        self.error = None
        self.by_mid = {}
        self.early = {}            # mid -> time of a PUBACK that came before by_mid knew it
        self.client = site.client("gauge-0")
        self.client.on_publish = self._on_publish

    def _on_publish(self, client, userdata, mid):
        # paho calls this holding its own message lock: take ours only briefly and
        # never call paho while holding it (run() does not), or the two deadlock.
        with self.lock:
            k = self.by_mid.get(mid)
            if k is not None:
                self.acked[k] = time.monotonic()
            else:
                self.early[mid] = time.monotonic()

    def n_acked(self):
        with self.lock:
            return len(self.acked)

    def run(self):
        try:
            t0 = time.monotonic()
            for k in range(N_EVENTS):
                ahead = t0 + k / RATE - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)  # pacing, not waiting for a condition
                info = self.client.publish(KL_STREAM, harness.loadgen_payload(k), qos=1)
                assert info.rc == 0, f"publish {k}: rc {info.rc}"
                with self.lock:
                    self.by_mid[info.mid] = k
                    if info.mid in self.early:
                        self.acked[k] = self.early.pop(info.mid)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


@pytest.mark.slow
def test_broker_bridge_partner_outage_loses_nothing(pair, hubs, redis_server):
    """Linz's broker (Kaiserslautern's partner) stops for 10 s while Kaiserslautern
    keeps publishing a QoS 1 stream; every event arrives in Linz's Redis, none twice.

    Which side stops: the publishing side cannot, or nothing would be published during
    the outage. So the link goes down by stopping Linz, the receiving partner, which
    also dials the link. Kaiserslautern holds what is published meanwhile in the Linz
    bridge's durable session there (MQTT 3.1.1, cleansession false, stable client id:
    PITFALLS.md); when Linz is back, its bridge reconnects at start and that session
    is delivered; the hub, whose own session Linz kept on disk, stores each event once
    (what the bridge or the hub receives twice is dropped by id).
    """
    linz, kl = pair.linz, pair.kl
    t_lo = time.time_ns()
    hub = hubs(linz, "rheinhub")
    r = redis_server.client()
    at_linz = linz.watcher("watch", ["kaiserslautern/#"])
    kl_probe = kl.client("probe")
    pub = None
    try:
        pair.probe(kl_probe, KL_PROBE, at_linz)
        at_linz.close()
        pub = Publisher(kl)
        pub.start()
        wait_until(lambda: pub.n_acked() >= STOP_AFTER or pub.error, 30,
                   f"{STOP_AFTER} events acknowledged at Kaiserslautern")
        linz.stop()
        t_down = time.monotonic()
        # Publishing goes on at Kaiserslautern, the link being down.
        wait_until(lambda: pub.n_acked() == N_EVENTS or pub.error, OUTAGE_S + 5,
                   "every event acknowledged at Kaiserslautern")
        assert pub.error is None, pub.error
        rest = t_down + OUTAGE_S - time.monotonic()
        assert rest > 0, "publishing took longer than the outage; nothing was tested"
        time.sleep(rest)  # the outage itself: a duration, not a condition
        linz.start()
        t_up = time.monotonic()
        with pub.lock:
            meanwhile = sorted(k for k, t in pub.acked.items() if t_down <= t < t_up)
        assert len(meanwhile) >= 1000, f"only {len(meanwhile)} events published during the outage"

        def all_stored():
            ks = {int(harness.LOADGEN_TIME_RE.match(ev.env["time"]).group(1))
                  for ev in stream_events(r, "gauge-0")}
            return ks >= set(range(N_EVENTS))
        wait_until(all_stored, 40, f"all {N_EVENTS} events in Redis after the outage",
                   interval=0.25)
        # Anything redelivered is delivered before what is published afterwards.
        at_linz = linz.watcher("watch", ["kaiserslautern/#"])
        sentinel = pair.probe(kl_probe, KL_PROBE, at_linz)
        at_linz.close()
        wait_until(lambda: stored(r, "probe", sentinel), 20, "the sentinel in Redis")

        evs = stream_events(r, "gauge-0")
        check = harness.StreamCheck(evs, n=N_EVENTS, municipality="kaiserslautern",
                                    subjects=1, prefix="gauge-", mqtt_port=linz.local_port,
                                    t_lo=t_lo, t_hi=time.time_ns())
        check.assert_exactly_once()
        print(f"outage {OUTAGE_S} s: {len(meanwhile)} events published meanwhile; "
              f"{hub.metric('rheinhub_events_duplicate_total'):.0f} duplicates dropped by the hub")
    finally:
        close(kl_probe)
        if pub:
            close(pub.client)


# The retained kinds the link carries, each way: (kind, home, topic, publishing account).
# The workers remove a quiet subject's retained message by publishing an empty one
# (alerting.forget_after, analytics.forget_after); that removal must reach the partner.
RETAINED = [
    ("alert", "linz", "linz/alerts/rhine-flood/rhein-pegel-1", "alerting"),
    ("aggregate", "linz", "linz/analytics/sensor.waterlevel/rhein-pegel-1/1h", "analytics"),
    ("alert", "kaiserslautern", "kaiserslautern/alerts/lauter-flood/pegel-7", "alerting"),
    ("aggregate", "kaiserslautern", "kaiserslautern/analytics/sensor.waterlevel/pegel-7/1h",
     "analytics"),
]


def retained_state(kind, topic, n):
    return harness.json.dumps({"kind": kind, "topic": topic, "n": n}).encode()


def retained_at(site, topic):
    """What a fresh subscriber (an operator) at site receives on topic with the retain
    flag: its payload, or None. Everything the broker queued for the subscription has
    arrived once the Watcher is made (barrier)."""
    w = site.watcher("ops", [topic])
    try:
        got = [p for t, p, retain in w.snapshot() if t == topic and retain]
    finally:
        w.close()
    assert len(got) <= 1, f"{topic} at {site.municipality}: {len(got)} retained messages"
    return got[0] if got else None


def publish_retained(site, account, topic, payload):
    """Publish payload (b"": the removal) retained, QoS 1, as the workers do."""
    c = site.client(account, tls=False)
    try:
        info = c.publish(topic, payload, qos=1, retain=True)
        info.wait_for_publish(10)
        assert info.is_published(), f"no PUBACK for {topic} at {site.municipality}"
    finally:
        close(c)


def other(pair, home):
    return pair.kl if home == "linz" else pair.linz


def test_broker_bridge_retained_states_and_their_removal_cross(pair):
    """Each retained kind, each way: a retained alert or aggregate published at home is
    retained at the partner (a fresh subscriber there gets it with the retain flag);
    its empty retained removal removes it there too."""
    by_name = {"linz": pair.linz, "kaiserslautern": pair.kl}
    for n, (kind, home, topic, account) in enumerate(RETAINED):
        publish_retained(by_name[home], account, topic, retained_state(kind, topic, n))
    for n, (kind, home, topic, account) in enumerate(RETAINED):
        want = retained_state(kind, topic, n)
        assert retained_at(by_name[home], topic) == want
        wait_until(lambda: retained_at(other(pair, home), topic) == want, 20,
                   f"the {kind} {topic} retained at the partner", interval=0.1)

    for kind, home, topic, account in RETAINED:
        publish_retained(by_name[home], account, topic, b"")
    for kind, home, topic, account in RETAINED:
        assert retained_at(by_name[home], topic) is None
        wait_until(lambda: retained_at(other(pair, home), topic) is None, 20,
                   f"the {kind} {topic} removed at the partner", interval=0.1)


def test_broker_bridge_removal_while_link_down_reaches_the_partner(pair):
    """The partner's broker is stopped while a retained alert or aggregate is removed at
    home; when it is back and the link is up, a fresh subscriber there gets nothing.

    The removal waits in the link's durable session on the home side (QoS 1): Linz's
    bridge queues it locally (local_cleansession false) while Kaiserslautern is away,
    and Kaiserslautern queues it in the Linz bridge's session there (cleansession
    false) while Linz is away. A probe on the same link, published after the removal,
    arrives after it, so its arrival is the moment to look.
    """
    by_name = {"linz": pair.linz, "kaiserslautern": pair.kl}
    for n, (kind, home, topic, account) in enumerate(RETAINED):
        publish_retained(by_name[home], account, topic, retained_state(kind, topic, n))
    for n, (kind, home, topic, account) in enumerate(RETAINED):
        want = retained_state(kind, topic, n)
        wait_until(lambda: retained_at(other(pair, home), topic) == want, 20,
                   f"the {kind} {topic} retained at the partner", interval=0.1)

    for home, probe_topic in (("linz", LINZ_PROBE), ("kaiserslautern", KL_PROBE)):
        away = other(pair, home)
        mine = [(kind, topic, account) for kind, h, topic, account in RETAINED if h == home]
        away.stop()
        for kind, topic, account in mine:
            publish_retained(by_name[home], account, topic, b"")
            assert retained_at(by_name[home], topic) is None
        away.start()
        watcher = away.watcher("watch", [probe_topic])
        prober = by_name[home].client("probe")
        try:
            pair.probe(prober, probe_topic, watcher, timeout=30)
        finally:
            close(prober)
            watcher.close()
        for kind, topic, account in mine:
            stale = retained_at(away, topic)
            assert stale is None, (f"{away.municipality} still holds the {kind} {topic} "
                                   f"removed at {home} while the link was down: {stale!r}")


def test_broker_bridge_stale_partner_states_remedy(pair):
    """The operator's remedy for states whose removal was lost with the link's session
    (docs/broker.md, "Retained alerts and aggregates"): at the receiving side, remove
    every retained message under the partner's prefixes, restart the dialing side's
    broker; the link replays the partner's current states, the stale one stays gone.

    The stale state is made directly at Kaiserslautern (its platform account may publish
    alerts of any prefix): to Kaiserslautern's broker it is the same as a Linz alert
    whose removal never arrived.
    """
    linz, kl = pair.linz, pair.kl
    current = "linz/alerts/rhine-flood/rhein-pegel-1"
    stale = "linz/alerts/rhine-flood/gone"
    publish_retained(linz, "alerting", current, retained_state("alert", current, 1))
    publish_retained(kl, "platform", stale, retained_state("alert", stale, 0))
    wait_until(lambda: retained_at(kl, current) == retained_state("alert", current, 1), 20,
               f"{current} retained at Kaiserslautern", interval=0.1)
    assert retained_at(kl, stale) is not None

    proc = subprocess.run(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(kl.local_port), "-u", "platform",
         "-P", kl.passwords["platform"], "-t", "linz/alerts/#", "-t", "linz/analytics/#",
         "--retained-only", "--remove-retained", "-W", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    assert proc.returncode in (0, 27), proc.stdout  # 27: the timeout ended it
    assert retained_at(kl, stale) is None and retained_at(kl, current) is None

    linz.stop()
    linz.start()
    watcher = kl.watcher("watch", [LINZ_PROBE])
    prober = linz.client("probe")
    try:
        pair.probe(prober, LINZ_PROBE, watcher, timeout=30)
    finally:
        close(prober)
        watcher.close()
    # The replay may come after the probe (one published before the link was up waits
    # in the link's queue ahead of it).
    wait_until(lambda: retained_at(kl, current) == retained_state("alert", current, 1), 20,
               f"{current} replayed to Kaiserslautern", interval=0.1)
    assert retained_at(kl, stale) is None
