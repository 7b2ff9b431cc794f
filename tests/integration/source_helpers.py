# SPDX-License-Identifier: MIT
"""Stand-ins for the outside world of the sources (test_sources_*.py).

- NetServer: a second Mosquitto with TLS (its own CA and a server certificate for
  127.0.0.1, made with openssl) and password accounts: one for the source, one for the
  network server, which publishes the recorded uplinks the way The Things Stack's or
  ChirpStack's MQTT integration does.
- PegelServer: a local HTTP server standing in for PEGELONLINE's REST API v2, serving
  recorded responses, with faults to order (404, 500, a hang, truncated JSON).
- Source: one rheinhub-source-* process with its own file, its /metrics and /healthz.

Everything listens on 127.0.0.1 on ports the kernel hands out.
"""

import base64
import getpass
import hashlib
import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

import harness
from harness import wait_until

DATA = harness.REPO / "tests" / "data" / "sources"
NETSERVER_USER = "netserver"
SOURCE_USER = "linz-sensors@ttn"


@pytest.fixture
def sources(request):
    """make(hub, kind, text, name=None) -> Source (not started); SIGTERMed and checked at
    the end. Import it into a test module: `from source_helpers import sources  # noqa`."""
    made = []

    def make(hub, kind, text, name=None):
        assert source_binary(kind).exists(), f"{source_binary(kind)} not built"
        s = Source(hub, kind, text, name=name)
        made.append(s)
        harness.add_logs(request.node, (s.name, s.log_path))
        return s

    yield make
    errors = []
    for s in made:
        errors += s.stop()
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


def source_binary(kind):
    return harness.build_dir() / "sources" / f"rheinhub-source-{kind}"


def recorded(kind, name):
    return (DATA / kind / name).read_bytes()


def make_ca(folder):
    """A CA and a server certificate for 127.0.0.1 (EC P-256); returns (ca.crt, crt, key)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = folder / "ca.key", folder / "ca.crt"
    key, csr, crt = folder / "server.key", folder / "server.csr", folder / "server.crt"
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                   "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                   "extendedKeyUsage=serverAuth\n")

    def run(*args):
        subprocess.run(["openssl", *map(str, args)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca_key)
    run("req", "-x509", "-new", "-key", ca_key, "-days", "30", "-subj", "/CN=netserver test CA",
        "-out", ca_crt)
    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    run("req", "-new", "-key", key, "-subj", "/CN=127.0.0.1", "-out", csr)
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-days", "30", "-extfile", ext, "-out", crt)
    return ca_crt, crt, key


class NetServer:
    """A TLS Mosquitto standing in for a network server's MQTT integration."""

    def __init__(self, tmp):
        self.dir = Path(tmp) / "netserver"
        self.port = free = harness.free_port()
        self.ca, crt, key = make_ca(self.dir / "tls")
        self.source_password = uuid.uuid4().hex
        self.netserver_password = uuid.uuid4().hex
        passwd = self.dir / "passwd"
        subprocess.run(["mosquitto_passwd", "-b", "-c", passwd, SOURCE_USER,
                        self.source_password], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["mosquitto_passwd", "-b", passwd, NETSERVER_USER,
                        self.netserver_password], check=True, stdout=subprocess.DEVNULL)
        conf = self.dir / "mosquitto.conf"
        conf.write_text(
            f"user {getpass.getuser()}\n"
            f"per_listener_settings false\nallow_anonymous false\npassword_file {passwd}\n"
            "persistence false\nset_tcp_nodelay true\nmax_queued_messages 200000\n"
            "max_inflight_messages 1000\nlog_dest stderr\nlog_type error\nlog_type warning\n"
            f"listener {free} 127.0.0.1\ncafile {self.ca}\ncertfile {crt}\nkeyfile {key}\n"
            "tls_version tlsv1.2\n")
        self.proc = harness.Proc("netserver", ["mosquitto", "-c", conf], self.dir / "log")

    def start(self, timeout=15):
        self.proc.start()

        def ready():
            assert self.proc.running(), "netserver mosquitto exited during start"
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        wait_until(ready, timeout, f"netserver mosquitto on port {self.port}")
        return self

    def stop(self):
        return self.proc.stop(signal.SIGTERM)

    def restrict(self, source_reads):
        """From the next start, the source's user may subscribe only to the topic filters
        source_reads, the network server's own user to everything. Mosquitto's access rule
        file never refuses a subscription; its dynamic security plugin does (SUBACK 0x80),
        as a network server's own broker does."""
        def account(user, password, role):
            salt = os.urandom(12)
            digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101, 64)
            return {"username": user, "password": base64.b64encode(digest).decode(),
                    "salt": base64.b64encode(salt).decode(), "iterations": 101,
                    "roles": [{"rolename": role}]}
        config = {
            "defaultACLAccess": {"publishClientSend": False, "publishClientReceive": True,
                                 "subscribe": False, "unsubscribe": True},
            "clients": [account(NETSERVER_USER, self.netserver_password, "netserver"),
                        account(SOURCE_USER, self.source_password, "source")],
            "groups": [],
            "roles": [{"rolename": "netserver", "acls": [
                          {"acltype": "publishClientSend", "topic": "#", "allow": True},
                          {"acltype": "subscribePattern", "topic": "#", "allow": True}]},
                      {"rolename": "source", "acls": [
                          {"acltype": "subscribePattern", "topic": t, "allow": True}
                          for t in source_reads]}]}
        path = self.dir / "dynamic-security.json"
        path.write_text(json.dumps(config))
        conf = self.dir / "mosquitto.conf"
        lines = [ln for ln in conf.read_text().splitlines()
                 if not ln.startswith("password_file ")]
        from broker_helpers import DYNSEC_PLUGIN
        lines += [f"plugin {DYNSEC_PLUGIN}", f"plugin_opt_config_file {path}"]
        conf.write_text("\n".join(lines) + "\n")

    def client(self):
        """The network server's side: a paho client over TLS, loop running."""
        import broker_helpers
        return broker_helpers.connect(self.port, username=NETSERVER_USER,
                                      password=self.netserver_password, ca=self.ca)

    def publish(self, client, topic, payload, qos=1):
        info = client.publish(topic, payload, qos=qos)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"netserver publish on {topic} not acknowledged"

    def server_section(self, client_id, topics=None):
        section = {"host": "127.0.0.1", "port": self.port, "tls": True,
                   "ca_file": str(self.ca), "username": SOURCE_USER,
                   "password": self.source_password, "client_id": client_id,
                   "keepalive_s": 10}
        if topics:
            section["topics"] = topics
        return section


