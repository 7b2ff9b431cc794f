# SPDX-License-Identifier: MIT
"""The operations console's /healthz and /metrics, without a browser.

The layout of test_console.py (a broker with an operator and a device account, a hub
supervising alerting, storage and the console). /healthz answers without a login, 200
while the console's own MQTT session is up and it can read the storage database and the
account registry, 503 (and says which is missing) otherwise; /metrics answers without a
login in the Prometheus text format, and each counter moves when the thing it counts
happens.
"""

import http.client
import json
import re
import shutil
import signal
import subprocess
import time
import uuid

import pytest

import broker_helpers
import console_helpers as ch
import harness

SAMPLE_RE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_]\w*="(?:[^"\\\n]|\\.)*",?)*\})? '
                       r'[0-9]+(\.[0-9]+)?$')
COMMENT_RE = re.compile(r"^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* "
                        r"(counter|gauge|histogram|summary|untyped))$")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with ch.running_console(tmp_path_factory.mktemp("console-mon")) as (stack, hub, port, bdir):
        yield stack, hub, port, bdir


def health(port):
    status, headers, body = ch.request(port, "GET", "/healthz")
    assert headers["content-type"].startswith("application/json"), headers
    return status, body


def scrape(port):
    """The /metrics text, checked line by line, parsed (harness.Metrics)."""
    status, headers, body = ch.request(port, "GET", "/metrics")
    assert status == 200, (status, body)
    assert headers["content-type"].startswith("text/plain; version=0.0.4"), headers
    assert isinstance(body, str) and body.endswith("\n"), body
    for line in body.splitlines():
        assert SAMPLE_RE.match(line) or COMMENT_RE.match(line), f"not Prometheus text: {line!r}"
    return harness.Metrics(body)


def metric(port, name, **labels):
    return scrape(port).get(name, **labels)


