# SPDX-License-Identifier: MIT
"""The SQLite schema migration as an operator meets it: a database written by the
previous version (schema version 1, events keyed by id alone; built here from that
version's DDL), the new rheinhub-storage started on it. Rows are kept, an event stored
before is still a duplicate, progress shows in the log, and a worker killed in the
middle of the migration leaves the old database as it was, readable and whole; the next
start migrates it.

The migration of 1,000,000 rows is measured by tests/bench/bench_storage_migration.
"""

import json
import signal
import sqlite3
import subprocess
import time

import harness
from harness import publish
from storage_helpers import (HeldTransaction, SqliteDb, WORKER_SETTINGS, require_binary,
                             kill_worker_idle, storage_hub, wait_count)
from storage_helpers import postgres  # noqa: F401 - fixture

# The tables of schema version 1, as the previous rheinhub-storage created them.
SCHEMA_V1 = """
CREATE TABLE events (id TEXT PRIMARY KEY NOT NULL, municipality TEXT NOT NULL,
  category TEXT NOT NULL, type TEXT NOT NULL, subject TEXT NOT NULL, time TEXT NOT NULL,
  time_ns INTEGER NOT NULL, received INTEGER NOT NULL, source TEXT NOT NULL,
  data TEXT NOT NULL);
CREATE INDEX events_type_subject_time ON events (type, subject, time_ns);
CREATE INDEX events_municipality_time ON events (municipality, time_ns);
CREATE INDEX events_time ON events (time_ns);
CREATE TABLE alerts (change_id TEXT PRIMARY KEY NOT NULL, id TEXT NOT NULL, rule TEXT NOT NULL,
  severity TEXT, state TEXT NOT NULL, municipality TEXT NOT NULL, type TEXT NOT NULL,
  subject TEXT NOT NULL, value, threshold, message TEXT, event_id TEXT, event_time TEXT,
  raised_at TEXT NOT NULL, updated_at TEXT NOT NULL, updated_ns INTEGER NOT NULL,
  acked_by TEXT, cleared_at TEXT, received INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX alerts_id ON alerts (id, updated_ns);
CREATE INDEX alerts_municipality_time ON alerts (municipality, updated_ns);
CREATE TABLE aggregates (id TEXT PRIMARY KEY NOT NULL, municipality TEXT NOT NULL,
  type TEXT NOT NULL, subject TEXT NOT NULL, window_size TEXT NOT NULL,
  window_start TEXT NOT NULL, window_end TEXT NOT NULL, start_ns INTEGER NOT NULL,
  count INTEGER NOT NULL, subjects INTEGER, received INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX aggregates_type_subject_start ON aggregates (type, subject, window_size, start_ns);
CREATE INDEX aggregates_municipality_start ON aggregates (municipality, start_ns);
CREATE TABLE schema_version (version INTEGER PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL);
INSERT INTO schema_version VALUES (1, '2026-11-01T00:00:00.000Z');
"""

T0 = 1795600000  # 2026-11-25T09:46:40Z
CE_ID = "ce-before-the-upgrade"
CE_TIME = "2026-11-25T09:46:40.5Z"


