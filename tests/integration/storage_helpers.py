# SPDX-License-Identifier: MIT
"""Helpers and fixtures for the storage worker's integration tests (test_storage*.py).

The tests run the real chain: Mosquitto, the hub with a `workers:` entry whose command
is the built `rheinhub-storage`, Redis, and a database. The hub supervises the worker
(and restarts it after a SIGKILL), so the worker's output is in the hub's log.

A database is reached the way an operator would: SQLite through Python's sqlite3 module
(a second connection to the same file) and the `sqlite3` shell; PostgreSQL through
`psql`. The PostgreSQL fixture starts a throwaway server: `initdb` and `postgres` of the
Debian packages, run as the `postgres` user (initdb refuses root) in a temporary
folder of its own (pytest's tmp folders are private to root), listening on a free
loopback port, with its unix socket in that folder. It skips the test with the reason
only when the server cannot be had on this machine (binaries or user missing).

Fixtures (import them into a test module: `from storage_helpers import postgres  # noqa`):

    postgres    a running Postgres; .conninfo, .psql(sql), .stop(), .start()

HeldTransaction(pg, sql) holds a transaction open with the locks sql took.
"""

import glob
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import msgpack
import pytest

import harness

PREFIX = "rheinhub:"
CONSUMER = f"{os.uname().nodename}-1"
STATUS_KEY = f"{PREFIX}worker:storage:{CONSUMER}"

# Short timings so that retries and health changes show within seconds.
WORKER_SETTINGS = {"batch_max": 256, "block_ms": 200, "retry_ms": 1000, "max_deliveries": 3,
                   "heartbeat_ms": 200}


def storage_binary():
    return harness.build_dir() / "workers" / "storage" / "rheinhub-storage"


def require_binary():
    path = storage_binary()
    if not path.exists():
        pytest.fail(f"storage worker not built: {path}", pytrace=False)
    return path


def worker_entry(**kw):
    """The hub.yaml workers: entry of the storage worker (every stream of the hub)."""
    entry = {"name": "storage", "command": str(require_binary()), "types": ["*"]}
    entry.update(kw)
    return entry


def storage_hub(hub_factory, storage, *, worker=None, start=True, **sections):
    """A hub supervising one storage worker with the storage: section given."""
    settings = dict(WORKER_SETTINGS)
    settings.update(worker or {})
    return hub_factory(start=start, workers=[worker_entry()], worker=settings, storage=storage,
                       **sections)


def status(r):
    """The storage worker's status hash (empty while it has not written one)."""
    return {k.decode(): v.decode() for k, v in r.hgetall(STATUS_KEY).items()}


def consumer_healthy(hub):
    """rheinhub_worker_consumer_healthy of the storage consumer, or None while absent."""
    for labels, value in hub.metrics().series("rheinhub_worker_consumer_healthy"):
        if labels.get("consumer", "").endswith(f"storage:{CONSUMER}") or \
                labels.get("consumer") == f"storage:{CONSUMER}":
            return value
    return None


def pending(r, stream, group="storage"):
    try:
        return r.xpending(stream, group)["pending"]
    except Exception:  # noqa: BLE001 - no stream or group yet
        return 0


def kill_worker_idle(r, stream):
    """SIGKILLs the storage worker once it holds nothing unacknowledged in stream: a kill
    between a commit and its acknowledgement would have the next run store the entries
    again, after the retention step it runs at start."""
    harness.wait_until(lambda: pending(r, stream) == 0, 30, f"every entry of {stream} acked")
    os.kill(worker_pid(r), signal.SIGKILL)


def worker_pid(r):
    """The pid the worker wrote in its status hash, or None."""
    pid = status(r).get("pid")
    return int(pid) if pid else None


def run_query(config_path, *args, check=True, timeout=60):
    """`rheinhub-storage query -c CONFIG args...`: the CompletedProcess (bytes)."""
    argv = [str(require_binary()), "query", "-c", str(config_path), *[str(a) for a in args]]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=harness.sanitizer_env(), timeout=timeout)
    if check:
        assert proc.returncode == 0, (f"{' '.join(argv)} exited with {proc.returncode}:\n"
                                      + proc.stderr.decode("utf-8", "replace"))
    report = [ln for ln in proc.stderr.decode("utf-8", "replace").splitlines()
              if any(m in ln for m in harness.SANITIZER_MARKERS)]
    assert not report, "sanitizer report from the query:\n" + "\n".join(report)
    return proc


def pack_envelope(event_type, env_id, subject, time_text, data, municipality="linz"):
    """The msgpack envelope of an event, as the hub writes it (for entries a test adds
    to a stream itself)."""
    env = {"specversion": "1.0", "id": env_id, "source": "rheinhub-test", "type": event_type,
           "subject": subject, "time": time_text, "municipality": municipality,
           "category": event_type.split(".")[1], "receivedtime": time.time_ns(), "data": data}
    return msgpack.packb(env, use_bin_type=True)


# ---------------------------------------------------------------------------
# Databases, as a test reads them


class SqliteDb:
    """The worker's SQLite file, read through a connection of our own."""

    backend = "sqlite"

    def __init__(self, path):
        self.path = Path(path)

    def storage_section(self):
        return {"backend": "sqlite", "sqlite_path": str(self.path), "busy_timeout_ms": 500}

    def scalar(self, sql, *params):
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(sql, params).fetchone()[0]
        finally:
            con.close()

    def rows(self, sql, *params):
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def count(self, table="events"):
        """Rows in table; 0 while the file or table does not exist yet."""
        if not self.path.exists():
            return 0
        try:
            return self.scalar(f"SELECT count(*) FROM {table}")
        except sqlite3.OperationalError:
            return 0

    def distinct_ids(self, table="events"):
        key = "change_id" if table == "alerts" else "id"
        return self.scalar(f"SELECT count(DISTINCT {key}) FROM {table}")


