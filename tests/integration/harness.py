# SPDX-License-Identifier: MIT
"""Harness for rheinhub's integration tests.

Owns the throwaway servers (mosquitto, redis-server) and the hub process that the
tests drive, the Prometheus text parser, and the load generator runs: `rheinhub-loadgen`,
or while it is not built the fallback publisher py_loadgen.py with the same command line
and payloads. The readers that turn Redis stream entries back into envelopes are in
harness_streams.py; every name of it is re-exported here.

Everything here listens on 127.0.0.1 only, on ports the kernel hands out, and every
process it starts is stopped by its owner (see conftest.py).
"""

import atexit
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import py_loadgen
from harness_streams import (  # noqa: F401 - re-exported: harness.NAME in the tests
    ENTRY_EVENTS_MAX, ENVELOPE_KEYS, EVENT_ID_RE, Event, LOADGEN_TIME_RE, Map, StreamCheck,
    count_events, entry_envelopes, entry_event_count, entry_events, entry_to_events,
    envelope_problems, events_at_least, last_entry_id, loadgen_payload, loadgen_time,
    pack_entry, plain, ranges, read_events, read_stream, same, unpack_envelope,
)

REPO = Path(__file__).resolve().parents[2]
BROKER_CONFIG = REPO / "broker-config"

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")

DEADLETTER_FIELDS = {b"topic", b"reason", b"detail", b"payload", b"size", b"time"}

RFC3339_UTC_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


# ---------------------------------------------------------------------------
# Waiting, ports, paths


def wait_until(cond, timeout, what, interval=0.02):
    """Poll cond() until it returns a true value (returned) or timeout seconds pass.

    Exceptions from cond() count as "not yet" (a server that is still starting);
    the last one is named in the AssertionError raised on timeout.
    """
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = cond()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}{detail}")
        time.sleep(interval)


_handed_out_ports = set()
_ports_lock = threading.Lock()


def _port_slice():
    """The ports this test process may hand out. Alone, any the kernel offers (port 0).
    Under pytest-xdist (-n N), worker k of N gets the k-th of N equal slices of
    10000-32767, below the kernel's ephemeral range, so that two workers never hand out
    the same port, and a client's ephemeral port never takes one a server is about to
    bind."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if not worker.startswith("gw") or count < 2:
        return None
    k = int(worker[2:]) % count
    size = (32768 - 10000) // count
    return range(10000 + k * size, 10000 + (k + 1) * size)


_slice = _port_slice()
_slice_next = 0


def _bindable(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port():
    """A loopback TCP port that is free now and not handed out before in this run."""
    global _slice_next
    with _ports_lock:
        if _slice is not None:
            for _ in range(len(_slice)):
                port = _slice[_slice_next % len(_slice)]
                _slice_next += 1
                if port not in _handed_out_ports and _bindable(port):
                    _handed_out_ports.add(port)
                    return port
            raise RuntimeError(f"no free loopback port in {_slice}")
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _handed_out_ports:
                _handed_out_ports.add(port)
                return port
    raise RuntimeError("no free loopback port")


def build_dir():
    """RHEINHUB_BUILD_DIR, else <repo>/build-asan, else <repo>/build."""
    env = os.environ.get("RHEINHUB_BUILD_DIR")
    if env:
        return Path(env).resolve()
    for name in ("build-asan", "build"):
        if (REPO / name).is_dir():
            return REPO / name
    return REPO / "build-asan"


def meson_build(folder, setup_args=(), targets=(), say=None):
    """Configures FOLDER (meson setup with SETUP_ARGS) when it has no build.ninja, then
    brings TARGETS (every target when none) up to date with ninja; their output goes to
    stderr. SAY, when given, is told what happens. CalledProcessError on a failure."""
    folder = Path(folder)
    say = say or (lambda msg: None)
    if not (folder / "build.ninja").exists():
        say(f"configuring {folder}" + (f" ({' '.join(setup_args)})" if setup_args else ""))
        subprocess.run(["meson", "setup", str(folder), str(REPO), *setup_args], check=True,
                       stdout=sys.stderr)
    say(f"building in {folder}")
    subprocess.run(["ninja", "-C", str(folder), *targets], check=True, stdout=sys.stderr)


def hub_binary():
    return build_dir() / "hub" / "rheinhub"


def loadgen_binary():
    return build_dir() / "tests" / "bench" / "rheinhub-loadgen"


def add_logs(node, *pairs):
    """Shows these logs' tails, (name, path) pairs, when the test node fails (conftest.py)."""
    if not hasattr(node, "rh_logs"):
        node.rh_logs = []
    node.rh_logs.extend(pairs)


