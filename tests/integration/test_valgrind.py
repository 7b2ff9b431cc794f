# SPDX-License-Identifier: MIT
"""The daemons under valgrind's memcheck: the hub and the storage, alerting, analytics and
console processes it supervises, each its own valgrind, from the plain build (valgrind
cannot run the sanitized one). A short stream of every kind of input goes through them,
valid events of several types, a CloudEvent, an alert raised and acknowledged (over MQTT,
and through the console's API by a logged-in operator), and the bad input the hub must
refuse (malformed JSON, binary garbage, too deep, unknown topics); then a graceful stop. Every process must report no memory error and no block definitely
lost (memcheck's --errors-for-leak-kinds=definite). The integration suite's other tests
run the same code under ASan and UBSan; this one covers what only valgrind sees
(uninitialised reads in system calls and libraries that are not instrumented).
"""
import http.client
import json
import sqlite3
import time


import console_helpers as ch
import harness
from harness import wait_until
from valgrind_helpers import needs_valgrind, stop_and_check, valgrind_hub

WINDOWS = harness.REPO / "deploy" / "local" / "analytics-windows.yaml"

pytestmark = needs_valgrind


def test_daemons_under_valgrind_memcheck(stack):
    log_dir = stack.tmp / "valgrind"
    log_dir.mkdir()
    db = stack.run_dir / "rheinhub.db"
    hub = valgrind_hub(stack, log_dir,
                       {"storage": ["*"], "alerting": ["sensor.*", "service.*", "citizen.*"],
                        "analytics": ["sensor.*"]},
                       analytics={"windows_file": str(WINDOWS)})

    valid = []
    for k in range(40):
        valid.append((f"linz/sensor/waterlevel/vg-pegel-{k % 4}",
                      json.dumps({"time": f"2026-12-04T06:{k:02d}:00Z",
                                  "value": 600 + 5 * k, "unit": "cm"})))
    valid += [
        ("linz/sensor/wastebin/vg-bin-1", '{"time":"2026-12-04T06:00:00Z","fill":0.93}'),
        ("linz/service/streetlight/vg-lamp-1",
         '{"time":"2026-12-04T06:00:00Z","status":"fault","fault_code":"E42"}'),
        ("linz/citizen/feedback/vg-fb-1",
         '{"time":"2026-12-04T06:00:00Z","topic":"park","rating":4,"comment":"gut"}'),
        ("linz/sensor/soil/vg-tree-1",
         json.dumps({"specversion": "1.0", "id": "vg-ce-1", "source": "urn:test:valgrind",
                     "type": "sensor.soil", "time": "2026-12-04T06:00:00Z",
                     "data": {"time": "2026-12-04T06:00:00Z", "moisture": 21.5}})),
    ]
    bad = [
        ("linz/sensor/waterlevel/vg-bad-1", '{"time":"2026-12-04T06:00:00Z","value":'),
        ("linz/sensor/waterlevel/vg-bad-2", b"\x00\xff\xfe garbage \x80"),
        ("linz/sensor/waterlevel/vg-bad-3", "[" * 200 + "]" * 200),
        ("linz/sensor/waterlevel/vg-bad-4", '{"time":"2026-12-04T06:00:00Z","value":"high"}'),
        ("linz/sensor/nosuchtype/vg-bad-5", '{"time":"2026-12-04T06:00:00Z"}'),
        ("linz/sensor/waterlevel/vg-bad-6",
         json.dumps({"specversion": "1.0", "id": "vg-ce-2", "source": "urn:test:valgrind",
                     "type": "citizen.report",
                     "data": {"time": "2026-12-04T06:00:00Z", "value": 1, "unit": "cm"}})),
    ]
    harness.publish(stack.mqtt_port, valid + bad, qos=1, timeout=60)

    def stored():
        if not db.exists():
            return 0
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
            return c.execute("SELECT count(*) FROM events WHERE subject LIKE 'vg-%'").fetchone()[0]
    wait_until(lambda: stored() == len(valid), 180, f"{len(valid)} events stored")

    def rejected():
        return sum(v for _, v in hub.metrics().series("rheinhub_events_rejected_total"))
    wait_until(lambda: rejected() >= len(bad), 60, "the bad input refused")
    # An acknowledgement of the flood alert (the alerting worker reads it over MQTT).
    harness.publish(stack.mqtt_port, [("linz/alerts/rhine-flood/vg-pegel-3/ack",
                                       '{"by":"valgrind-test","comment":"seen"}')], qos=1)
    r = stack.redis.client()
    wait_until(lambda: r.xlen(hub.stream("rheinhub.alert")) > 0, 120, "an alert state change")

    stop_and_check(hub, log_dir, 4)


