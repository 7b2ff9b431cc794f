# SPDX-License-Identifier: MIT
"""Helpers for the analytics worker's integration tests (test_analytics*.py).

- `Model`: an independent reference of what rheinhub-analytics must emit for a
  sequence of events and clock readings, written from the contract
  (docs/analytics.md, schemas/aggregate.schema.json), not from the C code: exact
  arithmetic where Python has it (math.fsum, statistics.pstdev on Fractions).
- `replay()`: publishes the recorded sequence in tests/data/analytics through the
  broker and the hub, moves the worker's clock (RHEINHUB_ANALYTICS_CLOCK_FILE) between
  the steps once everything before them has been processed, and collects what the
  worker emitted: MQTT publishes under +/analytics/# and the aggregate stream.
- `compare()`: every emitted aggregate against the model, with the differences listed.
"""

import calendar
import json
import math
import os
import re
import signal
import statistics
import threading
import time
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path

import harness

DATA = harness.REPO / "tests" / "data" / "analytics"
SEQUENCE = DATA / "sequence.jsonl"
WINDOWS_FILE = DATA / "windows.yaml"
SCHEMAS = harness.REPO / "schemas"
NS = 1_000_000_000
FUTURE_MAX_S = 3600
ROLLUP = "_all"

TIME_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")
UNITS = [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)]


def analytics_binary():
    return harness.build_dir() / "workers" / "analytics" / "rheinhub-analytics"


def load_steps(path=SEQUENCE):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def parse_time(text):
    """RFC 3339 -> ns since the epoch, UTC; fraction digits past the ninth dropped."""
    m = TIME_RE.match(text)
    assert m, f"not an RFC 3339 date-time: {text!r}"
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    seconds = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    frac = (m.group(7) or ".")[1:10].ljust(9, "0")
    off = m.group(8)
    if off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        seconds -= sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60)
    return seconds * NS + int(frac)


def format_time(ns):
    assert ns % NS == 0
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // NS))


def window_seconds(text):
    return int(text[:-1]) * dict(UNITS)[text[-1]]


def window_text(seconds):
    for unit, n in UNITS:
        if seconds % n == 0:
            return f"{seconds // n}{unit}"
    raise ValueError(seconds)


class Windows:
    """The windows file, read with PyYAML, and each type's field classes from its schema."""

    def __init__(self, path=WINDOWS_FILE, schemas=SCHEMAS):
        import fnmatch
        import yaml
        self.fnmatch = fnmatch.fnmatchcase
        doc = yaml.safe_load(Path(path).read_text()) if path else {}
        self.default = [window_seconds(w) for w in doc.get("default", ["1m", "15m", "1h", "1d"])]
        self.rules = list((doc.get("types") or {}).items())
        self.schemas = Path(schemas)

    def rule(self, etype):
        for pattern, rule in self.rules:
            if self.fnmatch(etype, pattern):
                return rule or {}
        return {}

    def windows(self, etype):
        rule = self.rule(etype)
        return sorted(window_seconds(w) for w in rule.get("windows", [])) or sorted(self.default)

    def categorical(self, etype):
        category, name = etype.split(".")
        schema = json.loads((self.schemas / category / f"{name}.schema.json").read_text())
        out = set(self.rule(etype).get("count", []))
        for field, prop in schema.get("properties", {}).items():
            enum = prop.get("enum")
            if (prop.get("type") == "boolean" or isinstance(prop.get("const"), str)
                    or (enum and all(isinstance(v, str) for v in enum))):
                out.add(field)
        return out

    def ignored(self, etype):
        return set(self.rule(etype).get("ignore", []))


