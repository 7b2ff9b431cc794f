# SPDX-License-Identifier: MIT
"""A full disk under each process that writes files, while events flow: the storage
worker's SQLite database, Redis's append-only file, the hub's spool. Each writer's file
is on a small tmpfs (disk_helpers) that a filler file takes whole, then gives back.
Checked each time: no crash and no sanitizer report, a log line that says the disk is
full and which file, the unhealthy state with that reason where the writer has one,
every event once after the disk has room again, and recovery without a restart.
(The hub's crash journal: test_journal.py.)
"""

import json
import re
import signal
import time

import harness
from disk_helpers import small_disk  # noqa: F401 - fixture
from harness_streams import count_events
from storage_helpers import (PREFIX, SqliteDb, consumer_healthy, pending, status, storage_hub,
                             wait_count)

WATERLEVEL = f"{PREFIX}events:sensor.waterlevel"
FAST_METRICS = {"trim_interval_ms": 200}  # the hub reads worker status each round


def wait_status(r, state, timeout=30):
    harness.wait_until(lambda: status(r).get("state") == state, timeout,
                       f"the storage worker to report {state} (status: {status(r)})")


def hold_unhealthy(r, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        st = status(r)
        assert st.get("state") == "unhealthy", f"healthy while the disk is full: {st}"
        time.sleep(0.05)


def test_disk_full_sqlite_fails_batches_until_there_is_room(small_disk, hub_factory, stack,
                                                            redis_client, loadgen):
    """SQLite's file fills its disk: the batches fail (SQLITE_FULL), nothing is
    acknowledged, the worker says unhealthy with SQLite's reason and the file; once the
    filler is gone it stores every event once, without a restart."""
    disk = small_disk("8m")
    db = SqliteDb(disk.path / "rheinhub.db")
    hub = storage_hub(hub_factory, db.storage_section(), redis=dict(FAST_METRICS))
    loadgen(n=100).start().wait()
    wait_count(db, 100, hub=hub)
    wait_status(redis_client, "ok")
    worker = status(redis_client)["pid"]

    n = 5000
    lg = loadgen(n=n, offset=100, rate=2500).start()
    disk.fill()  # while the events flow
    wait_status(redis_client, "unhealthy")
    detail = status(redis_client).get("detail", "")
    assert "database or disk is full" in detail and str(db.path) in detail, detail
    harness.wait_until(lambda: consumer_healthy(hub) == 0, 20, "unhealthy in /metrics")
    named = healthz(hub)[1]["consumers_unhealthy"]
    assert list(named.values()) == [detail], named  # /healthz names the file too
    log = hub.log_path.read_text()
    assert f"database unavailable: sqlite {db.path}" in log and "disk is full" in log
    harness.wait_until(lambda: pending(redis_client, WATERLEVEL) > 0, 20, "a batch held")
    assert db.count() < 100 + n, "every event was stored before the disk was full"
    # Unhealthy for as long as the disk is full, also between the retries, and the log
    # does not say the database is back.
    lg.wait()
    hold_unhealthy(redis_client, 3.0)
    assert "available again" not in hub.log_path.read_text()

    disk.free()
    wait_count(db, 100 + n, timeout=60, hub=hub)
    wait_status(redis_client, "ok")
    harness.wait_until(lambda: consumer_healthy(hub) == 1, 20, "healthy again in /metrics")
    harness.wait_until(lambda: pending(redis_client, WATERLEVEL) == 0, 20, "nothing pending")
    assert db.count() == 100 + n and db.distinct_ids() == 100 + n
    assert status(redis_client)["pid"] == worker, "the worker was restarted"
    assert "available again" in hub.log_path.read_text()
    hub.term()


def healthz(hub):
    status, body = hub.http_get("/healthz")
    return status, json.loads(body)


def degraded(hub):
    """The /healthz body while it answers 503, else None."""
    status, body = healthz(hub)
    return body if status == 503 else None


def test_disk_full_redis_aof_refuses_writes_and_the_hub_retries(small_disk, hub_factory, stack,
                                                                request, loadgen, tmp_path):
    """Redis's append-only file fills its disk: Redis refuses writes (MISCONF) until it
    can write the file again. The hub keeps what Redis refused and sends it again,
    /healthz says degraded with Redis's reason meanwhile, and once the disk has room
    every event is written to its stream and stored, each once, without a restart."""
    disk = small_disk("16m")
    (disk.path / "redis").mkdir()
    (tmp_path / "aof").mkdir()
    red = harness.Redis(tmp_path / "aof", disk.path)
    harness.add_logs(request.node, ("redis on the small disk", red.proc.log_path))
    red.start()
    try:
        r = red.client()
        db = SqliteDb(tmp_path / "data" / "rheinhub.db")
        db.path.parent.mkdir()
        hub = storage_hub(hub_factory, db.storage_section(),
                          redis={"port": red.port, "trim_interval_ms": 200})
        loadgen(n=100).start().wait()
        wait_count(db, 100, hub=hub)
        assert healthz(hub)[0] == 200

        n = 3000
        lg = loadgen(n=n, offset=100, rate=1500).start()
        disk.fill()  # while the events flow
        refusal = "MISCONF Errors writing to the AOF file: No space left on device"
        harness.wait_until(lambda: refusal in hub.log_path.read_text(), 20,
                           "the hub to log Redis's refusal")
        body = harness.wait_until(lambda: degraded(hub), 10,
                                  "/healthz degraded while Redis refuses writes")
        assert body["status"] == "degraded" and body["redis_refusing"] == refusal, body
        assert hub.metric("rheinhub_redis_refusing_writes") == 1
        lg.wait()
        time.sleep(2)  # trim rounds and status heartbeats (200 ms each) that Redis refuses
        assert hub.metric("rheinhub_events_accepted_total") < 100 + n, \
            "every event was written before the disk was full"

        disk.free()
        wait_count(db, 100 + n, timeout=60, hub=hub)
        harness.wait_until(lambda: healthz(hub)[0] == 200, 10, "/healthz ok again")
        assert healthz(hub)[1]["redis_refusing"] is None
        assert hub.metric("rheinhub_redis_refusing_writes") == 0
        assert hub.metric("rheinhub_events_accepted_total") == 100 + n
        assert db.count() == 100 + n and db.distinct_ids() == 100 + n
        harness.wait_until(lambda: pending(r, WATERLEVEL) == 0, 20, "nothing pending")
        log = hub.log_path.read_text()
        assert "Redis takes writes again" in log
        # What Redis refuses over and over is logged when it starts and when it ends.
        said = [ln for ln in log.splitlines() if refusal in ln]
        for what in ("Redis is refusing writes", f"XTRIM {WATERLEVEL}",
                     f"status {PREFIX}worker:storage:"):
            assert sum(what in ln for ln in said) == 1, "\n".join(said)
        harness.wait_until(lambda: "trimming works again" in hub.log_path.read_text(), 10,
                           "the hub's trim to work again")
        harness.wait_until(lambda: re.search(rf"status {PREFIX}worker:storage:\S+ written again",
                                             hub.log_path.read_text()), 10,
                           "the worker's status to be written again")
        hub.term()
    finally:
        red.stop()


def hub_holding_events(hub_factory, stack, loadgen, n, spool, **overrides):
    """A hub with its spool at spool that holds n events Redis never confirmed: Redis is
    stopped first, then n events are published."""
    hub = hub_factory(shutdown={"spool_file": str(spool), "drain_timeout_s": 1}, **overrides)
    stack.redis.shutdown()
    harness.wait_until(lambda: hub.metric("rheinhub_redis_connected") == 0, 10,
                       "the hub to notice that Redis is gone")
    loadgen(n=n).start().wait()
    harness.wait_until(lambda: hub.metric("rheinhub_events_received_total") >= n, 15,
                       f"the hub to take the {n} events")
    return hub


def test_disk_full_spool_waits_for_room_and_loses_nothing(small_disk, hub_factory, stack,
                                                          loadgen):
    """The hub stops while Redis is away and the spool's disk is full: it cannot save
    what Redis has not confirmed, says so, and waits instead of dropping it; once the
    disk has room it writes the spool and exits 0, and the next start sends every event
    to Redis once."""
    disk = small_disk("4m")
    spool = disk.path / "hub.spool"
    n = 200
    hub = hub_holding_events(hub_factory, stack, loadgen, n, spool)

    disk.fill()
    hub.proc.send(signal.SIGTERM)
    said = f"cannot write the spool {spool}: No space left on device"
    harness.wait_until(lambda: said in hub.log_path.read_text(), 15, "the spool's error")
    time.sleep(1.5)  # past the next attempt: the stop waits while the disk is full
    assert hub.running(), "the hub exited with what it could not save"
    assert not spool.exists()

    disk.free()
    assert hub.proc.wait(20) == 0
    hub.assert_clean()
    assert spool.exists()
    stack.redis.start()
    hub.start()
    r = stack.redis.client()
    harness.wait_until(lambda: count_events(r, WATERLEVEL) >= n, 20, f"{n} events in Redis")
    harness.wait_until(lambda: not spool.exists(), 10, "the spool removed once sent")
    events = harness.read_events(r, WATERLEVEL)
    assert len(events) == n and len({ev.event_id for ev in events}) == n
    hub.term()


def test_disk_full_spool_with_the_journal_does_not_wait(small_disk, hub_factory, stack, loadgen,
                                                        tmp_path):
    """With the crash journal on, a spool that cannot be written loses nothing: the
    events stay in the journal. The stop does not wait for room then; the next start
    sends every event to Redis once, from the journal."""
    disk = small_disk("4m")
    spool = disk.path / "hub.spool"
    n = 200
    hub = hub_holding_events(hub_factory, stack, loadgen, n, spool,
                             journal={"dir": str(tmp_path / "journal")})

    disk.fill()
    hub.proc.send(signal.SIGTERM)
    assert hub.proc.wait(20) == 0
    hub.assert_clean()
    log = hub.log_path.read_text()
    assert f"cannot write the spool {spool}: No space left on device" in log, log[-2000:]
    assert "but for the events in the journal" in log, log[-2000:]
    assert not spool.exists()
    disk.free()
    stack.redis.start()
    hub.start()
    r = stack.redis.client()
    harness.wait_until(lambda: count_events(r, WATERLEVEL) >= n, 20, f"{n} events in Redis")
    events = harness.read_events(r, WATERLEVEL)
    assert len(events) == n and len({ev.event_id for ev in events}) == n
    hub.term()