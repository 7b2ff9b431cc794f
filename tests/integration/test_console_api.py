# SPDX-License-Identifier: MIT
"""The operations console's HTTP API against bad input, without a browser.

The same layout as test_console.py (a broker with an operator and a device account, a
hub supervising alerting, storage and the console), driven with raw HTTP requests:
bodies that are not JSON, not an object, of the wrong types, too long, binary or not
UTF-8, nested deeper than any parser should follow; query arguments out of bounds;
unknown paths and methods; headers too large; one address holding every connection it
may open. Each must get its clear refusal (status
and, from the API, `{"error","message"}`), none may end a session, lock an address out
or stop the console from serving the next request, and the sanitizers must report
nothing (checked in the hub's log, where the console's lines go).
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import uuid

import pytest

import console_helpers as ch
import harness


PER_ADDRESS = 16  # console.max_clients_per_address of this module's console


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with ch.running_console(tmp_path_factory.mktemp("console-api"),
                            {"max_clients_per_address": PER_ADDRESS}) as (stack, hub, port, _):
        yield stack, hub, port


def raw(port, method, path, body=b"", headers=None):
    """(status, parsed JSON or text) of one request whose body is sent byte for byte."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        conn.request(method, path, body=body if method == "POST" else None, headers=h)
        resp = conn.getresponse()
        text = resp.read()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text.decode("utf-8", "replace")
    finally:
        conn.close()


def refused(reply, status, code):
    """The API's refusal: the status, and a JSON body with its code and a message."""
    got, body = reply
    assert got == status, (got, body)
    assert isinstance(body, dict) and body.get("error") == code, body
    assert isinstance(body.get("message"), str) and body["message"], body


def serving(port, cookie):
    """The console still answers, and the session still stands."""
    status, body = raw(port, "GET", "/api/session", headers={"Cookie": cookie})
    assert status == 200 and body["user"] == ch.OPERATOR, (status, body)


# Bodies that are not a JSON object, each a 400 bad_request from /api/login and /api/ack.
NOT_AN_OBJECT = [
    b"{",
    b"not json",
    b'{"user": "ops.anna", "password": "x"',         # cut off
    b'["ops.anna", "x"]',
    b'"ops.anna"',
    b"42",
    b"null",
    b"\xff\xfe{\x00\x01\x02binary\x80\x81",
    b'{"user": "\xff\xfe", "password": "x"}',        # not UTF-8
    b'{"user": "ops.anna\x00", "password": "x"}',    # a NUL byte in a string
    b"[" * 8000 + b"]" * 8000,                        # nesting no parser should follow
    b'{"a":' * 2500 + b"1" + b"}" * 2500,
    b"\x00" * 64,
]


def test_login_refuses_bodies_that_are_not_an_object(env):
    _, _, port = env
    for body in NOT_AN_OBJECT:
        refused(raw(port, "POST", "/api/login", body), 400, "bad_request")


def test_login_refuses_wrong_fields_without_locking_the_address_out(env):
    _, _, port = env
    for body in ({},
                 {"user": ch.OPERATOR},
                 {"password": ch.OPERATOR_PASSWORD},
                 {"user": 42, "password": ch.OPERATOR_PASSWORD},
                 {"user": ch.OPERATOR, "password": ["x"]},
                 {"user": ch.OPERATOR, "password": ""},
                 {"user": "", "password": "x"},
                 {"user": "ops anna", "password": "x"},
                 {"user": "../etc/passwd", "password": "x"},
                 {"user": "ops.anna\u00e4", "password": "x"},
                 {"user": "a" * 129, "password": "x"},
                 {"user": ch.OPERATOR, "password": "x" * 513}):
        refused(raw(port, "POST", "/api/login", json.dumps(body).encode()), 400, "bad_request")
    # None of them reached the broker, so none counts as a failed login: the right
    # password is taken at once (a failure would make this address wait a second).
    cookie, _ = ch.api_login(port)
    serving(port, cookie)


