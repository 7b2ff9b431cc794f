# SPDX-License-Identifier: MIT
"""Production brokers for the broker tests (test_broker_*.py).

A Site is one municipality's broker set up the way an operator would: with the tools in
deploy/broker/ (configure, make-ca, account, bridge) in a folder under the test's tmp
folder, from the templates in broker-config/production/. Everything listens on
127.0.0.1 only, on free ports, and runs as the user who runs the tests (configure
--user), so the broker can read a tmp folder that only that user may enter.

Also here: MQTT clients that log in over TLS (client certificate and account), a
Watcher that records what one subscriber receives, the barrier that makes "this
message did not arrive" a condition that can be awaited, and the fixtures (sites,
Redis, hubs) that the broker tests import.
"""

import getpass
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

import harness
from harness import wait_until

TOOLS = harness.REPO / "deploy" / "broker"
HOST = "127.0.0.1"
# Mosquitto's dynamic security plugin: unlike an acl_file, it refuses subscriptions.
DYNSEC_PLUGIN = next(iter(Path("/usr/lib").glob("*/mosquitto_dynamic_security.so")), None)


def dynsec_anonymous(conf, path, filters):
    """Makes the broker of conf (from its next start) let anonymous clients subscribe to
    filters only (a dynamic-security file at path), and publish anything."""
    path.write_text(json.dumps({
        "defaultACLAccess": {"publishClientSend": True, "publishClientReceive": True,
                             "subscribe": False, "unsubscribe": True},
        "clients": [],
        "groups": [{"groupname": "anonymous", "roles": [{"rolename": "reader"}],
                    "clients": []}],
        "roles": [{"rolename": "reader", "acls": [
            {"acltype": "subscribePattern", "topic": f, "priority": 0, "allow": True}
            for f in filters]}],
        "anonymousGroup": "anonymous",
    }))
    text = Path(conf).read_text()
    if "plugin_opt_config_file" not in text:
        Path(conf).write_text(text + f"plugin {DYNSEC_PLUGIN}\nplugin_opt_config_file {path}\n")


# ---------------------------------------------------------------------------
# The tools


