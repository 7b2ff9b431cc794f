#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""queue_envelopes.py REDIS_PORT STREAM N OFFSET MQTT_PORT: N sensor.waterlevel envelopes
as the hub writes them (schemas/envelope.md), numbered from OFFSET, written straight
into STREAM with pipelined XADDs. bench_storage queues its backlog with it: through
MQTT and the hub it would take minutes, and that is not what the drain measures."""
import hashlib, sys, time
import msgpack, redis
port, stream, n, off, mqtt = (int(sys.argv[1]), sys.argv[2], int(sys.argv[3]),
                              int(sys.argv[4]), sys.argv[5])
r = redis.Redis(host="127.0.0.1", port=port)
pipe = r.pipeline(transaction=False)
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
    pipe.xadd(stream, {"id": eid, "env": env})
    if k % 5000 == 4999:
        pipe.execute()
pipe.execute()
