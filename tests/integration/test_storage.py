# SPDX-License-Identifier: MIT
"""The storage worker against the real chain: MQTT -> hub -> Redis -> rheinhub-storage ->
SQLite or PostgreSQL. Exactly once by effect (duplicates, SIGKILL mid-batch), poison
entries, the database locked, gone and back, alerts and aggregates, retention.

Tests that take `db` run once per backend; the PostgreSQL run skips (with the reason)
only where no server can be started (storage_helpers.postgres).
"""

import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

import harness
from harness import loadgen_payload, loadgen_time, publish
from storage_helpers import (PREFIX, consumer_healthy, pending, run_query, SqliteDb, status,
                             storage_hub, wait_count, worker_pid)
from storage_helpers import postgres  # noqa: F401 - fixture

WATERLEVEL = f"{PREFIX}events:sensor.waterlevel"
FAST_METRICS = {"trim_interval_ms": 200}  # the hub reads worker status each round


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        return SqliteDb(tmp_path / "data" / "rheinhub.db")
    return request.getfixturevalue("postgres")


@pytest.fixture
def sqlite_db(tmp_path):
    return SqliteDb(tmp_path / "data" / "rheinhub.db")


def make_hub(hub_factory, db, **kw):
    storage = db.storage_section()
    storage.update(kw.pop("storage", {}))
    if db.backend == "sqlite":
        db.path.parent.mkdir(parents=True, exist_ok=True)
    redis = dict(FAST_METRICS)
    redis.update(kw.pop("redis", {}))
    return storage_hub(hub_factory, storage, redis=redis, **kw)


def wait_status(r, state, timeout=30):
    harness.wait_until(lambda: status(r).get("state") == state, timeout,
                       f"the storage worker to report {state} (status: {status(r)})")


def wait_group_done(r, stream, timeout=60):
    """Waits until the storage group has read and acknowledged everything in stream."""
    def done():
        info = {g["name"]: g for g in r.xinfo_groups(stream)}
        g = info[b"storage"]
        return g["pending"] == 0 and g.get("lag", 1) == 0
    harness.wait_until(done, timeout, f"the storage group to finish {stream}")


def entry_key(entry_id):
    ms, seq = (entry_id.decode() if isinstance(entry_id, bytes) else entry_id).split("-")
    return int(ms), int(seq)


def acked_events(r, hub, stream):
    """Events of stream the storage group has acknowledged: the events the hub wrote
    minus those in entries the group has not acknowledged (pending or not yet read; an
    entry may hold several events). Those entries are all still in the stream: it is
    trimmed only to what every group acknowledged."""
    while True:
        written = hub.metric("rheinhub_events_accepted_total") or 0
        g = {g["name"]: g for g in r.xinfo_groups(stream)}[b"storage"]
        last = entry_key(g["last-delivered-id"])
        held = {p["message_id"] for p in r.xpending_range(stream, "storage", "-", "+", 1000000)}
        unacked = sum(harness.entry_event_count(f) for eid, f in harness.read_stream(r, stream)
                      if eid in held or entry_key(eid) > last)
        if (hub.metric("rheinhub_events_accepted_total") or 0) == written:
            return written - unacked


def assert_nothing_acked_unstored(r, hub, stored, db=None, retries=1.5):
    """The group holds entries it could not store and has acknowledged only the stored
    events (the count of rows when db can be read), also over the retries of the next
    seconds."""
    harness.wait_until(lambda: pending(r, WATERLEVEL) > 0, 20, "a batch read and held")
    end = time.monotonic() + retries
    while True:
        assert pending(r, WATERLEVEL) > 0
        got = acked_events(r, hub, WATERLEVEL)
        assert got == stored, (got, stored)
        if db is not None:
            assert db.count() == stored
        if time.monotonic() >= end:
            return
        time.sleep(0.1)


def deadletters(r):
    return [{k.decode(): v for k, v in f.items()}
            for _, f in harness.read_stream(r, f"{PREFIX}deadletter")]


