# SPDX-License-Identifier: MIT
"""`rheinhub-storage backup` (workers/storage/backup.c): SQLite's online backup API.

A stream of 5,000 events/s runs into the hub and its storage worker; the backup is
taken while the worker writes. Every event committed before the backup started (read
through a connection of our own just before) must be in the copy; the copy passes
SQLite's integrity check; restored into a fresh installation (a new broker, Redis, hub
and worker, as after a disk failure), the worker opens it, and new events are stored
next to the old ones.
"""

import json
import shutil
import sqlite3
import subprocess

import harness
from disk_helpers import small_disk  # noqa: F401 - fixture
from storage_helpers import postgres  # noqa: F401 - the fixture
from storage_helpers import SqliteDb, WORKER_SETTINGS, require_binary, run_query, \
    storage_hub, wait_count, worker_entry


def backup(config_path, dest, *extra):
    argv = [str(require_binary()), "backup", "-c", str(config_path), *extra, str(dest)]
    return subprocess.run(argv, capture_output=True, text=True, env=harness.sanitizer_env(),
                          timeout=120)


def ids(path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return {row[0] for row in con.execute("SELECT id FROM events")}
    finally:
        con.close()


def test_backup_during_5k_stream_restores_into_fresh_installation(hub_factory, stack, tmp_path,
                                                                   loadgen):
    live = SqliteDb(tmp_path / "live.db")
    hub = storage_hub(hub_factory, live.storage_section(), redis={"trim_interval_ms": 3600000})
    n = 50000
    lg = loadgen(n=n, rate=5000, subjects=16).start()
    wait_count(live, 3000, hub=hub)

    committed = ids(live.path)         # committed before the backup starts
    dest = tmp_path / "backups" / "rheinhub-1.db"
    dest.parent.mkdir()
    r = backup(hub.config_path, dest)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "backed up" in r.stdout
    assert lg.running(), "the stream ended before the backup did: not a backup under load"
    # The worker goes on committing next to the backup's reader (WAL).
    harness.wait_until(lambda: live.count() > len(committed), 30,
                       "the worker's next commit after the backup")
    after = live.count()
    assert not list(dest.parent.glob("*.tmp-*")), "the temporary copy was left behind"

    con = sqlite3.connect(f"file:{dest}?mode=ro", uri=True)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    saved = ids(dest)
    missing = committed - saved
    assert not missing, f"{len(missing)} committed events not in the backup"
    print(f"backup: {len(committed)} committed before, {len(saved)} in the copy, "
          f"{after} in the live database right after")

    # A second backup to the same name is refused; the first copy stays as it was.
    r2 = backup(hub.config_path, dest)
    assert r2.returncode == 1 and "exists" in r2.stderr
    assert ids(dest) == saved
    lg.wait(timeout=180)

    # Restore into a fresh installation: new broker, Redis, hub; the copy as its database.
    fresh = harness.Stack(tmp_path / "fresh")
    restored = SqliteDb(fresh.tmp / "rheinhub.db")
    shutil.copyfile(dest, restored.path)
    hub2 = None
    try:
        fresh.start()
        hub2 = harness.Hub(fresh, name="restored", overrides={
            "workers": [worker_entry()], "worker": WORKER_SETTINGS,
            "storage": restored.storage_section()})
        hub2.start()
        harness.publish(fresh.mqtt_port, [(
            "linz/sensor/waterlevel/after-restore",
            b'{"time":"2026-12-04T08:00:00Z","value":433,"unit":"cm"}')])
        wait_count(restored, len(saved) + 1, hub=hub2)
        out = run_query(hub2.config_path, "--subject", "after-restore").stdout.decode()
        rows = [json.loads(line) for line in out.splitlines()]
        assert [row["data"]["value"] for row in rows] == [433]
        assert committed <= ids(restored.path)
        hub2.term()
    finally:
        if hub2 and hub2.running():
            hub2.proc.stop()
        fresh.stop()


def test_backup_refuses_postgresql_and_bad_usage(tmp_path):
    cfg = tmp_path / "pg.yaml"
    cfg.write_text('storage:\n  backend: postgresql\n  postgres_conninfo: "dbname=x"\n')
    r = backup(cfg, tmp_path / "x.db")
    assert r.returncode == 2 and "pg_dump" in r.stderr, r.stderr
    r = subprocess.run([str(require_binary()), "backup"], capture_output=True, text=True,
                       env=harness.sanitizer_env())
    assert r.returncode == 2 and "usage" in r.stderr
    cfg2 = tmp_path / "sqlite.yaml"
    cfg2.write_text(f"storage:\n  sqlite_path: {tmp_path / 'absent.db'}\n")
    r = backup(cfg2, tmp_path / "y.db")
    assert r.returncode == 1 and "absent.db" in r.stderr
    assert not (tmp_path / "y.db").exists()


def test_postgresql_route_pg_dump_and_pg_restore(hub_factory, stack, postgres, tmp_path):
    """docs/operations.md's PostgreSQL route: pg_dump -Fc while the worker writes, then
    pg_restore into a new, empty database; the restored rows are the dumped ones."""
    hub = storage_hub(hub_factory, postgres.storage_section())
    harness.publish(stack.mqtt_port, [
        (f"linz/sensor/waterlevel/pg-{k}",
         f'{{"time":"2026-12-04T10:00:{k:02d}Z","value":{500 + k},"unit":"cm"}}'.encode())
        for k in range(40)])
    wait_count(postgres, 40, hub=hub)
    dump = tmp_path / "rheinhub.dump"
    conn = ["-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres"]
    subprocess.run(["pg_dump", *conn, "-Fc", "-f", str(dump), "postgres"], check=True,
                   capture_output=True, timeout=120)
    hub.term()
    subprocess.run(["createdb", *conn, "-T", "template0", "--locale=C", "-E", "UTF8",
                    "rheinhub_restored"], check=True, capture_output=True, timeout=60)
    r = subprocess.run(["pg_restore", *conn, "-d", "rheinhub_restored", str(dump)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    q = subprocess.run(["psql", *conn, "-d", "rheinhub_restored", "-X", "-At", "-c",
                        "SELECT count(*), count(DISTINCT id) FROM events "
                        "WHERE subject LIKE 'pg-%'"],
                       capture_output=True, text=True, timeout=60)
    assert q.stdout.strip() == "40|40", q.stdout + q.stderr


def test_backup_gives_up_after_its_timeout_on_a_locked_database(tmp_path):
    """A database another process keeps locked: the backup waits --timeout, then fails
    with the reason, leaving no DEST and no temporary copy."""
    db = tmp_path / "locked.db"
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE t (x)")
    con.execute("PRAGMA locking_mode = EXCLUSIVE")  # readers are shut out, WAL or not
    con.execute("BEGIN EXCLUSIVE")
    con.execute("INSERT INTO t VALUES (1)")
    cfg = tmp_path / "hub.yaml"
    cfg.write_text(f"storage:\n  sqlite_path: {db}\n")
    dest = tmp_path / "copy.db"
    try:
        r = subprocess.run([str(require_binary()), "backup", "-c", str(cfg), "-t", "300",
                            str(dest)], capture_output=True, text=True,
                           env=harness.sanitizer_env(), timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError("the backup still waited for the lock after 60 s, "
                             "its --timeout being 300 ms") from None
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert r.returncode == 1, r.stdout + r.stderr
    assert "locked" in r.stderr, r.stderr
    assert not dest.exists()
    assert not list(tmp_path.glob("copy.db.tmp-*")), "the temporary copy was left behind"


def test_backup_to_a_full_disk_fails_with_the_reason_and_leaves_nothing(small_disk, tmp_path):
    """DEST's disk is full: the backup fails with SQLite's reason and the file it could
    not write, leaves no DEST and no temporary copy, and works once there is room."""
    db = tmp_path / "big.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.executemany("INSERT INTO t VALUES (?)", [(b"\0" * 1000,)] * 2000)  # about 2 MB
    con.commit()
    con.close()
    cfg = tmp_path / "hub.yaml"
    cfg.write_text(f"storage:\n  sqlite_path: {db}\n")
    disk = small_disk("4m")
    dest = disk.path / "copy.db"
    disk.fill()
    r = backup(cfg, dest)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "database or disk is full" in r.stderr and f"{dest}.tmp-" in r.stderr, r.stderr
    assert not dest.exists()
    assert not list(disk.path.glob("copy.db.tmp-*")), "the temporary copy was left behind"

    disk.free()
    r = backup(cfg, dest)
    assert r.returncode == 0, r.stderr
    assert sqlite3.connect(dest).execute("SELECT count(*) FROM t").fetchone()[0] == 2000
