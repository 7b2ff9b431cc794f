# SPDX-License-Identifier: MIT
"""The operations console across an outage of the broker, without a browser.

The layout of test_console.py (a broker with an operator and a device account, a hub
supervising alerting, storage and the console); the broker is stopped and started again
on its port, with its persistence file, as a restart or a crash of the broker does.
What the page was told during the outage must be what happened, and what the board
shows afterwards must be what the broker holds now.
"""

import json
import queue
import signal
import time
import uuid

import paho.mqtt.client as mqtt

import console_helpers as ch
import harness


def alerts(port, cookie):
    status, _, body = ch.request(port, "GET", "/api/alerts", headers={"Cookie": cookie})
    assert status == 200, (status, body)
    return {a["topic"]: a for a in body["alerts"]}


def gauges(port, cookie):
    """The topics of the aggregates on the board."""
    status, _, body = ch.request(port, "GET", "/api/gauges", headers={"Cookie": cookie})
    assert status == 200, (status, body)
    return {f"{g['municipality']}/analytics/{g['type']}/{g['subject']}/{w}"
            for g in body for w in g["windows"]}


def retained_alert(subject):
    """An active alert as the alerting worker publishes it (docs/alerting.md)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return json.dumps({
        "id": f"linz:it-resync:{subject}:1", "rule": "it-resync", "severity": "warning",
        "state": "active", "municipality": "linz", "type": "sensor.waterlevel",
        "subject": subject, "value": 712, "threshold": 650, "message": f"{subject}: 712 cm",
        "raised_at": now, "updated_at": now, "acked_by": None, "cleared_at": None})


def broker_elsewhere(stack):
    """A second broker on the stack's persistence, on a port of its own that the hub
    and the console do not know: what changes there happens while they are cut off."""
    folder = stack.tmp / "elsewhere"
    folder.mkdir()
    broker = harness.Mosquitto(folder, stack.run_dir)
    broker.start()
    return broker


def raise_alert(stack, port, cookie):
    """A new active rhine-flood alert of its own gauge; returns its topic."""
    gauge = "rhein-pegel-" + uuid.uuid4().hex[:6]
    topic = f"linz/alerts/rhine-flood/{gauge}"
    ch.publish(stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(701))
    harness.wait_until(lambda: topic in alerts(port, cookie), 20, f"the alert {topic}")
    return topic


def ack(port, cookie, csrf, topic):
    return ch.request(port, "POST", "/api/ack", {"topic": topic, "comment": "Deich geprüft"},
                      {"Cookie": cookie, "X-CSRF-Token": csrf}, timeout=30)


class AckWatcher:
    """A persistent MQTT session (clean session false, QoS 1) on the acknowledgement
    topics: the broker keeps what arrives while the watcher is away (its persistence
    file holds the session over a restart) and hands it over in order."""

    def __init__(self, port):
        self.got = queue.Queue()
        self.client = mqtt.Client(client_id="it-ack-" + uuid.uuid4().hex[:8],
                                  clean_session=False, protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, u, f, rc: c.subscribe("linz/alerts/+/+/ack", qos=1)
        self.client.on_message = lambda c, u, m: self.got.put(m.topic)
        self.client.reconnect_delay_set(1, 2)
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()

    def next(self, what):
        try:
            return self.got.get(timeout=60)
        except queue.Empty:
            raise AssertionError(f"no acknowledgement on the broker while waiting for {what}") from None

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def broker_link(port, cookie):
    """Whether the session's own MQTT link is connected, as /api/session says."""
    status, _, body = ch.request(port, "GET", "/api/session", headers={"Cookie": cookie})
    assert status == 200, (status, body)
    return body.get("broker", False)


def test_an_ack_is_withdrawn_or_said_to_be_on_its_way(tmp_path):
    """An acknowledgement sent while the operator's session has no broker connection is
    answered 503 and never sent, not even when the session reaches the broker again:
    the page said it failed, so it must not go through behind the operator's back (and
    twice when the operator tries again). One the broker does not confirm in time (a
    hung broker) is answered 504 unconfirmed, and does arrive. The watcher sees the
    acknowledgements in the order the operator's session sent them: one that went
    through later comes before any that follows it."""
    with ch.running_console(tmp_path) as (stack, _, port, _):
        cookie, csrf = ch.api_login(port)
        first = raise_alert(stack, port, cookie)
        second = raise_alert(stack, port, cookie)
        third = raise_alert(stack, port, cookie)
        watcher = AckWatcher(stack.mqtt_port)
        try:
            harness.wait_until(lambda: watcher.client.is_connected(), 10, "the watcher")
            stack.mosquitto.stop()
            harness.wait_until(lambda: not broker_link(port, cookie), 30,
                               "the session's link down")
            status, _, body = ack(port, cookie, csrf, first)
            assert status == 503 and body["error"] == "broker_unreachable", (status, body)
            stack.mosquitto.start()
            # The operator's session reconnects by itself (1 s, 2 s, 4 s, ...); until
            # then each try is refused and sends nothing.
            harness.wait_until(lambda: ack(port, cookie, csrf, second)[0] == 202, 60,
                               "an acknowledgement taken after the outage", interval=0.5)
            got = watcher.next(f"the acknowledgement of {second}")
            assert got == second + "/ack", f"{got}: the acknowledgement refused with 503 went through"

            stack.mosquitto.proc.send(signal.SIGSTOP)
            try:
                status, _, body = ack(port, cookie, csrf, third)
            finally:
                stack.mosquitto.proc.send(signal.SIGCONT)
            assert status == 504 and body["error"] == "unconfirmed", (status, body)
            got = watcher.next(f"the acknowledgement of {third}")
            assert got == third + "/ack", got
        finally:
            watcher.close()