def make_v1(path, n):
    """A version 1 database with n events: one CloudEvent of known id and time, the rest
    computed-id water levels, inserted in id order as the old worker's index kept them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = WAL")
    con.executescript(SCHEMA_V1)

    def rows():
        yield (CE_ID, "linz", "sensor", "sensor.waterlevel", "p-ce", CE_TIME,
               T0 * 10**9 + 500_000_000, 1, "mqtt://127.0.0.1/x", '{"value":1}')
        for i in range(1, n):
            t = T0 + i
            yield (f"{i * 2654435761 % 2**32:08x}{i:08x}", "linz", "sensor",
                   "sensor.waterlevel", f"p{i % 10}",
                   time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)), t * 10**9, 1,
                   "mqtt://127.0.0.1/x",
                   json.dumps({"value": i}))
    con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
    con.commit()
    con.close()


def cloudevent(event_id, time):
    return json.dumps({"specversion": "1.0", "id": event_id, "source": "urn:test",
                       "type": "sensor.waterlevel", "time": time,
                       "data": {"time": time, "value": 1, "unit": "cm"}}).encode()


def group_done(r, hub, stream):
    """Both events written (in one entry or two) and acknowledged by the storage group."""
    if (hub.metric("rheinhub_events_accepted_total") or 0) < 2:
        return False
    g = {g["name"]: g for g in r.xinfo_groups(stream)}[b"storage"]
    return g["pending"] == 0 and g.get("lag", 1) == 0 and g["entries-read"] in (1, 2)


def schema_state(db):
    return (db.scalar("SELECT max(version) FROM schema_version"),
            db.scalar("SELECT count(*) FROM pragma_index_list('events') WHERE origin = 'pk'"))


def test_sqlite_v1_database_migrated_on_start(hub_factory, stack, tmp_path):
    """Started on a database of the previous version: migrated with progress in the log,
    rows kept, the event stored before still refused as a duplicate, new ones stored."""
    db = SqliteDb(tmp_path / "data" / "rheinhub.db")
    n = 20_000
    make_v1(db.path, n)
    hub = storage_hub(hub_factory, db.storage_section())
    harness.wait_until(lambda: "(schema version 2)" in harness.tail(hub.log_path, 200), 60,
                       "the worker to open the migrated database")
    log = harness.tail(hub.log_path, 200)
    assert f"{n} events to schema version 2" in log, log
    assert f"{n} of {n} rows copied (100 %)" in log, log
    assert schema_state(db) == (2, 0)
    assert db.count() == n
    # the same CloudEvent again (id and time as stored by version 1), and a new one
    publish(stack.mqtt_port, [("linz/sensor/waterlevel/p-ce", cloudevent(CE_ID, CE_TIME)),
                              ("linz/sensor/waterlevel/p-ce",
                               cloudevent("ce-after", "2026-11-26T06:00:00Z"))])
    wait_count(db, n + 1, timeout=60, hub=hub)
    r = stack.redis.client()
    try:
        harness.wait_until(lambda: group_done(r, hub, hub.stream("sensor.waterlevel")), 30,
                           "the storage group to acknowledge both events")
    finally:
        r.close()
    assert db.count() == n + 1
    assert db.scalar("SELECT count(*) FROM events WHERE id = ?", CE_ID) == 1
    assert db.scalar("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'") \
        == 0


def test_sqlite_migration_killed_leaves_version_1(hub_factory, tmp_path):
    """SIGKILL after the first progress line: the database is still version 1, whole and
    readable, with every row; the next start migrates it."""
    db = SqliteDb(tmp_path / "data" / "rheinhub.db")
    n = 150_000  # three copy steps of 50,000: the kill comes after the first
    make_v1(db.path, n)
    # The hub only routes; this test runs the worker itself, to kill it where it wants.
    hub = hub_factory(workers=[{"name": "storage", "command": "", "types": ["*"]}],
                      worker=WORKER_SETTINGS, storage=db.storage_section())
    log_path = tmp_path / "storage-worker.log"
    argv = [str(require_binary()), "-c", str(hub.config_path)]

    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=harness.sanitizer_env())
    try:
        harness.wait_until(lambda: "rows copied" in log_path.read_text() or proc.poll() is not None,
                           60, "the first progress line of the migration", interval=0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    text = log_path.read_text()
    assert "100 %" not in text and "committing" not in text, \
        "the migration ended before the kill:\n" + text
    assert schema_state(db) == (1, 1)
    assert db.count() == n
    assert db.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'events_v2'") == 0
    assert db.scalar("SELECT count(*) FROM pragma_quick_check WHERE quick_check != 'ok'") == 0

    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=harness.sanitizer_env())
    try:
        harness.wait_until(lambda: "(schema version 2)" in log_path.read_text()
                           or proc.poll() is not None, 120, "the second start to migrate")
        assert proc.poll() is None, "worker exited:\n" + log_path.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert schema_state(db) == (2, 0)
    assert db.count() == n
    assert db.scalar("SELECT count(DISTINCT id) FROM events") == n
    assert harness.sanitizer_report(log_path) is None, harness.sanitizer_report(log_path)


# ---------------------------------------------------------------------------
# PostgreSQL

PG_SCHEMA_V1 = """
CREATE TABLE events (id text PRIMARY KEY, municipality text NOT NULL, category text NOT NULL,
  type text NOT NULL, subject text NOT NULL, time text NOT NULL,
  time_utc timestamptz NOT NULL, received bigint NOT NULL, source text NOT NULL,
  data jsonb NOT NULL);