def file_yaml(sections, rules_text):
    """A source file: the scalar sections as YAML, then the rules text as it is."""
    lines = []
    for name, keys in sections.items():
        if isinstance(keys, str):
            lines.append(f"{name}: {harness.yaml_scalar(keys)}")
            continue
        lines.append(f"{name}:")
        for key, value in keys.items():
            lines.append(f"  {key}: {harness.yaml_scalar(value)}")
    return "\n".join(lines) + "\n" + rules_text


class Source:
    """One rheinhub-source-<kind> process, started with -c hub.yaml -f FILE."""

    def __init__(self, hub, kind, file_text, name=None):
        self.hub = hub
        self.kind = kind
        self.name = name or f"source-{kind}"
        self.file = hub.stack.tmp / f"{self.name}.yaml"
        self.file.write_text(file_text)
        self.http_port = None
        self.proc = harness.Proc(self.name, [source_binary(kind), "-c", hub.config_path,
                                             "-f", self.file],
                                 hub.stack.tmp / f"{self.name}.log", env=harness.sanitizer_env(),
                                 cwd=hub.stack.tmp)

    @property
    def log_path(self):
        return self.proc.log_path

    def start(self, http_port, timeout=30, healthy=True):
        self.http_port = http_port
        self.proc.start()

        def up():
            assert self.proc.running(), (f"{self.name} exited with {self.proc.popen.returncode}"
                                         f" during start:\n" + harness.tail(self.log_path, 30))
            status = self.healthz()[0]
            return status == 200 if healthy else status in (200, 503)
        wait_until(up, timeout, f"GET /healthz from {self.name}", interval=0.05)
        return self

    def running(self):
        return self.proc.running()

    def http_get(self, path, timeout=3):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        except OSError as exc:
            return None, str(exc)
        finally:
            conn.close()

    def healthz(self):
        return self.http_get("/healthz")

    @staticmethod
    def health_of(port):
        """GET /healthz of a source on port (one the hub supervises): the status or None."""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status
        except OSError:
            return None
        finally:
            conn.close()

    def metrics(self):
        status, body = self.http_get("/metrics")
        assert status == 200, f"/metrics of {self.name}: {status} {body}"
        return harness.Metrics(body)

    def metric(self, name, **labels):
        return self.metrics().get(name, source=self.kind, **labels)

    def wait_metric(self, name, value, timeout=20, **labels):
        wait_until(lambda: self.metric(name, **labels) == value, timeout,
                   f"{name}{labels} == {value} at {self.name}")

    def term(self, timeout=60):
        self.proc.send(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self):
        self.proc.send(signal.SIGKILL)
        self.proc.wait(20)

    def stop(self):
        """SIGTERM if running; returns the problems found (exit status, sanitizer)."""
        errors = []
        if self.running():
            rc = self.term()
            if rc != 0:
                errors.append(f"{self.name} exited with {rc} after SIGTERM")
        report = harness.sanitizer_report(self.log_path)
        if report:
            errors.append(f"sanitizer report in {self.log_path}:\n{report}")
        return errors


