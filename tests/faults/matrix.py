#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The fault matrix: a two-host layout on this machine, a steady stream, one fault at a time.

Host A is 127.0.0.1, host B 127.0.0.2 (the whole of 127/8 is loopback on Linux), each
with its own run folder:

  A: Mosquitto; Redis master; Sentinels 1 and 3; hub A; storage, alerting, analytics
  B: Redis replica; Sentinel 2; hub B; storage, alerting, analytics
  PostgreSQL for storage (a throwaway server, as the storage integration tests start).

The hubs share one subscription ($share/hubs/...), find the Redis master through the
Sentinels, and journal what they take; the workers find it the same way. A publisher
sends RATE events/s of three types (sensor.waterlevel, sensor.parking,
sensor.airquality) for the whole run, each with a sequence number in its payload.
Faults are injected one at a time; after each, the stream is given time to drain and
the script checks what was published against what is stored:

  lost          published (acknowledged by the broker) but not in PostgreSQL
  dup stream    events written twice to the Redis streams (same id in two entries)
  dup rows      rows stored twice (events.id is the primary key: must stay 0)
  no ingest s   the longest time in the fault's phase in which no stream grew
  backlog s     from the end of the fault until storage had caught up with the stream
  alerts bad    alert ids whose stored state changes repeat a state
  aggr bad      closed 1-minute windows whose count differs from the stored events

Usage: tests/faults/matrix.py [--short] [--runs N] [--rate R] [--only a,b] [--keep]
  --short   each fault once with a smaller stream and shorter phases (tests/run)
