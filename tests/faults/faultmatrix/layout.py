# SPDX-License-Identifier: MIT
"""The two-host layout of the fault matrix, and the supervisor that restarts its processes.

Host A is 127.0.0.1, host B 127.0.0.2 (the whole of 127/8 is loopback on Linux), each
with its own run folder:

  A: Mosquitto; Redis master; Sentinels 1 and 3; hub A; storage, alerting, analytics
  B: Redis replica; Sentinel 2; hub B; storage, alerting, analytics
  PostgreSQL for storage (a throwaway server, as the storage integration tests start).

The hubs share one subscription ($share/hubs/...), find the Redis master through the
Sentinels, and journal what they take; the workers find it the same way. The layout
also answers what the matrix observes: the streams' growth, what storage holds, the
duplicates in the streams, the alert states and the aggregates.
"""

import os
import re
import signal
import threading
from datetime import datetime
from pathlib import Path

from . import build_dir, harness, storage_helpers

HOST_A, HOST_B = "127.0.0.1", "127.0.0.2"
MASTER_NAME = "rheinhub"
TYPES = ("sensor.waterlevel", "sensor.parking", "sensor.airquality")
WORKER_KINDS = ("storage", "alerting", "analytics")
HUB_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z")


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
        self.broker_restarts = []   # {"term": t, "start": t} wall clock, per restart
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
        harness.wait_until(lambda: self.replica_ok(), 60,
                           "the replica in sync and known to every Sentinel")

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
        """The master has its replica, and every Sentinel knows the two others and the
        replica as a healthy candidate. Sentinel learns replicas from the master's INFO
        every 10 s; a master killed before that leaves them nothing to promote
        (-failover-abort-no-good-slave)."""
        info = self.redis().info("replication")
        if info.get("connected_slaves", 0) < 1:
            return False
        import redis
        master = self.master()
        for ip, port in zip(self.sentinel_hosts, self.sentinel_ports):
            try:
                r = redis.Redis(host=ip, port=port, socket_timeout=1, socket_connect_timeout=1)
                state = r.sentinel_master(MASTER_NAME)
                replicas = r.sentinel_slaves(MASTER_NAME)
            except Exception:
                return False
            if int(state.get("num-other-sentinels", 0)) != 2:
                return False
            if not any((x.get("ip"), int(x.get("port", 0))) != master and
                       x.get("flags") == "slave" and x.get("master-link-status") == "ok"
                       for x in replicas):
                return False
        return True

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

    def stream_seqs(self):
        """(every sequence number in the event streams, those written more than once);
        an entry holds one event or several (harness.entry_envelopes)."""
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
                    for env in harness.entry_envelopes(fields):
                        seq = int(env["data"]["fw"][4:])
                        if seq in seen:
                            dups.append(seq)
                        seen.add(seq)
                last = batch[-1][0].decode()
        return seen, dups

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


    def hub_log_times(self, host, text):
        """Wall-clock times (s since the epoch) of hub `host`'s log lines containing text."""
        out = []
        path = self.procs[f"hub-{host}"].log_path
        for line in path.read_text(errors="replace").splitlines():
            m = HUB_LOG_TIME.match(line)
            if m and text in line:
                stamp = datetime.strptime(m.group(1) + "+0000", "%Y-%m-%dT%H:%M:%S.%f%z")
                out.append(stamp.timestamp())
        return out