def tool(name, *args, stdin=None, check=True, timeout=60):
    """Run deploy/broker/NAME ARGS; returns the CompletedProcess (text).

    With check, a non-zero exit fails the test with the tool's output.
    """
    proc = subprocess.run([str(TOOLS / name), *map(str, args)], input=stdin, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"deploy/broker/{name} {' '.join(map(str, args))} exited with "
                             f"{proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return proc


def broker_user():
    """The user the test brokers run as: the one running the tests."""
    return getpass.getuser()


# ---------------------------------------------------------------------------
# MQTT clients


def _nodelay(client, userdata, sock):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass  # a WebSocket wrapper


class Refused(Exception):
    """The broker did not let a client in; .reason says how (CONNACK code or TLS error)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def connect(port, *, username=None, password=None, ca=None, cert=None, key=None,
            client_id=None, clean_session=True, transport="tcp", timeout=10,
            on_message=None):
    """A connected paho client (MQTT 3.1.1, TCP_NODELAY), its loop running.

    TLS when ca is given (cert and key: the client certificate). Raises Refused when
    the broker refuses the connection: a CONNACK with a non-zero code, or a TLS or
    socket error (a certificate from another CA, no certificate).
    """
    import paho.mqtt.client as mqtt
    c = mqtt.Client(client_id=client_id or f"it-{uuid.uuid4().hex[:10]}",
                    clean_session=clean_session, protocol=mqtt.MQTTv311, transport=transport)
    c.on_socket_open = _nodelay
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    if ca:
        c.tls_set(ca_certs=str(ca), certfile=cert and str(cert), keyfile=key and str(key),
                  tls_version=ssl.PROTOCOL_TLS_CLIENT)
    if username is not None:
        c.username_pw_set(username, password)
    if on_message:
        c.on_message = on_message
    result = {}
    done = threading.Event()

    def on_connect(client, userdata, flags, rc):
        result.setdefault("rc", rc)
        done.set()

    def on_disconnect(client, userdata, rc):
        result.setdefault("rc", f"connection closed before CONNACK (rc {rc})")
        done.set()

    c.on_connect = on_connect
    c.on_disconnect = on_disconnect
    # Until the CONNACK, run the loop here: a TLS alert after the handshake (TLS 1.3
    # reports a refused client certificate that way) raises from loop(), and must
    # end up here, not in a background thread.
    deadline = time.monotonic() + timeout
    try:
        c.connect(HOST, port, keepalive=30)
        while not done.is_set():
            if time.monotonic() > deadline:
                raise AssertionError(f"no CONNACK and no error from port {port} in {timeout} s")
            c.loop(timeout=0.05)
    except (ssl.SSLError, OSError) as exc:
        c.socket() and c.socket().close()
        raise Refused(f"{type(exc).__name__}: {exc}") from None
    if result["rc"] != 0:
        c.disconnect()
        raise Refused(result["rc"] if isinstance(result["rc"], str)
                      else f"CONNACK {result['rc']} ({mqtt.connack_string(result['rc'])})")
    c.on_disconnect = None
    c.loop_start()
    return c


def close(client):
    try:
        client.disconnect()
    finally:
        client.loop_stop()


def refusal(port, **kw):
    """How the broker refuses this connection (Refused.reason); fails if it lets it in."""
    try:
        c = connect(port, **kw)
    except Refused as exc:
        return exc.reason
    close(c)
    raise AssertionError(f"port {port} accepted a connection it should refuse: {kw}")


def barrier(client, timeout=10):
    """Wait until everything the broker queued for client before now has arrived.

    A QoS 1 PUBLISH is answered with a PUBACK on the same connection, after what the
    broker queued for this client earlier (Mosquitto writes each client's packets in
    order). The topic is one nobody may publish to: the broker drops the message and,
    with MQTT 3.1.1, still sends the PUBACK. paho calls on_message for earlier
    messages before it sees the PUBACK.
    """
    info = client.publish(f"barrier/{uuid.uuid4().hex}", b"", qos=1)
    info.wait_for_publish(timeout)
    assert info.is_published(), "no PUBACK for the barrier message"


class Watcher:
    """A subscriber that records every message it receives: (topic, payload, retain)."""

    def __init__(self, port, filters, **kw):
        self.lock = threading.Lock()
        self.messages = []
        self.filters = filters
        self.client = connect(port, on_message=self._on_message, **kw)
        for f in filters:
            rc, mid = self.client.subscribe(f, qos=1)
            assert rc == 0, f"subscribe {f}: rc {rc}"
        barrier(self.client)  # the SUBACKs came before this PUBACK

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def count(self, topic, payload=None):
        return sum(1 for t, p, _ in self.snapshot()
                   if t == topic and (payload is None or p == payload))

    def counts(self):
        return Counter(t for t, _, _ in self.snapshot())

    def topics(self):
        return [t for t, _, _ in self.snapshot()]

    def wait_for(self, topic, payload=None, timeout=10):
        return wait_until(lambda: self.count(topic, payload) > 0, timeout,
                          f"{topic} at {self.filters}")

    def sync(self):
        barrier(self.client)

    def close(self):
        close(self.client)


# ---------------------------------------------------------------------------
# Sites


class Site:
    """One municipality's production broker, set up with deploy/broker/ in tmp/<name>/."""

    def __init__(self, tmp, municipality, *, websockets=False):
        self.municipality = municipality
        self.root = Path(tmp) / municipality
        self.root.mkdir(parents=True, exist_ok=True)
        self.etc = self.root / "etc"
        self.data = self.root / "data"
        self.local_port = harness.free_port()
        self.tls_port = harness.free_port()
        self.ws_port = harness.free_port() if websockets else None
        self.passwords = {}
        args = ["-d", self.etc, "--municipality", municipality, "--data", self.data,
                "--user", broker_user(), "--local-port", self.local_port,
                "--tls-port", self.tls_port, "--tls-bind", HOST]
        if websockets:
            args += ["--websockets", self.ws_port, "--ws-bind", HOST]
        tool("configure", *args)
        tool("make-ca", "-d", self.etc, HOST, "localhost")
        self.proc = harness.Proc(f"mosquitto-{municipality}",
                                 ["mosquitto", "-c", self.etc / "mosquitto.conf"],
                                 self.root / "mosquitto.log")

    @property
    def log_path(self):
        return self.proc.log_path

    @property
    def ca(self):
        return self.etc / "ca" / "ca.crt"

    def cert(self, name):
        """(certificate, key) of a client certificate issued by this site's CA."""
        return self.etc / "clients" / f"{name}.crt", self.etc / "clients" / f"{name}.key"

    def issue(self, name):
        tool("make-ca", "-d", self.etc, "--client", name)
        return self.cert(name)

    def account(self, role, name, *args, cert=True):
        """Add an account (and a client certificate for it); returns its password."""
        password = f"pw-{name}-{uuid.uuid4().hex[:8]}"
        tool("account", "-d", self.etc, "add", role, name, *args, stdin=password + "\n")
        self.passwords[name] = password
        if cert:
            self.issue(name)
        return password

    def client(self, name, *, tls=True, **kw):
        """A client logged in as account name: TLS with its certificate, or loopback."""
        if tls:
            crt, key = self.cert(name)
            return connect(self.tls_port, username=name, password=self.passwords[name],
                           ca=self.ca, cert=crt, key=key, **kw)
        return connect(self.local_port, username=name, password=self.passwords[name], **kw)

    def watcher(self, name, filters, *, tls=False, **kw):
        if tls:
            crt, key = self.cert(name)
            return Watcher(self.tls_port, filters, username=name,
                           password=self.passwords[name], ca=self.ca, cert=crt, key=key, **kw)
        return Watcher(self.local_port, filters, username=name,
                       password=self.passwords[name], **kw)

    def start(self, timeout=15):
        self.proc.start()

        def ready():
            assert self.proc.running(), (f"mosquitto {self.municipality} exited during start:\n"
                                         + harness.tail(self.log_path, 20))
            # Mosquitto logs "running" once every listener is open (a probe of the
            # TLS port would only log a failed handshake); one line per start.
            return self.log_text().count(" running\n") >= self.proc.starts
        wait_until(ready, timeout, f"mosquitto {self.municipality} on its ports")

    def stop(self):
        rc = self.proc.stop(signal.SIGTERM)
        assert rc in (0, None), f"mosquitto {self.municipality} exited with {rc}"

    def reload(self):
        self.proc.send(signal.SIGHUP)

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class HubStack:
    """What harness.Hub needs of a stack: a folder and the broker and Redis ports."""

    def __init__(self, tmp, mqtt_port, redis_port):
        self.tmp = Path(tmp)
        self.mqtt_port = mqtt_port
        self.redis_port = redis_port


# ---------------------------------------------------------------------------
# Fixtures (imported by the test modules)


@pytest.fixture
def sites(tmp_path, request):
    """make(municipality, websockets=False) -> Site, not started; all stopped at the end."""
    made = []

    def make(municipality, **kw):
        site = Site(tmp_path, municipality, **kw)
        made.append(site)
        harness.add_logs(request.node, (f"mosquitto {municipality}", site.log_path))
        return site

    yield make
    for site in reversed(made):
        site.proc.stop(signal.SIGTERM)


@pytest.fixture
def redis_server(tmp_path, request):
    run = tmp_path / "redis-run"
    (run / "redis").mkdir(parents=True)
    r = harness.Redis(tmp_path, run)
    harness.add_logs(request.node, ("redis", r.proc.log_path))
    r.start()
    yield r
    r.stop()


@pytest.fixture
def hubs(tmp_path, request, redis_server):
    """start(site, account) -> a running harness.Hub that logs in to site's loopback
    listener as account (role hub). SIGTERM at the end: exit 0, no sanitizer report."""
    started = []

    def start(site, account, name="hub"):
        stack = HubStack(tmp_path, site.local_port, redis_server.port)
        hub = harness.Hub(stack, name=name, overrides={"mqtt": {
            "username": account, "password": site.passwords[account]}})
        harness.add_logs(request.node, (name, hub.log_path))
        started.append(hub)
        hub.start()
        return hub

    yield start
    errors = harness.stop_hubs(started)
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


def waterlevel(time_s, value=300):
    """A valid sensor.waterlevel payload."""
    return f'{{"time":"{time_s}","value":{value},"unit":"cm","trend":0}}'.encode()


def write(path, text, mode=0o600):
    path = Path(path)
    path.write_text(text)
    os.chmod(path, mode)
    return path