class Model:
    """What the worker must emit: every window with its events, and the late counts."""

    def __init__(self, windows, lateness_s):
        self.w = windows
        self.lateness = lateness_s * NS
        self.events = defaultdict(list)  # (m, type, subject, window text, start ns) -> [event]
        self.late = Counter()            # "<type>/<window>" or "<type>/future" -> n
        self.seq = 0

    def feed(self, topic, payload, clock_ns):
        m, category, name, subject = topic.split("/")
        etype = f"{category}.{name}"
        t = parse_time(payload["time"])
        self.seq += 1
        if t > clock_ns + FUTURE_MAX_S * NS:
            self.late[f"{etype}/future"] += 1
            return
        for w in self.w.windows(etype):
            start = t // (w * NS) * (w * NS)
            end = start + w * NS
            if end + self.lateness <= clock_ns:
                self.late[f"{etype}/{window_text(w)}"] += 1
                continue
            for s in ([subject] if subject != ROLLUP else []) + [ROLLUP]:
                self.events[(m, etype, s, window_text(w), start)].append(
                    (t, self.seq, subject, payload))

    def aggregates(self):
        """{(m, type, subject, window, start text): aggregate dict}"""
        out = {}
        for (m, etype, subject, wtext, start), events in self.events.items():
            end = start + window_seconds(wtext) * NS
            agg = {"municipality": m, "type": etype, "subject": subject, "window": wtext,
                   "start": format_time(start), "end": format_time(end), "count": len(events)}
            if subject == ROLLUP:
                agg["subjects"] = len({e[2] for e in events if e[2] != ROLLUP})
            categorical, ignored = self.w.categorical(etype), self.w.ignored(etype)
            numbers, counts = defaultdict(list), defaultdict(Counter)
            for t, seq, _, payload in events:
                for field, v in payload.items():
                    if field in ignored:
                        continue
                    if isinstance(v, bool):
                        counts[field]["true" if v else "false"] += 1
                    elif isinstance(v, (int, float)):
                        numbers[field].append((t, seq, v))
                    elif isinstance(v, str) and field in categorical:
                        counts[field][v] += 1
            if numbers:
                agg["stats"] = {}
                for field, vals in numbers.items():
                    xs = [v for _, _, v in vals]
                    last = max(vals, key=lambda e: (e[0], e[1]))[2]
                    exact = [Fraction(x) for x in xs]
                    agg["stats"][field] = {
                        "count": len(xs), "min": min(xs), "max": max(xs),
                        "mean": float(sum(exact) / len(exact)), "sum": math.fsum(xs),
                        "last": last, "stddev": float(statistics.pstdev(exact)),
                    }
            if counts:
                agg["counts"] = {f: dict(c) for f, c in counts.items()}
            out[(m, etype, subject, wtext, agg["start"])] = agg
        return out


def key_of(agg):
    return (agg["municipality"], agg["type"], agg["subject"], agg["window"], agg["start"])


def close(a, b, rel=1e-12, abs_=1e-9):
    return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=abs_)


def differences(got, want, path=""):
    """What differs between an emitted aggregate and the model's, as a list of lines."""
    out = []
    if set(got) != set(want):
        out.append(f"{path}keys {sorted(got)} != {sorted(want)}")
    for k in set(got) & set(want):
        g, w = got[k], want[k]
        if isinstance(w, dict):
            if not isinstance(g, dict):
                out.append(f"{path}{k}: {g!r} is not an object")
            else:
                out.extend(differences(g, w, f"{path}{k}."))
        elif isinstance(w, bool) or isinstance(w, str) or k in ("count", "subjects") or \
                (isinstance(w, int) and path.startswith("counts")):
            if g != w or type(g) is not type(w):
                out.append(f"{path}{k}: {g!r} != {w!r}")
        elif isinstance(w, (int, float)):
            if isinstance(g, bool) or not isinstance(g, (int, float)) or not close(g, w):
                out.append(f"{path}{k}: {g!r} != {w!r}")
        else:
            out.append(f"{path}{k}: cannot compare {w!r}")
    return out


def compare(emitted, expected, what):
    """Asserts that emitted {key: aggregate} equals expected, listing what differs."""
    problems = []
    missing = sorted(set(expected) - set(emitted))
    extra = sorted(set(emitted) - set(expected))
    if missing:
        problems.append(f"{len(missing)} windows missing from {what}, e.g. {missing[:5]}")
    if extra:
        problems.append(f"{len(extra)} windows in {what} that should not be there, "
                        f"e.g. {extra[:5]}")
    for key in sorted(set(emitted) & set(expected)):
        for d in differences(emitted[key], expected[key]):
            problems.append(f"{key}: {d}")
    assert not problems, f"{what} differs from the model ({len(problems)} problems):\n" + \
        "\n".join(problems[:40])


# ---------------------------------------------------------------------------
# Running the worker under a hub


def hub_config(windows_file=WINDOWS_FILE, lateness_s=60, instances=1, command=None):
    return {
        "workers": [{"name": "analytics",
                     "command": str(command or analytics_binary()),
                     "types": ["sensor.*", "citizen.*"], "instances": instances}],
        "analytics": {"windows_file": str(windows_file), "lateness_s": lateness_s,
                      "check_interval_ms": 100},
        "worker": {"block_ms": 200, "heartbeat_ms": 200, "retry_ms": 2000},
    }


class Collector:
    """An MQTT subscriber on +/analytics/#: every message, in arrival order."""

    def __init__(self, port):
        self.messages = []
        self.lock = threading.Lock()
        self.client = harness.mqtt_client(port)
        self.client.on_message = self._on_message
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe("+/analytics/#", qos=1)
        assert done.wait(10), "no SUBACK"

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()