def tail(path, lines=60):
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


def sanitizer_report(path):
    """The sanitizer lines in a log file, or None when it is clean."""
    try:
        text = Path(path).read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    hits = [ln for ln in text.splitlines() if any(m in ln for m in SANITIZER_MARKERS)]
    return "\n".join(hits[:20]) if hits else None


def sanitizer_env():
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    return env


def check_forget_after(binary, hub_yaml, section):
    """`binary --check` on hub_yaml holding section (its first two lines, with
    forget_after on the third): durations and 0 accepted, others refused with FILE:3."""
    key = section.split(":", 1)[0] + ".forget_after"
    for value, ok in (("30d", True), ("0", True), ("2s", True), ("30", False),
                      ("a month", False), ("400d", False)):
        hub_yaml.write_text(f"{section}  forget_after: {value}\n")
        p = subprocess.run([str(binary), "--check", "-c", str(hub_yaml)], capture_output=True,
                           timeout=20, env=sanitizer_env())
        err = p.stderr.decode()
        if ok:
            assert p.returncode == 0, (value, err)
        else:
            assert p.returncode == 2, (value, p.returncode, err)
            assert (f"{hub_yaml}:3: {key} must be a duration such as 90s, "
                    f"12h or 30d (at most 365d), or 0, not \"{value}\"") in err, err


# ---------------------------------------------------------------------------
# Processes


_children = []


@atexit.register
def _kill_leftovers():
    """Last resort when a run is interrupted past its fixtures: no server outlives it."""
    for popen in _children:
        if popen.poll() is None:
            popen.kill()
            popen.wait()


