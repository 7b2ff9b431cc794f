# SPDX-License-Identifier: MIT
"""Helpers and fixtures for the worker SDK's integration tests (test_sdk_*.py).

These tests need Redis only: no hub, no broker. They build envelopes in Python per
schemas/envelope.md, XADD them to event streams, publish the route key and create the
consumer group as the hub would, and run `rheinhub-testworker` (or the Python example
worker) against them. Every worker still running at the end of a test gets SIGTERM and
must exit 0; a sanitizer report in any worker log fails the test.

Fixtures (import them into a test module: `from sdk_helpers import sdk  # noqa: F401`):

    sdk      an SdkEnv: a throwaway redis-server, a client, a hub.yaml, and a factory
             for worker processes
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

import harness

PREFIX = "rheinhub:"
PY_WORKER = harness.REPO / "workers" / "examples" / "python" / "rheinhub_worker.py"


def testworker_binary():
    return harness.build_dir() / "workers" / "testworker" / "rheinhub-testworker"


def stream_key(event_type, prefix=PREFIX):
    return f"{prefix}events:{event_type}"


def envelope(n, *, municipality="linz", event_type="sensor.waterlevel", subject=None,
             event_id=None, data=None):
    """(event id, msgpack bytes) of the n-th test event, laid out as the hub writes it."""
    import msgpack
    category = event_type.split(".", 1)[0]
    subject = subject if subject is not None else f"s{n % 8}"
    time_text = f"2026-11-26T06:00:00.{n:09d}Z"
    event_id = event_id or f"{n:032x}"
    env = {
        "specversion": "1.0",
        "id": event_id,
        "source": f"mqtt://127.0.0.1:1883/{municipality}/{event_type.replace('.', '/')}/{subject}",
        "type": event_type,
        "subject": subject,
        "time": time_text,
        "municipality": municipality,
        "category": category,
        "receivedtime": 1795673188606123456 + n,
        "data": data if data is not None else {"time": time_text, "value": 300 + n % 400,
                                               "unit": "cm", "trend": 0},
    }
    return event_id, msgpack.packb(env, use_bin_type=True)


class WorkerProc(harness.Proc):
    """A worker process (harness.Proc) that a test stops, kills and reads."""

    def term(self, timeout=30):
        """SIGTERM; asserts exit code 0."""
        self.send(signal.SIGTERM)
        rc = self.wait(timeout)
        assert rc == 0, f"{self.name} exited with {rc} after SIGTERM:\n" + harness.tail(
            self.log_path, 30)
        return rc

    def kill(self):
        self.send(signal.SIGKILL)
        return self.wait(10)

    def close_stdin(self):
        self.popen.stdin.close()

    def log(self):
        return self.log_path.read_bytes().decode("utf-8", "replace")


class SdkEnv:
    """A redis-server for one test, a hub.yaml for the workers, and the workers."""

    def __init__(self, tmp, node):
        self.tmp = Path(tmp)
        self.node = node
        run_dir = self.tmp / "run"
        (run_dir / "redis").mkdir(parents=True, exist_ok=True)
        self.redis = harness.Redis(self.tmp, run_dir)
        self.workers = []
        self.prefix = PREFIX
        self.r = None
        harness.add_logs(self.node, ("redis", self.redis.proc.log_path))

    def start(self):
        self.redis.start()
        self.r = self.redis.client()

    def stop(self):
        errors = []
        for w in self.workers:
            if w.running():
                w.send(signal.SIGTERM)
                try:
                    rc = w.wait(30)
                    if rc != 0:
                        errors.append(f"{w.name} exited with {rc} after SIGTERM at teardown")
                except AssertionError as exc:
                    w.kill()
                    errors.append(str(exc))
            report = harness.sanitizer_report(w.log_path)
            if report:
                errors.append(f"sanitizer report in {w.log_path}:\n{report}")
        if self.r is not None:
            self.r.close()
        self.redis.stop()
        return errors

    # -- configuration and Redis set-up, as the hub would do it

    def config(self, name="hub", **worker):
        """Writes a hub.yaml for the workers; worker= keys go to the worker: section."""
        settings = {"batch_max": 64, "block_ms": 200, "retry_ms": 1000, "max_deliveries": 5,
                    "heartbeat_ms": 200}
        settings.update(worker)
        cfg = {
            "redis": {"host": "127.0.0.1", "port": self.redis.port},
            "worker": settings,
            "log": {"level": "info"},
        }
        path = self.tmp / f"{name}.yaml"
        path.write_text(harness.to_yaml(cfg))
        return path

    def stream(self, event_type):
        return stream_key(event_type, self.prefix)

    @property
    def deadletter(self):
        return f"{self.prefix}deadletter"

    def route(self, kind, streams, municipalities=("*",), subjects=("*",), version=1,
              create_groups=True):
        """Publishes the route key of kind and (like the hub) creates its groups."""
        streams = [s if s.startswith(self.prefix) else self.stream(s) for s in streams]
        if create_groups:
            for s in streams:
                self.group(s, kind)
        self.r.set(f"{self.prefix}route:{kind}", json.dumps({
            "kind": kind, "streams": streams, "municipalities": list(municipalities),
            "subjects": list(subjects), "version": version}))
        return streams

    def group(self, stream, kind):
        import redis
        try:
            self.r.xgroup_create(stream, kind, id="$", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def add(self, stream, start, count, **kw):
        """XADDs events start..start+count-1; returns their event ids."""
        ids = []
        pipe = self.r.pipeline(transaction=False)
        for n in range(start, start + count):
            eid, env = envelope(n, **kw)
            ids.append(eid)
            pipe.xadd(stream, {"id": eid, "env": env})
        pipe.execute()
        return ids

    def add_packed(self, stream, start, sizes, **kw):
        """XADDs events from start on, sizes[i] of them in the i-th entry (one event:
        id and env; several: n, ids and env, as the hub packs them under load).
        Returns [(entry id, [event ids])]."""
        out = []
        n = start
        for size in sizes:
            events = [envelope(k, **kw) for k in range(n, n + size)]
            n += size
            entry_id = self.r.xadd(stream, harness.pack_entry(events)).decode()
            out.append((entry_id, [eid for eid, _ in events]))
        return out

    def entries(self, stream):
        """[(entry id, [(event id, envelope bytes)])] of a stream, oldest first."""
        return [(eid.decode(), harness.entry_events(f))
                for eid, f in harness.read_stream(self.r, stream)]

    # -- what the test worker recorded

    def ids(self, kind):
        return {m.decode() for m in self.r.smembers(f"{self.prefix}test:{kind}:ids")}

    def calls(self, kind):
        return int(self.r.get(f"{self.prefix}test:{kind}:calls") or 0)

    def pending(self, stream, kind):
        return self.r.xpending(stream, kind)["pending"]

    def status(self, kind, consumer):
        raw = self.r.hgetall(f"{self.prefix}worker:{kind}:{consumer}")
        return {k.decode(): v.decode() for k, v in raw.items()}

    def deadletters(self):
        return [(eid, {k.decode(): v for k, v in f.items()})
                for eid, f in harness.read_stream(self.r, self.deadletter)]

    # -- workers

    def worker(self, kind, *, config=None, instance=1, env=None, stdin_pipe=False, start=True,
               name=None, python=False, record=True, extra_args=()):
        """A worker process of kind: the C test worker, or with python=True the example
        (which records ids like the test worker unless record=False)."""
        name = name or f"{'py' if python else 'tw'}-{kind}-{instance}-{len(self.workers) + 1}"
        e = harness.sanitizer_env()
        e.pop("RHEINHUB_WORKER_INSTANCE", None)
        e.update(env or {})
        if python:
            argv = [sys.executable, PY_WORKER, "-H", "127.0.0.1", "-p", self.redis.port,
                    "-k", kind, "-i", instance, "--prefix", self.prefix,
                    *(["--record"] if record else []), *extra_args]
        else:
            binary = testworker_binary()
            assert binary.exists(), f"test worker not built: {binary}"
            argv = [binary, "-k", kind, "-c", config or self.config(), "-i", instance,
                    *extra_args]
        w = WorkerProc(name, argv, self.tmp / f"{name}.log", e, stdin_pipe=stdin_pipe)
        self.workers.append(w)
        harness.add_logs(self.node, (name, w.log_path))
        if start:
            w.start()
        return w

    def storage_worker(self, db_path, worker=None, storage=None):
        """rheinhub-storage on an SQLite file, started; worker= and storage= update its
        sections of the hub.yaml it is given."""
        binary = harness.build_dir() / "workers" / "storage" / "rheinhub-storage"
        assert binary.exists(), f"storage worker not built: {binary}"
        config = self.tmp / "storage.yaml"
        config.write_text(harness.to_yaml({
            "redis": {"host": "127.0.0.1", "port": self.redis.port},
            "worker": {"batch_max": 256, "block_ms": 200, "retry_ms": 500,
                       "max_deliveries": 5, "heartbeat_ms": 200, **(worker or {})},
            "storage": {"backend": "sqlite", "sqlite_path": str(db_path),
                        "busy_timeout_ms": 500, "commit_interval_ms": 50, **(storage or {})},
            "log": {"level": "info"},
        }))
        w = WorkerProc("storage", [binary, "-c", config], self.tmp / "storage.log",
                       harness.sanitizer_env())
        self.workers.append(w)
        harness.add_logs(self.node, ("storage", w.log_path))
        w.start()
        return w

    def consumer(self, instance=1):
        return f"{os.uname().nodename}-{instance}"

    def wait_ids(self, kind, expected, timeout=30, workers=()):
        """Waits until the test worker's id set holds every expected id."""
        expected = set(expected)

        def done():
            for w in workers:
                assert w.running(), f"{w.name} exited:\n{harness.tail(w.log_path, 30)}"
            return expected <= self.ids(kind)
        try:
            harness.wait_until(done, timeout, f"{len(expected)} ids recorded by {kind}")
        except AssertionError:
            missing = expected - self.ids(kind)
            raise AssertionError(f"{len(missing)} of {len(expected)} ids not recorded by "
                                 f"{kind}, e.g. {sorted(missing)[:5]}") from None

    def wait_log(self, w, text, timeout=20):
        harness.wait_until(lambda: text in w.log(), timeout, f"{text!r} in {w.name}'s log")

    def assert_clean(self, w):
        report = harness.sanitizer_report(w.log_path)
        assert report is None, f"sanitizer report in {w.log_path}:\n{report}"


@pytest.fixture
def sdk(tmp_path, request):
    env = SdkEnv(tmp_path, request.node)
    errors = []
    try:
        env.start()
        yield env
    finally:
        errors = env.stop()
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


def wait_pending_zero(env, stream, kind, timeout=20):
    harness.wait_until(lambda: env.pending(stream, kind) == 0, timeout,
                       f"no pending entries of {kind} on {stream}")


def stored_ids(db_path):
    """The ids in an SQLite events table, or None while it cannot be read yet."""
    import sqlite3
    if not Path(db_path).exists():
        return None
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return {row[0] for row in con.execute("SELECT id FROM events")}
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()


def elapsed(t0):
    return time.monotonic() - t0