def login_from(port, source, password):
    """The status of a login of the operator sent from address source (the throttle
    counts per address: another one is not slowed by this test's failures)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request("POST", "/api/login", headers={"Content-Type": "application/json"},
                     body=json.dumps({"user": ch.OPERATOR, "password": password}))
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def alerts(port, cookie):
    status, _, body = ch.request(port, "GET", "/api/alerts", headers={"Cookie": cookie})
    assert status == 200, (status, body)
    return {a["topic"]: a for a in body["alerts"]}


def test_metrics_is_prometheus_text_without_a_login(env):
    _, _, port, _ = env
    status, headers, body = ch.request(port, "GET", "/metrics")
    assert status == 200, (status, body)
    assert "set-cookie" not in headers
    assert headers["cache-control"] == "no-store"
    r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, f"promtool check metrics:\n{r.stdout}{r.stderr}"
    m = scrape(port)
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", m.text, re.M))
    for name, kind in types.items():
        assert name.endswith("_total") == (kind == "counter"), f"{name} is a {kind}"
    for result in ("succeeded", "failed", "not_operator", "throttled", "unavailable"):
        assert m.has("rheinhub_console_logins_total", result=result), result
    for result in ("sent", "unconfirmed", "refused", "stale", "unreachable", "failed"):
        assert m.has("rheinhub_console_acks_total", result=result), result
    for code in ("1xx", "2xx", "3xx", "4xx", "5xx"):
        assert m.has("rheinhub_console_requests_total", code=code), code
    harness.wait_until(lambda: metric(port, "rheinhub_console_broker_up") == 1, 30,
                       "rheinhub_console_broker_up 1")
    for name in ("rheinhub_console_alerts", "rheinhub_console_streams",
                 "rheinhub_console_sessions", "rheinhub_console_board_dropped_total"):
        assert m.has(name), name


def test_a_failed_login_and_the_throttle_are_counted(env):
    _, _, port, _ = env
    source = "127.0.0.23"
    before = scrape(port)
    failed = before.get("rheinhub_console_logins_total", result="failed")
    throttled = before.get("rheinhub_console_logins_total", result="throttled")
    client_errors = before.get("rheinhub_console_requests_total", code="4xx")
    assert login_from(port, source, "wrong-password") == 401
    after = scrape(port)
    assert after.get("rheinhub_console_logins_total", result="failed") == failed + 1
    assert after.get("rheinhub_console_requests_total", code="4xx") >= client_errors + 1
    # The next attempt at once is throttled (429), not tried, and counted as that.
    assert login_from(port, source, ch.OPERATOR_PASSWORD) == 429
    after = scrape(port)
    assert after.get("rheinhub_console_logins_total", result="failed") == failed + 1
    assert after.get("rheinhub_console_logins_total", result="throttled") == throttled + 1


def test_an_ack_a_session_and_a_stream_are_counted(env):
    stack, _, port, _ = env
    before = scrape(port)
    succeeded = before.get("rheinhub_console_logins_total", result="succeeded")
    sessions = before.get("rheinhub_console_sessions")
    cookie, csrf = ch.api_login(port)
    after = scrape(port)
    assert after.get("rheinhub_console_logins_total", result="succeeded") == succeeded + 1
    assert after.get("rheinhub_console_sessions") == sessions + 1

    gauge = "rhein-pegel-" + uuid.uuid4().hex[:6]
    topic = f"linz/alerts/rhine-flood/{gauge}"
    held = before.get("rheinhub_console_alerts")
    ch.publish(stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(701))
    harness.wait_until(lambda: topic in alerts(port, cookie), 20, f"the alert {topic}")
    assert metric(port, "rheinhub_console_alerts") == held + 1

    sent = metric(port, "rheinhub_console_acks_total", result="sent")
    stale = metric(port, "rheinhub_console_acks_total", result="stale")
    headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
    status, _, body = ch.request(port, "POST", "/api/ack", {"topic": topic, "comment": "ok"},
                                 headers, timeout=30)
    assert status == 202, (status, body)
    status, _, body = ch.request(port, "POST", "/api/ack",
                                 {"topic": topic + "-none", "comment": "ok"}, headers)
    assert status == 404, (status, body)
    m = scrape(port)
    assert m.get("rheinhub_console_acks_total", result="sent") == sent + 1
    assert m.get("rheinhub_console_acks_total", result="stale") == stale + 1

    streams = m.get("rheinhub_console_streams")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/api/events", headers={"Cookie": cookie})
        resp = conn.getresponse()
        assert resp.status == 200
        while b"event: snapshot" not in resp.readline():
            pass
        assert metric(port, "rheinhub_console_streams") == streams + 1
    finally:
        conn.close()
    # The console notices the closed connection at the stream's next write at the
    # latest (a ping every 15 s).
    harness.wait_until(lambda: metric(port, "rheinhub_console_streams") == streams, 40,
                       "the closed stream detached")
    status, _, _ = ch.request(port, "POST", "/api/logout", {}, headers)
    assert status == 200
    assert metric(port, "rheinhub_console_sessions") == sessions


def test_healthz_without_a_login(env):
    _, _, port, _ = env
    status, body = harness.wait_until(lambda: (lambda r: r[0] == 200 and r)(health(port)), 30,
                                       "/healthz 200")
    assert body["status"] == "ok" and body["broker"] == "up", body
    assert body["database"] == "ok" and body["accounts"] == "ok", body
    _, headers, _ = ch.request(port, "GET", "/healthz")
    assert "set-cookie" not in headers and headers["cache-control"] == "no-store"


def file_away_is_unhealthy(port, path, part):
    """path moved aside: /healthz answers 503 with part "unreadable" and the other two
    parts fine; 200 again with part "ok" once it is back."""
    aside = path.with_name(path.name + ".aside")
    harness.wait_until(lambda: health(port)[0] == 200, 30, "/healthz 200")
    shutil.move(path, aside)
    try:
        status, body = health(port)
        assert status == 503, (status, body)
        assert body["status"] == "degraded" and body[part] == "unreadable", body
        others = {"broker": "up", "database": "ok", "accounts": "ok"}
        del others[part]
        assert all(body[k] == v for k, v in others.items()), body
    finally:
        shutil.move(aside, path)
    status, body = health(port)
    assert status == 200 and body[part] == "ok", (status, body)


def test_healthz_without_the_account_registry(env):
    _, _, port, broker_dir = env
    file_away_is_unhealthy(port, broker_dir / "accounts", "accounts")


def test_healthz_without_the_database(env):
    """The storage database the detail view reads moved away: 503, "database":
    "unreadable", and 200 again once it is back."""
    stack, _, port, _ = env
    file_away_is_unhealthy(port, stack.run_dir / "rheinhub.db", "database")


def reload_broker(stack):
    """SIGHUP to the broker, and wait until it has read its files again."""
    log = stack.mosquitto.proc.log_path
    before = log.read_text().count("Reloading config")
    stack.mosquitto.proc.send(signal.SIGHUP)
    harness.wait_until(lambda: log.read_text().count("Reloading config") > before, 10,
                       "the broker to reload")


def test_an_ack_the_broker_refuses_is_said_and_counted(env):
    """The broker's ACL, not the console, decides who may acknowledge: with the
    operator's write grant on the ack topics taken back, an acknowledgement is refused
    by the broker (PUBACK 0x87) and answered 403 acl, it reaches no subscriber, the
    alert stays active, and /metrics counts it as refused, not as sent."""
    stack, _, port, broker_dir = env
    acl = broker_dir.parent / "local.acl"
    granted = acl.read_text()
    grant = "topic write +/alerts/+/+/ack\n"
    assert grant in granted, granted
    cookie, csrf = ch.api_login(port)
    gauge = "rhein-pegel-" + uuid.uuid4().hex[:6]
    topic = f"linz/alerts/rhine-flood/{gauge}"
    ch.publish(stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(701))
    harness.wait_until(lambda: topic in alerts(port, cookie), 20, f"the alert {topic}")
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(stack.mqtt_port),
                            "-v", "-t", topic + "/ack"], stdout=subprocess.PIPE, text=True)
    acl.write_text(granted.replace(grant, ""))
    try:
        reload_broker(stack)
        before = scrape(port)
        status, _, body = ch.request(port, "POST", "/api/ack", {"topic": topic, "comment": "x"},
                                     {"Cookie": cookie, "X-CSRF-Token": csrf}, timeout=30)
        assert (status, body.get("error")) == (403, "acl"), (status, body)
        after = scrape(port)
        for result, more in (("refused", 1), ("sent", 0)):
            assert after.get("rheinhub_console_acks_total", result=result) == \
                before.get("rheinhub_console_acks_total", result=result) + more, result
        time.sleep(1)
        assert alerts(port, cookie)[topic]["state"] == "active"
    finally:
        acl.write_text(granted)
        reload_broker(stack)
        sub.terminate()
        lines = sub.communicate(timeout=10)[0].splitlines()
    assert lines == [], "a refused acknowledgement reached a subscriber"
    ch.publish(stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(400))


def test_healthz_and_broker_up_follow_the_broker(env):
    """Last in this module: the broker goes away and comes back."""
    stack, _, port, _ = env
    harness.wait_until(lambda: health(port)[0] == 200, 30, "/healthz 200")
    stack.mosquitto.stop()
    try:
        status, body = harness.wait_until(lambda: (lambda r: r[0] == 503 and r)(health(port)),
                                          30, "/healthz 503 without the broker")
        assert body == {**body, "status": "degraded", "broker": "down", "database": "ok",
                        "accounts": "ok"}, body
        assert metric(port, "rheinhub_console_broker_up") == 0
    finally:
        stack.mosquitto.start()
    # The console's session reconnects by itself (libmosquitto's backoff, 1 to 30 s).
    status, body = harness.wait_until(lambda: (lambda r: r[0] == 200 and r)(health(port)), 60,
                                      "/healthz 200 with the broker back", interval=0.5)
    assert body["broker"] == "up", body
    assert metric(port, "rheinhub_console_broker_up") == 1


def test_healthz_while_the_broker_refuses_the_boards_feed(env, tmp_path):
    """A broker whose access rules do not let the console read +/analytics/# refuses
    that subscription: the board would never show an aggregate, so /healthz answers 503
    with "broker":"refused" (and rheinhub_console_broker_up is 0), not "up" as soon as
    the session is connected; once the rules let it read both and it reconnects, "up"."""
    if not broker_helpers.DYNSEC_PLUGIN:
        pytest.skip("Mosquitto's dynamic security plugin is not installed")
    _, _, _, broker_dir = env
    (tmp_path / "run").mkdir()
    broker = harness.Mosquitto(tmp_path, tmp_path / "run")
    acl = tmp_path / "dynsec.json"
    broker_helpers.dynsec_anonymous(broker.conf, acl, ["+/alerts/#"])
    broker.start()
    port = harness.free_port()
    config = tmp_path / "console.yaml"
    config.write_text(harness.to_yaml({
        "mqtt": {"host": "127.0.0.1", "port": broker.port}, "log": {"level": "info"},
        "console": {"bind": "127.0.0.1", "port": port,
                    "accounts_file": str(broker_dir / "accounts")}}))
    console = harness.Proc("console-feed", [ch.console_binary(), "-c", config],
                           tmp_path / "console-feed.log", env=harness.sanitizer_env())
    console.start()
    try:
        harness.wait_until(lambda: "refused the subscription to +/analytics/#"
                           in harness.tail(console.log_path, 30), 30, "the refusal logged")
        status, body = health(port)
        assert status == 503 and body["broker"] == "refused", body
        assert metric(port, "rheinhub_console_broker_up") == 0
        broker.stop()
        broker_helpers.dynsec_anonymous(broker.conf, acl, ["+/alerts/#", "+/analytics/#"])
        broker.start()
        harness.wait_until(lambda: health(port)[1]["broker"] == "up", 40,
                           "the feed up after the reconnect")
        assert metric(port, "rheinhub_console_broker_up") == 1
    finally:
        ch.stop_clean(console)
        broker.stop()
