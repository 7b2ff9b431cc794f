# SPDX-License-Identifier: MIT
"""The analytics worker's MQTT link in its health: while the broker is away longer than
a moment, the worker reports itself unhealthy (its status hash, the hub's
rheinhub_worker_consumer_healthy), saying that its aggregates wait in the outbox; it is
ok again, the same process, once the link is back. A batch stored meanwhile does not
report it ok: the worker's two causes (the state in Redis, the link) share one word."""

import subprocess

import analytics_helpers as ah
import harness
from sdk_helpers import envelope


def hub_gauge(hub):
    """rheinhub_worker_consumer_healthy of the hub's one consumer, or None before it."""
    values = [v for _, v in hub.metrics().series("rheinhub_worker_consumer_healthy")]
    return values[0] if len(values) == 1 else None


def in_state(r, state):
    st = ah.worker_status(r)
    return st if st.get("state") == state else None


def test_analytics_unhealthy_while_the_broker_is_away(hub_factory, stack, redis_client):
    assert ah.analytics_binary().exists(), f"build {ah.analytics_binary()} first"
    hub = hub_factory(**ah.hub_config())
    r = redis_client
    harness.wait_until(lambda: in_state(r, "ok"), 30, "the analytics worker to report ok")
    harness.wait_until(lambda: hub_gauge(hub) == 1, 30, "the hub's gauge at 1")
    pid = ah.worker_pid(r)
    stack.mosquitto.stop()
    try:
        st = harness.wait_until(lambda: in_state(r, "unhealthy"), 30, "the worker unhealthy")
        assert st["detail"].startswith("no MQTT link to the broker at 127.0.0.1:"), st
        assert st["detail"].endswith("aggregates wait in the outbox"), st
        assert st["pid"] == str(pid), st
        harness.wait_until(lambda: hub_gauge(hub) == 0, 30, "the hub's gauge at 0")
    finally:
        stack.mosquitto.start()
    # libmosquitto's reconnect delay has grown meanwhile (up to 30 s between tries).
    st = harness.wait_until(lambda: in_state(r, "ok"), 60, "the worker ok again")
    assert st["pid"] == str(pid), st  # the same process, not a restart
    harness.wait_until(lambda: hub_gauge(hub) == 1, 30, "the hub's gauge back at 1")


def status_writes(log):
    """The status hash's writes (HSET ... state ...) in a redis-cli monitor log."""
    return [line for line in log.read_text(errors="replace").splitlines()
            if '"HSET"' in line and ':worker:analytics:' in line and '"state"' in line]


def test_analytics_a_stored_batch_keeps_the_link_problem(hub_factory, stack, redis_client,
                                                           tmp_path):
    """Every status write while the broker is away says unhealthy, also right after
    batches that were stored (they report the state's health, not the link's)."""
    hub = hub_factory(**ah.hub_config())
    r = redis_client
    harness.wait_until(lambda: in_state(r, "ok"), 30, "the analytics worker to report ok")
    stream = f"{hub.prefix}events:sensor.waterlevel"
    harness.wait_until(lambda: r.exists(stream) and any(
        g["name"] == b"analytics" for g in r.xinfo_groups(stream)), 30, "the worker's group")
    stack.mosquitto.stop()
    try:
        harness.wait_until(lambda: in_state(r, "unhealthy"), 30, "the worker unhealthy")
        log = tmp_path / "monitor.log"
        with open(log, "wb") as out:
            monitor = subprocess.Popen(["redis-cli", "-p", str(stack.redis_port), "monitor"],
                                       stdout=out, stderr=subprocess.STDOUT)
        try:
            harness.wait_until(lambda: log.read_bytes().startswith(b"OK"), 10,
                               "redis-cli monitor")
            for batch in range(3):  # entries the hub could have written before the outage
                events = [envelope(100 * batch + k) for k in range(3)]
                r.xadd(stream, harness.pack_entry(events))
                harness.wait_until(lambda: ah.processed(r, hub.prefix, [stream]), 30,
                                   "the batch stored and acknowledged")
            harness.wait_until(lambda: status_writes(log), 10, "a status write")
        finally:
            monitor.terminate()
            monitor.wait(10)
        writes = status_writes(log)
        assert not [w for w in writes if '"state" "ok"' in w], writes
        st = in_state(r, "unhealthy")
        assert st and st["detail"].startswith("no MQTT link to the broker at "), st
    finally:
        stack.mosquitto.start()
    harness.wait_until(lambda: in_state(r, "ok"), 60, "the worker ok again")
