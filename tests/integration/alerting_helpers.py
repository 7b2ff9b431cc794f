# SPDX-License-Identifier: MIT
"""Helpers for the alerting worker's integration tests (test_alerting*.py).

The tests run the real chain: Mosquitto, the hub with a `workers:` entry whose command
is the built `rheinhub-alerting`, Redis, and MQTT clients on the alert topics the way
operations staff would use them (a subscriber on `+/alerts/#`, `mosquitto_pub` for
acknowledgements). The hub supervises the worker and restarts it after a SIGKILL; the
worker's log lines are in the hub's log.
"""

import json
import os
import socket
import subprocess
import threading
import time
import uuid

import harness

PREFIX = "rheinhub:"
CONSUMER = f"{os.uname().nodename}-1"
STATUS_KEY = f"{PREFIX}worker:alerting:{CONSUMER}"
ALERT_STREAM = f"{PREFIX}events:rheinhub.alert"
TRACKS = f"{PREFIX}alerting:tracks"
OUTBOX = f"{PREFIX}alerting:outbox"
STATS = f"{PREFIX}alerting:stats"
ROUTE_TYPES = ["sensor.*", "service.*", "citizen.*"]

# Short timings, so that reads, ticks and restarts show within a fraction of a second.
WORKER_SETTINGS = {"batch_max": 256, "block_ms": 100, "retry_ms": 1000, "max_deliveries": 5,
                   "heartbeat_ms": 200}


def alerting_binary():
    return harness.build_dir() / "workers" / "alerting" / "rheinhub-alerting"


def require_binary():
    path = alerting_binary()
    assert path.exists(), f"alerting worker not built: {path}"
    return path


def write_rules(tmp, text, name="rules.yaml"):
    path = tmp / name
    path.write_text(text)
    return path


def worker_entry(**kw):
    entry = {"name": "alerting", "command": str(require_binary()), "types": ROUTE_TYPES}
    entry.update(kw)
    return entry


def alerting_hub(hub_factory, rules_path, *, check_interval_ms=100, worker=None, workers=None,
                 start=True, **sections):
    """A hub supervising one alerting worker with the rules file given."""
    settings = dict(WORKER_SETTINGS)
    settings.update(worker or {})
    alerting = {"rules_file": str(rules_path), "check_interval_ms": check_interval_ms}
    alerting.update(sections.pop("alerting", {}))
    return hub_factory(start=start, workers=workers or [worker_entry()], worker=settings,
                       alerting=alerting, **sections)


def status(r):
    return {k.decode(): v.decode() for k, v in r.hgetall(STATUS_KEY).items()}


def worker_pid(r, timeout=30):
    """The pid of the running worker, once it has reported itself ok."""
    st = harness.wait_until(lambda: (lambda s: s if s.get("state") == "ok" else None)(status(r)),
                            timeout, "the alerting worker to report ok")
    return int(st["pid"])


def stats(r):
    return {k.decode(): int(v) for k, v in r.hgetall(STATS).items()}


def stat(r, name):
    return stats(r).get(name, 0)


def stream_alerts(r):
    """The alert envelopes in the stream, oldest first: [(envelope dict, alert dict)]."""
    out = []
    for ev in harness.read_events(r, ALERT_STREAM):
        out.append((ev.env, ev.env["data"]))
    return out


def event_topic(subject, etype="sensor/waterlevel", municipality="linz"):
    return f"{municipality}/{etype}/{subject}"


_clock = [0]


def event_time():
    """A fresh RFC 3339 time for each event, increasing, so no two events are equal."""
    ns = max(time.time_ns(), _clock[0] + 1000)
    _clock[0] = ns
    s, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{frac:09d}Z"


def waterlevel(value, t=None):
    return json.dumps({"time": t or event_time(), "value": value, "unit": "cm"}).encode()


def publish_levels(stack, subject, values):
    harness.publish(stack.mqtt_port, [(event_topic(subject), waterlevel(v)) for v in values])


def mosquitto_pub(stack, topic, payload):
    """Publishes as an operator would, with the broker's own client."""
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(stack.mqtt_port), "-q", "1",
                    "-t", topic, "-m", payload], check=True, timeout=10)


def ack(stack, municipality, rule, subject, by="Bauhof Bereitschaft", comment=None,
        alert_id=None):
    body = {"by": by}
    if comment is not None:
        body["comment"] = comment
    if alert_id is not None:
        body["alert_id"] = alert_id
    mosquitto_pub(stack, f"{municipality}/alerts/{rule}/{subject}/ack", json.dumps(body))