def test_console_under_valgrind_memcheck(tmp_path):
    """The console (login, the alert list, an acknowledgement, the live stream, a refused
    login, /healthz and /metrics, a broker restart and the board's resync after it,
    logout) with the hub, alerting and storage, each under memcheck."""
    stack, broker_dir = ch.broker_with_accounts(tmp_path)
    stack.start()
    try:
        log_dir = stack.tmp / "valgrind"
        log_dir.mkdir()
        port = harness.free_port()
        hub = valgrind_hub(stack, log_dir,
                           {"alerting": ["sensor.*", "service.*", "citizen.*"],
                            "storage": ["*"], "console": []},
                           console={"bind": "127.0.0.1", "port": port,
                                    "accounts_file": str(broker_dir / "accounts")})
        ch.wait_console(port, hub, timeout=120)
        topic = "linz/alerts/rhine-flood/vg-pegel-9"
        ch.publish(stack.mqtt_port, "linz/sensor/waterlevel/vg-pegel-9", ch.level(712))
        cookie, csrf = ch.api_login(port)
        wait_until(lambda: any(a["topic"] == topic for a in ch.request(
            port, "GET", "/api/alerts", headers={"Cookie": cookie})[2]["alerts"]), 60, "the alert")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/events", headers={"Cookie": cookie, "Accept": "text/event-stream"})
        resp = conn.getresponse()
        assert resp.status == 200
        first = resp.fp.readline()
        status, _, reply = ch.request(port, "POST", "/api/ack", {"topic": topic, "comment": "vg"},
                                      {"Cookie": cookie, "X-CSRF-Token": csrf})
        assert status == 202, reply
        conn.close()
        assert first, "no line from the event stream"
        assert ch.request(port, "POST", "/api/login",
                          {"user": ch.OPERATOR, "password": "wrong"})[0] in (401, 403, 429)
        assert ch.request(port, "GET", "/healthz")[0] == 200
        status, _, text = ch.request(port, "GET", "/metrics")
        assert status == 200 and "rheinhub_console_alerts 1" in text, text
        # A broker restart: /healthz says so, and the board is compared with the replay.
        stack.mosquitto.stop()
        wait_until(lambda: ch.request(port, "GET", "/healthz")[0] == 503, 60, "console 503")
        stack.mosquitto.start()
        wait_until(lambda: ch.request(port, "GET", "/healthz")[0] == 200, 120, "console 200")
        time.sleep(3)  # the replay's quiet second, and the sweep after it
        assert any(a["topic"] == topic for a in ch.request(
            port, "GET", "/api/alerts", headers={"Cookie": cookie})[2]["alerts"]), \
            "the alert the broker still retains left the board"
        assert ch.request(port, "POST", "/api/logout", {},
                          {"Cookie": cookie, "X-CSRF-Token": csrf})[0] in (200, 204)
        stop_and_check(hub, log_dir, 4)
        log = hub.log_path.read_text(errors="replace")
        assert "console: Terminated received" in log
        assert "reconnecting" not in log[log.index("console: Terminated received"):], \
            "the console's own disconnect at its stop is logged as a lost connection"
    finally:
        stack.stop()
