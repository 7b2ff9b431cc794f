# SPDX-License-Identifier: MIT
"""A QoS 1 publisher over MQTT v5 that re-sends what the broker did not take.

An MQTT v5 PUBACK carries a reason code. Mosquitto answers 0x10 ("no matching
subscribers") when a message matched no subscription, and then drops it. That happens
to rheinhub's events after a restart of Mosquitto 2.0.11 when the hubs share a
subscription ($share/...): the broker does not write shared subscriptions to its
persistence file, so until a hub subscribes again nothing matches
(docs/reliability.md, "The broker restart"). A publisher that treats any reason code
other than 0 as "not taken" and sends the message again a little later loses nothing
there; an MQTT 3.1.1 PUBACK has no reason code, and such a publisher cannot know.

paho 1.6 (Debian 12) reads the reason code of a PUBACK but does not hand it to
on_publish; `Client` here records it first (paho's own packet handler, which this
overrides, still runs and calls on_publish).
"""

import collections
import struct
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

NO_MATCHING_SUBSCRIBERS = 0x10


class Client(mqtt.Client):
    """paho's v5 client; `puback_codes[mid]` is the reason code of each PUBACK received."""

    def __init__(self, client_id):
        super().__init__(client_id=client_id, protocol=mqtt.MQTTv5)
        self.puback_codes = {}

    def _handle_pubackcomp(self, cmd):
        packet = self._in_packet
        if cmd == "PUBACK" and packet["remaining_length"] >= 2:
            mid, = struct.unpack("!H", packet["packet"][:2])
            # No reason code in the packet means 0 (success) [MQTT-3.4.2.1].
            code = packet["packet"][2] if packet["remaining_length"] > 2 else 0
            self.puback_codes[mid] = code
        return super()._handle_pubackcomp(cmd)


class Publisher:
    """QoS 1 messages keyed by the caller's numbers, each sent until the broker took it.

    publish(key, topic, payload) hands one over; poll() (call it often, from one thread)
    collects PUBACKs and re-sends, after retry_s, what came back with a reason code
    other than 0. `taken[key]` is the wall-clock time of the accepting PUBACK; `refused`
    counts the PUBACKs per reason code that made a message go again, `refusals` lists
    them as (key, code).
    """

    def __init__(self, host, port, client_id, *, session_expiry_s=3600, retry_s=0.2,
                 inflight=1000):
        self.client = Client(client_id)
        self.client.max_inflight_messages_set(inflight)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.1, 1)
        self.retry_s = retry_s
        self.pending = {}              # mid -> (key, topic, payload)
        self.waiting = collections.deque()   # (due, key, topic, payload) to send again
        self.acks = collections.deque()      # (mid, time), appended by paho's thread
        self.taken = {}
        self.refused = collections.Counter()
        self.refusals = []             # (key, reason code) of each such PUBACK
        self.collisions = 0            # publishes paho refused: message id still in use
        self.connects, self.disconnects = [], []
        self.connected = threading.Event()
        self.client.on_publish = lambda c, u, mid: self.acks.append((mid, time.time()))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.disconnects.append(time.time())
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = session_expiry_s
        self.client.connect_async(host, port, keepalive=30, clean_start=False,
                                  properties=props)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, rc, props=None):
        self.connects.append(time.time())
        if rc == 0:
            self.connected.set()

    def _send(self, key, topic, payload):
        info = self.client.publish(topic, payload, qos=1)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            # paho's message id is still held by an unacknowledged message: the message
            # was not queued. Try again later rather than lose track of either.
            self.collisions += 1
            self.waiting.append((time.monotonic() + self.retry_s, key, topic, payload))
            return
        # Any other result (MQTT_ERR_NO_CONN while the broker is away) leaves the
        # message with paho, which sends it after the reconnect.
        self.pending[info.mid] = (key, topic, payload)

    def publish(self, key, topic, payload):
        self._send(key, topic, payload)

    def poll(self):
        codes = self.client.puback_codes
        while self.acks:
            mid, when = self.acks.popleft()
            entry = self.pending.pop(mid, None)
            code = codes.pop(mid, 0)
            if entry is None:
                continue
            if code == 0:
                self.taken[entry[0]] = when
            else:
                self.refused[code] += 1
                self.refusals.append((entry[0], code))
                self.waiting.append((time.monotonic() + self.retry_s, *entry))
        now = time.monotonic()
        while self.waiting and self.waiting[0][0] <= now:
            _, key, topic, payload = self.waiting.popleft()
            self._send(key, topic, payload)

    def outstanding(self):
        return len(self.pending) + len(self.waiting)

    def drain(self, timeout):
        """poll() until nothing is outstanding or timeout; True when drained."""
        deadline = time.monotonic() + timeout
        while self.outstanding() and time.monotonic() < deadline:
            self.poll()
            time.sleep(0.02)
        return not self.outstanding()

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()