class Postgres:
    """A throwaway PostgreSQL server owned by the postgres user."""

    backend = "postgresql"

    def __init__(self, bindir):
        self.bindir = Path(bindir)
        self.port = harness.free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="rheinhub-pg-"))
        self.data = self.dir / "data"
        self.log_path = self.dir / "postgres.log"
        self.proc = None
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres([self.bindir / "initdb", "-D", self.data, "-U", "postgres",
                           "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"])

    @property
    def conninfo(self):
        return (f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres "
                "connect_timeout=10")

    def _as_postgres(self, argv, **kw):
        return subprocess.run(["runuser", "-u", "postgres", "--", *[str(a) for a in argv]],
                              check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=120, **kw)

    def start(self, timeout=60):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", str(self.bindir / "postgres"), "-D",
             str(self.data), "-p", str(self.port), "-k", str(self.dir),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "max_connections=50"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        harness._children.append(self.proc)

        def ready():
            assert self.proc.poll() is None, ("postgres exited during start:\n"
                                              + harness.tail(self.log_path, 20))
            return self.psql("SELECT 1", check=False).returncode == 0
        harness.wait_until(ready, timeout, f"postgres on port {self.port}", interval=0.1)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        """`pg_ctl stop -m fast` (runuser passes no signals on to the server)."""
        if not self.running():
            return
        try:
            self._as_postgres([self.bindir / "pg_ctl", "stop", "-D", self.data, "-m", "fast",
                               "-w", "-t", str(timeout)])
            self.proc.wait(timeout)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            subprocess.run(["pkill", "-KILL", "-P", str(self.proc.pid)], check=False)
            self.proc.kill()
            self.proc.wait(10)

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def psql(self, sql, check=True):
        proc = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                               "-d", "postgres", "-X", "-At", "-v", "ON_ERROR_STOP=1",
                               "-c", sql],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if check:
            assert proc.returncode == 0, f"psql {sql!r}: {proc.stderr.decode()}"
        return proc

    # The same reading interface as SqliteDb.

    def storage_section(self):
        return {"backend": "postgresql", "postgres_conninfo": self.conninfo}

    def scalar(self, sql):
        return int(self.psql(sql).stdout.decode().strip())

    def count(self, table="events"):
        if not self.running():
            return 0
        proc = self.psql(f"SELECT count(*) FROM {table}", check=False)
        return int(proc.stdout.decode().strip()) if proc.returncode == 0 else 0

    def distinct_ids(self, table="events"):
        key = "change_id" if table == "alerts" else "id"
        return self.scalar(f"SELECT count(DISTINCT {key}) FROM {table}")


class HeldTransaction:
    """A psql session that runs sql in a transaction and holds it open until closed:
    the locks sql took stay held (an export reading events, LOCK TABLE ...)."""

    def __init__(self, pg, sql):
        self.proc = subprocess.Popen(
            ["psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d", "postgres",
             "-X", "-q", "-v", "ON_ERROR_STOP=1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.proc.stdin.write(f"BEGIN;\n{sql};\n\\echo held\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        while line and line.strip() != "held" and self.proc.poll() is None:
            line = self.proc.stdout.readline()  # the rows sql printed
        assert line.strip() == "held", f"psql: {line}"

    def holding(self):
        return self.proc.poll() is None

    def close(self):
        self.proc.stdin.write("ROLLBACK;\n\\q\n")
        self.proc.stdin.close()
        self.proc.wait(30)


def postgres_bindir():
    """The newest /usr/lib/postgresql/*/bin with initdb and postgres, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(
                       p).parent.parent.name.isdigit() else 0)
    return Path(found[-1]).parent if found else None


def postgres_unavailable():
    """Why no PostgreSQL server can be started here, or None."""
    if postgres_bindir() is None:
        return "PostgreSQL server binaries not installed (Debian package postgresql)"
    if shutil.which("psql") is None:
        return "psql not installed (Debian package postgresql-client)"
    if shutil.which("runuser") is None:
        return "runuser not found (util-linux): cannot run initdb as the postgres user"
    try:
        import pwd
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres user (the Debian package creates it)"
    if os.geteuid() != 0:
        return "the tests start PostgreSQL as the postgres user and so must run as root"
    return None


@pytest.fixture
def postgres(request):
    why = postgres_unavailable()
    if why:
        pytest.skip(f"PostgreSQL tests skipped: {why}")
    pg = Postgres(postgres_bindir())
    harness.add_logs(request.node, ("postgres", pg.log_path))
    try:
        pg.start()
        yield pg
    finally:
        pg.remove()


def wait_count(db, n, timeout=120, table="events", hub=None):
    """Waits until table holds n rows; fails early when the hub died."""
    def done():
        if hub is not None:
            assert hub.running(), "hub exited:\n" + harness.tail(hub.log_path, 30)
        return db.count(table) >= n
    try:
        harness.wait_until(done, timeout, f"{n} rows in {table}", interval=0.1)
    except AssertionError:
        raise AssertionError(f"{db.count(table)} of {n} rows in {table} after {timeout} s")


def settle_count(db, n, hold=1.0, table="events"):
    """Asserts the count stays n for hold seconds (nothing more arrives late)."""
    end = time.monotonic() + hold
    while time.monotonic() < end:
        got = db.count(table)
        assert got == n, f"{got} rows in {table}, expected {n}"
        time.sleep(0.1)