def test_the_board_follows_what_the_broker_retains_after_a_reconnect(tmp_path):
    """An alert and an aggregate whose retained messages are removed while the console
    is cut off from the broker are not in the broker's replay after the reconnect: the
    board drops them, and keeps the alert and the aggregate that are still retained."""
    with ch.running_console(tmp_path) as (stack, _, port, _):
        cookie, _ = ch.api_login(port)
        tag = uuid.uuid4().hex[:6]
        gone, kept = f"linz/alerts/it-resync/gone-{tag}", f"linz/alerts/it-resync/kept-{tag}"
        agg_gone = f"linz/analytics/sensor.waterlevel/gone-{tag}/15m"
        agg_kept = f"linz/analytics/sensor.waterlevel/kept-{tag}/15m"
        for topic in (gone, kept):
            ch.publish(stack.mqtt_port, topic, retained_alert(topic.rsplit("/", 1)[1]), retain=True)
        for topic in (agg_gone, agg_kept):
            ch.publish(stack.mqtt_port, topic, json.dumps(
                {"window": "15m", "count": 3, "stats": {"value": {"last": 412}}}), retain=True)
        harness.wait_until(lambda: {gone, kept} <= alerts(port, cookie).keys(), 20,
                           "both alerts on the board")
        harness.wait_until(lambda: {agg_gone, agg_kept} <= gauges(port, cookie), 20,
                           "both aggregates on the board")

        stack.mosquitto.stop()
        elsewhere = broker_elsewhere(stack)
        try:
            ch.publish(elsewhere.port, gone, "", retain=True)
            ch.publish(elsewhere.port, agg_gone, "", retain=True)
        finally:
            assert elsewhere.stop() == 0, harness.tail(elsewhere.proc.log_path)
        stack.mosquitto.start()

        # libmosquitto's backoff brings the console back within 1 to 30 s.
        harness.wait_until(lambda: gone not in alerts(port, cookie), 60,
                           f"{gone} off the board after the reconnect", interval=0.2)
        assert kept in alerts(port, cookie), "an alert the broker still retains was removed"
        harness.wait_until(lambda: agg_gone not in gauges(port, cookie), 10,
                           f"{agg_gone} off the board after the reconnect", interval=0.2)
        assert agg_kept in gauges(port, cookie), "an aggregate still retained was removed"


def recent(port, cookie):
    """The topics of the cleared alerts in the board's recent list."""
    status, _, body = ch.request(port, "GET", "/api/alerts", headers={"Cookie": cookie})
    assert status == 200, (status, body)
    return [a["topic"] for a in body["recent"]]


def test_a_forgotten_alert_leaves_the_board(tmp_path):
    """The alerting worker forgets a quiet cleared track and removes its retained alert
    (an empty retained message): the cleared alert leaves the recent list, not counted
    as a malformed payload nor logged as an error (the hub's log is checked after)."""
    alerting = {"rules_file": str(ch.RULES), "check_interval_ms": 100, "forget_after": "5s"}
    with ch.running_console(tmp_path, alerting=alerting) as (stack, _, port, _):
        cookie, _ = ch.api_login(port)
        gauge = "rhein-pegel-" + uuid.uuid4().hex[:6]
        topic = f"linz/alerts/rhine-flood/{gauge}"
        now = time.time()
        for value, t in ((701, now - 1), (600, now)):
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
            ch.publish(stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(value, when))
        harness.wait_until(lambda: topic in recent(port, cookie), 20,
                           f"the cleared alert {topic} in the recent list", interval=0.1)
        assert topic not in alerts(port, cookie)
        harness.wait_until(lambda: topic not in recent(port, cookie), 30,
                           f"{topic} off the recent list once forgotten", interval=0.2)
        assert ch.retained(stack.mqtt_port, topic) is None
        status, _, text = ch.request(port, "GET", "/metrics")
        assert status == 200, (status, text)
        assert harness.Metrics(text).get("rheinhub_console_board_dropped_total") == 0, text