def test_http_level_refusals(env):
    _, _, port = env
    big = json.dumps({"user": ch.OPERATOR, "password": "x" * 17000}).encode()
    status, text = raw(port, "POST", "/api/login", big)
    assert status == 413 and "too large" in text, (status, text)
    status, text = raw(port, "POST", "/api/login", b'{"user":"a","password":"b"}',
                       {"Content-Type": "text/plain"})
    assert status == 415 and "application/json" in text, (status, text)
    status, text = raw(port, "PUT", "/api/login")
    assert status == 405, (status, text)
    status, text = raw(port, "DELETE", "/index.html")
    assert status == 405, (status, text)
    refused(raw(port, "GET", "/api/no-such-request"), 401, "no_session")
    status, text = raw(port, "GET", "/api/events")
    assert status == 401, (status, text)
    status, _ = raw(port, "GET", "/no/such/file")
    assert status == 404
    cookie, _ = ch.api_login(port)
    refused(raw(port, "GET", "/api/no-such-request", headers={"Cookie": cookie}), 404, "not_found")
    refused(raw(port, "POST", "/api/no-such-request", b"{}", {"Cookie": cookie}), 403, "csrf")
    serving(port, cookie)


def test_forged_and_oversized_sessions(env):
    _, _, port = env
    for cookie in ("rheinhub_console=" + "0" * 64,
                   "rheinhub_console=",
                   "rheinhub_console=" + "\u00ff".encode().decode("latin-1") * 10,
                   "rheinhub_console=" + "a" * 4000,
                   # Cookies of other services on the same host name, as a browser sends
                   # them to every port: more than the 8 KiB common servers take.
                   "grafana_session=" + "g" * 6000 + "; rheinhub_console=" + "1" * 64
                   + "; other=" + "o" * 6000):
        refused(raw(port, "GET", "/api/alerts", headers={"Cookie": cookie}), 401, "no_session")
    # Headers beyond what a connection may hold, or 500 empty cookies (each a record in
    # the HTTP server's memory of the connection): refused by the HTTP server.
    for cookie in ("a=" + "b" * 40000, "x=" + ";" * 500):
        status, _ = raw(port, "GET", "/api/alerts", headers={"Cookie": cookie})
        assert status == 431, status
    # A request cut off in its headers, then the connection closed; a TLS hello.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200))
    cookie, _ = ch.api_login(port)
    serving(port, cookie)


def test_ack_refuses_bad_bodies(env):
    stack, _, port = env
    cookie, csrf = ch.api_login(port)
    auth = {"Cookie": cookie, "X-CSRF-Token": csrf}
    gauge = "rhein-pegel-" + uuid.uuid4().hex[:6]
    topic = f"linz/alerts/rhine-flood/{gauge}"
    ch.publish(stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(701))
    harness.wait_until(lambda: any(a["topic"] == topic for a in raw(
        port, "GET", "/api/alerts", headers={"Cookie": cookie})[1]["alerts"]), 10, "the alert")
    for body in NOT_AN_OBJECT:
        refused(raw(port, "POST", "/api/ack", body, auth), 400, "bad_request")
    for body in ({},
                 {"comment": "kein Thema"},
                 {"topic": 7},
                 {"topic": [topic]},
                 {"topic": topic, "comment": 5},
                 {"topic": topic, "comment": {"text": "x"}},
                 {"topic": topic, "comment": "\u00e4" * 501},
                 {"topic": "linz/alerts/" + "x" * 400},
                 {"topic": topic, "alert_id": ""},
                 {"topic": topic, "alert_id": 7},
                 {"topic": topic, "alert_id": None},
                 {"topic": topic, "alert_id": ["linz:rhine-flood:x:1"]},
                 {"topic": topic, "alert_id": "x" * 129},
                 {"topic": topic, "alert_id": "linz/rhine-flood/x"}):
        refused(raw(port, "POST", "/api/ack", json.dumps(body).encode(), auth), 400, "bad_request")
    refused(raw(port, "POST", "/api/ack", json.dumps({"topic": topic + "-none"}).encode(), auth),
            404, "no_alert")
    # 500 characters of two bytes each are a comment, and the alert is still active:
    # none of the refusals above acknowledged it.
    assert next(a for a in raw(port, "GET", "/api/alerts", headers={"Cookie": cookie})[1]
                ["alerts"] if a["topic"] == topic)["state"] == "active"
    status, body = raw(port, "POST", "/api/ack",
                       json.dumps({"topic": topic, "comment": "\u00e4" * 500}).encode(), auth)
    assert status == 202 and body == {"sent": True}, (status, body)
    serving(port, cookie)
    ch.publish(stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(400))


