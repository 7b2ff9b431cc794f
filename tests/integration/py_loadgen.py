# SPDX-License-Identifier: MIT
"""The fallback load generator: the command line and payloads of tests/bench/rheinhub-loadgen,
in Python, which harness.Loadgen runs while the C one is not built (or with
RHEINHUB_PY_LOADGEN=1). `python3 py_loadgen.py -H 127.0.0.1 -p PORT -n COUNT ...`.
Also the one MQTT connect the harness's publishers share (mqtt_connect).
"""

import argparse
import os
import socket
import sys
import threading
import time

from harness_streams import loadgen_payload


def mqtt_connect(host, port, client_id, on_publish=None):
    """A connected paho client (MQTT 3.1.1, clean session, TCP_NODELAY, 1000 in flight),
    loop running; None when the broker sends no CONNACK within 10 s."""
    import paho.mqtt.client as mqtt
    c = mqtt.Client(client_id=client_id, clean_session=True, protocol=mqtt.MQTTv311)
    c.on_socket_open = lambda client, userdata, sock: sock.setsockopt(
        socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if on_publish:
        c.on_publish = on_publish
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    connected = threading.Event()
    c.on_connect = lambda client, userdata, flags, rc: connected.set() if rc == 0 else None
    c.connect(host, port, keepalive=60)
    c.loop_start()
    if not connected.wait(10):
        c.loop_stop()
        return None
    return c


def main(argv):
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("-H", dest="host", default="127.0.0.1")
    ap.add_argument("-p", dest="port", type=int, default=1883)
    ap.add_argument("-n", dest="count", type=int, default=1000)
    ap.add_argument("-r", dest="rate", type=float, default=0)
    ap.add_argument("-q", dest="qos", type=int, default=1)
    ap.add_argument("-m", dest="municipality", default="linz")
    ap.add_argument("-T", dest="type", default="sensor.waterlevel")
    ap.add_argument("-s", dest="subjects", type=int, default=1)
    ap.add_argument("-S", dest="prefix", default="s")
    ap.add_argument("-o", dest="offset", type=int, default=0)
    ap.add_argument("-i", dest="client_id", default=f"loadgen-{os.getpid()}")
    a = ap.parse_args(argv)
    category, etype = a.type.split(".", 1)

    done = threading.Event()
    acked = [0]

    def on_publish(client, userdata, mid):
        acked[0] += 1
        if acked[0] >= a.count:
            done.set()

    c = mqtt_connect(a.host, a.port, a.client_id, on_publish)
    if c is None:
        print("loadgen: no CONNACK", file=sys.stderr)
        return 1
    if a.count == 0:
        done.set()
    t0 = time.monotonic()
    for i in range(a.count):
        k = a.offset + i
        if a.rate > 0:
            ahead = t0 + i / a.rate - time.monotonic()
            if ahead > 0.002:
                time.sleep(ahead)
        topic = f"{a.municipality}/{category}/{etype}/{a.prefix}{k % a.subjects}"
        info = c.publish(topic, loadgen_payload(k), qos=a.qos)
        if info.rc != 0:
            print(f"loadgen: publish {k} failed: rc {info.rc}", file=sys.stderr)
            return 1
    ok = done.wait(max(60.0, a.count / 1000.0))
    elapsed = time.monotonic() - t0
    print(f"loadgen: {acked[0]}/{a.count} acked in {elapsed:.2f} s", file=sys.stderr)
    c.disconnect()
    c.loop_stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