def deadletters(r, hub, source=None):
    """The dead-letter entries (dicts of str -> bytes/str), oldest first."""
    out = []
    for _, fields in r.xrange(hub.deadletter):
        entry = {k.decode(): v for k, v in fields.items()}
        for k in ("topic", "reason", "detail", "size", "time", "source"):
            if k in entry:
                entry[k] = entry[k].decode("utf-8", "replace")
        if source is None or entry.get("source") == source:
            out.append(entry)
    return out


def events(r, hub, event_type):
    return harness.read_events(r, hub.stream(event_type))


# ---------------------------------------------------------------------------
# PEGELONLINE


class PegelServer:
    """PEGELONLINE's REST API v2 on 127.0.0.1, from recorded responses.

    routes maps a path ("/stations/ANDERNACH/W/currentmeasurement.json") to a list of
    responses served in turn (the last one repeats): each a dict with status, body
    (bytes), headers, or "hang": seconds to wait before answering. Unknown paths get
    404 with PEGELONLINE's error body. Every request is logged in .requests as
    (path, query, headers), and its arrival (time.monotonic()) in .arrivals as
    (path, seconds).
    """

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.arrivals = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                path, _, query = self.path.partition("?")
                with outer.lock:
                    outer.requests.append((path, query, dict(self.headers)))
                    outer.arrivals.append((path, time.monotonic()))
                    queue = outer.routes.get(path)
                    resp = None
                    if queue:
                        resp = queue[0] if len(queue) == 1 else queue.pop(0)
                if resp is None:
                    body = json.dumps({"status": 404, "message": "Station not found"}).encode()
                    resp = {"status": 404, "body": body}
                if resp.get("hang"):
                    time.sleep(resp["hang"])
                body = resp.get("body", b"")
                status = resp.get("status", 200)
                headers = {"Content-Type": "application/json"}
                headers.update(resp.get("headers", {}))
                etag = headers.get("ETag")
                if etag and status == 200 and self.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                    del headers["Content-Type"]
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if resp.get("truncate"):
                    self.send_header("Content-Length", str(len(body) + 100))
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/webservices/rest-api/v2"

    def route(self, station, what, responses):
        name = {"current": "currentmeasurement.json", "measurements": "measurements.json"}[what]
        with self.lock:
            self.routes[f"/webservices/rest-api/v2/stations/{station}/W/{name}"] = list(responses)

    def count(self, station, what):
        name = {"current": "currentmeasurement.json", "measurements": "measurements.json"}[what]
        path = f"/webservices/rest-api/v2/stations/{station}/W/{name}"
        with self.lock:
            return sum(1 for p, _, _ in self.requests if p == path)

    def arrived(self, station, what):
        """The arrival times of the requests for station's what, oldest first."""
        name = {"current": "currentmeasurement.json", "measurements": "measurements.json"}[what]
        path = f"/webservices/rest-api/v2/stations/{station}/W/{name}"
        with self.lock:
            return [t for p, t in self.arrivals if p == path]

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
