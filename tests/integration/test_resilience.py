# SPDX-License-Identifier: MIT
"""Redis slow, away or stopped, the broker away: nothing valid is lost or stored twice."""

import signal
import threading
import time

import pytest

from harness import SENTINEL, SENTINEL_SUBJECT, publish, read_events, settle, wait_until

STREAM = "sensor.waterlevel"


def accepted_at_least(hub, n, timeout=30, interval=0.02):
    wait_until(lambda: hub.metric("rheinhub_events_accepted_total") >= n, timeout,
               f"{n} accepted events", interval=interval)


def settle_and_check(hub, lg, r, clock):
    t_lo, now = clock
    lg.wait(timeout=180)
    events = settle(hub, r, hub.stream(STREAM), sentinel=SENTINEL)
    check = lg.check(events, t_lo, now(), ignore_subjects={SENTINEL_SUBJECT})
    check.assert_exactly_once()
    return check


@pytest.mark.slow
def test_redis_debug_sleep_during_stream(hub_factory, loadgen, redis_client, stack, clock):
    hub = hub_factory(redis={"liveness_timeout_ms": 2000})
    lg = loadgen(n=25000, rate=5000).start()
    accepted_at_least(hub, 2500)
    assert lg.running(), "the stream ended before Redis was put to sleep"

    result = {}

    def sleeper():
        try:
            result["reply"] = stack.redis.client(timeout=30).execute_command("DEBUG", "SLEEP", "5")
        except Exception as exc:  # noqa: BLE001 - reported below
            result["error"] = exc

    th = threading.Thread(target=sleeper, name="debug-sleep")
    th.start()
    th.join(30)
    assert not th.is_alive(), "DEBUG SLEEP 5 did not return"
    assert result.get("reply") in (True, b"OK", "OK"), f"DEBUG SLEEP failed: {result}"

    settle_and_check(hub, lg, redis_client, clock)
    # A server silent for 5 s with liveness_timeout_ms 2000 must have been dropped.
    assert hub.metric("rheinhub_reconnects_total", link="redis") >= 1
    assert hub.metric("rheinhub_redis_connected") == 1


@pytest.mark.slow
def test_redis_restart_during_stream(hub_factory, loadgen, redis_client, stack, clock):
    hub = hub_factory()
    lg = loadgen(n=25000, rate=5000).start()
    accepted_at_least(hub, 5000)
    assert lg.running(), "the stream ended before Redis was restarted"
    stack.redis.shutdown()
    wait_until(lambda: hub.metric("rheinhub_redis_connected") == 0, 10,
               "the hub to notice that Redis is gone")
    stack.redis.start()
    settle_and_check(hub, lg, stack.redis.client(), clock)
    assert hub.metric("rheinhub_reconnects_total", link="redis") >= 1


@pytest.mark.slow
def test_backpressure_pauses_mqtt_while_redis_is_stopped(hub_factory, loadgen, redis_client,
                                                         stack, clock):
    hub = hub_factory(ingest={"queue_max": 200})
    lg = loadgen(n=10000, rate=0).start()
    accepted_at_least(hub, 1, interval=0.005)
    stack.redis.proc.send(signal.SIGSTOP)
    samples = []
    try:
        stopped = time.monotonic()
        while time.monotonic() - stopped < 3.0:
            m = hub.metrics()
            samples.append((m.get("rheinhub_mqtt_paused"), m.get("rheinhub_queue_length"),
                            m.get("rheinhub_events_accepted_total")))
            time.sleep(0.05)
    finally:
        stack.redis.proc.send(signal.SIGCONT)
    paused = [p for p, _, _ in samples]
    queued = [q for _, q, _ in samples]
    assert 1 in paused, f"rheinhub_mqtt_paused never 1 while Redis was stopped: {paused}"
    assert max(queued) <= 200, f"rheinhub_queue_length above queue_max 200: {max(queued)}"
    assert samples[-1][2] < 10000, "every event was accepted before Redis was stopped"

    settle_and_check(hub, lg, redis_client, clock)
    m = hub.metrics()
    assert m.get("rheinhub_mqtt_paused") == 0
    assert m.get("rheinhub_events_duplicate_total") == 0


def test_healthz_503_while_redis_is_down(hub, stack, redis_client):
    assert hub.healthz() == 200
    stack.redis.shutdown()
    wait_until(lambda: hub.healthz() == 503, 15, "/healthz 503 with Redis down")
    assert hub.metric("rheinhub_redis_connected") == 0
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:  # and it stays so while Redis is away
        assert hub.healthz() == 503
        time.sleep(0.1)

    stack.redis.start()
    wait_until(lambda: hub.healthz() == 200, 30, "/healthz 200 with Redis back")
    m = hub.metrics()
    assert m.get("rheinhub_redis_connected") == 1
    assert m.get("rheinhub_reconnects_total", link="redis") >= 1

    r = stack.redis.client()
    publish(stack.mqtt_port, [SENTINEL])
    wait_until(lambda: r.xlen(hub.stream(STREAM)) >= 1, 15, "an event after the reconnect")
    [ev] = read_events(r, hub.stream(STREAM))
    assert ev.env["subject"] == SENTINEL_SUBJECT


def test_healthz_503_while_broker_is_down(hub, stack, redis_client):
    assert hub.healthz() == 200
    stack.mosquitto.stop()
    wait_until(lambda: hub.healthz() == 503, 15, "/healthz 503 with the broker down")
    assert hub.metric("rheinhub_mqtt_connected") == 0

    stack.mosquitto.start()
    wait_until(lambda: hub.healthz() == 200, 30, "/healthz 200 with the broker back")
    m = hub.metrics()
    assert m.get("rheinhub_mqtt_connected") == 1
    assert m.get("rheinhub_reconnects_total", link="mqtt") >= 1

    publish(stack.mqtt_port, [SENTINEL])
    wait_until(lambda: redis_client.xlen(hub.stream(STREAM)) >= 1, 15,
               "an event after the reconnect")
    [ev] = read_events(redis_client, hub.stream(STREAM))
    assert ev.env["subject"] == SENTINEL_SUBJECT