def write_clock(path, text):
    tmp = Path(f"{path}.tmp")
    tmp.write_text(text + "\n")
    os.replace(tmp, path)


def processed(r, prefix, streams, group="analytics"):
    """Whether the group has read and acknowledged everything in streams."""
    for key in streams:
        info = r.xinfo_stream(key)
        groups = {g["name"].decode(): g for g in r.xinfo_groups(key)}
        g = groups.get(group)
        if g is None or g["pending"] != 0:
            return False
        if g["last-delivered-id"] != info["last-generated-id"]:
            return False
    return True


def stream_of(topic, prefix):
    m, category, name, subject = topic.split("/")
    return f"{prefix}events:{category}.{name}"


def worker_status(r, prefix="rheinhub:"):
    """The analytics worker's status hash (the SDK's fields and the worker's own)."""
    for key in r.scan_iter(f"{prefix}worker:analytics:*"):
        return {k.decode(): v.decode() for k, v in r.hgetall(key).items()}
    return {}


def replay(hub, r, steps, clock_file, *, hooks=None, timeout=60):
    """Publishes the steps; returns how many events per stream were published.

    Events are published in chunks, one per stretch between clock steps; before a clock
    step, everything published is awaited: written by the hub, then read and acknowledged
    by the worker. hooks {step index: fn(later)} run before that step (after what came
    before it was published); fn may append callables to `later`, which run once the hub
    has written what follows (e.g. to let a stopped worker go on)."""
    published = Counter()
    chunk = []
    later = []
    prefix = hub.prefix
    hooks = hooks or {}

    def flush():
        if chunk:
            harness.publish(hub.stack.mqtt_port,
                            [(t, json.dumps(p, separators=(",", ":")).encode()) for t, p in chunk])
            for t, _ in chunk:
                published[stream_of(t, prefix)] += 1
            chunk.clear()

    def settle():
        flush()
        # Events written and confirmed, not entries: an entry may hold several.
        harness.wait_until(
            lambda: (hub.metric("rheinhub_events_accepted_total") or 0)
            >= sum(published.values()),
            timeout, "the hub to write every published event")
        while later:
            later.pop(0)()
        harness.wait_until(lambda: processed(r, prefix, list(published)), timeout,
                           "the analytics worker to process every event")

    for i, step in enumerate(steps):
        if i in hooks:
            flush()
            hooks[i](later)
        if "clock" in step:
            settle()
            write_clock(clock_file, step["clock"])
        else:
            chunk.append((step["topic"], step["payload"]))
    settle()
    return published


def model_for(steps, windows=None, lateness_s=60):
    model = Model(windows or Windows(), lateness_s)
    clock = None
    for step in steps:
        if "clock" in step:
            clock = parse_time(step["clock"])
        else:
            model.feed(step["topic"], step["payload"], clock)
    return model


def emitted_stream(r, prefix="rheinhub:"):
    """The aggregate stream: ([(entry id, envelope dict)], {key: aggregate})."""
    events = harness.read_events(r, f"{prefix}events:rheinhub.aggregate")
    entries = [(ev.entry_id, ev.env, ev.fields) for ev in events]
    return entries


def emitted_mqtt(messages):
    """{key: aggregate} of the MQTT messages; asserts repeats of a window are identical."""
    out, raw = {}, {}
    problems = []
    for topic, payload, _ in messages:
        agg = json.loads(payload)
        key = key_of(agg)
        if key in raw and raw[key] != payload:
            problems.append(f"{key} published twice with different payloads:\n"
                            f"  {raw[key]!r}\n  {payload!r}")
        raw[key] = payload
        out[key] = agg
        want_topic = f"{agg['municipality']}/analytics/{agg['type']}/{agg['subject']}/{agg['window']}"
        if topic != want_topic:
            problems.append(f"{key} on topic {topic}, expected {want_topic}")
    assert not problems, "\n".join(problems[:10])
    return out, raw


def worker_pid(r, prefix="rheinhub:", timeout=20):
    """The running analytics worker's pid, from its status hash (once it names a live
    rheinhub-analytics: after a restart the old process's hash lingers for a moment)."""
    def live():
        pid = int(worker_status(r, prefix).get("pid", 0))
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if pid else b""
        return pid if b"rheinhub-analytics" in cmdline and \
            Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z" else None
    return harness.wait_until(live, timeout, "a running analytics worker")


def kill_worker(r, prefix="rheinhub:"):
    """SIGKILL the analytics worker; returns its pid."""
    pid = worker_pid(r, prefix)
    os.kill(pid, signal.SIGKILL)
    return pid
