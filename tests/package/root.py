# SPDX-License-Identifier: MIT
"""A throw-away Debian system for the package tests, inside Linux namespaces.

Run as root under `unshare --mount --net --pid --fork --kill-child` (test_package.py
does): /etc, /usr and /var become overlays whose writes land in a test folder, /run is
a fresh tmpfs and the network has only its own loopback. In there the packages are
installed with the real `dpkg -i` (maintainer scripts, sysusers, tmpfiles, conffiles),
Debian's own mosquitto and redis-server run with their packaged configurations on
the standard ports, and the hub runs as the unit file says: its ExecStartPre and
ExecStart lines, as its User, in its WorkingDirectory, with a NOTIFY_SOCKET this
driver listens on. Nothing of it reaches the machine: when the driver (PID 1 of its
namespace) exits, every process in there ends and the mounts go away.

    python3 root.py OVERLAY_DIR install DEB...      docs/operations.md: install, back up, restore
    python3 root.py OVERLAY_DIR production DEB...   accounts, certificates, TLS device
    python3 root.py OVERLAY_DIR broker-data DEB...  the broker's persistence, default folder
    python3 root.py OVERLAY_DIR upgrade NEW_DEB -- DEB...
    python3 root.py OVERLAY_DIR worker-units NEW_DEB -- DEB...   rheinhub-worker@ instances

Prints what it checks; exits 0 when every check passed, 1 with the reason when not.
"""

import json
import os
import pwd
import re
import shlex
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

UNIT = Path("/lib/systemd/system/rheinhub.service")
CONF = Path("/etc/rheinhub/hub.yaml")
DB = Path("/var/lib/rheinhub/rheinhub.db")
# What docs/operations.md tells the operator to put next to Debian's broker config.
BROKER_CONF_D = """\
# rheinhub: queue the hub's events while it restarts (docs/operations.md)
set_tcp_nodelay true
max_queued_messages 1000000
max_queued_bytes 1073741824
autosave_interval 30
"""


def log(msg):
    print(f"root: {msg}", flush=True)


def fail(msg):
    print(f"root: FAILED: {msg}", flush=True)
    sys.exit(1)


