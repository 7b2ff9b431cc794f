# SPDX-License-Identifier: MIT
"""The broker tools in deploy/broker/: idempotent, clear errors, the files they write.

No broker runs here; test_broker_acl.py and test_broker_bridge.py start brokers from
what these tools write.
"""

import os
import stat
import subprocess

import pytest

from broker_helpers import broker_user, tool, write


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def state(folder):
    """{relative path: (bytes, mtime_ns)} of every file in folder."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            p = os.path.join(root, name)
            if name == ".lock":
                continue  # the tools' lock file: opened, hence touched, by every run
            with open(p, "rb") as f:
                out[os.path.relpath(p, folder)] = (f.read(), os.stat(p).st_mtime_ns)
    return out


def openssl(*args):
    return subprocess.run(["openssl", *map(str, args)], check=True, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout


@pytest.fixture
def etc(tmp_path):
    d = tmp_path / "etc"
    tool("configure", "-d", d, "--municipality", "linz", "--data", tmp_path / "data",
         "--user", broker_user(), "--local-port", 21883, "--tls-port", 28883,
         "--tls-bind", "127.0.0.1")
    return d


def fails(name, *args, stdin=None):
    """Run a tool that must fail; returns its error output."""
    p = tool(name, *args, stdin=stdin, check=False)
    assert p.returncode != 0, f"deploy/broker/{name} {args} should fail:\n{p.stderr}"
    assert "error:" in p.stderr, p.stderr
    return p.stderr


def test_broker_tools_second_run_changes_nothing(etc, tmp_path):
    tool("make-ca", "-d", etc, "127.0.0.1", "broker.linz.example")
    tool("make-ca", "-d", etc, "--client", "pegel-7")
    tool("account", "-d", etc, "add", "device", "pegel-7", stdin="secret\n")
    tool("account", "-d", etc, "add", "app", "linz-app", "citizen.report", stdin="secret\n")
    before = state(etc)

    again = [
        tool("configure", "-d", etc),
        tool("make-ca", "-d", etc, "127.0.0.1", "broker.linz.example"),
        tool("make-ca", "-d", etc, "--client", "pegel-7"),
        tool("account", "-d", etc, "add", "app", "linz-app", "citizen.report", "--keep-password"),
    ]
    assert "up to date" in again[0].stderr
    assert "nothing to do" in again[1].stderr and "nothing to do" in again[2].stderr
    after = state(etc)
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    assert changed == [], f"a second run rewrote {changed}"

    # The same password again: still one line per account, in passwd and registry.
    tool("account", "-d", etc, "add", "device", "pegel-7", stdin="secret\n")
    passwd = (etc / "passwd").read_text().splitlines()
    assert [ln.split(":")[0] for ln in passwd] == ["pegel-7", "linz-app"]
    listed = tool("account", "-d", etc, "list").stdout.split("\n")
    assert listed[:2] == ["device     pegel-7", "app        linz-app citizen.report"]

    tool("account", "-d", etc, "remove", "device", "pegel-7")
    p = tool("account", "-d", etc, "remove", "device", "pegel-7")
    assert "nothing to do" in p.stderr
    assert "pegel-7" not in (etc / "passwd").read_text()
    assert "pegel-7" not in tool("account", "-d", etc, "list").stdout


def test_broker_account_names_match_exactly(etc):
    """A name is a name, not a pattern: the '.' of pegel.7 matches no other character, so
    removing that account, which does not exist, does nothing (and pegel-7 stays)."""
    tool("account", "-d", etc, "add", "device", "pegel-7", stdin="secret\n")
    p = tool("account", "-d", etc, "remove", "device", "pegel.7")
    assert "nothing to do" in p.stderr
    assert "pegel-7:" in (etc / "passwd").read_text()


def test_broker_make_ca_keys_names_and_purposes(etc):
    tool("make-ca", "-d", etc, "127.0.0.1", "localhost", "broker.linz.example")
    tool("make-ca", "-d", etc, "--client", "pegel-7")
    ca, server, client = etc / "ca" / "ca.crt", etc / "certs" / "server.crt", etc / "clients" / "pegel-7.crt"
    assert mode(etc / "ca" / "ca.key") == 0o600
    assert mode(etc / "certs" / "server.key") == 0o640
    assert mode(etc / "clients" / "pegel-7.key") == 0o600
    openssl("verify", "-CAfile", ca, server, client)
    text = openssl("x509", "-in", server, "-noout", "-text")
    assert "IP Address:127.0.0.1" in text and "DNS:localhost" in text
    assert "DNS:broker.linz.example" in text and "TLS Web Server Authentication" in text
    assert "TLS Web Client Authentication" in openssl("x509", "-in", client, "-noout", "-text")
    assert "CA:TRUE" in openssl("x509", "-in", ca, "-noout", "-text")

    # Other names: a new server certificate from the same CA; the CA stays.
    ca_before = ca.read_bytes()
    old = server.read_bytes()
    p = tool("make-ca", "-d", etc, "127.0.0.1")
    assert "issued" in p.stderr and server.read_bytes() != old
    assert "DNS:localhost" not in openssl("x509", "-in", server, "-noout", "-text")
    old_client = client.read_bytes()
    tool("make-ca", "-d", etc, "--renew", "--client", "pegel-7")
    assert client.read_bytes() != old_client
    assert ca.read_bytes() == ca_before
    openssl("verify", "-CAfile", ca, server, client)

    assert "neither a host name nor an IP" in fails("make-ca", "-d", etc, "bad_name!")
    assert "not a valid name" in fails("make-ca", "-d", etc, "--client", "a/b")
    (etc / "ca" / "ca.crt").unlink()
    assert "only one of" in fails("make-ca", "-d", etc, "127.0.0.1")


@pytest.mark.parametrize("args, stdin, message", [
    (["add", "admin", "x"], "pw\n", "unknown role"),
    (["add", "device", "a/b"], "pw\n", "not a valid account name"),
    (["add", "device", "pegel+7"], "pw\n", "not a valid account name"),
    (["add", "device", "#"], "pw\n", "not a valid account name"),
    (["add", "device", "pegel-7", "extra"], "pw\n", "takes no arguments"),
    (["add", "app", "linz-app"], "pw\n", "needs the event types"),
    (["add", "app", "linz-app", "sensor.waterlevel"], "pw\n", "not a service.* or citizen.*"),
    (["add", "bridge", "kaiserslautern", "in=linz/#"], "pw\n", "only under its own prefix"),
    (["add", "bridge", "kaiserslautern", "out=kaiserslautern/#"], "pw\n", "no loops"),
    (["add", "bridge", "linz", "out=linz/#"], "pw\n", "own municipality"),
    (["add", "device", "pegel-7"], "\n", "the password is empty"),
    (["add", "device", "pegel-9", "--keep-password"], "", "has no password yet"),
    (["add", "operator", "hub"], "pw\n", "exists with role hub"),
    (["remove", "device", "hub"], None, "has role hub, not device"),
    # Named like a client id of the platform's processes on loopback: from outside, where
    # the username is the client id, the account would take over that session.
    (["add", "device", "rheinhub-hub"], "pw\n", "client id"),
    (["add", "app", "rheinhub-alerting", "citizen.report"], "pw\n", "client id"),
    (["add", "operator", "rheinhub-hub"], "pw\n", "client id"),
    (["add", "device", "bridge-kaiserslautern"], "pw\n", "client id"),
    (["add", "platform", "bridge-kaiserslautern"], "pw\n", "client id"),
])
def test_broker_account_refuses(etc, args, stdin, message):
    tool("account", "-d", etc, "add", "hub", "hub", stdin="pw\n")
    before = state(etc)
    assert message in fails("account", "-d", etc, *args, stdin=stdin)
    assert state(etc) == before, "a refused command changed files"


def test_broker_account_platform_names_kept(etc):
    """The platform's own accounts may be named like their processes' client ids."""
    tool("account", "-d", etc, "add", "operator", "rheinhub-console", stdin="pw\n")
    tool("account", "-d", etc, "add", "hub", "rheinhub-hub", stdin="pw\n")
    tool("account", "-d", etc, "add", "platform", "rheinhub", stdin="pw\n")
    listed = tool("account", "-d", etc, "list").stdout
    for name in ("rheinhub-console", "rheinhub-hub", "rheinhub"):
        assert name in listed


def test_broker_acl_per_role(etc):
    for args in (["device", "pegel-7"], ["operator", "ops.anna"], ["hub", "rheinhub"],
                 ["alerting", "alerting"], ["analytics", "analytics"], ["source", "sources"],
                 ["platform", "rheinhub-1"],
                 ["app", "linz-app", "citizen.report"],
                 ["bridge", "kaiserslautern", "in=kaiserslautern/sensor/#", "out=linz/alerts/#"]):
        tool("account", "-d", etc, "add", *args, stdin="pw\n")
    acl = (etc / "acl").read_text()
    lines = [ln for ln in acl.splitlines() if ln and not ln.startswith("#")]
    assert lines[:3] == ["pattern write linz/sensor/+/%u", "pattern write linz/service/+/%u",
                         "pattern write linz/citizen/+/%u"]
    blocks = {}
    for ln in lines[3:]:
        if ln.startswith("user "):
            user = ln.split()[1]
            blocks[user] = []
        else:
            blocks[user].append(ln)
    assert "pegel-7" not in blocks  # devices: the patterns alone
    for user, grants in blocks.items():
        assert grants[:3] == [f"topic deny linz/{c}/+/{user}" for c in ("sensor", "service", "citizen")]
    assert blocks["ops.anna"][3:] == ["topic read +/alerts/#", "topic read +/analytics/#",
                                      "topic read $SYS/broker/connection/+/state",
                                      "topic write +/alerts/+/+/ack"]
    assert blocks["rheinhub"][3:] == ["topic read +/sensor/#", "topic read +/service/#",
                                      "topic read +/citizen/#"]
    assert blocks["alerting"][3:] == ["topic readwrite +/alerts/+/+", "topic read +/alerts/+/+/ack"]
    assert blocks["analytics"][3:] == ["topic readwrite +/analytics/#"]
    assert blocks["sources"][3:] == ["topic write linz/sensor/+/+", "topic write linz/service/+/+",
                                     "topic write linz/citizen/+/+"]
    assert blocks["rheinhub-1"][3:] == (blocks["rheinhub"][3:] + blocks["alerting"][3:]
                                        + blocks["analytics"][3:] + blocks["sources"][3:])
    assert blocks["linz-app"][3:] == ["topic write linz/citizen/report/+"]
    assert blocks["kaiserslautern"][3:] == ["topic write kaiserslautern/sensor/#",
                                            "topic read linz/alerts/#"]
    assert mode(etc / "acl") == 0o640 and mode(etc / "passwd") == 0o640


def outgoing(tmp_path, **over):
    """A valid outgoing description (Kaiserslautern seen from Linz), keys overridable."""
    files = tmp_path / "kl"
    files.mkdir(exist_ok=True)
    for name in ("ca.crt", "linz.crt", "linz.key"):
        write(files / name, "-----BEGIN CERTIFICATE-----\n")
    write(files / "password", "s3cret\n")
    keys = {"partner": "kaiserslautern", "link": "outgoing", "host": "mqtt.kaiserslautern.example",
            "port": "8883", "password_file": "password", "cafile": "ca.crt",
            "certfile": "linz.crt", "keyfile": "linz.key", "in": "kaiserslautern/sensor/#",
            "out": "linz/alerts/#"}
    keys.update(over)
    text = "".join(f"{k}: {v}\n" for k, v in keys.items() if v is not None)
    return write(files / "kaiserslautern.yaml", text)


def test_broker_bridge_writes_a_durable_link(etc, tmp_path):
    desc = outgoing(tmp_path, **{"in": "kaiserslautern/sensor/#   # gauges, air quality",
                                 "out": "linz/sensor/waterlevel/# linz/alerts/#"})
    p = tool("bridge", "-d", etc, desc)
    assert "restart the broker" in p.stderr
    conf = etc / "bridges" / "kaiserslautern.conf"
    lines = [ln for ln in conf.read_text().splitlines() if ln and not ln.startswith("#")]
    for want in ("connection kaiserslautern", "address mqtt.kaiserslautern.example:8883",
                 "bridge_protocol_version mqttv311", "cleansession false",
                 "local_cleansession false", "remote_clientid bridge-linz-kaiserslautern",
                 "local_clientid bridge-kaiserslautern", "remote_username linz",
                 "remote_password s3cret", "restart_timeout 5 60", "try_private true",
                 "notifications_local_only true", "bridge_insecure false",
                 f"bridge_cafile {etc}/partners/kaiserslautern/ca.crt",
                 f"bridge_certfile {etc}/partners/kaiserslautern/client.crt",
                 f"bridge_keyfile {etc}/partners/kaiserslautern/client.key",
                 "bridge_max_packet_size 135168"):
        assert want in lines, f"{want!r} missing from {conf}"
    assert [ln for ln in lines if ln.startswith("topic ")] == [
        "topic kaiserslautern/sensor/# in 1", "topic linz/sensor/waterlevel/# out 1",
        "topic linz/alerts/# out 1"]
    assert mode(conf) == 0o640  # it holds the password
    assert mode(etc / "partners" / "kaiserslautern" / "client.key") == 0o640
    before = state(etc)
    assert "up to date" in tool("bridge", "-d", etc, desc).stderr
    assert state(etc) == before
    assert "incoming" not in tool("bridge", "-d", etc, "--check", desc).stdout

    tool("bridge", "-d", etc, "--remove", "kaiserslautern")
    assert not conf.exists()
    assert "nothing to do" in tool("bridge", "-d", etc, "--remove", "kaiserslautern").stderr


def test_broker_bridge_password_kept_as_written(etc, tmp_path):
    """A partner's password may hold any printable character: '&' (which bash 5.2 puts
    the matched placeholder in place of), '@NAME@' (another template placeholder)."""
    desc = outgoing(tmp_path)
    password = "s3&cret&&\\1 @HOST@@PORT@ @NONE@"
    write(desc.parent / "password", password + "\n")
    tool("bridge", "-d", etc, desc)
    conf = (etc / "bridges" / "kaiserslautern.conf").read_text().splitlines()
    assert f"remote_password {password}" in conf, [ln for ln in conf if "password" in ln]


@pytest.mark.parametrize("over, message", [
    ({"in": "linz/sensor/#"}, "must lie under the partner's prefix kaiserslautern/"),
    ({"in": "+/sensor/#"}, "must lie under the partner's prefix"),
    ({"out": "kaiserslautern/sensor/#"}, "never goes back out (no loops)"),
    ({"out": "'#'"}, "no loops"),
    ({"out": "linz/#/x"}, "not a topic filter"),
    ({"in": None, "out": None}, "the link would carry nothing"),
    ({"partner": "linz"}, "this broker's own municipality"),
    ({"partner": "Kaiserslautern"}, "not a municipality slug"),
    ({"link": "both"}, "neither outgoing"),
    ({"cafile": None}, "cafile"),
    ({"cafile": "missing.crt"}, "cannot read"),
    ({"keyfile": None}, "certfile and keyfile go together"),
    ({"port": "88830"}, "not a port number"),
    ({"restart_timeout": "30"}, "BASE CAP"),
    ({"qos": "3"}, "not 1 or 2"),
    ({"qos": "0"}, "QoS 0 drops what is published while the link is down"),
    ({"in": "{kaiserslautern: sensor}"}, "nested values are not supported"),
    ({"in": '"kaiserslautern/sensor/#\\ttab"'}, "without control characters"),
    ({"colour": "blue"}, "unknown key 'colour'"),
    ({"host": None}, "host"),
])
def test_broker_bridge_refuses_descriptions(etc, tmp_path, over, message):
    desc = outgoing(tmp_path, **over)
    err = fails("bridge", "-d", etc, desc)
    assert message in err
    assert f"{desc}" in err or "kaiserslautern" in err
    assert not (etc / "bridges" / "kaiserslautern.conf").exists()


def test_broker_bridge_description_format_errors(etc, tmp_path):
    base = outgoing(tmp_path).read_text()
    cases = {
        "  in: kaiserslautern/sensor/#\n": "mapping values are not allowed",
        "in: kaiserslautern/service/#\n": "given twice",
        "- out: linz/alerts/#\n": "did not find expected key",
    }
    for extra, message in cases.items():
        desc = write(tmp_path / "kl" / "kaiserslautern.yaml", base + extra)
        err = fails("bridge", "-d", etc, desc)
        assert message in err and ":11:" in err, err
    desc.write_bytes(base.encode() + b"in: \xff\xfe\x00garbage\n")
    err = fails("bridge", "-d", etc, desc)
    assert f"{desc}: not UTF-8 text" in err and len(err.strip().splitlines()) == 1, err


def test_broker_bridge_reads_yaml_lists(etc, tmp_path):
    """A list of filters may be a YAML list (flow or block) as well as words."""
    desc = outgoing(tmp_path, **{"in": "[kaiserslautern/sensor/#, 'kaiserslautern/alerts/#']",
                                 "out": None})
    write(desc, desc.read_text() + "out:\n  - linz/sensor/waterlevel/#   # gauges\n"
          "  - \"linz/alerts/#\"\n")
    tool("bridge", "-d", etc, desc)
    conf = etc / "bridges" / "kaiserslautern.conf"
    assert [ln for ln in conf.read_text().splitlines() if ln.startswith("topic ")] == [
        "topic kaiserslautern/sensor/# in 1", "topic kaiserslautern/alerts/# in 1",
        "topic linz/sensor/waterlevel/# out 1", "topic linz/alerts/# out 1"]


def test_broker_bridge_one_dialing_side(etc, tmp_path):
    tool("bridge", "-d", etc, outgoing(tmp_path))
    incoming = write(tmp_path / "incoming.yaml",
                     "partner: kaiserslautern\nlink: incoming\n"
                     f"password_file: {tmp_path / 'kl' / 'password'}\n"
                     "in: kaiserslautern/sensor/#\n")
    assert "one dialing side" in fails("bridge", "-d", etc, incoming)
    tool("bridge", "-d", etc, "--remove", "kaiserslautern")
    tool("bridge", "-d", etc, incoming)
    assert "kaiserslautern in=kaiserslautern/sensor/#" in tool("account", "-d", etc, "list", "bridge").stdout
    assert "one dialing side" in fails("bridge", "-d", etc, outgoing(tmp_path))
    host = write(tmp_path / "incoming-host.yaml", incoming.read_text() + "host: x\n")
    assert "only for outgoing links" in fails("bridge", "-d", etc, host)


def test_broker_configure_websockets_switch(etc):
    ws = etc / "conf.d" / "websockets.conf"
    assert not ws.exists()
    tool("configure", "-d", etc, "--websockets", 28884, "--ws-bind", "127.0.0.1")
    text = ws.read_text()
    assert "listener 28884 127.0.0.1" in text and "protocol websockets" in text
    assert "socket_domain ipv4" in text
    conf = (etc / "mosquitto.conf").read_text()
    assert "listener 28883 127.0.0.1" in conf and "listener 21883 127.0.0.1" in conf
    assert "allow_anonymous false" in conf and "require_certificate true" in conf
    tool("configure", "-d", etc, "--no-websockets")
    assert not ws.exists()
    assert "need different ports" in fails("configure", "-d", etc, "--tls-port", 21883)
    assert "not a municipality slug" in fails("configure", "-d", etc, "--municipality", "Linz")