Prints one table per run; exits 1 when a fault lost or duplicated events.
"""

import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import harness  # noqa: E402
import storage_helpers  # noqa: E402

HOST_A, HOST_B = "127.0.0.1", "127.0.0.2"
MASTER_NAME = "rheinhub"
TYPES = ("sensor.waterlevel", "sensor.parking", "sensor.airquality")
SUBJECTS = 8
WORKER_KINDS = ("storage", "alerting", "analytics")
PENDING_MAX = 20000


def build_dir():
    env = os.environ.get("RHEINHUB_FAULTS_BUILD")
    return Path(env) if env else ROOT / "build"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# The stream


class Publisher(threading.Thread):
    """Publishes RATE events/s at QoS 1 through a persistent session until stopped.

    paho keeps what it could not send yet and re-sends unacknowledged messages after a
    reconnect (clean_session False), so a broker restart loses nothing on this side.
    `acked` is the set of sequence numbers the broker acknowledged.
    """

    def __init__(self, port, rate):
        super().__init__(daemon=True)
        import paho.mqtt.client as mqtt
        self.rate = rate
        self.seq = 0
        self.acked = set()
        self.mids = {}             # mid -> seq, not acknowledged yet (this thread only)
        self.acked_mids = collections.deque()  # appended by paho's thread
        self.stop_flag = threading.Event()
        self.client = mqtt.Client(client_id=f"faults-pub-{os.getpid()}", clean_session=False,
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.1, 1)
        self.client.on_publish = lambda client, userdata, mid: self.acked_mids.append(mid)
        self.client.connect_async(HOST_A, port, keepalive=30)
        self.client.loop_start()

    @staticmethod
    def message(seq):
        kind = TYPES[seq % len(TYPES)]
        subject = f"s{(seq // len(TYPES)) % SUBJECTS}"
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + \
            f".{int(now * 1e6) % 1000000:06d}Z"
        if kind == "sensor.waterlevel":
            data = {"time": stamp, "value": 300 + (seq * 7) % 600, "unit": "cm", "trend": 0,
                    "fw": f"seq-{seq}"}
        elif kind == "sensor.parking":
            data = {"time": stamp, "status": "free", "available": seq % 120, "total": 120,
                    "fw": f"seq-{seq}"}
        else:
            data = {"time": stamp, "pm10": float(seq % 50), "fw": f"seq-{seq}"}
        return f"linz/{kind.replace('.', '/')}/{subject}", json.dumps(data)

    def _collect(self):
        while self.acked_mids:
            seq = self.mids.pop(self.acked_mids.popleft(), None)
            if seq is not None:
                self.acked.add(seq)

    def run(self):
        start = time.monotonic()
        while not self.stop_flag.is_set():
            due = int((time.monotonic() - start) * self.rate)
            # At most PENDING_MAX unacknowledged: paho's message ids (1..65535) must not
            # wrap onto one still pending, and the rate becomes what the broker takes.
            while self.seq < due and len(self.mids) < PENDING_MAX and \
                    not self.stop_flag.is_set():
                topic, payload = self.message(self.seq)
                self.mids[self.client.publish(topic, payload, qos=1).mid] = self.seq
                self.seq += 1
            self._collect()
            time.sleep(0.005)

    def published(self):
        return self.seq

    def rate_achieved(self, seconds):
        return self.seq / seconds if seconds > 0 else 0

    def stop(self, timeout=120):
        self.stop_flag.set()
        self.join()
        deadline = time.monotonic() + timeout
        while self.mids and time.monotonic() < deadline:
            self._collect()
            time.sleep(0.1)
        self.client.disconnect()
        self.client.loop_stop()


class Supervisor(threading.Thread):
    """Restarts a hub or worker that exited, a second later (systemd's Restart=always)."""

    def __init__(self, lay, names):
        super().__init__(daemon=True)
        self.lay, self.names = lay, names
        self.stop_flag = threading.Event()
        self.paused = set()

    def run(self):
        while not self.stop_flag.wait(1.0):
            for name in self.names:
                p = self.lay.procs.get(name)
                if p and name not in self.paused and p.popen and not p.running():
                    try:
                        p.start()
                    except AssertionError:  # a fault's recovery started it meanwhile
                        pass


# ---------------------------------------------------------------------------
# The layout


class Layout:
    def __init__(self, root, rate):
        self.root = root
        self.rate = rate
        self.a, self.b = root / "a", root / "b"
        for d in (self.a, self.b):
            (d / "redis").mkdir(parents=True)
            (d / "mosquitto").mkdir(parents=True)
        self.procs = {}
        self.mqtt_port = harness.free_port()
        self.redis_ports = {"a": harness.free_port(), "b": harness.free_port()}
        self.sentinel_ports = [harness.free_port() for _ in range(3)]
        self.sentinel_hosts = [HOST_A, HOST_B, HOST_A]
        self.http_ports = {"a": harness.free_port(), "b": harness.free_port()}
        self.clock_files = {"a": self.a / "clock", "b": self.b / "clock"}
        for f in self.clock_files.values():
            f.write_text("+0\n")
        self.pg = storage_helpers.Postgres(storage_helpers.postgres_bindir())

    def proc(self, name, argv, host_dir, env=None):
        p = harness.Proc(name, argv, host_dir / f"{name}.log", env=env, cwd=host_dir)
        self.procs[name] = p
        return p

    # -- servers --

    def start_servers(self):
        conf = harness.render(harness.BROKER_CONFIG / "mosquitto.conf.in",
                              self.a / "mosquitto.conf",
                              {"MQTT_PORT": self.mqtt_port, "RUN_DIR": self.a})
        self.proc("mosquitto", ["mosquitto", "-c", conf], self.a).start()
        for host, d, ip in (("a", self.a, HOST_A), ("b", self.b, HOST_B)):
            conf = harness.render(harness.BROKER_CONFIG / "redis.conf.in", d / "redis.conf",
                                  {"REDIS_PORT": self.redis_ports[host], "RUN_DIR": d})
            argv = ["redis-server", conf, "--bind", ip, "--enable-debug-command", "local",
                    "--replica-announce-ip", ip, "--appendfsync", "everysec"]
            if host == "b":
                argv += ["--replicaof", HOST_A, str(self.redis_ports["a"])]
            self.proc(f"redis-{host}", argv, d).start()
        for i, (port, ip) in enumerate(zip(self.sentinel_ports, self.sentinel_hosts)):
            d = self.a if ip == HOST_A else self.b
            conf = d / f"sentinel-{i + 1}.conf"
            conf.write_text(
                f"port {port}\nbind {ip}\ndir {d}\n"
                f"sentinel announce-ip {ip}\n"
                f"sentinel monitor {MASTER_NAME} {HOST_A} {self.redis_ports['a']} 2\n"
                f"sentinel down-after-milliseconds {MASTER_NAME} 3000\n"
                f"sentinel failover-timeout {MASTER_NAME} 5000\n"
                f"sentinel parallel-syncs {MASTER_NAME} 1\n")
            self.proc(f"sentinel-{i + 1}", ["redis-server", conf, "--sentinel"], d).start()
        self.pg.start()
        harness.wait_until(lambda: self.master() is not None, 30, "the Sentinels name a master")
        harness.wait_until(lambda: self.replica_ok(), 30, "the replica in sync")

    def sentinel_addrs(self):
        return [f"{ip}:{port}" for ip, port in zip(self.sentinel_hosts, self.sentinel_ports)]

    def master(self):
        """(ip, port) the Sentinels name, or None."""
        import redis
        for ip, port in zip(self.sentinel_hosts, self.sentinel_ports):
            try:
                r = redis.Redis(host=ip, port=port, socket_timeout=1, socket_connect_timeout=1)
                addr = r.execute_command("SENTINEL", "get-master-addr-by-name", MASTER_NAME)
                if addr:
                    return addr[0].decode(), int(addr[1])
            except Exception:
                continue
        return None

    def redis(self, timeout=3):
        import redis
        ip, port = self.master()
        return redis.Redis(host=ip, port=port, socket_timeout=timeout,
                           socket_connect_timeout=timeout)

    def replica_ok(self):
        info = self.redis().info("replication")
        return info.get("connected_slaves", 0) >= 1

    # -- hubs and workers --

    def hub_config(self, host, acks=1):
        d, ip = (self.a, HOST_A) if host == "a" else (self.b, HOST_B)
        storage = {"backend": "postgresql", "postgres_conninfo": self.pg.conninfo}
        cfg = {
            "hub": {"instance": f"faults-{host}"},
            "mqtt": {"host": HOST_A, "port": self.mqtt_port, "client_id": f"faults-hub-{host}",
                     "shared_group": "hubs"},
            "redis": {"sentinels": self.sentinel_addrs(), "master_name": MASTER_NAME,
                      "min_replicas_ack": acks, "wait_timeout_ms": 500,
                      "liveness_timeout_ms": 3000},
            "journal": {"dir": str(d / "journal"), "max_mb": 64, "segment_mb": 1},
            "http": {"bind": ip, "port": self.http_ports[host]},
            "log": {"level": "info"},
            "workers": [{"name": k, "command": "", "types": list(TYPES)} for k in WORKER_KINDS],
            "storage": storage,
            "alerting": {"rules_file": str(self.root / "rules.yaml"),
                         "client_id": f"faults-alerting-{host}"},
            "analytics": {"client_id": f"faults-analytics-{host}", "lateness_s": 30},
        }
        path = d / "hub.yaml"
        path.write_text(harness.to_yaml(cfg))
        return path

    def start_apps(self, hubs=("a", "b")):
        (self.root / "rules.yaml").write_text(
            "rules:\n"
            "  - name: high-water\n    type: sensor.waterlevel\n    field: value\n"
            "    above: 800\n    clear: 400\n    severity: warning\n"
            "    message: \"{subject}: {value}\"\n")
        for host in ("a", "b"):
            d = self.a if host == "a" else self.b
            conf = self.hub_config(host)
            hub = self.proc(f"hub-{host}", [build_dir() / "hub" / "rheinhub", "-c", conf], d)
            if host in hubs:
                hub.start()
                harness.wait_until(lambda h=host: self.healthz(h) == 200, 30,
                                   f"hub {host} healthy")
        for host in ("a", "b"):
            for kind in WORKER_KINDS:
                self.start_worker(host, kind)

    def worker_env(self, host):
        env = dict(os.environ)
        lib = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
        if lib.exists():
            env.update({"LD_PRELOAD": str(lib), "FAKETIME_TIMESTAMP_FILE":
                        str(self.clock_files[host]), "FAKETIME_NO_CACHE": "1",
                        "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
        return env

    def start_worker(self, host, kind):
        d = self.a if host == "a" else self.b
        name = f"{kind}-{host}"
        argv = [build_dir() / "workers" / kind / f"rheinhub-{kind}", "-c", d / "hub.yaml",
                "-i", "1" if host == "a" else "2"]
        p = self.procs.get(name) or self.proc(name, argv, d, env=self.worker_env(host))
        p.start()

    def healthz(self, host):
        import http.client
        ip = HOST_A if host == "a" else HOST_B
        try:
            c = http.client.HTTPConnection(ip, self.http_ports[host], timeout=2)
            c.request("GET", "/healthz")
            return c.getresponse().status
        except OSError:
            return None

    def stop_all(self):
        for name in reversed(list(self.procs)):
            p = self.procs[name]
            p.send(signal.SIGCONT)
            p.stop(signal.SIGTERM, timeout=20)
        self.pg.remove()

    # -- observations --

    def entries_added(self):
        """Sum of XINFO STREAM entries-added over the event streams (grows with ingest)."""
        try:
            r = self.redis(timeout=1)
            return sum(int(r.xinfo_stream(f"rheinhub:events:{t}")["entries-added"])
                       for t in TYPES)
        except Exception:
            return None

    def stored_seqs(self):
        rows = self.pg.psql("SELECT data->>'fw', count(*) FROM events "
                            "GROUP BY 1").stdout.decode().split()
        seqs, dups = set(), 0
        for row in rows:
            dev, n = row.split("|")
            seqs.add(int(dev[4:]))
            dups += int(n) - 1
        return seqs, dups

    def stream_duplicates(self):
        """Sequence numbers written to the streams more than once."""
        import msgpack
        r = self.redis(timeout=30)
        seen, dups = set(), []
        for t in TYPES:
            last = "-"
            while True:
                batch = r.xrange(f"rheinhub:events:{t}", min=last, count=10000)
                if last != "-":
                    batch = batch[1:]
                if not batch:
                    break
                for entry_id, fields in batch:
                    env = msgpack.unpackb(fields[b"env"], raw=False, strict_map_key=False)
                    seq = int(env["data"]["fw"][4:])
                    if seq in seen:
                        dups.append(seq)
                    seen.add(seq)
                last = batch[-1][0].decode()
        return dups

    def alerts_bad(self):
        out = self.pg.psql("SELECT id, state FROM alerts ORDER BY id, updated_at, received")
        last, bad = {}, set()
        for row in out.stdout.decode().split():
            aid, state = row.split("|")
            if last.get(aid) == state and state != "acked":
                bad.add(aid)
            last[aid] = state
        return len(bad)

    def aggregates_bad(self):
        out = self.pg.psql(
            "SELECT count(*) FROM aggregates a WHERE a.window_size = '1m' AND "
            "a.window_end < now() - interval '90 seconds' AND a.count <> (SELECT count(*) "
            "FROM events e WHERE e.type = a.type AND e.subject = a.subject AND "
            "e.municipality = a.municipality AND e.time_utc >= a.window_start AND "
            "e.time_utc < a.window_end)", check=False)
        return int(out.stdout.decode().strip() or 0) if out.returncode == 0 else -1


# ---------------------------------------------------------------------------
# Faults: each is (name, inject(layout), recover(layout))


def kill_restart(name, hold=0.0):
    def inject(lay):
        lay.procs[name].send(signal.SIGKILL)
        lay.procs[name].wait(10)
        time.sleep(hold)

    def recover(lay):
        if not lay.procs[name].running():
            lay.procs[name].start()
    return inject, recover


def kill_master():
    def inject(lay):
        ip, port = lay.master()
        name = "redis-a" if ip == HOST_A else "redis-b"
        lay.killed_master = name
        lay.procs[name].send(signal.SIGKILL)
        lay.procs[name].wait(10)
        harness.wait_until(lambda: lay.master() not in (None, (ip, port)), 30,
                           "the Sentinels promote the replica")

    def recover(lay):
        # The old master comes back and the Sentinels make it a replica of the new one.
        lay.procs[lay.killed_master].start()
        harness.wait_until(lay.replica_ok, 60, "the old master replicating again")
    return inject, recover


def restart_replica():
    def inject(lay):
        ip, _ = lay.master()
        name = "redis-b" if ip == HOST_A else "redis-a"
        lay.restarted = name
        lay.procs[name].stop(signal.SIGTERM)
        time.sleep(2)

    def recover(lay):
        lay.procs[lay.restarted].start()
        harness.wait_until(lay.replica_ok, 60, "the replica in sync again")
    return inject, recover


def stop_cont(name, seconds):
    def inject(lay):
        lay.procs[name].send(signal.SIGSTOP)
        time.sleep(seconds)

    def recover(lay):
        lay.procs[name].send(signal.SIGCONT)
    return inject, recover


def broker_restart():
    def inject(lay):
        lay.procs["mosquitto"].stop(signal.SIGTERM)
        time.sleep(1)

    def recover(lay):
        lay.procs["mosquitto"].start()
    return inject, recover


def postgres_restart():
    def inject(lay):
        lay.pg.stop()
        time.sleep(3)

    def recover(lay):
        lay.pg.start()
    return inject, recover


def redis_oom(seconds):
    def inject(lay):
        r = lay.redis()
        used = int(r.info("memory")["used_memory"])
        r.config_set("maxmemory", str(used))
        time.sleep(seconds)

    def recover(lay):
        lay.redis().config_set("maxmemory", "2gb")
    return inject, recover


def journal_disk_full(seconds):
    """The journal of hub A on a tmpfs of 8 MB, filled up by another file."""
    def inject(lay):
        filler = lay.journal_disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        time.sleep(seconds)

    def recover(lay):
        (lay.journal_disk / "filler").unlink()
    return inject, recover


def clock_jump(offset):
    def inject(lay):
        for f in lay.clock_files.values():
            f.write_text(f"{offset}\n")
        time.sleep(10)

    def recover(lay):
        for f in lay.clock_files.values():
            f.write_text("+0\n")
    return inject, recover


def faults(short):
    stop_s = 10 if short else 30
    return [
        ("SIGKILL hub A", *kill_restart("hub-a")),
        ("SIGKILL hub B", *kill_restart("hub-b")),
        ("SIGKILL Redis master", *kill_master()),
        ("restart replica", *restart_replica()),
        ("SIGKILL storage A", *kill_restart("storage-a")),
        ("SIGKILL alerting A", *kill_restart("alerting-a")),
        ("SIGKILL analytics A", *kill_restart("analytics-a")),
        ("broker restart", *broker_restart()),
        ("PostgreSQL restart", *postgres_restart()),
        (f"SIGSTOP hub A {stop_s} s", *stop_cont("hub-a", stop_s)),
        ("Redis maxmemory", *redis_oom(5)),
        ("journal disk full", *journal_disk_full(5)),
        ("clock +1 h (workers)", *clock_jump("+1h")),
        ("clock -1 h (workers)", *clock_jump("-1h")),
    ]


# ---------------------------------------------------------------------------
# One run


def run_phase(lay, pub, name, inject, recover, settle_s):
    log(f"fault: {name}")
    samples = []
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            samples.append((time.monotonic(), lay.entries_added()))
            time.sleep(0.2)
    t = threading.Thread(target=sampler, daemon=True)
    t.start()
    seq_lead = pub.published()
    time.sleep(3)
    seq_lo = pub.published()
    t_fault = time.monotonic()
    inject(lay)
    recover(lay)
    t_end = time.monotonic()
    # Backlog: until storage holds what this phase published before the fault ended.
    published = pub.published()
    deadline = t_end + settle_s
    backlog_s = None
    while time.monotonic() < deadline:
        stored, _ = lay.stored_seqs()
        acked = set(range(seq_lead, published)) & pub.acked
        if acked <= stored:
            backlog_s = time.monotonic() - t_end
            break
        time.sleep(0.5)
    stop.set()
    t.join()
    gap, last_t, last_v = 0.0, None, None
    for ts, v in samples:
        if ts < t_fault - 1:
            continue
        if v is not None and v != last_v:
            if last_t is not None:
                gap = max(gap, ts - last_t)
            last_t, last_v = ts, v
    return {"fault": name, "seq_lead": seq_lead, "seq_lo": seq_lo, "seq_hi": pub.published(),
            "no_ingest_s": round(gap, 1),
            "backlog_s": None if backlog_s is None else round(backlog_s, 1)}


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--rate", type=int, default=None)
    ap.add_argument("--only", default="")
    ap.add_argument("--keep", action="store_true", help="keep the run folder")
    ap.add_argument("--scale", type=int, default=0, metavar="N",
                    help="no faults: measure ingest and storage of N events with one and "
                         "two hubs and storage workers")
    args = ap.parse_args()
    rate = args.rate or (500 if args.short else 2000)
    settle_s = 60 if args.short else 120
    failed = False
    for run in range(1, args.runs + 1):
        root = Path(tempfile.mkdtemp(prefix="rheinhub-faults."))
        lay = Layout(root, rate)
        lay.journal_disk = lay.a / "journal"
        lay.journal_disk.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs",
                                  str(lay.journal_disk)], capture_output=True).returncode == 0
        if not mounted:
            log("cannot mount a tmpfs: the disk-full fault is skipped")
        results = []
        pub = sup = None
        try:
            lay.start_servers()
            lay.start_apps(hubs=("a",) if args.scale else ("a", "b"))
            sup = Supervisor(lay, ["hub-a", "hub-b"] + [f"{k}-{h}" for k in WORKER_KINDS
                                                        for h in ("a", "b")])
            if args.scale:
                figures = measure_scale(lay, args.scale)
                print(json.dumps(figures))
                for k, v in figures.items():
                    print(f"{k:<40} {v:>9.0f} events/s")
                continue
            sup.start()
            pub = Publisher(lay.mqtt_port, rate)
            pub.start()
            chosen = [f for f in faults(args.short)
                      if not args.only or any(o in f[0] for o in args.only.split(","))]
            for name, inject, recover in chosen:
                if name == "journal disk full" and not mounted:
                    continue
                results.append(run_phase(lay, pub, name, inject, recover, settle_s))
            pub.stop()
            pub_total = pub.published()
            deadline = time.monotonic() + settle_s
            while time.monotonic() < deadline:
                stored, dup_rows = lay.stored_seqs()
                if pub.acked <= stored:
                    break
                time.sleep(1)
            stored, dup_rows = lay.stored_seqs()
            lost = sorted(pub.acked - stored)
            dups = lay.stream_duplicates()
            dup_stream = len(dups)
            for p in results:
                p["lost"] = sum(1 for q in lost if p["seq_lead"] <= q < p["seq_hi"])
                p["dup"] = sum(1 for q in dups if p["seq_lead"] <= q < p["seq_hi"])
            summary = {"run": run, "published": pub_total, "acked": len(pub.acked),
                       "stored": len(stored), "lost": len(lost), "lost_first": lost[:10],
                       "dup_stream": dup_stream, "dup_rows": dup_rows,
                       "alerts_bad": lay.alerts_bad(), "aggregates_bad": lay.aggregates_bad(),
                       "phases": results}
            print(json.dumps(summary))
            print_table(summary, rate)
            failed |= bool(lost) or dup_stream > 0 or dup_rows > 0
        finally:
            if sup and sup.is_alive():
                sup.stop_flag.set()
                sup.join()
            try:
                if pub and pub.is_alive():
                    pub.stop(timeout=5)
                lay.stop_all()
            except Exception as exc:  # the cleanup below must still run
                log(f"stopping the layout: {exc!r}")
            if mounted:
                subprocess.run(["umount", "-l", str(lay.journal_disk)], capture_output=True)
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
            else:
                log(f"run folder kept: {root}")
    return 1 if failed else 0


def measure_scale(lay, n):
    """Scale-out figures on the layout: ingest with one hub and with two on the shared
    subscription; storage of a backlog with one storage worker and with two."""
    loadgen = build_dir() / "tests" / "bench" / "rheinhub-loadgen"
    offset = [0]

    def publish(count):
        subprocess.run([loadgen, "-H", HOST_A, "-p", str(lay.mqtt_port), "-n", str(count),
                        "-r", "0", "-q", "1", "-s", "64", "-o", str(offset[0]),
                        "-i", f"faults-scale-{offset[0]}"], check=True, capture_output=True)
        offset[0] += count

    def ingest_rate():
        base = lay.entries_added()
        t0 = time.monotonic()
        publish(n)
        harness.wait_until(lambda: lay.entries_added() >= base + n, 300, "the streams")
        return n / (time.monotonic() - t0)

    def stored():
        return lay.pg.scalar("SELECT count(*) FROM events")

    def storage_rate(hosts):
        for h in ("a", "b"):
            lay.procs[f"storage-{h}"].stop(signal.SIGTERM)
        base = stored()
        publish(n)
        harness.wait_until(lambda: lay.entries_added() is not None, 30, "redis")
        t0 = time.monotonic()
        for h in hosts:
            lay.start_worker(h, "storage")
        harness.wait_until(lambda: stored() >= base + n, 600, "storage of the backlog")
        return n / (time.monotonic() - t0)

    out = {}
    # Hub B has not connected yet: a member of a shared subscription that is away keeps
    # its persistent session, and the broker would queue its share for it.
    out["ingest, 1 hub"] = ingest_rate()
    # The same without WAIT: what redis.min_replicas_ack 1 costs.
    lay.procs["hub-a"].stop(signal.SIGTERM)
    lay.hub_config("a", acks=0)
    lay.procs["hub-a"].start()
    harness.wait_until(lambda: lay.healthz("a") == 200, 30, "hub a healthy")
    out["ingest, 1 hub, min_replicas_ack 0"] = ingest_rate()
    lay.procs["hub-a"].stop(signal.SIGTERM)
    lay.hub_config("a", acks=1)
    lay.procs["hub-a"].start()
    harness.wait_until(lambda: lay.healthz("a") == 200, 30, "hub a healthy")
    out["ingest, 1 hub, min_replicas_ack 1 again"] = ingest_rate()
    lay.procs["hub-b"].start()
    harness.wait_until(lambda: lay.healthz("b") == 200, 30, "hub b healthy")
    out["ingest, 2 hubs ($share)"] = ingest_rate()
    out["storage, 1 worker"] = storage_rate(["a"])
    out["storage, 2 workers (2 hosts)"] = storage_rate(["a", "b"])
    return out


def print_table(s, rate):
    print(f"\nrun {s['run']}: {s['published']} events at {rate}/s, {s['acked']} acknowledged "
          f"by the broker, {s['stored']} stored; lost {s['lost']}, duplicated in the streams "
          f"{s['dup_stream']}, duplicate rows {s['dup_rows']}; alert ids with a repeated "
          f"state {s['alerts_bad']}; closed 1-minute windows with a wrong count "
          f"{s['aggregates_bad']}")
    print(f"| {'fault':<26} | {'lost':>5} | {'duplicates':>10} | {'no ingest s':>11} "
          f"| {'backlog s':>9} |")
    print(f"| {'-' * 26} | {'-' * 4}: | {'-' * 9}: | {'-' * 10}: | {'-' * 8}: |")
    for p in s["phases"]:
        b = "-" if p["backlog_s"] is None else p["backlog_s"]
        print(f"| {p['fault']:<26} | {p['lost']:>5} | {p['dup']:>10} | {p['no_ingest_s']:>11} "
              f"| {b:>9} |")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
