# SPDX-License-Identifier: MIT
"""What the whole-stack benchmarks share (bench_stack, bench_soak): the local stack as
a user runs it (deploy/local/run in its own session, a temporary run folder, free
loopback ports), finding its processes, and reading their /proc figures."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import harness  # noqa: E402

GROUPS = ("storage", "alerting", "analytics")   # the workers that read the streams
STALL_S = 60        # give up when nothing moved for this long


def build(folder, say):
    """Configures FOLDER as a release build when it has none, then brings it up to date."""
    harness.meson_build(folder, ("--buildtype=release",), say=say)


def free_ports(n):
    """n distinct free ports, from the integration harness (which keeps the ports of
    parallel test processes apart and, under them, off the kernel's ephemeral range)."""
    return [harness.free_port() for _ in range(n)]


def cpu_ticks(pid, children=False):
    """utime + stime of a process in clock ticks; with children, also those of the
    children it has waited for (cutime + cstime)."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if children else 0)


def rss_kib(pid):
    """VmRSS of a process in KiB (resident memory: anonymous, file-backed and shared)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"process {pid} has no VmRSS (a kernel thread, or exiting)")


def find_pid(*words):
    """The one process whose command line holds every word."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = [a.decode(errors="replace") for a in argv]
        if all(any(w == a or a.endswith("/" + w) for a in text) for w in words):
            found.append(int(d.name))
    if len(found) != 1:
        raise RuntimeError(f"expected one process with {words}, found {found}")
    return found[0]


def wait_for(cond, what, timeout=STALL_S, poll=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(poll)


class RowCounter:
    """One sqlite3 process on the stack's database, asked again and again: cheaper than
    a process per question, and its CPU time can be told apart (pid)."""

    def __init__(self, db):
        self.proc = subprocess.Popen(["sqlite3", "-batch", str(db)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, bufsize=1)
        self.pid = self.proc.pid

    def ask(self, query):
        """The one integer QUERY returns."""
        self.proc.stdin.write(query + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def newest(self):
        """The events table's largest rowid: rows are only appended, and this costs
        nothing where COUNT(*) reads the whole table."""
        return self.ask("SELECT coalesce(max(rowid), 0) FROM events;")

    def rows(self):
        return self.ask("SELECT count(*) FROM events;")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)


def entries_read(r, streams):
    """{(stream, group): entries the group has read} of the streams that exist."""
    read = {}
    for stream in streams:
        if r.exists(stream):
            for g in r.xinfo_groups(stream):
                read[(stream, g["name"].decode())] = g["entries-read"] or 0
    return read


def groups_done(r, streams, read_before):
    """Whether every group of GROUPS has read and acknowledged every entry of every
    stream (called once all events are rows, so the hub has written them all); and the
    entries each group read since READ_BEFORE (entries_read). An entry carries one event
    or several (schemas/envelope.md), so the count of entries says nothing of the
    events: the stream's last entry delivered and nothing pending does."""
    progress = {kind: 0 for kind in GROUPS}
    done = True
    for stream in streams:
        if not r.exists(stream):
            return False, tuple(progress.values())
        newest = r.xinfo_stream(stream)["last-generated-id"]
        got = {g["name"].decode(): g for g in r.xinfo_groups(stream)}
        for kind in GROUPS:
            g = got.get(kind)
            if g:
                progress[kind] += (g["entries-read"] or 0) - read_before.get((stream, kind), 0)
            if not g or g["pending"] or g["last-delivered-id"] != newest:
                done = False
    return done, tuple(progress.values())


class Stack:
    """deploy/local/run in its own session, with a temporary run folder under TMP and
    the meson build folder BUILD. With CLOCK (RFC 3339), the analytics worker's clock
    stands at that instant (RHEINHUB_ANALYTICS_CLOCK_FILE); without it, the worker's
    clock is the host's. pids: each process by name (mosquitto, redis, hub, storage,
    alerting, analytics, console), once started."""

    def __init__(self, tmp, build, clock=None):
        self.tmp = tmp
        self.build = build
        self.run_dir = tmp / "run"
        self.mqtt, self.redis_port, self.http, self.console = free_ports(4)
        self.clock = None
        if clock:
            self.clock = tmp / "clock"
            self.clock.write_text(clock + "\n")
        self.log = tmp / "local-run.log"
        self.proc = None
        self.pids = {}

    def start(self):
        env = dict(os.environ, RHEINHUB_RUN_DIR=str(self.run_dir),
                   RHEINHUB_MQTT_PORT=str(self.mqtt), RHEINHUB_REDIS_PORT=str(self.redis_port),
                   RHEINHUB_HTTP_PORT=str(self.http), RHEINHUB_CONSOLE_PORT=str(self.console),
                   RHEINHUB_BUILD_DIR=str(self.build))
        env.pop("RHEINHUB_ANALYTICS_CLOCK_FILE", None)
        if self.clock:
            env["RHEINHUB_ANALYTICS_CLOCK_FILE"] = str(self.clock)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([str(ROOT / "deploy/local/run")], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        self.r = redis.Redis(host="127.0.0.1", port=self.redis_port, socket_timeout=30)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"deploy/local/run exited with {self.proc.returncode}")
            return "rheinhub is running" in self.log.read_text(errors="replace")
        wait_for(up, "deploy/local/run", timeout=300)
        for kind in GROUPS:
            def ok(kind=kind):
                for key in self.r.scan_iter(f"rheinhub:worker:{kind}:*"):
                    h = self.r.hgetall(key)
                    if h.get(b"state") == b"ok":
                        return int(h[b"pid"])
                return None
            self.pids[kind] = wait_for(ok, f"the {kind} worker", timeout=60)
        etc = self.run_dir / "etc"
        self.pids["mosquitto"] = find_pid("mosquitto", str(etc / "mosquitto.conf"))
        self.pids["redis"] = int(self.r.info("server")["process_id"])
        self.pids["hub"] = find_pid("rheinhub", str(etc / "hub.yaml"))
        self.pids["console"] = wait_for(
            lambda: self.console_pid(etc / "hub.yaml"), "the console", timeout=60)

    @staticmethod
    def console_pid(config):
        try:
            return find_pid("rheinhub-console", str(config))
        except RuntimeError:
            return None

    def show_logs(self, say, lines=20):
        """Tells SAY the last lines of deploy/local/run's output and of every log."""
        for path in [self.log] + sorted((self.run_dir / "log").glob("*.log")):
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                say(f"--- last lines of {path.name} ---\n" + "\n".join(tail))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def remove(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