# ---------------------------------------------------------------------------


def test_storage_every_event_once_with_duplicates(hub_factory, stack, redis_client, db, loadgen,
                                                  clock):
    # No trimming: the test reads the stream back after storage acknowledged it.
    hub = make_hub(hub_factory, db, redis={"trim_interval_ms": 3600000})
    n = 1000
    lg = loadgen(n=n, subjects=10).start()
    lg.wait()
    wait_count(db, n, hub=hub)

    # Redeliveries past the hub's own duplicate window (a bridge replay, a restarted
    # hub): the same envelopes, same ids, appended to the stream again.
    events = harness.read_events(redis_client, WATERLEVEL)
    assert len(events) == n
    pipe = redis_client.pipeline(transaction=False)
    for ev in events[::3]:
        pipe.xadd(WATERLEVEL, harness.pack_entry([(ev.event_id, ev.raw)]))
    pipe.execute()
    wait_group_done(redis_client, WATERLEVEL)
    assert db.count() == n
    assert db.distinct_ids() == n
    assert not deadletters(redis_client), deadletters(redis_client)

    # Each row is its envelope: columns and the payload as sent (compact, in order).
    out = run_query(hub.config_path, "--format", "jsonl").stdout.decode().splitlines()
    assert len(out) == n
    by_id = {}
    for ev in events:
        by_id[ev.env["id"]] = ev.env
    t_lo, now = clock
    seen = []
    for line in out:
        row = json.loads(line)
        env = by_id[row["id"]]
        k = int(env["time"][-10:-1])
        seen.append(k)
        assert row["time"] == loadgen_time(k)
        assert row["subject"] == f"s{k % 10}"
        assert (row["municipality"], row["category"], row["type"]) == \
            ("linz", "sensor", "sensor.waterlevel")
        assert row["source"] == env["source"]
        assert row["received"] == env["receivedtime"] and t_lo <= row["received"] <= now()
        if db.backend == "sqlite":  # the payload's text as sent, key order kept
            assert json.dumps(row["data"], separators=(",", ":")).encode() == loadgen_payload(k)
        else:  # jsonb keeps the value, not the key order
            assert row["data"] == json.loads(loadgen_payload(k))
    assert sorted(seen) == list(range(n))
    if db.backend == "sqlite":
        assert seen == sorted(seen), "rows are not ordered by time"
    else:  # timestamptz orders to the microsecond; the loadgen's k is in the nanoseconds
        assert [k // 1000 for k in seen] == sorted(k // 1000 for k in seen)


def test_storage_batches_of_stored_and_new_events_keep_the_new_once(hub_factory, stack,
                                                                    redis_client, db, loadgen):
    """Entries that mix events already stored with new ones (a redelivery that overlaps
    fresh data): PostgreSQL's straight COPY refuses such a batch and it goes the careful
    way, so every new event is a row once and no stored one twice; entries of new events
    only, after them, are stored too (the straight path again)."""
    import msgpack

    hub = make_hub(hub_factory, db, redis={"trim_interval_ms": 3600000})
    n = 400
    loadgen(n=n, subjects=10).start().wait()
    wait_count(db, n, hub=hub)
    events = harness.read_events(redis_client, WATERLEVEL)
    assert len(events) == n

    def renamed(ev, new_id):
        env = msgpack.unpackb(ev.raw, raw=False)
        env["id"] = new_id
        return new_id, msgpack.packb(env)

    pipe = redis_client.pipeline(transaction=False)
    mixed = 0
    for i in range(0, 200, 4):  # 50 entries: 4 stored events, then 4 new ones
        old = [(ev.event_id, ev.raw) for ev in events[i:i + 4]]
        new = [renamed(ev, f"mixed-{i + k}") for k, ev in enumerate(events[i:i + 4])]
        pipe.xadd(WATERLEVEL, harness.pack_entry(old + new))
        mixed += len(new)
    pipe.execute()
    wait_group_done(redis_client, WATERLEVEL)
    assert db.count() == n + mixed
    assert db.distinct_ids() == n + mixed

    fresh = 0
    for i in range(200, 400, 8):  # 25 entries of new events only
        redis_client.xadd(WATERLEVEL, harness.pack_entry(
            [renamed(ev, f"fresh-{i + k}") for k, ev in enumerate(events[i:i + 8])]))
        fresh += 8
        wait_group_done(redis_client, WATERLEVEL)  # one batch each
    assert db.count() == n + mixed + fresh
    assert db.distinct_ids() == n + mixed + fresh
    assert not deadletters(redis_client), deadletters(redis_client)


@pytest.mark.slow
def test_storage_single_event_is_stored_promptly(hub_factory, stack, redis_client, db):
    """At a low rate nothing waits for a batch to fill: one event, then another right
    after the first commit (inside storage.commit_interval_ms), each a row within 2 s of
    its PUBACK (docs/performance.md has the measured figure). The rows are counted by one
    open connection every 5 ms (a psql started per look would take longer itself)."""
    hub = make_hub(hub_factory, db)
    wait_status(redis_client, "ok")
    if db.backend == "sqlite":
        count, client = db.count, None
    else:
        client = subprocess.Popen(
            ["psql", "-h", "127.0.0.1", "-p", str(db.port), "-U", "postgres", "-d", "postgres",
             "-X", "-At", "-q"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            bufsize=1)

        def count():
            client.stdin.write("SELECT count(*) FROM events;\n")
            return int(client.stdout.readline())
    try:
        assert count() == 0  # the client is up before the clock starts
        for k in range(2):
            payload = json.dumps({"time": f"2026-11-26T06:00:0{k}Z", "value": 400 + k,
                                  "unit": "cm"}).encode()
            publish(stack.mqtt_port, [("linz/sensor/waterlevel/pegel-1", payload)])
            t0 = time.monotonic()
            harness.wait_until(lambda: count() >= k + 1, 10, f"event {k + 1} stored",
                               interval=0.005)
            took = time.monotonic() - t0
            print(f"{db.backend}: event {k + 1} a row {took * 1000:.0f} ms after its PUBACK")
            assert took < 2.0, f"event {k + 1} took {took:.3f} s to be stored"
        assert hub.running()
    finally:
        if client:
            client.stdin.close()
            client.wait(10)


def test_storage_sigkill_mid_batch_stores_everything_once(hub_factory, stack, redis_client, db,
                                                          loadgen):
    hub = make_hub(hub_factory, db)
    phase, phases = 6000, 3
    n = phase * phases
    harness.wait_until(lambda: worker_pid(redis_client), 30, "the storage worker's status")
    # Three phases of 6,000 events at 4,000/s, each published after the kill of the one
    # before: every kill meets a worker with events still to store, however fast it
    # drains (on a loaded machine a restarted worker caught up with a single stream
    # before the next kill); each read still takes a batch of a few hundred events.
    kills, mid_batch = 0, 0
    for k in range(phases):
        lg = loadgen(n=phase, rate=4000, subjects=16, offset=k * phase).start()
        pid = worker_pid(redis_client)
        harness.wait_until(lambda: db.count() >= k * phase + 2000, 120,
                           f"{k * phase + 2000} rows stored")
        # Kill it while it holds a batch: entries read and not yet acknowledged.
        try:
            harness.wait_until(lambda: pending(redis_client, WATERLEVEL) > 0, 5,
                               "a batch in hand", interval=0.001)
            mid_batch += 1
        except AssertionError:
            pass
        os.kill(pid, signal.SIGKILL)
        kills += 1
        harness.wait_until(lambda: worker_pid(redis_client) not in (None, pid), 30,
                           "the supervisor to start the worker again")
        lg.wait()
    assert mid_batch >= 1, "no kill found entries read and not yet acknowledged"
    wait_count(db, n, timeout=180, hub=hub)
    wait_group_done(redis_client, WATERLEVEL)
    assert db.count() == n, f"{db.count()} rows for {n} events"
    assert db.distinct_ids() == n
    if db.backend == "sqlite":
        times = {t for (t,) in db.rows("SELECT time FROM events")}
    else:
        times = set(db.psql("SELECT time FROM events").stdout.decode().split())
    assert times == {loadgen_time(k) for k in range(n)}
    assert not deadletters(redis_client)
    print(f"{kills} kills, {mid_batch} with a batch in hand; {n} rows, each once")


def test_storage_poison_entry_goes_to_deadletter(hub_factory, stack, redis_client, sqlite_db,
                                                 loadgen):
    hub = make_hub(hub_factory, sqlite_db)
    lg = loadgen(n=50, subjects=5).start()
    lg.wait()
    wait_count(sqlite_db, 50, hub=hub)
    poison_id = redis_client.xadd(WATERLEVEL, {"id": "bogus", "env": b"\xc1 not msgpack"})
    lg2 = loadgen(n=50, offset=50, subjects=5).start()
    lg2.wait()
    wait_count(sqlite_db, 100, hub=hub)
    wait_group_done(redis_client, WATERLEVEL)
    dl = deadletters(redis_client)
    assert len(dl) == 1, dl
    assert dl[0]["reason"] == b"poison"
    assert dl[0]["entry"] == poison_id
    assert dl[0]["stream"] == WATERLEVEL.encode()
    assert dl[0]["group"] == b"storage"
    assert sqlite_db.count() == 100


def test_storage_locked_database_retries_and_catches_up(hub_factory, stack, redis_client,
                                                        sqlite_db, loadgen):
    hub = make_hub(hub_factory, sqlite_db)
    loadgen(n=100).start().wait()
    wait_count(sqlite_db, 100, hub=hub)
    wait_group_done(redis_client, WATERLEVEL)
    wait_status(redis_client, "ok")

    # Another writer holds the database's write lock for as long as the test needs.
    locker = sqlite3.connect(str(sqlite_db.path), isolation_level=None, timeout=10)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        loadgen(n=300, offset=100).start().wait()
        wait_status(redis_client, "unhealthy")
        harness.wait_until(lambda: consumer_healthy(hub) == 0, 20,
                           "rheinhub_worker_consumer_healthy 0 in /metrics")
        assert "database is locked" in hub.log_path.read_text()
        assert_nothing_acked_unstored(redis_client, hub, 100, sqlite_db)
    finally:
        locker.rollback()
        locker.close()
    wait_count(sqlite_db, 400, hub=hub)
    wait_group_done(redis_client, WATERLEVEL)
    wait_status(redis_client, "ok")
    harness.wait_until(lambda: consumer_healthy(hub) == 1, 20, "healthy again in /metrics")
    assert sqlite_db.count() == 400 and sqlite_db.distinct_ids() == 400


def test_storage_database_file_gone_and_back(hub_factory, stack, redis_client, sqlite_db,
                                             loadgen, tmp_path):
    hub = make_hub(hub_factory, sqlite_db)
    loadgen(n=100).start().wait()
    wait_count(sqlite_db, 100, hub=hub)
    wait_group_done(redis_client, WATERLEVEL)
    wait_status(redis_client, "ok")

    # The file goes away (moved to another folder, as an unmounted volume would).
    away = tmp_path / "away"
    away.mkdir()
    os.rename(sqlite_db.path, away / "rheinhub.db")
    wait_status(redis_client, "unhealthy")
    harness.wait_until(lambda: consumer_healthy(hub) == 0, 20, "unhealthy in /metrics")
    assert "gone" in status(redis_client).get("detail", "")
    loadgen(n=200, offset=100).start().wait()
    # (What was committed is in the WAL next to where the file was: SQLite does not
    # checkpoint into a file that was moved, so only Redis can be asked here.)
    assert_nothing_acked_unstored(redis_client, hub, 100)
    assert not sqlite_db.path.exists(), "the worker made a new, empty database"

    # Back where it was: the worker opens it again and stores what waited.
    for suffix in ("", "-wal", "-shm"):
        if (away / f"rheinhub.db{suffix}").exists():
            os.rename(away / f"rheinhub.db{suffix}", f"{sqlite_db.path}{suffix}")
    wait_count(sqlite_db, 300, hub=hub)
    wait_group_done(redis_client, WATERLEVEL)
    wait_status(redis_client, "ok")
    harness.wait_until(lambda: consumer_healthy(hub) == 1, 20, "healthy again in /metrics")
    assert sqlite_db.count() == 300 and sqlite_db.distinct_ids() == 300


def test_storage_postgres_stopped_and_back(hub_factory, stack, redis_client, postgres, loadgen):
    hub = make_hub(hub_factory, postgres)
    loadgen(n=100).start().wait()
    wait_count(postgres, 100, hub=hub)
    wait_group_done(redis_client, WATERLEVEL)
    wait_status(redis_client, "ok")

    postgres.stop()
    loadgen(n=200, offset=100).start().wait()
    wait_status(redis_client, "unhealthy")
    harness.wait_until(lambda: consumer_healthy(hub) == 0, 20, "unhealthy in /metrics")
    assert "database unavailable: postgresql" in hub.log_path.read_text()
    assert_nothing_acked_unstored(redis_client, hub, 100)  # psql cannot count while it is down

    postgres.start()
    wait_count(postgres, 300, hub=hub)
    wait_group_done(redis_client, WATERLEVEL)
    wait_status(redis_client, "ok")
    harness.wait_until(lambda: consumer_healthy(hub) == 1, 20, "healthy again in /metrics")
    assert postgres.count() == 300 and postgres.distinct_ids() == 300


def test_storage_postgres_notes_a_database_that_compares_text_by_locale(hub_factory, stack,
                                                                        postgres):
    """The worker says once, at info, when the database's collation is not C, and says
    nothing on a C database (the fixture's)."""
    note = "compares text by the locale C.UTF-8"
    hub = make_hub(hub_factory, postgres)
    publish(stack.mqtt_port, [("linz/sensor/waterlevel/c-1", loadgen_payload(1))], qos=1)
    wait_count(postgres, 1, hub=hub)
    hub.term()
    assert "compares text by" not in hub.log_path.read_text()

    postgres._as_postgres(["createdb", "-h", "127.0.0.1", "-p", postgres.port, "-U", "postgres",
                           "-T", "template0", "--locale=C.UTF-8", "-E", "UTF8", "rh_locale"])
    storage = postgres.storage_section()
    storage["postgres_conninfo"] = postgres.conninfo.replace("dbname=postgres",
                                                             "dbname=rh_locale")
    hub = storage_hub(hub_factory, storage, redis=dict(FAST_METRICS))
    publish(stack.mqtt_port, [("linz/sensor/waterlevel/c-2", loadgen_payload(2))], qos=1)
    harness.wait_until(lambda: note in hub.log_path.read_text(), 30, "the collation note")
    assert hub.log_path.read_text().count(note) == 1


def test_storage_check_option(tmp_path):
    from storage_helpers import require_binary
    good = tmp_path / "good.yaml"
    good.write_text("storage:\n  backend: sqlite\n  sqlite_path: x.db\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("storage:\n  backend: mysql\n")
    nopg = tmp_path / "nopg.yaml"
    nopg.write_text("storage:\n  backend: postgresql\n")
    binary = str(require_binary())
    ok = subprocess.run([binary, "-c", good, "--check"], capture_output=True)
    assert ok.returncode == 0, ok.stderr
    for path, text in ((bad, b"storage.backend must be sqlite or postgresql, not \"mysql\""),
                       (nopg, b"storage.postgres_conninfo must be set")):
        p = subprocess.run([binary, "-c", path, "--check"], capture_output=True)
        assert p.returncode == 2 and text in p.stderr, (p.returncode, p.stderr)
    assert not (tmp_path / "x.db").exists(), "--check created the database"
