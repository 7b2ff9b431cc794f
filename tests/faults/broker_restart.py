#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The broker restart on its own: Mosquitto as broker-config/ has it, a QoS 1 stream, SIGTERM.

Starts Mosquitto from broker-config/mosquitto.conf.in (persistence on), N subscribers
with persistent sessions (MQTT v5, session expiry, receive maximum 1000, as the hub
connects) on one shared subscription ($share/g/faults/#) or a plain one, and a QoS 1
publisher (MQTT 3.1.1, persistent session, re-sends what was not acknowledged) at RATE
messages/s. After a few seconds of stream the broker gets SIGTERM, stays down for a
second and starts again from its persistence file; the stream goes on, then stops,
and the script counts what each subscriber got against what the broker acknowledged:

  lost   acknowledged to the publisher, received by no subscriber
  dup    received more than once (QoS 1 may repeat; not a loss)

Then the subscribers disconnect and connect again (sessions kept), to see whether the
missing messages were still held by the broker.

With --pub-v5 the publisher speaks MQTT v5 and sends again what the broker's PUBACK
refused (reason code 0x10, "no matching subscribers", is Mosquitto 2.0.11's answer after
its restart until a subscriber of the shared subscription is back).

Usage: tests/faults/broker_restart.py [--plain] [--subs N] [--no-resubscribe] ...
Prints one JSON line; exits 1 when a message was lost.
"""

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import harness  # noqa: E402

TOPIC = "faults/t"


class Subscriber:
    """A persistent-session subscriber; `got` counts each sequence number received."""

    def __init__(self, port, name, filt, resubscribe, v5=True, delay=0.1):
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties
        self.mqtt, self.filt, self.resubscribe, self.v5 = mqtt, filt, resubscribe, v5
        self.port = port
        self.got = {}
        self.lock = threading.Lock()
        self.connects = []          # session present flag of each CONNACK
        self.subscribed = threading.Event()
        if v5:
            self.client = mqtt.Client(client_id=name, protocol=mqtt.MQTTv5)
            self.props = Properties(PacketTypes.CONNECT)
            self.props.SessionExpiryInterval = 3600
            self.props.ReceiveMaximum = 1000
        else:
            self.client = mqtt.Client(client_id=name, clean_session=False,
                                      protocol=mqtt.MQTTv311)
            self.props = None
        self.client.reconnect_delay_set(delay, max(1, delay))
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()

    def start(self):
        if self.v5:
            self.client.connect_async("127.0.0.1", self.port, keepalive=30, clean_start=False,
                                      properties=self.props)
        else:
            self.client.connect_async("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, rc, props=None):
        present = bool(flags.get("session present"))
        self.connects.append(present)
        if not present or self.resubscribe:
            client.subscribe(self.filt, qos=1)
        else:
            self.subscribed.set()

    def _on_message(self, client, userdata, msg):
        seq = int(msg.payload)
        with self.lock:
            self.got[seq] = self.got.get(seq, 0) + 1

    def received(self):
        with self.lock:
            return dict(self.got)

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()


class V5Publisher(threading.Thread):
    """QoS 1 at RATE/s over MQTT v5, sending again what a PUBACK with a reason code other
    than 0 refused (tests/integration/mqtt5_publisher.py); `acked` what the broker took."""

    def __init__(self, port, rate, pending_max=20000):
        super().__init__(daemon=True)
        import mqtt5_publisher
        self.rate, self.pending_max = rate, pending_max
        self.seq = 0
        self.stop_flag = threading.Event()
        self.mq = mqtt5_publisher.Publisher("127.0.0.1", port, f"faults-br-pub5-{os.getpid()}")

    @property
    def acked(self):
        return set(self.mq.taken)

    @property
    def infos(self):
        return range(self.mq.outstanding())

    def run(self):
        start = time.monotonic()
        while not self.stop_flag.is_set():
            due = int((time.monotonic() - start) * self.rate)
            while self.seq < due and self.mq.outstanding() < self.pending_max:
                self.mq.publish(self.seq, TOPIC, str(self.seq))
                self.seq += 1
            self.mq.poll()
            time.sleep(0.005)

    def stop(self, timeout=30):
        self.stop_flag.set()
        self.join()
        self.mq.drain(timeout)
        self.mq.stop()


class Publisher(threading.Thread):
    """QoS 1 at RATE/s; `acked` holds what the broker acknowledged (on_publish)."""

    def __init__(self, port, rate, clean, pending_max=20000):
        super().__init__(daemon=True)
        import paho.mqtt.client as mqtt
        self.rate, self.pending_max = rate, pending_max
        self.refused_rc = mqtt.MQTT_ERR_QUEUE_SIZE
        self.seq = 0
        self.infos = {}
        self.acked = set()
        self.stop_flag = threading.Event()
        self.client = mqtt.Client(client_id=f"faults-br-pub-{os.getpid()}", clean_session=clean,
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.1, 1)
        self.client.connect_async("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def run(self):
        start = time.monotonic()
        while not self.stop_flag.is_set():
            due = int((time.monotonic() - start) * self.rate)
            while self.seq < due and len(self.infos) < self.pending_max:
                info = self.client.publish(TOPIC, str(self.seq), qos=1)
                if info.rc == self.refused_rc:
                    raise AssertionError(f"paho refused message {self.seq}: mid in use")
                self.infos[self.seq] = info
                self.seq += 1
            self.collect()
            time.sleep(0.005)

    def collect(self):
        # Each message's own MQTTMessageInfo: no mid bookkeeping of ours to go wrong.
        # (is_published() raises for a message first handed over while disconnected,
        # although paho keeps it and sends it after the reconnect; the flag does not.)
        for seq in [s for s, info in self.infos.items() if info._published]:
            self.acked.add(seq)
            del self.infos[seq]

    def stop(self, timeout=30):
        self.stop_flag.set()
        self.join()
        deadline = time.monotonic() + timeout
        while self.infos and time.monotonic() < deadline:
            self.collect()
            time.sleep(0.1)
        self.client.disconnect()
        self.client.loop_stop()


def ranges(seqs):
    out, seqs = [], sorted(seqs)
    for s in seqs:
        if out and out[-1][1] == s - 1:
            out[-1][1] = s
        else:
            out.append([s, s])
    return out


def run(args):
    tmp = Path(tempfile.mkdtemp(prefix="rheinhub-broker-restart."))
    (tmp / "mosquitto").mkdir()
    broker = harness.Mosquitto(tmp, tmp)
    if args.inflight is not None or args.queued is not None:
        text = broker.conf.read_text()
        if args.inflight is not None:
            text = text.replace("max_inflight_messages 1000",
                                f"max_inflight_messages {args.inflight}")
        if args.queued is not None:
            text = text.replace("max_queued_messages 1000000",
                                f"max_queued_messages {args.queued}")
        broker.conf.write_text(text)
    broker.start()
    filt = TOPIC if args.plain else f"$share/g/{TOPIC}"
    subs = [Subscriber(broker.port, f"faults-br-sub-{i}", filt, not args.no_resubscribe,
                       v5=not args.v311, delay=args.sub_delay) for i in range(args.subs)]
    for s in subs:
        s.start()
    for s in subs:
        harness.wait_until(s.subscribed.is_set, 10, "subscribed")
    if args.pub_v5:
        pub = V5Publisher(broker.port, args.rate)
    else:
        pub = Publisher(broker.port, args.rate, args.pub_clean)
    pub.start()
    time.sleep(args.before)
    seq_at_term = pub.seq
    acked_at_term = len(pub.acked)
    broker.proc.stop(signal.SIGTERM)
    time.sleep(args.down)
    broker.start()
    time.sleep(args.after)
    pub.stop()

    def union():
        got = {}
        for s in subs:
            for seq, n in s.received().items():
                got[seq] = got.get(seq, 0) + n
        return got
    def complete():
        # A plain subscription gives every subscriber everything; a shared one, the group.
        if args.plain:
            return all(pub.acked <= set(s.received()) for s in subs)
        return pub.acked <= set(union())
    deadline = time.monotonic() + args.settle
    while time.monotonic() < deadline and not complete():
        time.sleep(0.2)
    got = union()
    lost = pub.acked - set(got)
    # A further reconnect of every subscriber (sessions kept): does the broker still
    # hold what is missing?
    for s in subs:
        s.client.disconnect()
    time.sleep(0.5)
    for s in subs:
        s.client.reconnect()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and lost - set(union()):
        time.sleep(0.2)
    later = lost & set(union())
    result = {
        "shared": not args.plain, "subs": args.subs, "resubscribe": not args.no_resubscribe,
        "sub_protocol": "3.1.1" if args.v311 else "5", "pub_clean": args.pub_clean,
        "pub_v5_resend": args.pub_v5,
        "refused_by_code": dict(pub.mq.refused) if args.pub_v5 else None,
        "inflight": args.inflight, "queued": args.queued, "rate": args.rate,
        "published": pub.seq, "acked": len(pub.acked), "seq_at_term": seq_at_term,
        "acked_at_term": acked_at_term, "unacked_at_end": len(pub.infos),
        "received": len(got), "per_sub": [len(s.received()) for s in subs],
        # A plain subscription gives every subscriber every message: what each missed.
        "per_sub_missing": None if not args.plain else
        [ranges(pub.acked - set(s.received()))[:5] for s in subs],
        "sessions_present": [s.connects for s in subs],
        "dup": sum(n - 1 for n in got.values() if n > 1),
        "lost": len(lost), "lost_ranges": ranges(lost)[:10],
        "delivered_after_reconnect": len(later),
        "sub_delay": args.sub_delay,
    }
    for s in subs:
        s.stop()
    broker.stop()
    if not args.keep:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        result["dir"] = str(tmp)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plain", action="store_true", help="a plain subscription, not $share")
    ap.add_argument("--subs", type=int, default=2)
    ap.add_argument("--no-resubscribe", action="store_true",
                    help="do not subscribe again when the session was resumed")
    ap.add_argument("--v311", action="store_true", help="subscribers speak MQTT 3.1.1")
    ap.add_argument("--pub-clean", action="store_true", help="clean publisher session")
    ap.add_argument("--pub-v5", action="store_true",
                    help="the publisher speaks MQTT v5 and sends again what a PUBACK refused")
    ap.add_argument("--inflight", type=int, default=None, help="max_inflight_messages")
    ap.add_argument("--queued", type=int, default=None, help="max_queued_messages")
    ap.add_argument("--sub-delay", type=float, default=0.1,
                    help="the subscribers' reconnect delay, s (the publisher's is 0.1-1)")
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--before", type=float, default=3.0)
    ap.add_argument("--down", type=float, default=1.0)
    ap.add_argument("--after", type=float, default=3.0)
    ap.add_argument("--settle", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    failed = False
    for _ in range(args.runs):
        r = run(args)
        print(json.dumps(r), flush=True)
        failed |= r["lost"] > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