def test_ack_carries_the_alert_id(env):
    """The acknowledgement the console publishes names the alert the request names
    (alert_id, the alert JSON's id), and the worker takes it; a request without one is
    published without one, as before."""
    stack, _, port = env
    cookie, csrf = ch.api_login(port)
    auth = {"Cookie": cookie, "X-CSRF-Token": csrf}
    gauges = ["rhein-pegel-" + uuid.uuid4().hex[:6] for _ in range(2)]
    topics = [f"linz/alerts/rhine-flood/{g}" for g in gauges]
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(stack.mqtt_port), "-v",
                            "-t", topics[0] + "/ack", "-t", topics[1] + "/ack"],
                           stdout=subprocess.PIPE, text=True)
    try:
        for g in gauges:
            ch.publish(stack.mqtt_port, f"linz/sensor/waterlevel/{g}", ch.level(701))

        def alerts():
            got = raw(port, "GET", "/api/alerts", headers={"Cookie": cookie})[1]["alerts"]
            return {a["topic"]: a for a in got if a["topic"] in topics}
        harness.wait_until(lambda: len(alerts()) == 2, 10, "the two alerts")
        ids = [alerts()[t]["id"] for t in topics]
        status, body = raw(port, "POST", "/api/ack", json.dumps(
            {"topic": topics[0], "comment": "Deich geprüft", "alert_id": ids[0]}).encode(), auth)
        assert status == 202, (status, body)
        status, body = raw(port, "POST", "/api/ack", json.dumps({"topic": topics[1]}).encode(),
                           auth)
        assert status == 202, (status, body)
        harness.wait_until(lambda: all(a["state"] == "acknowledged" for a in alerts().values()),
                           10, "both alerts acknowledged")
    finally:
        sub.terminate()
        lines = sub.communicate(timeout=10)[0].splitlines()
    acks = {line.split(" ", 1)[0]: json.loads(line.split(" ", 1)[1]) for line in lines}
    assert acks == {
        topics[0] + "/ack": {"by": ch.OPERATOR, "comment": "Deich geprüft", "alert_id": ids[0]},
        topics[1] + "/ack": {"by": ch.OPERATOR, "comment": ""}}, lines
    serving(port, cookie)
    for g in gauges:
        ch.publish(stack.mqtt_port, f"linz/sensor/waterlevel/{g}", ch.level(400))


def test_ack_of_an_alert_the_board_no_longer_shows(env):
    """An acknowledgement naming an alert other than the one on the board (it cleared,
    the next was raised) is answered 409 and not published: the operator sees why."""
    stack, _, port = env
    cookie, csrf = ch.api_login(port)
    auth = {"Cookie": cookie, "X-CSRF-Token": csrf}
    gauge = "rhein-pegel-" + uuid.uuid4().hex[:6]
    topic = f"linz/alerts/rhine-flood/{gauge}"
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(stack.mqtt_port), "-v",
                            "-t", topic + "/ack"], stdout=subprocess.PIPE, text=True)
    try:
        ch.publish(stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(701))

        def alert():
            got = raw(port, "GET", "/api/alerts", headers={"Cookie": cookie})[1]["alerts"]
            return next((a for a in got if a["topic"] == topic), None)
        harness.wait_until(lambda: alert() is not None, 10, "the alert")
        status, body = raw(port, "POST", "/api/ack", json.dumps(
            {"topic": topic, "alert_id": alert()["id"] + "x"}).encode(), auth)
        assert (status, body["error"]) == (409, "alert_changed"), (status, body)
        assert alert()["state"] == "active"
    finally:
        sub.terminate()
        lines = sub.communicate(timeout=10)[0].splitlines()
    assert lines == [], "a refused acknowledgement was published"
    ch.publish(stack.mqtt_port, f"linz/sensor/waterlevel/{gauge}", ch.level(400))