class Proc:
    """One child process with stdout and stderr appended to a log file; its stdin is
    /dev/null, or a pipe (popen.stdin) with stdin_pipe."""

    def __init__(self, name, argv, log_path, env=None, cwd=None, stdin_pipe=False):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.env = env
        self.cwd = cwd
        self.stdin_pipe = stdin_pipe
        self.popen = None
        self.starts = 0

    def start(self):
        assert not self.running(), f"{self.name} already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"=== harness: start {self.starts}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE if self.stdin_pipe else subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd)
        _children.append(self.popen)
        return self

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self):
        return self.popen.pid

    def send(self, sig):
        if self.running():
            self.popen.send_signal(sig)

    def wait(self, timeout):
        """The exit code; AssertionError when the process is still running after timeout."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} (pid {self.popen.pid}) still running after {timeout} s:\n"
                + tail(self.log_path, 30)) from None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Send sig and wait; SIGKILL after timeout. Returns the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        return self.popen.returncode


def render(template, dest, values):
    text = Path(template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    left = [m for line in text.splitlines() if not line.lstrip().startswith("#")
            for m in re.findall(r"@[A-Z_]+@", line)]
    assert not left, f"unreplaced placeholders in {template}: {left}"
    Path(dest).write_text(text)
    return Path(dest)


class Mosquitto:
    """A throwaway broker from broker-config/mosquitto.conf.in."""

    def __init__(self, tmp, run_dir):
        self.port = free_port()
        self.conf = render(BROKER_CONFIG / "mosquitto.conf.in", tmp / "mosquitto.conf",
                           {"MQTT_PORT": self.port, "RUN_DIR": run_dir})
        self.proc = Proc("mosquitto", ["mosquitto", "-c", self.conf], tmp / "mosquitto.log")

    def start(self, timeout=15):
        self.proc.start()

        def ready():
            assert self.proc.running(), "mosquitto exited during start"
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        wait_until(ready, timeout, f"mosquitto on port {self.port}")

    def stop(self):
        rc = self.proc.stop(signal.SIGTERM)
        return rc


class Redis:
    """A throwaway redis-server from broker-config/redis.conf.in.

    DEBUG is enabled for local connections on the command line (Redis 7 refuses it by
    default); the shipped config stays as it is.
    """

    def __init__(self, tmp, run_dir):
        self.port = free_port()
        self.conf = render(BROKER_CONFIG / "redis.conf.in", tmp / "redis.conf",
                           {"REDIS_PORT": self.port, "RUN_DIR": run_dir})
        self.proc = Proc("redis", ["redis-server", self.conf, "--enable-debug-command", "local"],
                         tmp / "redis.log")

    def client(self, timeout=10):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout,
                           socket_connect_timeout=timeout)

    def start(self, timeout=30):
        self.proc.start()

        def ready():
            assert self.proc.running(), "redis-server exited during start"
            return self.client(timeout=1).ping()
        wait_until(ready, timeout, f"redis-server on port {self.port}")

    def shutdown(self, timeout=30):
        """SHUTDOWN through redis-cli, as an operator would; waits for the exit."""
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "SHUTDOWN"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
        rc = self.proc.wait(timeout)
        assert rc == 0, f"redis-server exited with {rc} after SHUTDOWN"

    def stop(self):
        self.proc.send(signal.SIGCONT)  # a test may have left it stopped
        return self.proc.stop(signal.SIGTERM)


class Stack:
    """Broker and Redis for one test, with their data under tmp/run."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.run_dir = self.tmp / "run"
        (self.run_dir / "mosquitto").mkdir(parents=True, exist_ok=True)
        (self.run_dir / "redis").mkdir(parents=True, exist_ok=True)
        self.mosquitto = Mosquitto(self.tmp, self.run_dir)
        self.redis = Redis(self.tmp, self.run_dir)

    @property
    def mqtt_port(self):
        return self.mosquitto.port

    @property
    def redis_port(self):
        return self.redis.port

    def start(self):
        self.mosquitto.start()
        self.redis.start()

    def stop(self):
        self.redis.stop()
        self.mosquitto.stop()

    def logs(self):
        return [("mosquitto", self.mosquitto.proc.log_path), ("redis", self.redis.proc.log_path)]


# ---------------------------------------------------------------------------
# Hub


def stop_hubs(hubs):
    """SIGTERM every hub still running and wait for it. Returns the problems found: an
    exit other than 0, a hub that would not stop (then killed), a sanitizer report."""
    errors = []
    for hub in hubs:
        if hub.running():
            hub.proc.send(signal.SIGTERM)
            try:
                rc = hub.proc.wait(60)
                if rc != 0:
                    errors.append(f"{hub.name} exited with {rc} after SIGTERM at teardown")
            except AssertionError as exc:
                hub.proc.stop(signal.SIGKILL)
                errors.append(str(exc))
        report = sanitizer_report(hub.log_path)
        if report:
            errors.append(f"sanitizer report in {hub.log_path}:\n{report}")
    return errors


def yaml_scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid double-quoted YAML scalar
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_scalar(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as YAML")


def to_yaml(config):
    lines = []
    for section, keys in config.items():
        if not keys:
            continue
        lines.append(f"{section}:")
        if isinstance(keys, list):  # a list of mappings, e.g. workers
            for item in keys:
                for i, (key, value) in enumerate(item.items()):
                    lines.append(f"  {'-' if i == 0 else ' '} {key}: {yaml_scalar(value)}")
            continue
        for key, value in keys.items():
            lines.append(f"  {key}: {yaml_scalar(value)}")
    return "\n".join(lines) + "\n"


def merge(base, overrides):
    for section, keys in overrides.items():
        if isinstance(keys, list):
            base[section] = keys
        else:
            base.setdefault(section, {}).update(keys)
    return base


class Metrics:
    """Parsed Prometheus text: {(name, frozenset(labels)): value}."""

    LINE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)(\s+\d+)?$")
    LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')

    def __init__(self, text):
        self.text = text
        self.samples = {}
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = self.LINE_RE.match(line)
            assert m, f"unparsable metrics line: {line!r}"
            labels = frozenset(self.LABEL_RE.findall(m.group(3) or ""))
            self.samples[(m.group(1), labels)] = float(m.group(4))

    def has(self, name, **labels):
        return (name, frozenset(labels.items())) in self.samples

    def get(self, name, **labels):
        key = (name, frozenset(labels.items()))
        assert key in self.samples, f"metric {name}{labels or ''} missing from /metrics"
        return self.samples[key]

    def series(self, name):
        """[(labels dict, value)] of every sample of one metric name."""
        return [(dict(labels), v) for (n, labels), v in self.samples.items() if n == name]


