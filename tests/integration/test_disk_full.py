# SPDX-License-Identifier: MIT
"""A full disk under each process that writes files, while events flow: the storage
worker's SQLite database, Redis's append-only file, the hub's spool. Each writer's file
is on a small tmpfs (disk_helpers) that a filler file takes whole, then gives back.
Checked each time: no crash and no sanitizer report, a log line that says the disk is
full and which file, the unhealthy state with that reason where the writer has one,
every event once after the disk has room again, and recovery without a restart.
(The hub's crash journal: test_journal.py.)
"""

import time

import harness
from disk_helpers import small_disk  # noqa: F401 - fixture
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

    disk.fill()
    n = 5000
    lg = loadgen(n=n, offset=100, rate=2500).start()
    wait_status(redis_client, "unhealthy")
    detail = status(redis_client).get("detail", "")
    assert "database or disk is full" in detail and str(db.path) in detail, detail
    harness.wait_until(lambda: consumer_healthy(hub) == 0, 20, "unhealthy in /metrics")
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