def test_read_requests_refuse_bad_arguments(env):
    _, _, port = env
    cookie, _ = ch.api_login(port)
    get = {"Cookie": cookie}
    long_topic = "linz/alerts/rhine-flood/" + "x" * 400
    refused(raw(port, "GET", "/api/alert", headers=get), 400, "bad_request")
    refused(raw(port, "GET", "/api/alert?topic=linz/alerts/a/b", headers=get), 400, "bad_request")
    refused(raw(port, "GET", f"/api/alert?topic={long_topic}&id=x", headers=get), 400, "bad_request")
    refused(raw(port, "GET", "/api/alert?topic=linz/sensor/waterlevel/x&id=x", headers=get),
            400, "bad_request")
    refused(raw(port, "GET", "/api/alert?topic=%ff%fe%00&id=%00", headers=get), 400, "bad_request")
    # An id that is not UTF-8, echoed in the reason (and cut to fit it): shown as \xNN.
    reply = raw(port, "GET", "/api/alert?topic=linz/alerts/r/s&id=" + "%ff" * 300, headers=get)
    refused(reply, 404, "no_history")
    assert "\\xff\\xff" in reply[1]["message"], reply
    refused(raw(port, "GET", "/api/series", headers=get), 400, "bad_request")
    refused(raw(port, "GET", "/api/series?type=" + "t" * 129, headers=get), 400, "bad_request")
    status, body = raw(port, "GET", "/api/series?type=%ff%00'%20OR%201=1", headers=get)
    assert status == 200 and isinstance(body, (dict, list)), (status, body)
    refused(raw(port, "GET", "/api/deadletters?prefix=" + "p" * 401, headers=get), 400, "bad_request")
    status, body = raw(port, "GET", "/api/deadletters?prefix=%ff%fe*%00", headers=get)
    assert status == 200, (status, body)
    serving(port, cookie)


