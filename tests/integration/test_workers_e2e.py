# SPDX-License-Identifier: MIT
"""Hub, supervisor and worker SDK together: a killed worker loses nothing; scale-out."""

import os
import signal
import socket

import harness


def worker_binary():
    return harness.build_dir() / "workers" / "testworker" / "rheinhub-testworker"


def probe(instances=1, command=True):
    w = {"name": "probe", "types": ["sensor.waterlevel"], "instances": instances}
    if command:
        w["command"] = str(worker_binary())
    return w


def processed(r, prefix="rheinhub:"):
    return r.scard(f"{prefix}test:probe:ids"), int(r.get(f"{prefix}test:probe:calls") or 0)


def status(r, consumer, prefix="rheinhub:"):
    return {k.decode(): v.decode() for k, v in
            r.hgetall(f"{prefix}worker:probe:{consumer}").items()}


def test_worker_killed_mid_stream_loses_nothing(hub_factory, stack, redis_client, loadgen):
    """SIGKILL the worker during 20,000 events at 2,000/s: after its restart every event
    has been processed, each id once by effect (the test worker's set)."""
    assert worker_binary().exists(), "build the test worker first"
    hub = hub_factory(workers=[probe()], worker={"retry_ms": 1000, "heartbeat_ms": 200})
    consumer = f"{socket.gethostname()}-1"
    lg = loadgen(n=20000, rate=2000, offset=100000).start()
    harness.wait_until(lambda: processed(redis_client)[0] > 4000, 30, "the worker under way")
    pid = int(status(redis_client, consumer)["pid"])
    os.kill(pid, signal.SIGKILL)
    lg.wait()
    harness.wait_until(lambda: processed(redis_client)[0] == 20000, 60,
                       "every event processed after the restart")
    ids, calls = processed(redis_client)
    # At least once: what the killed process had read but not acknowledged ran again.
    assert 20000 <= calls <= 20000 + 2 * 256, calls
    assert hub.metric("rheinhub_worker_restarts_total", worker="probe-1") == 1
    harness.wait_until(lambda: status(redis_client, consumer).get("pid") not in (None, str(pid)),
                       10, "the new process's status")
    stream = hub.stream("sensor.waterlevel")
    pending = redis_client.xpending(stream, "probe")["pending"]
    assert pending == 0, pending


def test_two_hubs_and_two_consumers_share_the_load(hub_factory, stack, redis_client, loadgen):
    """Two hub instances on one shared subscription and two consumers in one group:
    every event is written once and processed once, and both share the work."""
    a = hub_factory(name="hub-a", mqtt={"shared_group": "rheinhub"},
                    workers=[probe(instances=2)], worker={"heartbeat_ms": 200})
    b = hub_factory(name="hub-b", mqtt={"shared_group": "rheinhub"},
                    workers=[probe(command=False)])
    n = 10000
    lg = loadgen(n=n, rate=0, offset=200000).start()
    lg.wait()
    harness.wait_until(lambda: processed(redis_client)[0] == n, 60, "every event processed")
    stream = a.stream("sensor.waterlevel")
    # Entries ever added (the hub trims what the group acknowledged every 5 s, so not
    # XLEN): one per event, or fewer where the hub wrote several events in one entry.
    assert 0 < redis_client.xinfo_stream(stream)["entries-added"] <= n
    ids, calls = processed(redis_client)
    assert ids == n, f"{n - ids} events not processed"
    assert calls == n, f"{calls - n} events processed twice"
    got_a = a.metric("rheinhub_events_accepted_total")
    got_b = b.metric("rheinhub_events_accepted_total")
    assert got_a + got_b == n and got_a > 0 and got_b > 0, (got_a, got_b)
    host = socket.gethostname()

    def per_consumer():
        return [int(status(redis_client, f"{host}-{i}").get("processed", 0)) for i in (1, 2)]
    harness.wait_until(lambda: sum(per_consumer()) == n, 10, "both consumers' status")
    assert min(per_consumer()) > 0, per_consumer()
