# SPDX-License-Identifier: MIT
"""The steady stream of the fault matrix: a QoS 1 publisher and what the broker took.

RATE events/s, round robin over the three types and 8 subjects, each with its sequence
number in the payload (`fw: seq-N`), over MQTT v5 through a persistent session (paho
re-sends what was not acknowledged after a reconnect).

An event counts as acknowledged when its PUBACK carried reason code 0. The publisher is
tests/integration/mqtt5_publisher.py: a PUBACK with another code (0x10, "no matching
subscribers", is what Mosquitto 2.0.11 answers after its restart until a hub subscribes
again, and it drops the message) makes it send the event again 0.2 s later; the number
of such answers is reported (`refused`), so the broker's limitation stays visible while
the stream loses nothing to it. paho's message ids (1..65535) are checked too: a publish
paho refuses because the id is still held is sent again, never counted as published.
For each event the wall-clock times of its first hand-over and of its acceptance are
kept, so that a loss can be placed in time.
"""

import json
import os
import threading
import time

import mqtt5_publisher

from .layout import HOST_A, TYPES

SUBJECTS = 8
PENDING_MAX = 20000


class Publisher(threading.Thread):
    """Publishes RATE events/s at QoS 1 until stopped.

    `acked` is the set of sequence numbers the broker took (reason code 0);
    `sent_at[seq]` and `acked_at[seq]` the wall-clock times of first hand-over and
    acceptance; `refused` the PUBACKs per reason code that made an event go again.
    """

    def __init__(self, port, rate):
        super().__init__(daemon=True)
        self.rate = rate
        self.seq = 0
        self.sent_at = []
        self.stop_flag = threading.Event()
        self.mq = mqtt5_publisher.Publisher(HOST_A, port, f"faults-pub-{os.getpid()}")
        self.acked_at = self.mq.taken
        self.refused = self.mq.refused
        self.connects, self.disconnects = self.mq.connects, self.mq.disconnects

    @property
    def acked(self):
        return set(self.mq.taken)

    @property
    def collisions(self):
        return self.mq.collisions

    @staticmethod
    def message(seq):
        kind = TYPES[seq % len(TYPES)]
        subject = f"s{(seq // len(TYPES)) % SUBJECTS}"
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + \
            f".{int(now * 1e6) % 1000000:06d}Z"
        if kind == "sensor.waterlevel":
            data = {"time": stamp, "value": 300 + (seq * 7) % 600, "unit": "cm", "trend": 0,
                    "fw": f"seq-{seq}"}
        elif kind == "sensor.parking":
            data = {"time": stamp, "status": "free", "available": seq % 120, "total": 120,
                    "fw": f"seq-{seq}"}
        else:
            data = {"time": stamp, "pm10": float(seq % 50), "fw": f"seq-{seq}"}
        return f"linz/{kind.replace('.', '/')}/{subject}", json.dumps(data)

    def run(self):
        start = time.monotonic()
        while not self.stop_flag.is_set():
            due = int((time.monotonic() - start) * self.rate)
            # At most PENDING_MAX outstanding, far below paho's 65535 message ids; the
            # rate becomes what the broker takes.
            while self.seq < due and self.mq.outstanding() < PENDING_MAX and \
                    not self.stop_flag.is_set():
                topic, payload = self.message(self.seq)
                self.mq.publish(self.seq, topic, payload)
                self.sent_at.append(time.time())
                self.seq += 1
            self.mq.poll()
            time.sleep(0.005)

    def published(self):
        return self.seq

    def rate_achieved(self, seconds):
        return self.seq / seconds if seconds > 0 else 0

    def stop(self, timeout=120):
        self.stop_flag.set()
        self.join()
        self.mq.drain(timeout)
        self.mq.stop()
