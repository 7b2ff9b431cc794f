#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""queue_envelopes.py REDIS_PORT STREAM N OFFSET MQTT_PORT: N sensor.waterlevel envelopes
as the hub writes them (schemas/envelope.md), numbered from OFFSET, written straight
into STREAM with pipelined XADDs. bench_storage queues its backlog with it: through
MQTT and the hub it would take minutes, and that is not what the drain measures.
One event per entry (fields id and env); with BENCH_PACK=P (2 to 64), P events per
entry as the hub writes them under load (fields n, ids and env: the envelopes back to
back), the last entry holding what is left."""
import hashlib, os, sys, time
import msgpack, redis
port, stream, n, off, mqtt = (int(sys.argv[1]), sys.argv[2], int(sys.argv[3]),
                              int(sys.argv[4]), sys.argv[5])
pack = int(os.environ.get("BENCH_PACK") or 1)
if not 1 <= pack <= 64:
    sys.exit("queue_envelopes.py: BENCH_PACK must be 1 to 64")
r = redis.Redis(host="127.0.0.1", port=port)
pipe = r.pipeline(transaction=False)
held = []  # (event id, envelope) not yet written


def write(events):
    if len(events) == 1:
        pipe.xadd(stream, {"id": events[0][0], "env": events[0][1]})
    else:
        pipe.xadd(stream, {"n": str(len(events)), "ids": msgpack.packb([e for e, _ in events]),
                           "env": b"".join(env for _, env in events)})


for k in range(off, off + n):
    t = "2026-11-25T%02d:%02d:%02d.%06dZ" % (k // 36000000000 % 24, k // 60000000 % 60,
                                              k // 1000000 % 60, k % 1000000)
    eid = hashlib.md5(str(k).encode()).hexdigest()
    subject = "pegel-%d" % (k % 10)
    env = msgpack.packb({
        "specversion": "1.0", "id": eid,
        "source": "mqtt://127.0.0.1:%s/linz/sensor/waterlevel/%s" % (mqtt, subject),
        "type": "sensor.waterlevel", "subject": subject, "time": t, "municipality": "linz",
        "category": "sensor", "receivedtime": time.time_ns(),
        "data": {"time": t, "value": 300 + k % 400, "unit": "cm"}})
    held.append((eid, env))
    if len(held) == pack:
        write(held)
        held = []
    if k % 5000 == 4999:
        pipe.execute()
if held:
    write(held)
pipe.execute()