class Hub:
    """One rheinhub process with its own hub.yaml; can be stopped and restarted."""

    def __init__(self, stack, name="hub", overrides=None):
        self.stack = stack
        self.name = name
        self.binary = hub_binary()
        self.http_port = free_port()
        self.client_id = f"rheinhub-it-{name}-{uuid.uuid4().hex[:10]}"
        config = {
            "hub": {"instance": f"it-{name}"},
            "mqtt": {"host": "127.0.0.1", "port": stack.mqtt_port, "client_id": self.client_id},
            "redis": {"host": "127.0.0.1", "port": stack.redis_port},
            "ingest": {},
            "http": {"bind": "127.0.0.1", "port": self.http_port},
            "log": {"level": "info"},
        }
        self.config = merge(config, overrides or {})
        self.config_path = stack.tmp / f"{name}.yaml"
        self.config_path.write_text(to_yaml(self.config))
        self.proc = Proc(name, [self.binary, "-c", self.config_path], stack.tmp / f"{name}.log",
                         env=sanitizer_env(), cwd=stack.tmp)

    @property
    def log_path(self):
        return self.proc.log_path

    @property
    def prefix(self):
        return self.config.get("redis", {}).get("stream_prefix", "rheinhub:")

    def stream(self, event_type):
        return f"{self.prefix}events:{event_type}"

    @property
    def deadletter(self):
        return f"{self.prefix}deadletter"

    @property
    def queue_max(self):
        return self.config.get("ingest", {}).get("queue_max", 10000)

    @property
    def max_in_flight(self):
        return self.config.get("redis", {}).get("max_in_flight", 1024)

    def start(self, timeout=40):
        assert self.binary.exists(), f"hub binary {self.binary} not built"
        self.proc.start()

        def healthy():
            assert self.proc.running(), (
                f"hub exited with {self.proc.popen.returncode} during start:\n"
                + tail(self.log_path, 30))
            return self.healthz() == 200
        wait_until(healthy, timeout, f"GET /healthz 200 from {self.name}", interval=0.05)
        return self

    def running(self):
        return self.proc.running()

    def http_get(self, path, timeout=3):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def healthz(self):
        """The /healthz status code, or None when nothing answers."""
        try:
            return self.http_get("/healthz")[0]
        except OSError:
            return None

    def metrics(self):
        status, body = self.http_get("/metrics")
        assert status == 200, f"GET /metrics answered {status}"
        return Metrics(body.decode("utf-8"))

    def metric(self, name, **labels):
        return self.metrics().get(name, **labels)

    def term(self, timeout=60):
        """SIGTERM; asserts exit code 0 and a log without sanitizer reports."""
        self.proc.send(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        assert rc == 0, f"hub exited with {rc} after SIGTERM:\n{tail(self.log_path, 30)}"
        self.assert_clean()
        return rc

    def kill(self):
        self.proc.send(signal.SIGKILL)
        return self.proc.wait(10)

    def assert_clean(self):
        report = sanitizer_report(self.log_path)
        assert report is None, f"sanitizer report in {self.log_path}:\n{report}"


# ---------------------------------------------------------------------------
# Publishing


def mqtt_client(port, client_id=None):
    """A connected paho client (MQTT 3.1.1, clean session, TCP_NODELAY), loop running."""
    c = py_loadgen.mqtt_connect("127.0.0.1", port, client_id or f"it-pub-{uuid.uuid4().hex[:10]}")
    if c is None:
        raise AssertionError(f"no CONNACK from the broker on port {port}")
    return c


def publish(port, messages, qos=1, timeout=20, retain=False):
    """Publish [(topic, payload bytes)] in order and wait for every PUBACK."""
    c = mqtt_client(port)
    try:
        infos = [c.publish(topic, payload, qos=qos, retain=retain) for topic, payload in messages]
        deadline = time.monotonic() + timeout
        for info in infos:
            assert info.rc == 0, f"publish failed: rc {info.rc}"
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            assert info.is_published(), "no PUBACK from the broker"
    finally:
        c.disconnect()
        c.loop_stop()


class Loadgen:
    """A load-generator run: `rheinhub-loadgen` when built, else this file as a script."""

    def __init__(self, stack, *, n, rate=0, offset=0, qos=1, municipality="linz",
                 event_type="sensor.waterlevel", subjects=16, prefix="s", name="loadgen"):
        self.stack = stack
        self.n, self.rate, self.offset = n, rate, offset
        self.municipality, self.event_type = municipality, event_type
        self.subjects, self.prefix = subjects, prefix
        args = ["-H", "127.0.0.1", "-p", stack.mqtt_port, "-n", n, "-r", rate, "-q", qos,
                "-m", municipality, "-T", event_type, "-s", subjects, "-S", prefix,
                "-o", offset, "-i", f"it-{name}-{uuid.uuid4().hex[:10]}"]
        binary = loadgen_binary()
        self.native = binary.exists() and os.environ.get("RHEINHUB_PY_LOADGEN") != "1"
        argv = ([binary] if self.native else [sys.executable, Path(py_loadgen.__file__).resolve()])
        argv += args
        self.proc = Proc(name, argv, stack.tmp / f"{name}.log", env=sanitizer_env())

    @property
    def log_path(self):
        return self.proc.log_path

    def start(self):
        self.proc.start()
        return self

    def running(self):
        return self.proc.running()

    def wait(self, timeout=120):
        rc = self.proc.wait(timeout)
        assert rc == 0, f"load generator exited with {rc}:\n{tail(self.log_path, 20)}"

    def stop(self):
        self.proc.stop(signal.SIGTERM, timeout=5)

    def check(self, events, t_lo, t_hi, ignore_subjects=()):
        return StreamCheck(events, n=self.n, offset=self.offset, municipality=self.municipality,
                           event_type=self.event_type, subjects=self.subjects,
                           prefix=self.prefix, mqtt_port=self.stack.mqtt_port,
                           t_lo=t_lo, t_hi=t_hi, ignore_subjects=ignore_subjects)


SENTINEL_SUBJECT = "sentinel"
SENTINEL = ("linz/sensor/waterlevel/" + SENTINEL_SUBJECT,
            b'{"time":"2026-11-26T07:00:00Z","value":300,"unit":"cm","trend":0}')


def settle(hub, r, key, *, min_len=1, sentinel=None, timeout=90):
    """Wait until the hub has written everything the broker holds for it.

    With a sentinel (topic, payload), it is published now (after the streams ended);
    the broker delivers it after everything queued before it, so once its entry is in
    `key` and the hub's queue and in-flight count are zero, nothing earlier is still
    on its way. Without one, waits for `min_len` events and an idle hub. Returns the
    stream's events (the caller asserts; a timeout here returns what is there).
    """
    if sentinel:
        publish(hub.stack.mqtt_port, [sentinel])
        sentinel_subject = sentinel[0].split("/")[3]

    def sentinel_stored():
        entries = r.xrevrange(key, max="+", min="-", count=2000)
        return any(ev.env and ev.env.get("subject") == sentinel_subject
                   for eid, f in entries for ev in entry_to_events(eid, f))

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if events_at_least(r, key, min_len) and hub.running():
                m = hub.metrics()
                if (m.get("rheinhub_queue_length") == 0
                        and m.get("rheinhub_redis_in_flight") == 0
                        and (not sentinel or sentinel_stored())):
                    return read_events(r, key)
        except Exception:  # noqa: BLE001 - Redis or the hub still coming back
            pass
        time.sleep(0.05)
    return read_events(r, key)
