# SPDX-License-Identifier: MIT
"""A subscription the broker refuses is reported, not only logged.

The broker's ACL comes from Mosquitto's dynamic security plugin, which checks
subscriptions (the acl_file of broker-config/production grants every SUBSCRIBE and
filters each delivery instead). Anonymous clients get the roles of its anonymous group.
"""

import json
import socket
import threading
import time

import pytest

import harness
from broker_helpers import DYNSEC_PLUGIN, dynsec_anonymous
from harness import publish

T = "2026-11-26T08:00:00Z"


def restart_broker(stack):
    stack.mosquitto.stop()
    stack.mosquitto.start()


def health(hub):
    status, body = hub.http_get("/healthz")
    return status, json.loads(body)


def test_refused_subscription_makes_the_hub_unhealthy_until_granted(hub_factory, stack):
    if not DYNSEC_PLUGIN:
        pytest.skip("Mosquitto's dynamic security plugin is not installed")
    acl = stack.tmp / "dynsec.json"
    dynsec_anonymous(stack.mosquitto.conf, acl, ["+/sensor/#", "+/service/#"])
    restart_broker(stack)

    hub = hub_factory(start=False)
    hub.proc.start()
    harness.wait_until(lambda: "refused the subscription to +/citizen/#"
                       in hub.log_path.read_text(), 30, "the broker to refuse +/citizen/#")
    # Both links are up, yet events of the refused filter cannot arrive: not healthy.
    status, body = health(hub)
    assert status == 503, body
    assert body["mqtt"] == "up" and body["redis"] == "up", body
    assert body["subscriptions_refused"] == {"+/citizen/#": "Not authorized"}, body
    m = hub.metrics()
    assert m.get("rheinhub_mqtt_subscriptions_refused") == 1
    assert m.get("rheinhub_mqtt_subscription_refusals_total") == 1

    # The ACL is corrected; after the reconnect every filter is granted again.
    dynsec_anonymous(stack.mosquitto.conf, acl, ["+/sensor/#", "+/service/#", "+/citizen/#"])
    restart_broker(stack)
    harness.wait_until(lambda: hub.healthz() == 200, 30, "/healthz 200 after the reconnect")
    status, body = health(hub)
    assert body["subscriptions_refused"] == {}, body
    m = hub.metrics()
    assert m.get("rheinhub_mqtt_subscriptions_refused") == 0
    assert m.get("rheinhub_mqtt_subscription_refusals_total") == 1
    publish(stack.mqtt_port, [("linz/citizen/feedback/f1",
                               f'{{"time":"{T}","topic":"park","rating":4}}'.encode())])
    harness.wait_until(lambda: hub.metric("rheinhub_events_accepted_total") == 1, 20,
                       "the citizen event to arrive")


class SilentSubackBroker:
    """A stand-in MQTT 5 broker on loopback that accepts the session (CONNACK) and
    answers PINGREQs but holds every SUBSCRIBE's SUBACK until release() is called."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.released = threading.Event()
        self.subscribes = 0
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_packet(conn):
        head = conn.recv(1)
        if not head:
            return None, b""
        length, shift = 0, 0
        while True:
            b = conn.recv(1)[0]
            length |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        body = b""
        while len(body) < length:
            chunk = conn.recv(length - len(body))
            if not chunk:
                return None, b""
            body += chunk
        return head[0] >> 4, body

    def _serve(self, conn):
        try:
            while True:
                kind, body = self._read_packet(conn)
                if kind is None:
                    return
                if kind == 1:                                   # CONNECT
                    conn.sendall(bytes([0x20, 3, 0, 0, 0]))     # CONNACK, no properties
                elif kind == 8:                                 # SUBSCRIBE
                    self.subscribes += 1
                    mid = body[:2]
                    props_len = body[2]                         # < 128 here
                    n = 0
                    rest = body[3 + props_len:]
                    while rest:                                 # filter, options
                        flen = int.from_bytes(rest[:2], "big")
                        rest = rest[2 + flen + 1:]
                        n += 1
                    self.released.wait()
                    conn.sendall(bytes([0x90, 3 + n]) + mid + bytes([0] + [1] * n))
                elif kind == 12:                                # PINGREQ
                    conn.sendall(bytes([0xD0, 0]))
        except OSError:
            return
        finally:
            conn.close()

    def close(self):
        self.stopped = True
        self.released.set()
        self.sock.close()


def test_the_hub_is_healthy_only_once_the_broker_granted_its_subscriptions(hub_factory, stack):
    """A new session receives nothing published before the broker's SUBACK: until it
    comes, /healthz is 503 with "mqtt":"subscribing", so that nobody (the local stack's
    script, systemd's READY, a probe) takes the hub for ready while events could pass it
    by; with the SUBACK it is 200 and "up"."""
    broker = SilentSubackBroker()
    try:
        hub = hub_factory(start=False, mqtt={"port": broker.port})
        hub.proc.start()
        harness.wait_until(lambda: broker.subscribes == 1, 30, "the hub's SUBSCRIBE")
        time.sleep(0.5)  # the hub had time to take itself for ready, if it did
        status, body = health(hub)
        assert status == 503, body
        assert body["mqtt"] == "subscribing" and body["redis"] == "up", body
        assert body["subscriptions_refused"] == {}, body
        broker.released.set()
        harness.wait_until(lambda: hub.healthz() == 200, 10, "/healthz 200 after the SUBACK")
        assert health(hub)[1]["mqtt"] == "up"
    finally:
        broker.close()