def test_one_address_cannot_take_every_connection(env):
    """A host that opens connections and holds them (a script gone wrong, or one that
    sends its headers a byte a minute) gets console.max_clients_per_address of them;
    the next ones it opens are closed at once, and operators on other addresses are
    served meanwhile. 127.0.0.2 is the other host here: any 127.x address is loopback.
    The HTTP server's message about it is logged once, not once per connection."""
    _, hub, port = env
    cookie, _ = ch.api_login(port)
    held = []
    try:
        for _ in range(PER_ADDRESS):
            s = socket.socket()
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and nothing more
            held.append(s)
        serving(port, cookie)  # from 127.0.0.1: not counted with them
        for _ in range(5):
            with socket.socket() as s:
                s.bind(("127.0.0.2", 0))
                s.settimeout(5)
                s.connect(("127.0.0.1", port))
                try:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    answer = s.recv(100)
                except ConnectionResetError:
                    answer = b""
                assert answer == b"", f"connection {PER_ADDRESS + 1} from one address answered"
    finally:
        for s in held:
            s.close()
    # Once they are closed, that address is served again.
    def served():
        with socket.socket() as s:
            s.bind(("127.0.0.2", 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(12) == b"HTTP/1.1 200"
    harness.wait_until(served, 10, "the address served again")
    serving(port, cookie)
    limit = hub.log_path.read_text(errors="replace").count("reached connection limit")
    assert limit == 1, f"{limit} lines about the connection limit for 5 refused connections"


def test_login_without_the_account_registry(env):
    """The registry gone from its place (moved, a wrong path, a rewrite that lost it):
    the console cannot say who is an operator, and says that (503 no_registry), not that
    the account is not an operator's. Once the file is back, the login is taken."""
    stack, _, port = env
    accounts = stack.tmp / "broker" / "accounts"
    away = accounts.with_name("accounts.away")
    login = json.dumps({"user": ch.OPERATOR, "password": ch.OPERATOR_PASSWORD}).encode()
    accounts.rename(away)
    try:
        refused(raw(port, "POST", "/api/login", login), 503, "no_registry")
    finally:
        away.rename(accounts)
    cookie, _ = ch.api_login(port)
    serving(port, cookie)


def login_from(port, source, user, password):
    """(status, Retry-After or None, parsed body) of a login sent from address source."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.request("POST", "/api/login", body=json.dumps({"user": user, "password": password}),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Retry-After"), json.loads(resp.read())
    finally:
        conn.close()


def test_a_device_login_does_not_forgive_failed_ones(env):
    """Somebody guessing an operator's password who also knows a device's (a sensor at
    the riverbank holds it) must not reset the wait between guesses by logging in as
    the device: that login is refused (not an operator) and is no success. After three
    wrong passwords from one address, each followed by a device login, the fourth wrong
    one makes the address wait 8 s, not the 1 s of a first failure."""
    _, _, port = env
    source = "127.0.0.3"  # its own address: the other tests are not throttled by this
    for _ in range(3):
        status, _, body = login_from(port, source, ch.OPERATOR, "wrong-password")
        assert status == 401 and body["error"] == "login_failed", (status, body)
        harness.wait_until(lambda: login_from(port, source, ch.DEVICE, ch.DEVICE_PASSWORD)[0] == 403,
                           30, "the device login answered", interval=0.2)
    status, _, body = login_from(port, source, ch.OPERATOR, "wrong-password")
    assert status == 401, (status, body)
    status, retry, body = login_from(port, source, ch.OPERATOR, "wrong-password")
    assert status == 429 and body["error"] == "throttled", (status, body)
    assert int(retry) >= 2, f"Retry-After {retry}: the device logins forgave the failures"


def test_a_login_that_is_taken_forgives_the_failed_ones(env):
    """An operator who mistyped twice and then logged in starts afresh: the next wrong
    password from that address waits 1 s, as a first failure does, not the 4 s that a
    third failure in a row would."""
    _, _, port = env
    source = "127.0.0.4"  # its own address: the other tests are not throttled by this
    for _ in range(2):
        harness.wait_until(lambda: login_from(port, source, ch.OPERATOR, "wrong-password")[0]
                           == 401, 10, "a wrong password refused after the wait", interval=0.2)
    harness.wait_until(lambda: login_from(port, source, ch.OPERATOR, ch.OPERATOR_PASSWORD)[0]
                       == 200, 10, "the right password taken after the wait", interval=0.2)
    status, _, body = login_from(port, source, ch.OPERATOR, "wrong-password")
    assert status == 401, (status, body)
    status, retry, body = login_from(port, source, ch.OPERATOR, "wrong-password")
    assert status == 429 and body["error"] == "throttled", (status, body)
    assert int(retry) == 1, f"Retry-After {retry}: the login did not forgive the failures"


def test_a_removed_account_loses_its_session(tmp_path):
    """An operator account removed while its person is logged in (deploy/broker/account
    remove, then SIGHUP to the broker): the broker drops the person's MQTT session and
    refuses it again, and the console ends the session (401) and frees its place."""
    with ch.running_console(tmp_path) as (stack, _, port, broker_dir):
        cookie, _ = ch.api_login(port)
        assert raw(port, "GET", "/api/session", headers={"Cookie": cookie})[0] == 200
        assert raw(port, "GET", "/healthz")[1]["sessions"] == 1
        tool = harness.REPO / "deploy" / "broker" / "account"
        subprocess.run([str(tool), "-d", str(broker_dir), "remove", "operator", ch.OPERATOR],
                       check=True, capture_output=True, text=True)
        stack.mosquitto.proc.send(signal.SIGHUP)
        harness.wait_until(lambda: raw(port, "GET", "/api/session", headers={"Cookie": cookie}
                                       )[0] == 401, 30, "the removed account's session to end")
        harness.wait_until(lambda: raw(port, "GET", "/healthz")[1]["sessions"] == 0, 10,
                           "its place freed")


def test_logins_beyond_max_sessions_are_refused_until_a_place_is_free(tmp_path):
    """console.max_sessions 2: a third login is refused with 503 too_many_sessions
    (counted as unavailable); once somebody logs out, a login is taken again."""
    with ch.running_console(tmp_path, {"max_sessions": 2}) as (_, _, port, _):
        sessions = [ch.api_login(port) for _ in range(2)]
        status, body = raw(port, "POST", "/api/login", json.dumps(
            {"user": ch.OPERATOR, "password": ch.OPERATOR_PASSWORD}).encode())
        refused((status, body), 503, "too_many_sessions")
        assert "rheinhub_console_logins_total{result=\"unavailable\"} 1" in \
            raw(port, "GET", "/metrics")[1]
        assert raw(port, "GET", "/healthz")[1]["sessions"] == 2
        cookie, csrf = sessions[0]
        status, _ = raw(port, "POST", "/api/logout", b"{}", {"Cookie": cookie,
                                                              "X-CSRF-Token": csrf})
        assert status == 200
        ch.api_login(port)


def read_stream_to_end(port, cookie, started):
    """Opens the live stream with cookie, calls started() once its snapshot has come,
    then reads until the console ends the stream. Returns what came after the snapshot
    (pings at most). The socket's own timeout (60 s) fails a stream that never ends."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", "/api/events", headers={"Cookie": cookie})
        resp = conn.getresponse()
        assert resp.status == 200, resp.status
        first = resp.readline()
        while b"event: snapshot" not in first:
            first = resp.readline()
        resp.readline()  # its data line
        started()
        return resp.read()
    finally:
        conn.close()


def test_logging_in_again_ends_the_earlier_session(tmp_path):
    """A page that logs in again while it holds a session (a kiosk that reloads, a
    script, another tab) ends that session, its MQTT link and its live streams first:
    six logins on one cookie take one place in a table of three, the earlier cookies
    are refused, and another operator still gets in."""
    with ch.running_console(tmp_path, {"max_sessions": 3}) as (_, _, port, _):
        cookie, _ = ch.api_login(port)
        first = cookie
        for _ in range(5):
            status, headers, body = ch.request(
                port, "POST", "/api/login", {"user": ch.OPERATOR, "password": ch.OPERATOR_PASSWORD},
                {"Cookie": cookie})
            assert status == 200, f"a login on a valid cookie answered {status}: {body}"
            cookie = headers["set-cookie"].split(";")[0]
        refused(raw(port, "GET", "/api/session", headers={"Cookie": first}), 401, "no_session")
        serving(port, cookie)
        # The live stream of a session ends when that session is replaced.
        def replace():
            nonlocal cookie
            status, headers, _ = ch.request(
                port, "POST", "/api/login", {"user": ch.OPERATOR, "password": ch.OPERATOR_PASSWORD},
                {"Cookie": cookie})
            assert status == 200, status
            cookie = headers["set-cookie"].split(";")[0]
        rest = read_stream_to_end(port, cookie, replace)
        assert b"event:" not in rest, rest
        others = [ch.api_login(port)[0] for _ in range(2)]
        for c in others + [cookie]:
            serving(port, c)


def console_pid(hub):
    """The pid of the rheinhub-console the hub supervises."""
    for task in os.listdir(f"/proc/{hub.proc.pid}/task"):
        with open(f"/proc/{hub.proc.pid}/task/{task}/children") as f:
            for pid in f.read().split():
                with open(f"/proc/{pid}/comm") as comm:
                    if comm.read().strip().startswith("rheinhub-consol"):
                        return int(pid)
    raise AssertionError("no rheinhub-console under the hub")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def test_streams_share_one_snapshot(tmp_path):
    """Every live stream starts with the snapshot of all alerts. With 2,000 alerts
    (about 400 bytes each) and 100 streams whose pages have not read it yet, the
    console holds the snapshot once, not once per stream: its memory grows by far less
    than 100 copies (80 MB) would take."""
    with ch.running_console(tmp_path, {"max_clients_per_address": 0}) as (stack, hub, port, _):
        cookie, _ = ch.api_login(port)
        n = 2000
        alert = {"rule": "rhine-flood", "municipality": "linz", "type": "sensor.waterlevel",
                 "state": "active", "severity": "warning", "value": 701.5, "threshold": 700,
                 "message": "Pegel über 700 cm: Hochwasserwarnung für den Rhein bei Linz, "
                            "Deichwache verständigen", "raised_at": "2024-12-06T10:00:00Z",
                 "updated_at": "2024-12-06T10:05:00Z", "acked_by": None}
        harness.publish(stack.mqtt_port, [
            (f"linz/alerts/rhine-flood/mem-pegel-{i:05d}",
             json.dumps(dict(alert, id=f"mem-{i:05d}", subject=f"mem-pegel-{i:05d}")).encode())
            for i in range(n)])
        harness.wait_until(lambda: len(raw(port, "GET", "/api/alerts", headers={"Cookie": cookie})
                                       [1]["alerts"]) >= n, 60, f"{n} alerts on the board")
        pid = console_pid(hub)
        before = rss_mib(pid)
        streams = []
        try:
            for _ in range(100):
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.sendall(f"GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
                streams.append(s)
            for s in streams:  # each stream has its snapshot once its answer starts
                assert s.recv(12) == b"HTTP/1.1 200"
            grown = rss_mib(pid) - before
        finally:
            for s in streams:
                s.close()
        assert grown < 30, f"the console grew by {grown:.1f} MiB for 100 streams"
