# SPDX-License-Identifier: MIT
"""Scale-out figures on the fault matrix's layout (tests/faults/matrix.py --scale N).

Ingest of N events (rheinhub-loadgen at full speed, QoS 1) with one hub
(min_replicas_ack 1, then 0, then 1 again: the cost of WAIT) and with two on the shared
subscription; storage of a backlog of N events with one storage worker and with two.
"""

import signal
import subprocess
import time

from . import build_dir, harness
from .layout import HOST_A


def measure(lay, n):
    """Scale-out figures on the layout: ingest with one hub and with two on the shared
    subscription; storage of a backlog with one storage worker and with two."""
    loadgen = build_dir() / "tests" / "bench" / "rheinhub-loadgen"
    offset = [0]

    def publish(count):
        subprocess.run([loadgen, "-H", HOST_A, "-p", str(lay.mqtt_port), "-n", str(count),
                        "-r", "0", "-q", "1", "-s", "64", "-o", str(offset[0]),
                        "-i", f"faults-scale-{offset[0]}"], check=True, capture_output=True)
        offset[0] += count

    def ingest_rate():
        base = lay.entries_added()
        t0 = time.monotonic()
        publish(n)
        harness.wait_until(lambda: lay.entries_added() >= base + n, 300, "the streams")
        return n / (time.monotonic() - t0)

    def stored():
        return lay.pg.scalar("SELECT count(*) FROM events")

    def storage_rate(hosts):
        for h in ("a", "b"):
            lay.procs[f"storage-{h}"].stop(signal.SIGTERM)
        base = stored()
        publish(n)
        harness.wait_until(lambda: lay.entries_added() is not None, 30, "redis")
        t0 = time.monotonic()
        for h in hosts:
            lay.start_worker(h, "storage")
        harness.wait_until(lambda: stored() >= base + n, 600, "storage of the backlog")
        return n / (time.monotonic() - t0)

    out = {}
    # Hub B has not connected yet: a member of a shared subscription that is away keeps
    # its persistent session, and the broker would queue its share for it.
    out["ingest, 1 hub"] = ingest_rate()
    # The same without WAIT: what redis.min_replicas_ack 1 costs.
    lay.procs["hub-a"].stop(signal.SIGTERM)
    lay.hub_config("a", acks=0)
    lay.procs["hub-a"].start()
    harness.wait_until(lambda: lay.healthz("a") == 200, 30, "hub a healthy")
    out["ingest, 1 hub, min_replicas_ack 0"] = ingest_rate()
    lay.procs["hub-a"].stop(signal.SIGTERM)
    lay.hub_config("a", acks=1)
    lay.procs["hub-a"].start()
    harness.wait_until(lambda: lay.healthz("a") == 200, 30, "hub a healthy")
    out["ingest, 1 hub, min_replicas_ack 1 again"] = ingest_rate()
    lay.procs["hub-b"].start()
    harness.wait_until(lambda: lay.healthz("b") == 200, 30, "hub b healthy")
    out["ingest, 2 hubs ($share)"] = ingest_rate()
    out["storage, 1 worker"] = storage_rate(["a"])
    out["storage, 2 workers (2 hosts)"] = storage_rate(["a", "b"])
    return out