def run(argv, check=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        fail(f"{' '.join(map(str, argv))} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = cond()
            if v:
                return v
        except Exception:  # noqa: BLE001 - not yet
            pass
        if time.monotonic() > deadline:
            fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def enter(overlay):
    """Overlays on /etc, /usr, /var; a private /run; loopback up."""
    run(["mount", "--make-rprivate", "/"])
    for d in ("etc", "usr", "var"):
        up, work = overlay / d / "upper", overlay / d / "work"
        up.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir=/{d},upperdir={up},workdir={work}", f"/{d}"])
    run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run"])
    Path("/run/lock").mkdir()
    run(["ip", "link", "set", "lo", "up"])
    if Path("/run/systemd/system").exists():
        fail("/run/systemd/system exists in the namespace")


def dpkg_install(debs):
    r = run(["dpkg", "-i", *map(str, debs)],
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    log(f"dpkg -i: {' '.join(Path(d).name for d in debs)}")
    return r


def check_installed():
    try:
        user = pwd.getpwnam("rheinhub")
    except KeyError:
        fail("no system user rheinhub after the install")
    if user.pw_uid >= 1000:
        fail(f"rheinhub is not a system user: uid {user.pw_uid}")
    st = CONF.stat()
    if st.st_mode & 0o777 != 0o640 or st.st_uid != 0 or st.st_gid != user.pw_gid:
        fail(f"{CONF}: mode {st.st_mode & 0o777:o} owner {st.st_uid}:{st.st_gid}")
    st = DB.parent.stat()
    if st.st_uid != user.pw_uid or st.st_mode & 0o777 != 0o750:
        fail(f"{DB.parent}: owner {st.st_uid} mode {st.st_mode & 0o777:o}")
    conffiles = run(["dpkg-query", "-W", "-f", "${Conffiles}", "rheinhub"]).stdout
    for f in ("hub.yaml", "alerting-rules.yaml", "analytics-windows.yaml"):
        if f"/etc/rheinhub/{f}" not in conffiles:
            fail(f"/etc/rheinhub/{f} is not a conffile: {conffiles}")
    log(f"user rheinhub uid {user.pw_uid}; hub.yaml root:rheinhub 0640; conffiles ok")
    return user


def start_redis():
    """redis-server as redis-server.service runs it (its user, Debian's config)."""
    redis = subprocess.Popen(
        ["setpriv", "--reuid", "redis", "--regid", "redis", "--init-groups",
         "redis-server", "/etc/redis/redis.conf", "--daemonize", "no", "--supervised", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: run(["redis-cli", "PING"], check=False).stdout.strip() == "PONG", 20,
               "redis-server")
    return redis


def redis_persistence():
    """INFO persistence as a dict."""
    out = sh("redis-cli INFO persistence")
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


def redis_bgsave():
    """docs/operations.md: BGSAVE SCHEDULE, then wait for a finished, successful save.

    redis-cli exits 0 on an error reply, and a plain BGSAVE is refused while another
    child (the AOF rewrite that turning on appendonly starts) runs; LASTSAVE has a
    resolution of one second. The save counter and the last status say it exactly."""
    saves = int(redis_persistence()["rdb_saves"])
    reply = sh("redis-cli BGSAVE SCHEDULE").strip()
    if not reply.startswith("Background saving"):
        fail(f"redis-cli BGSAVE SCHEDULE: {reply}")

    def saved():
        p = redis_persistence()
        return (int(p["rdb_saves"]) > saves and p["rdb_bgsave_in_progress"].strip() == "0"
                and p["rdb_last_bgsave_status"].strip() == "ok")
    try:
        wait_until(saved, 60, "Redis's BGSAVE")
    except SystemExit:
        log("INFO persistence:\n" + sh("redis-cli INFO persistence"))
        log("redis log tail:\n" + sh("tail -n 30 /var/log/redis/redis-server.log"))
        raise


def start_broker_and_redis():
    """Debian's mosquitto and redis-server, their packaged configs, as their units run them."""
    Path("/etc/mosquitto/conf.d/rheinhub.conf").write_text(BROKER_CONF_D)
    for d, owner in (("/run/mosquitto", "mosquitto"), ("/run/redis", "redis"),
                     ("/var/log/mosquitto", "mosquitto"), ("/var/log/redis", "redis")):
        Path(d).mkdir(parents=True, exist_ok=True)
        run(["chown", f"{owner}:{owner}", d])
    mosq = subprocess.Popen(["mosquitto", "-c", "/etc/mosquitto/mosquitto.conf"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    redis = start_redis()
    wait_until(lambda: socket.create_connection(("127.0.0.1", 1883), 1), 20, "mosquitto")
    # docs/operations.md: Redis keeps every write (AOF) and never evicts a stream entry.
    for args in (["CONFIG", "SET", "appendonly", "yes"], ["CONFIG", "SET", "maxmemory", "2gb"],
                 ["CONFIG", "SET", "maxmemory-policy", "noeviction"], ["CONFIG", "REWRITE"]):
        out = run(["redis-cli", *args]).stdout.strip()
        if out != "OK":
            fail(f"redis-cli {' '.join(args)}: {out}")
    log("Debian's mosquitto and redis-server are up on 127.0.0.1:1883 and :6379")
    return mosq, redis


def unit_settings():
    """ExecStartPre, ExecStart, User, WorkingDirectory, Environment of the installed unit."""
    s = {"ExecStartPre": [], "ExecStart": None, "User": "root", "WorkingDirectory": "/"}
    for line in UNIT.read_text().splitlines():
        m = re.match(r"^(ExecStartPre|ExecStart|User|WorkingDirectory)=(.*)$", line)
        if not m:
            continue
        if m.group(1) == "ExecStartPre":
            s["ExecStartPre"].append(shlex.split(m.group(2)))
        elif m.group(1) == "ExecStart":
            s["ExecStart"] = shlex.split(m.group(2))
        else:
            s[m.group(1)] = m.group(2)
    return s


class Notify:
    """The socket NOTIFY_SOCKET names; collects the lines the hub sends."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o777)
        self.sock.settimeout(0.2)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                self.lines.extend(self.sock.recv(4096).decode().split("\n"))
            except socket.timeout:
                continue
            except OSError:
                return


class Service:
    """rheinhub.service as systemd runs it: ExecStartPre, then ExecStart, KillMode=mixed."""

    def __init__(self, notify, logfile):
        self.notify = notify
        self.logfile = logfile
        self.proc = None

    def start(self):
        s = unit_settings()
        as_user = ["setpriv", "--reuid", s["User"], "--regid", s["User"], "--init-groups"]
        env = {"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": self.notify.path,
               "WATCHDOG_USEC": "20000000", "LANG": "C.UTF-8"}
        for pre in s["ExecStartPre"]:
            run(as_user + pre, cwd=s["WorkingDirectory"], env=env)
        ready_before = self.notify.lines.count("READY=1")
        with open(self.logfile, "ab") as out:
            self.proc = subprocess.Popen(as_user + s["ExecStart"], cwd=s["WorkingDirectory"],
                                         env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: self.proc.poll() is None
                   and self.notify.lines.count("READY=1") > ready_before
                   or (self.proc.poll() is not None and fail("the hub exited during start")),
                   60, "READY=1 from the installed hub")
        log(f"started {' '.join(s['ExecStart'])} as {s['User']}: READY=1")

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(60)
        if rc != 0:
            fail(f"the hub exited with {rc} after SIGTERM")
        if "STOPPING=1" not in self.notify.lines:
            fail("no STOPPING=1 before the hub exited")
        log("stopped with SIGTERM: exit 0, STOPPING=1 seen")


def stored(subject_prefix):
    if not DB.exists():
        return 0
    with sqlite3.connect(f"file:{DB}?mode=ro", uri=True, timeout=5) as db:
        return db.execute("SELECT count(DISTINCT subject) FROM events WHERE subject LIKE ?",
                          (subject_prefix + "%",)).fetchone()[0]


def sh(command):
    """One command line of docs/operations.md, run by bash as written there."""
    return run(["bash", "-c", command]).stdout


def check_query(subject, value):
    q = sh("runuser -u rheinhub -- rheinhub-storage query -c /etc/rheinhub/hub.yaml "
           "--type sensor.waterlevel")
    rows = [json.loads(line) for line in q.splitlines() if line.strip()]
    if not any(r["subject"] == subject and r["data"]["value"] == value for r in rows):
        fail(f"rheinhub-storage query does not show {subject}: {q}")


def publish_one(subject, value):
    payload = json.dumps({"time": "2026-12-04T06:00:00Z", "value": value, "unit": "cm"})
    run(["mosquitto_pub", "-h", "127.0.0.1", "-p", "1883", "-q", "1",
         "-t", f"linz/sensor/waterlevel/{subject}", "-m", payload])


def scenario_install(overlay, debs):
    dpkg_install(debs)
    check_installed()
    _, redis = start_broker_and_redis()
    notify = Notify("/run/rheinhub-notify.sock")
    svc = Service(notify, overlay / "hub.log")
    svc.start()
    health = sh("curl -s http://127.0.0.1:8080/healthz")
    if '"status":"ok"' not in health:
        fail(f"/healthz: {health}")
    for cmd in ("rheinhub --check -c /etc/rheinhub/hub.yaml",
                "rheinhub-alerting --check -c /etc/rheinhub/hub.yaml",
                "rheinhub-analytics --check -c /etc/rheinhub/hub.yaml"):
        sh(cmd)
    log(f"/healthz ok; the --check commands of docs/operations.md pass")
    sh("mosquitto_pub -h 127.0.0.1 -q 1 -t linz/sensor/waterlevel/rhein-pegel-1 "
       "-m '{\"time\":\"2026-12-04T06:00:00Z\",\"value\":412,\"unit\":\"cm\"}'")
    wait_until(lambda: stored("rhein-pegel-1") == 1, 30, "the event in the installed database")
    check_query("rhein-pegel-1", 412)
    log(f"published linz/sensor/waterlevel/rhein-pegel-1; stored in {DB}; query shows it")
    # The installed hub keeps a crash journal (a hub the watchdog kills loses nothing).
    journal = Path("/var/lib/rheinhub/journal")
    if not journal.is_dir() or not any(journal.iterdir()):
        fail(f"no crash journal in {journal}: {sh('ls -la /var/lib/rheinhub')}")
    st = journal.stat()
    if pwd.getpwuid(st.st_uid).pw_name != "rheinhub" or st.st_mode & 0o777 != 0o700:
        fail(f"{journal}: owner {st.st_uid}, mode {oct(st.st_mode & 0o777)}")
    log(f"the hub journals into {journal} (rheinhub, 0700)")

    # Back up while it runs, lose the database, restore (docs/operations.md).
    sh("install -d -o rheinhub -g rheinhub -m 0750 /var/backups/rheinhub")
    sh("runuser -u rheinhub -- rheinhub-storage backup "
       "/var/backups/rheinhub/rheinhub-$(date +%F).db")
    backup = sh("ls /var/backups/rheinhub/rheinhub-$(date +%F).db").strip()
    redis_bgsave()
    sh("cp /var/lib/redis/dump.rdb /var/backups/rheinhub/redis-$(date +%F).rdb")
    xlen = sh("redis-cli XLEN rheinhub:events:sensor.waterlevel").strip()
    svc.stop()
    # The disk is gone: the database and Redis's data.
    for f in DB.parent.glob("rheinhub.db*"):
        f.unlink()
    redis.terminate()          # systemctl stop redis-server
    redis.wait(30)
    sh("rm -rf /var/lib/redis/*")
    sh(f"install -o rheinhub -g rheinhub -m 0640 {backup} /var/lib/rheinhub/rheinhub.db")
    sh("rm -f /var/lib/rheinhub/rheinhub.db-wal /var/lib/rheinhub/rheinhub.db-shm")
    sh("rm -rf /var/lib/redis/appendonlydir")
    sh("install -o redis -g redis -m 0660 /var/backups/rheinhub/redis-$(date +%F).rdb "
       "/var/lib/redis/dump.rdb")
    sh("sed -i 's/^appendonly yes/appendonly no/' /etc/redis/redis.conf")
    redis = start_redis()      # systemctl start redis-server
    sh("redis-cli CONFIG SET appendonly yes")
    sh("redis-cli CONFIG REWRITE")
    if sh("redis-cli XLEN rheinhub:events:sensor.waterlevel").strip() != xlen:
        fail(f"Redis's stream after the restore is not the {xlen} entries backed up")
    if "appendonly yes" not in Path("/etc/redis/redis.conf").read_text():
        fail("appendonly is not back on in /etc/redis/redis.conf")
    svc.start()
    check_query("rhein-pegel-1", 412)
    publish_one("pkg-after-restore", 433)
    wait_until(lambda: stored("pkg-after-restore") == 1, 30, "a new event after the restore")
    log(f"backed up to {backup} and Redis's dump.rdb, removed both, restored them: the event "
        f"is back, Redis has its {xlen} stream entries, new events are stored")
    bt = Path("/tmp/rheinhub-broker-test")
    run(["rheinhub-broker", "configure", "-d", str(bt), "--municipality", "linz",
         "--data", str(bt / "data")])
    if not (bt / "mosquitto.conf").exists():
        fail("rheinhub-broker configure wrote no mosquitto.conf")
    log("rheinhub-broker configure works from the installed tools")
    for src in ("ttn", "chirpstack", "pegelonline"):
        run(["setpriv", "--reuid", "rheinhub", "--regid", "rheinhub", "--init-groups",
             f"rheinhub-source-{src}", "--check", "-c", str(CONF),
             "-f", f"/usr/share/rheinhub/sources/linz/{src}.yaml"])
    log("rheinhub-source-ttn, -chirpstack, -pegelonline --check the shipped Linz mappings")
    svc.stop()


def scenario_production(overlay, debs):
    """Accounts and certificates (docs/operations.md): the production broker."""
    dpkg_install(debs)
    check_installed()
    mosq, _ = start_broker_and_redis()
    env = "HUB_PASSWORD=hub-secret-1 DEVICE_PASSWORD=device-secret-2; "
    sh("rheinhub-broker configure --municipality linz --data /var/lib/mosquitto/rheinhub")
    sh("rheinhub-broker make-ca mqtt.linz.example 127.0.0.1")
    sh(env + "printf '%s\\n' \"$HUB_PASSWORD\" | rheinhub-broker account add platform rheinhub")
    sh(env + "printf '%s\\n' \"$DEVICE_PASSWORD\" | "
       "rheinhub-broker account add device rhein-pegel-1")
    sh("rheinhub-broker make-ca --client rhein-pegel-1")
    sh("CONSOLE_PASSWORD=console-secret-3; printf '%s\\n' \"$CONSOLE_PASSWORD\" | "
       "rheinhub-broker account add operator rheinhub-console")
    sh("OPERATOR_PASSWORD=operator-secret-4; printf '%s\\n' \"$OPERATOR_PASSWORD\" | "
       "rheinhub-broker account add operator ops.mueller")
    log("rheinhub-broker: configure, make-ca, four accounts, a client certificate")
    # What the systemctl edit of the guide does: Debian's mosquitto with our config.
    mosq.terminate()
    mosq.wait(30)
    prod = subprocess.Popen(["/usr/sbin/mosquitto", "-c", "/etc/rheinhub/broker/mosquitto.conf"],
                            stdout=open(overlay / "mosquitto.log", "ab"),
                            stderr=subprocess.STDOUT)
    wait_until(lambda: socket.create_connection(("127.0.0.1", 8883), 1), 20,
               "the production broker's TLS listener")
    text = CONF.read_text()
    text = text.replace('  username: ""', "  username: rheinhub", 1)
    text = text.replace('  password: ""', '  password: "hub-secret-1"', 1)
    # The console (docs/operations.md): its worker entry, its own reading account.
    text = text.replace("  # - name: console\n  #   command: /usr/bin/rheinhub-console\n"
                        "  #   types: []\n",
                        "  - name: console\n    command: /usr/bin/rheinhub-console\n"
                        "    types: []\n")
    text = text.replace("  accounts_file: /etc/rheinhub/broker/accounts",
                        "  accounts_file: /etc/rheinhub/broker/accounts\n"
                        "  username: rheinhub-console\n  password: \"console-secret-3\"")
    if "  - name: console" not in text or "username: rheinhub-console" not in text:
        fail("hub.yaml has no console entry to uncomment")
    CONF.write_text(text)
    sh("rheinhub-console --check -c /etc/rheinhub/hub.yaml")
    notify = Notify("/run/rheinhub-notify.sock")
    svc = Service(notify, overlay / "hub.log")
    svc.start()
    sh("cd /etc/rheinhub/broker/clients && DEVICE_PASSWORD=device-secret-2 && "
       "mosquitto_pub -h 127.0.0.1 -p 8883 --cafile ../ca/ca.crt "
       "--cert rhein-pegel-1.crt --key rhein-pegel-1.key -u rhein-pegel-1 "
       "-P \"$DEVICE_PASSWORD\" -q 1 -t linz/sensor/waterlevel/rhein-pegel-1 "
       "-m '{\"time\":\"2026-12-04T06:00:00Z\",\"value\":412,\"unit\":\"cm\"}'")
    wait_until(lambda: stored("rhein-pegel-1") == 1, 30, "the device's event stored")
    check_query("rhein-pegel-1", 412)
    # An account may publish only its own topics; anonymous is refused.
    r = run(["mosquitto_pub", "-h", "127.0.0.1", "-p", "1883", "-q", "1", "-t",
             "linz/sensor/waterlevel/x", "-m", "{}"], check=False)
    if r.returncode == 0:
        fail("the production broker took an anonymous publish")
    log("the hub logs in as rheinhub; the device's TLS publish is stored; "
        "anonymous is refused")
    page = wait_until(lambda: sh("curl -sf http://127.0.0.1:8081/"), 30, "the console's page")
    if "<html" not in page.lower():
        fail(f"the console's / is no page: {page[:200]}")
    login = sh("curl -s -X POST -H 'Content-Type: application/json' "
               "-d '{\"user\":\"ops.mueller\",\"password\":\"operator-secret-4\"}' "
               "http://127.0.0.1:8081/api/login")
    if '"csrf"' not in login:
        fail(f"the operator cannot log in to the console: {login}")
    refused = run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                   "-H", "Content-Type: application/json", "-d",
                   '{"user":"rhein-pegel-1","password":"device-secret-2"}',
                   "http://127.0.0.1:8081/api/login"]).stdout
    if refused != "403":
        fail(f"a device account got {refused} from the console's login, not 403")
    log("the console (supervised by the hub) serves its page from /usr/share/rheinhub/console; "
        "an operator logs in, a device account is refused")
    svc.stop()
    prod.terminate()
    prod.wait(30)


def scenario_broker_data(overlay, debs):
    """The production broker with configure's default persistence folder keeps what it
    holds (retained alert states, queued messages) across its restart."""
    dpkg_install(debs)
    check_installed()
    sh("rheinhub-broker configure --municipality linz")
    sh("rheinhub-broker make-ca mqtt.linz.example 127.0.0.1")
    sh("printf '%s\\n' hub-secret-1 | rheinhub-broker account add platform rheinhub")
    env = Path("/etc/rheinhub/broker/broker.env").read_text()
    data = Path(re.search(r"^DATA_DIR=(.*)$", env, re.M).group(1))
    log(f"rheinhub-broker configure without --data: persistence in {data}")
    login = "-h 127.0.0.1 -p 1883 -u rheinhub -P hub-secret-1"
    topic = "linz/alerts/rhine-flood/pkg-gauge-1"

    def broker():
        proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", "/etc/rheinhub/broker/mosquitto.conf"],
                                stdout=open(overlay / "mosquitto.log", "ab"),
                                stderr=subprocess.STDOUT)
        wait_until(lambda: socket.create_connection(("127.0.0.1", 1883), 1), 20,
                   "the production broker")
        return proc

    def stop(proc):
        proc.terminate()   # systemctl stop mosquitto: it saves its database on the way out
        proc.wait(30)

    prod = broker()
    sh(f"mosquitto_pub {login} -q 1 -r -t {topic} -m '{{\"state\":\"active\"}}'")
    stop(prod)
    if not (data / "mosquitto.db").exists():
        fail(f"the broker saved no {data / 'mosquitto.db'} (it runs as mosquitto):\n"
             + (overlay / "mosquitto.log").read_text()[-1500:])
    prod = broker()
    got = run(["bash", "-c", f"mosquitto_sub {login} -C 1 -W 5 -t '{topic}'"], check=False)
    stop(prod)
    if '"state":"active"' not in got.stdout:
        fail(f"the retained alert state is gone after the broker's restart: {got.stdout}"
             f"{got.stderr}")
    log(f"the broker saved {data / 'mosquitto.db'}; the retained alert state survives its restart")


FAKE_SYSTEMCTL = """\
#!/usr/bin/python3
# systemctl for the worker-units scenario: a booted system's units, as far as the
# maintainer scripts ask. Active units are lines of ACTIVE; what a verb did to a unit
# goes to LOG as "VERB UNIT".
import fnmatch, sys
ACTIVE, LOG = "/run/fake-systemd/active", "/run/fake-systemd/log"
args = [a for a in sys.argv[1:] if not a.startswith("-")]
if "--version" in sys.argv:
    print("systemd 252 (252.0)")
    sys.exit(0)
if not args:
    sys.exit(0)
verb, names = args[0], args[1:]
active = open(ACTIVE).read().split()
match = [u for u in active if any(fnmatch.fnmatchcase(u, n) for n in names)]
if verb == "is-enabled":
    print("enabled")
elif verb == "is-active":
    sys.exit(0 if match and len(match) == len(names) else 3)
elif verb == "list-units":
    for u in match:
        print(f"{u} loaded active running {u}")
elif verb in ("start", "restart", "try-restart", "reload-or-restart", "stop"):
    units = set(match) | {n for n in names if not any(c in n for c in "*?[")}
    if verb == "try-restart":
        units = set(match)
    with open(LOG, "a") as log:
        for u in sorted(units):
            log.write(f"{'stop' if verb == 'stop' else 'restart'} {u}\\n")
    active = [u for u in active if u not in units] + ([] if verb == "stop" else sorted(units))
    open(ACTIVE, "w").write("\\n".join(active) + "\\n")
"""


def scenario_worker_units(overlay, new_deb, debs):
    """A worker host (docs/operations.md, "Workers on other hosts"): an upgrade restarts
    the running rheinhub-worker@ instances, as it restarts rheinhub.service, so that they
    run the new binaries; removing the package stops them. systemd is not PID 1 here: a
    stand-in systemctl answers the maintainer scripts and records what they do."""
    dpkg_install(debs)
    Path("/run/systemd/system").mkdir(parents=True)
    Path("/run/fake-systemd").mkdir()
    Path("/run/fake-systemd/active").write_text(
        "rheinhub.service\nrheinhub-worker@storage.service\n")
    Path("/run/fake-systemd/log").write_text("")
    Path("/usr/bin/systemctl").write_text(FAKE_SYSTEMCTL)
    os.chmod("/usr/bin/systemctl", 0o755)
    # A server has no policy-rc.d; a build container's forbids every start (101).
    Path("/usr/sbin/policy-rc.d").unlink(missing_ok=True)
    dpkg_install([new_deb])
    done = Path("/run/fake-systemd/log").read_text().splitlines()
    log(f"systemctl after the upgrade: {done}")
    for unit in ("rheinhub.service", "rheinhub-worker@storage.service"):
        if f"restart {unit}" not in done:
            fail(f"the upgrade did not restart {unit}, which goes on running the old "
                 f"binary: {done}")
    Path("/run/fake-systemd/log").write_text("")
    run(["dpkg", "-r", "rheinhub-console", "rheinhub-sources", "rheinhub"])
    done = Path("/run/fake-systemd/log").read_text().splitlines()
    log(f"systemctl at the removal: {done}")
    for unit in ("rheinhub.service", "rheinhub-worker@storage.service"):
        if f"stop {unit}" not in done:
            fail(f"removing the package left {unit} running: {done}")
    log("the upgrade restarted rheinhub.service and rheinhub-worker@storage.service; "
        "the removal stopped both")


class Stream:
    """QoS 1 events at a steady rate from a thread; remembers what the broker acked."""

    def __init__(self, rate, prefix):
        import paho.mqtt.client as mqtt
        self.rate, self.prefix = rate, prefix
        self.client = mqtt.Client(client_id=f"pkg-stream-{os.getpid()}")
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        self.infos = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        k, t0 = 0, time.monotonic()
        while not self.done.is_set():
            payload = json.dumps({"time": f"2026-12-04T07:00:00.{k:09d}Z", "value": k % 900,
                                  "unit": "cm"})
            self.infos.append(self.client.publish(
                f"linz/sensor/waterlevel/{self.prefix}{k}", payload, qos=1))
            k += 1
            ahead = k / self.rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)

    def finish(self):
        self.done.set()
        self.thread.join()
        for info in self.infos:
            info.wait_for_publish(30)
        acked = sum(1 for i in self.infos if i.is_published())
        self.client.disconnect()
        self.client.loop_stop()
        return len(self.infos), acked


def scenario_upgrade(overlay, new_deb, debs):
    dpkg_install(debs)
    check_installed()
    old = run(["dpkg-query", "-W", "-f", "${Version}", "rheinhub"]).stdout
    # The operator's change that the upgrade must keep.
    CONF.write_text(CONF.read_text().replace("level: info", "level: debug"))
    start_broker_and_redis()
    notify = Notify("/run/rheinhub-notify.sock")
    svc = Service(notify, overlay / "hub.log")
    svc.start()
    stream = Stream(rate=400, prefix="pkg-upgrade-")
    wait_until(lambda: stored("pkg-upgrade-") >= 200, 60, "200 events stored before the upgrade")
    dpkg_install([new_deb])
    new = run(["dpkg-query", "-W", "-f", "${Version}", "rheinhub"]).stdout
    if new == old:
        fail(f"the version did not change: {old}")
    if "level: debug" not in CONF.read_text():
        fail("the upgrade replaced the operator's hub.yaml")
    if any(Path("/etc/rheinhub").glob("*.dpkg-*")):
        fail(f"dpkg left {list(Path('/etc/rheinhub').glob('*.dpkg-*'))}")
    log(f"upgraded {old} -> {new}; /etc/rheinhub/hub.yaml kept the operator's change")
    # What the postinst's `deb-systemd-invoke restart rheinhub.service` does under systemd.
    before = stored("pkg-upgrade-")
    svc.stop()
    svc.start()
    wait_until(lambda: stored("pkg-upgrade-") > before + 200, 60,
               "200 more events stored after the restart")
    sent, acked = stream.finish()
    if acked != sent:
        fail(f"the broker acknowledged {acked} of {sent} events")
    wait_until(lambda: stored("pkg-upgrade-") == sent, 60, f"all {sent} events stored")
    with sqlite3.connect(f"file:{DB}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT count(*) FROM events WHERE subject LIKE 'pkg-upgrade-%'"
                          ).fetchone()[0]
    if rows != sent:
        fail(f"{rows} rows for {sent} events: duplicates or losses")
    log(f"{sent} events published at 400/s across the upgrade and restart; "
        f"{rows} stored, each once")
    svc.stop()


def main(argv):
    if os.getpid() != 1:
        fail("run me as PID 1 of a new namespace (unshare --pid --fork)")
    overlay = Path(argv[1])
    enter(overlay)
    if argv[2] == "install":
        scenario_install(overlay, argv[3:])
    elif argv[2] == "production":
        scenario_production(overlay, argv[3:])
    elif argv[2] == "broker-data":
        scenario_broker_data(overlay, argv[3:])
    elif argv[2] == "worker-units":
        sep = argv.index("--")
        scenario_worker_units(overlay, argv[3], argv[sep + 1:])
    elif argv[2] == "upgrade":
        sep = argv.index("--")
        scenario_upgrade(overlay, argv[3], argv[sep + 1:])
    else:
        fail(f"unknown scenario {argv[2]}")
    log("PASSED")


if __name__ == "__main__":
    main(sys.argv)
