# SPDX-License-Identifier: MIT
"""What the storage worker stored, read back: `rheinhub-storage query` as JSON lines and
as RFC 4180 CSV (quotes, commas and line breaks in the data), its filters, alerts and
aggregates from the workers' own streams, and retention.

Tests that take `db` run once per backend; the PostgreSQL run skips (with the reason)
only where no server can be started (storage_helpers.postgres).
"""

import csv
import io
import json
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

import harness
from harness import publish
from storage_helpers import (PREFIX, HeldTransaction, SqliteDb, pack_envelope, run_query,
                             kill_worker_idle, storage_hub, wait_count)
from storage_helpers import postgres  # noqa: F401 - fixture

ALERTS = f"{PREFIX}events:rheinhub.alert"
AGGREGATES = f"{PREFIX}events:rheinhub.aggregate"

# Descriptions a CSV writer must quote, and a JSON writer must escape.
DESCRIPTIONS = [
    'Schlagloch, "tief", vor der Einfahrt',
    "Laterne aus\nseit gestern\r\nAbend",
    "Müll am Rheinufer; Glas, Dosen und \"mehr\" – bitte abholen",
    "Ast auf dem Radweg \\ gefährlich\tbei Nacht",
    '""',
    ",",
    "Überflutung 🌊 Keller",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        return SqliteDb(tmp_path / "data" / "rheinhub.db")
    return request.getfixturevalue("postgres")


def make_hub(hub_factory, db, storage=None, **kw):
    section = db.storage_section()
    section.update(storage or {})
    if db.backend == "sqlite":
        db.path.parent.mkdir(parents=True, exist_ok=True)
    return storage_hub(hub_factory, section, **kw)


def report_payload(k, description):
    return json.dumps({"time": f"2026-11-26T09:12:{k:02d}+01:00", "service_code": "pothole",
                       "description": description, "lat": 50.5689, "lon": 7.2847},
                      ensure_ascii=False).encode()


def waterlevel(t, value):
    return json.dumps({"time": t, "value": value, "unit": "cm"}).encode()


def jsonl(config, *args):
    out = run_query(config, "--format", "jsonl", *args).stdout
    return [json.loads(line) for line in out.decode("utf-8").splitlines()]


def csv_rows(config, *args):
    out = run_query(config, "--format", "csv", *args).stdout
    text = out.decode("utf-8")
    # RFC 4180: every record ends in CRLF (line breaks inside quoted fields are data).
    assert text.endswith("\r\n")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_storage_query_jsonl_and_csv_keep_awkward_text(hub_factory, stack, db):
    hub = make_hub(hub_factory, db)
    msgs = [(f"linz/citizen/report/r-{k}", report_payload(k, d))
            for k, d in enumerate(DESCRIPTIONS)]
    publish(stack.mqtt_port, msgs)
    wait_count(db, len(msgs), hub=hub)

    rows = jsonl(hub.config_path, "--type", "citizen.report")
    assert [r["subject"] for r in rows] == [f"r-{k}" for k in range(len(msgs))]  # by time
    for k, row in enumerate(rows):
        assert row["data"] == json.loads(msgs[k][1]), row
        assert row["time"] == f"2026-11-26T09:12:{k:02d}+01:00"
        assert (row["municipality"], row["category"], row["type"]) == \
            ("linz", "citizen", "citizen.report")
        assert row["source"].endswith(f"/linz/citizen/report/r-{k}")
        assert isinstance(row["received"], int)

    records = csv_rows(hub.config_path, "--type", "citizen.report")
    assert records[0] == ["id", "municipality", "category", "type", "subject", "time",
                          "received", "source", "data"]
    assert len(records) == len(msgs) + 1
    for k, rec in enumerate(records[1:]):
        assert rec[0] == rows[k]["id"] and rec[4] == f"r-{k}"
        assert int(rec[6]) == rows[k]["received"]
        assert json.loads(rec[8]) == json.loads(msgs[k][1])
        assert json.loads(rec[8])["description"] == DESCRIPTIONS[k]


def test_storage_query_times_beyond_int64_nanoseconds(hub_factory, stack, db):
    """Valid RFC 3339 times that 64 bits of nanoseconds do not hold (years 1 and 9999) are
    stored as they were sent and sort first and last; a bound in year 9000 finds the one
    after it."""
    hub = make_hub(hub_factory, db)
    times = ["9999-12-31T23:59:59Z", "2026-11-26T06:00:00Z", "0001-01-01T00:00:00Z"]
    publish(stack.mqtt_port, [("linz/sensor/waterlevel/pegel-1", waterlevel(t, 400 + k))
                              for k, t in enumerate(times)])
    wait_count(db, len(times), hub=hub)
    rows = jsonl(hub.config_path, "--type", "sensor.waterlevel")
    assert [r["time"] for r in rows] == [times[2], times[1], times[0]]
    assert [r["data"]["value"] for r in rows] == [402, 401, 400]
    late = jsonl(hub.config_path, "--since", "9000-01-01")
    assert [r["time"] for r in late] == [times[0]]
    assert hub.running()


def test_storage_query_filters(hub_factory, stack, db):
    hub = make_hub(hub_factory, db)
    msgs, expected = [], []
    for k in range(30):
        municipality = "kaiserslautern" if k % 5 == 4 else "linz"
        subject = f"p{k % 3}"
        # times out of publish order, one with an offset: sorted by UTC instant
        t = f"2026-11-26T06:{(k * 7) % 30:02d}:00Z" if k != 10 else "2026-11-26T08:40:30+02:00"
        msgs.append((f"{municipality}/sensor/waterlevel/{subject}", waterlevel(t, 300 + k)))
        expected.append({"municipality": municipality, "subject": subject, "value": 300 + k,
                         "utc": datetime.fromisoformat(t.replace("Z", "+00:00"))})
    msgs.append(("linz/sensor/soil/tree-1",
                 json.dumps({"time": "2026-11-26T06:00:00Z", "moisture": 21.5}).encode()))
    publish(stack.mqtt_port, msgs)
    wait_count(db, len(msgs), hub=hub)

    def check(args, select, limit=None):
        got = [(r["municipality"], r["subject"], r["data"]["value"])
               for r in jsonl(hub.config_path, "--type", "sensor.waterlevel", *args)]
        want = sorted((e for e in expected if select(e)), key=lambda e: (e["utc"], e["value"]))
        want = [(e["municipality"], e["subject"], e["value"]) for e in want][:limit]
        if db.backend == "postgresql":  # ties (same instant) come in id order there
            got, want = sorted(got), sorted(want)
        assert got == want, args

    since = datetime(2026, 11, 26, 6, 10, tzinfo=timezone.utc)
    until = datetime(2026, 11, 26, 6, 21, tzinfo=timezone.utc)
    check([], lambda e: True)
    check(["--municipality", "linz"], lambda e: e["municipality"] == "linz")
    check(["-m", "linz", "-s", "p1"], lambda e: e["municipality"] == "linz" and
          e["subject"] == "p1")
    check(["--since", "2026-11-26T06:10:00Z", "--until", "2026-11-26T08:21:00+02:00"],
          lambda e: since <= e["utc"] < until)
    check(["--since", "2026-11-26T06:10:00Z", "--limit", "4"], lambda e: since <= e["utc"], 4)
    check(["--until", "2026-11-26"], lambda e: False)
    assert len(jsonl(hub.config_path, "--subject", "tree-1")) == 1
    assert len(jsonl(hub.config_path)) == len(msgs)
    # --id: the one event with that id, and nothing for an id never stored.
    rows = jsonl(hub.config_path, "--type", "sensor.waterlevel")
    one = rows[len(rows) // 2]
    assert jsonl(hub.config_path, "--id", one["id"]) == [one]
    assert jsonl(hub.config_path, "--id", "0" * 32) == []

    bad = run_query(hub.config_path, "--since", "yesterday", check=False)
    assert bad.returncode == 2 and b"--since must be" in bad.stderr
    bad = run_query(hub.config_path, "--format", "xml", check=False)
    assert bad.returncode == 2 and b"--format must be jsonl or csv" in bad.stderr


def alert(state, updated, value, acked_by=None, cleared_at=None):
    return {"id": "linz:waterlevel_high:pegel-1:1795672800", "rule": "waterlevel_high",
            "severity": "critical", "state": state, "municipality": "linz",
            "type": "sensor.waterlevel", "subject": "pegel-1", "value": value,
            "threshold": 650, "message": f"Pegel pegel-1: {value} cm, über 650 cm, \"Rhein\"",
            "event_id": "11110632d105db16f6b975bb72459627",
            "event_time": "2026-11-26T06:00:00.000012345Z",
            "raised_at": "2026-11-26T06:00:00.412Z", "updated_at": updated,
            "acked_by": acked_by, "cleared_at": cleared_at}


def test_storage_alerts_and_aggregates(hub_factory, stack, redis_client, db):
    hub = make_hub(hub_factory, db)
    changes = [
        ("c1", alert("active", "2026-11-26T06:00:00.412Z", 712)),
        ("c2", alert("acknowledged", "2026-11-26T06:05:00Z", 715, acked_by="Leitstelle")),
        ("c3", alert("cleared", "2026-11-26T07:00:00Z", 640, acked_by="Leitstelle",
                     cleared_at="2026-11-26T07:00:00Z")),
    ]
    for cid, a in changes + [changes[1]]:  # the second change delivered twice
        redis_client.xadd(ALERTS, {"id": cid, "env": pack_envelope(
            "rheinhub.alert", cid, "waterlevel_high/pegel-1", a["updated_at"], a)})
    broken = dict(changes[0][1])
    del broken["id"]
    bad_entry = redis_client.xadd(ALERTS, {"id": "c9", "env": pack_envelope(
        "rheinhub.alert", "c9", "waterlevel_high/pegel-1", broken["updated_at"], broken)})
    aggregate = {"municipality": "linz", "type": "sensor.parking", "subject": "_all",
                 "window": "1h", "start": "2026-11-26T06:00:00Z", "end": "2026-11-26T07:00:00Z",
                 "count": 120, "subjects": 3,
                 "counts": {"status": {"free": 41, "occupied": 79}}}
    redis_client.xadd(AGGREGATES, {"id": "g1", "env": pack_envelope(
        "rheinhub.aggregate", "g1", "sensor.parking/_all/1h", aggregate["end"], aggregate)})

    wait_count(db, 3, table="alerts", hub=hub)
    wait_count(db, 1, table="aggregates", hub=hub)
    # The broken alert is retried, then given up: a dead letter that says why.
    harness.wait_until(lambda: redis_client.xlen(f"{PREFIX}deadletter") == 1, 60,
                       "the broken alert in the dead-letter stream")
    dl = harness.read_stream(redis_client, f"{PREFIX}deadletter")[0][1]
    assert dl[b"entry"] == bad_entry and dl[b"reason"] == b"worker_failed", dl
    assert b"alerts: id is missing" in dl[b"detail"], dl
    assert db.count("alerts") == 3 and db.distinct_ids("alerts") == 3
    assert db.count("events") == 0

    lines = jsonl(hub.config_path, "--table", "alerts")
    assert lines == [a for _, a in changes]  # one per state change, by updated_at
    # --id on alerts: every state change of that alert, none of another.
    assert jsonl(hub.config_path, "--table", "alerts", "--id", changes[0][1]["id"]) == lines
    assert jsonl(hub.config_path, "--table", "alerts", "--id", "linz:other:pegel-1:1") == []
    records = csv_rows(hub.config_path, "--table", "alerts", "--subject", "pegel-1")
    assert records[0][:4] == ["id", "rule", "severity", "state"]
    assert [r[3] for r in records[1:]] == ["active", "acknowledged", "cleared"]
    assert records[1][9] == changes[0][1]["message"] and records[1][14] == ""
    assert records[2][14] == "Leitstelle" and records[3][15] == "2026-11-26T07:00:00Z"

    assert jsonl(hub.config_path, "--table", "aggregates") == [aggregate]
    records = csv_rows(hub.config_path, "--table", "aggregates", "-t", "sensor.parking")
    assert records[1][:8] == ["linz", "sensor.parking", "_all", "1h", "2026-11-26T06:00:00Z",
                              "2026-11-26T07:00:00Z", "120", "3"]
    assert json.loads(records[1][9]) == aggregate["counts"]


def test_storage_retention_deletes_old_events(hub_factory, stack, redis_client, db):
    hub = make_hub(hub_factory, db, storage={"retention_days": 30})
    now = datetime.now(timezone.utc)
    old = [(f"linz/sensor/waterlevel/old-{k % 4}",
            waterlevel(f"2020-01-{1 + k % 28:02d}T00:00:{k % 60:02d}.{k:06d}Z", k % 1000))
           for k in range(2500)]
    recent = [(f"linz/sensor/waterlevel/new-{k % 4}",
               waterlevel((now - timedelta(days=29, seconds=k)).strftime(
                   "%Y-%m-%dT%H:%M:%S.%fZ"), k)) for k in range(100)]
    publish(stack.mqtt_port, old + recent, timeout=60)
    wait_count(db, len(old) + len(recent), hub=hub)

    # Retention looks at start and then every minute: a restarted worker looks at once.
    kill_worker_idle(redis_client, hub.stream("sensor.waterlevel"))
    harness.wait_until(lambda: db.count() == len(recent), 60,
                       "the old events deleted by retention")
    rows = jsonl(hub.config_path)
    assert len(rows) == len(recent) and all(r["subject"].startswith("new-") for r in rows)


def test_storage_postgres_refused_row_is_dead_lettered(hub_factory, stack, redis_client,
                                                       postgres):
    """A row the server refuses for good (jsonb holds no U+0000) fails alone: the rest of
    its batch is stored, and it ends in the dead-letter stream with the server's reason."""
    hub = make_hub(hub_factory, postgres)
    ids = []
    pipe = redis_client.pipeline(transaction=True)  # one batch for the worker
    for k in range(6):
        a = alert("active", f"2026-11-26T06:00:0{k}Z", 700 + k)
        if k == 3:
            a["message"] = "NUL \u0000 im Text"
        pipe.xadd(ALERTS, {"id": f"c{k}", "env": pack_envelope(
            "rheinhub.alert", f"c{k}", "waterlevel_high/pegel-1", a["updated_at"], a)})
    ids = pipe.execute()
    wait_count(postgres, 5, table="alerts", hub=hub)
    harness.wait_until(lambda: redis_client.xlen(f"{PREFIX}deadletter") == 1, 60,
                       "the refused alert in the dead-letter stream")
    dl = harness.read_stream(redis_client, f"{PREFIX}deadletter")[0][1]
    assert dl[b"entry"] == ids[3] and dl[b"reason"] == b"worker_failed", dl
    assert b"postgresql refused the row" in dl[b"detail"], dl
    assert postgres.scalar("SELECT count(*) FROM alerts WHERE change_id = 'c3'") == 0
    assert postgres.count("alerts") == 5


def test_storage_postgres_refused_event_of_a_copy_batch_fails_alone(hub_factory, stack,
                                                                     redis_client, postgres):
    """Events go by COPY: a row the server refuses (jsonb holds no U+0000) fails the
    COPY, the batch is stored row by row, the refused event is dead-lettered with the
    server's reason and the other five are stored."""
    hub = make_hub(hub_factory, postgres)
    stream = f"{PREFIX}events:sensor.waterlevel"
    pipe = redis_client.pipeline(transaction=True)  # one batch for the worker
    for k in range(6):
        t = f"2026-11-26T06:00:0{k}Z"
        data = {"time": t, "value": 700 + k, "unit": "cm"}
        if k == 3:
            data["note"] = "NUL \u0000 im Text"
        pipe.xadd(stream, {"id": f"e{k}", "env": pack_envelope(
            "sensor.waterlevel", f"e{k}", "pegel-1", t, data)})
    ids = pipe.execute()
    wait_count(postgres, 5, hub=hub)
    harness.wait_until(lambda: redis_client.xlen(f"{PREFIX}deadletter") == 1, 60,
                       "the refused event in the dead-letter stream")
    dl = harness.read_stream(redis_client, f"{PREFIX}deadletter")[0][1]
    assert dl[b"entry"] == ids[3] and dl[b"reason"] == b"worker_failed", dl
    assert b"postgresql refused the row" in dl[b"detail"], dl
    stored = postgres.psql("SELECT string_agg(id, ',' ORDER BY id) FROM events").stdout
    assert stored.decode().strip() == "e0,e1,e2,e4,e5"


def test_storage_postgres_query_of_a_locked_table_gives_up_with_the_reason(hub_factory, stack,
                                                                           postgres):
    """A query of a table that an administrator has locked (VACUUM FULL, ALTER TABLE)
    waits a while, then ends with the reason, instead of hanging for as long as the lock
    is held (the console's reads go the same way)."""
    hub = make_hub(hub_factory, postgres)
    harness.wait_until(lambda: postgres.psql("SELECT 1 FROM events LIMIT 0", check=False)
                       .returncode == 0, 30, "the storage worker's tables")
    lock = HeldTransaction(postgres, "LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
    try:
        proc = run_query(hub.config_path, check=False, timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("the query still waited for the lock after 90 s")
    finally:
        lock.close()
    assert proc.returncode == 1, proc
    assert b"lock timeout" in proc.stderr, proc.stderr