def validate_alert(hub, alert):
    """Checks an alert against schemas/alert.schema.json with `rheinhub validate`."""
    schema = harness.REPO / "schemas" / "alert.schema.json"
    p = subprocess.run([str(hub.binary), "validate", str(schema)], input=json.dumps(alert).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20,
                       env=harness.sanitizer_env())
    assert p.returncode == 0, f"alert not valid: {p.stdout.decode()}\n{alert}"


class AlertWatcher:
    """An MQTT subscriber on the alert topics, as operations staff would run one.

    Every message is kept as (topic, alert dict or None, retain flag, arrival ns); the
    topics of zero-length messages (a retained alert removed) also in `emptied`.
    """

    def __init__(self, stack, topic_filter="+/alerts/#"):
        import paho.mqtt.client as mqtt
        self.messages = []
        self.emptied = []
        self.cond = threading.Condition()
        self.client = mqtt.Client(client_id=f"it-watch-{uuid.uuid4().hex[:10]}",
                                  clean_session=True, protocol=mqtt.MQTTv311)
        self.client.on_socket_open = lambda c, u, sock: sock.setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, rc: c.subscribe(topic_filter, qos=1)
        self.client.on_subscribe = lambda c, u, mid, granted: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", stack.mqtt_port, keepalive=60)
        self.client.loop_start()
        if not subscribed.wait(10):
            self.close()
            raise AssertionError("the alert subscriber got no SUBACK")

    def _on_message(self, client, userdata, msg):
        if msg.topic.endswith("/ack"):
            return
        try:
            alert = json.loads(msg.payload)
        except ValueError:
            alert = None
        with self.cond:
            self.messages.append((msg.topic, alert, bool(msg.retain), time.time_ns()))
            if not msg.payload:
                self.emptied.append(msg.topic)
            self.cond.notify_all()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()

    def alerts(self, topic=None):
        with self.cond:
            return [a for t, a, _, _ in self.messages if topic is None or t == topic]

    def wait_for(self, pred, timeout, what):
        """Waits for a message whose alert satisfies pred; returns that alert."""
        deadline = time.monotonic() + timeout
        with self.cond:
            seen = 0
            while True:
                for t, a, retain, _ in self.messages[seen:]:
                    if a is not None and pred(a):
                        return a
                seen = len(self.messages)
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [(t, a and a.get("state")) for t, a, _, _ in self.messages]
                    raise AssertionError(f"timed out after {timeout} s waiting for {what}; "
                                         f"got {got}")
                self.cond.wait(left)


def retained_alert(stack, topic, timeout=10):
    """What a new subscriber to topic receives at once: the retained alert (and its flag)."""
    w = AlertWatcher(stack, topic)
    try:
        alert = w.wait_for(lambda a: True, timeout, f"the retained message on {topic}")
        with w.cond:
            retain = w.messages[0][2]
        return alert, retain
    finally:
        w.close()


def retained_topics(stack, topic_filter, quiet=1.5):
    """The topics a new subscriber to topic_filter is handed retained messages of, within
    quiet seconds after its SUBACK (the broker sends them right after it)."""
    w = AlertWatcher(stack, topic_filter)
    try:
        time.sleep(quiet)
        with w.cond:
            return [t for t, _, retain, _ in w.messages if retain]
    finally:
        w.close()


def wait_stat(r, name, at_least, timeout=20):
    return harness.wait_until(lambda: stat(r, name) >= at_least and stat(r, name), timeout,
                              f"stat {name} >= {at_least} (stats: {stats(r)})")


def wait_idle(r, hub, timeout=20):
    """Waits until the alerting group has been handed every event and acknowledged it."""
    def done():
        for s in json.loads(r.get(f"{PREFIX}route:alerting"))["streams"]:
            if not r.exists(s):
                continue
            g = {g["name"]: g for g in r.xinfo_groups(s)}.get(b"alerting")
            if g is None or g["pending"] or (g.get("lag") or 0):
                return False
        return True
    harness.wait_until(done, timeout, "the alerting group to catch up")


def wait_applied(r, hub, stream, n, timeout=20):
    """Waits until the hub has written at least n events (an entry may hold several) and
    the alerting group has been handed every entry of stream and has acknowledged all
    it was handed: the worker has applied them (it acknowledges after its writes)."""
    def done():
        if (hub.metric("rheinhub_events_accepted_total") or 0) < n:
            return False
        g = {g["name"]: g for g in r.xinfo_groups(stream)}.get(b"alerting")
        return (g is not None and (g.get("entries-read") or 0) >= 1 and g["pending"] == 0
                and g.get("lag") == 0)
    harness.wait_until(done, timeout, f"the alerting group to apply {n} events of {stream}")