CREATE INDEX events_type_subject_time ON events (type, subject, time_utc);
CREATE INDEX events_municipality_time ON events (municipality, time_utc);
CREATE INDEX events_time ON events (time_utc);
CREATE TABLE alerts (change_id text PRIMARY KEY, id text NOT NULL, rule text NOT NULL,
  severity text, state text NOT NULL, municipality text NOT NULL, type text NOT NULL,
  subject text NOT NULL, value jsonb, threshold jsonb, message text, event_id text,
  event_time text, raised_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
  acked_by text, cleared_at timestamptz, received bigint NOT NULL, data jsonb NOT NULL);
CREATE INDEX alerts_id ON alerts (id, updated_at);
CREATE INDEX alerts_municipality_time ON alerts (municipality, updated_at);
CREATE TABLE aggregates (id text PRIMARY KEY, municipality text NOT NULL, type text NOT NULL,
  subject text NOT NULL, window_size text NOT NULL, window_start timestamptz NOT NULL,
  window_end timestamptz NOT NULL, count bigint NOT NULL, subjects bigint,
  received bigint NOT NULL, data jsonb NOT NULL);
CREATE INDEX aggregates_type_subject_start ON aggregates (type, subject, window_size, window_start);
CREATE INDEX aggregates_municipality_start ON aggregates (municipality, window_start);
CREATE TABLE schema_version (version integer PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now());
INSERT INTO schema_version (version) VALUES (1);
"""


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def test_postgres_v1_database_migrated_on_start(hub_factory, stack, postgres):
    """A version 1 PostgreSQL database: migrated on start to monthly partitions (this
    month and the last in partitions of their own, 2001 in the default one), rows kept,
    the event stored before still a duplicate."""
    now = int(time.time())
    postgres.psql(PG_SCHEMA_V1)
    # 10,000 events of the last 40 days, 100 of January 2001, and the CloudEvent
    postgres.psql(
        "INSERT INTO events SELECT md5(i::text), 'linz', 'sensor', 'sensor.waterlevel',"
        " 'p' || (i % 10), to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), t,"
        " 1, 'mqtt://x', jsonb_build_object('value', i) FROM ("
        f" SELECT i, to_timestamp({now} - i * 345) AS t FROM generate_series(1, 10000) i"
        " UNION ALL SELECT i, to_timestamp(978307200 + i * 60) FROM"
        " generate_series(10001, 10100) i) s;"
        f"INSERT INTO events VALUES ('{CE_ID}', 'linz', 'sensor', 'sensor.waterlevel', 'p-ce',"
        f" '{iso(now - 60)}', to_timestamp({now - 60}), 1, 'mqtt://x', '{{\"value\":1}}')")
    n = 10_101
    hub = storage_hub(hub_factory, postgres.storage_section())
    harness.wait_until(lambda: "(schema version 2)" in harness.tail(hub.log_path, 200), 60,
                       "the worker to open the migrated database")
    log = harness.tail(hub.log_path, 200)
    assert f"migrating {n} events to schema version 2" in log, log
    assert f"{n} of {n} rows copied (100 %)" in log, log
    assert postgres.scalar("SELECT max(version) FROM schema_version") == 2
    assert postgres.scalar("SELECT count(*) FROM pg_partitioned_table"
                           " WHERE partrelid = 'events'::regclass") == 1
    assert postgres.scalar("SELECT count(*) FROM pg_inherits"
                           " WHERE inhparent = 'events'::regclass") >= 3  # 2 months + default
    assert postgres.scalar("SELECT count(*) FROM events_default") == 100
    assert postgres.scalar("SELECT count(*) FROM events_" + time.strftime(
        "p%Y_%m", time.gmtime(now))) > 0
    assert postgres.count() == n
    assert postgres.scalar("SELECT (to_regclass('events_v1') IS NULL)::int") == 1
    publish(stack.mqtt_port, [("linz/sensor/waterlevel/p-ce", cloudevent(CE_ID, iso(now - 60))),
                              ("linz/sensor/waterlevel/p-ce",
                               cloudevent("ce-after", iso(now)))])
    wait_count(postgres, n + 1, timeout=60, hub=hub)
    r = stack.redis.client()
    try:
        harness.wait_until(lambda: group_done(r, hub, hub.stream("sensor.waterlevel")), 30,
                           "the storage group to acknowledge both events")
    finally:
        r.close()
    assert postgres.count() == n + 1
    assert postgres.scalar(f"SELECT count(*) FROM events WHERE id = '{CE_ID}'") == 1


def test_postgres_retention_drops_a_month_partition(hub_factory, stack, redis_client, postgres):
    """With retention, a month that ended before the cutoff goes as a whole partition.

    The old month is stored with retention off first: a hub started with retention on
    could take its first look before or after the old event arrives (or, killed before
    its acknowledgement, store it again after the look), and the test would race it."""
    now = int(time.time())
    old = cloudevent("ce-old", iso(now - 80 * 86400))
    new = cloudevent("ce-new", iso(now))
    part = time.strftime("events_p%Y_%m", time.gmtime(now - 80 * 86400))
    keeper = storage_hub(hub_factory, postgres.storage_section(), name="keeper")
    publish(stack.mqtt_port, [("linz/sensor/waterlevel/p1", old)])
    wait_count(postgres, 1, timeout=60, hub=keeper)
    assert postgres.scalar(f"SELECT (to_regclass('{part}') IS NOT NULL)::int") == 1
    keeper.term()
    # Retention looks at start and then every minute.
    hub = storage_hub(hub_factory, dict(postgres.storage_section(), retention_days=40))
    harness.wait_until(lambda: postgres.scalar(
        f"SELECT (to_regclass('{part}') IS NULL)::int") == 1, 60,
        f"retention to drop {part}")
    publish(stack.mqtt_port, [("linz/sensor/waterlevel/p1", new)])
    wait_count(postgres, 1, timeout=30, hub=hub)
    assert postgres.scalar("SELECT count(*) FROM events WHERE id = 'ce-new'") == 1
    assert postgres.scalar("SELECT count(*) FROM events") == 1
    assert (f"retention: dropped the partition of {part[8:12]}-{part[13:]} (1 events)"
            in harness.tail(hub.log_path, 200))


def test_postgres_retention_waits_for_a_reader_a_moment_only(hub_factory, stack, redis_client,
                                                             postgres):
    """Dropping a partition needs an ACCESS EXCLUSIVE lock on events, which an export
    reading events holds off for as long as it runs. The drop waits a second at most
    and is tried again later: meanwhile new events are stored, and once the reader is
    done the partition goes."""
    now = int(time.time())
    hub = storage_hub(hub_factory, dict(postgres.storage_section(), retention_days=40))
    part = time.strftime("events_p%Y_%m", time.gmtime(now - 80 * 86400))
    publish(stack.mqtt_port, [("linz/sensor/waterlevel/p1",
                                cloudevent("ce-old", iso(now - 80 * 86400)))])
    wait_count(postgres, 1, timeout=60, hub=hub)
    reader = HeldTransaction(postgres, "SELECT count(*) FROM events")
    try:
        # A restarted worker runs a retention step at once.
        kill_worker_idle(redis_client, hub.stream("sensor.waterlevel"))
        publish(stack.mqtt_port, [("linz/sensor/waterlevel/p1", cloudevent("ce-new", iso(now)))])
        wait_count(postgres, 2, timeout=30, hub=hub)
        harness.wait_until(lambda: "lock timeout" in harness.tail(hub.log_path, 200), 30,
                           f"retention to give up dropping {part} for now")
        assert reader.holding()
        assert postgres.scalar(f"SELECT (to_regclass('{part}') IS NOT NULL)::int") == 1
    finally:
        reader.close()
    harness.wait_until(lambda: postgres.scalar(
        f"SELECT (to_regclass('{part}') IS NULL)::int") == 1, 60,
        f"retention to drop {part} once the reader is done")
    assert postgres.scalar("SELECT count(*) FROM events WHERE id = 'ce-new'") == 1
