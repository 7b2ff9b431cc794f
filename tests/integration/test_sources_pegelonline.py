# SPDX-License-Identifier: MIT
"""rheinhub-source-pegelonline against a local stand-in for PEGELONLINE's REST API v2.

The stand-in serves recorded answers (tests/data/sources/pegelonline/) and the faults
the real API can show: 404 for a station it does not know, 500, an answer that takes
longer than the source's timeout, JSON cut short, and a field whose type changed.
Each case ends with the right events in Redis exactly once, or a dead letter with
its reason, and the source still running.
"""

import json
import re
import shutil
import signal
import subprocess
import time

import pytest

import harness
from disk_helpers import small_disk  # noqa: F401 - fixture
from harness import wait_until
from source_helpers import PegelServer, deadletters, events, file_yaml
from source_helpers import sources  # noqa: F401 - fixture

DATA = harness.REPO / "tests" / "data" / "sources" / "pegelonline"


def body(name):
    return (DATA / name).read_bytes()


@pytest.fixture
def pegel():
    server = PegelServer().start()
    yield server
    server.stop()


def pegel_file(pegel, port, stations, state_file=""):
    api = {"base_url": pegel.base_url, "interval_s": 1, "timeout_s": 1, "backfill": "P1D",
           "backoff_max_s": 2, "state_file": state_file}
    text = file_yaml({"api": api, "http": {"bind": "127.0.0.1", "port": port},
                      "municipality": "linz"}, "stations:\n")
    for station, subject in stations:
        text += f"  - station: {station}\n    subject: {subject}\n"
    return text


def levels(r, hub, subject):
    return sorted((e.env for e in events(r, hub, "sensor.waterlevel")
                   if e.env["subject"] == subject), key=lambda ev: ev["time"])


MEASURED_UTC = [f"2026-11-26T{h:02d}:{m:02d}:00Z" for h, m in
                [(4, 0), (4, 15), (4, 30), (4, 45), (5, 0), (5, 15), (5, 30), (5, 45), (6, 0)]]


def test_gap_fill_current_caching_and_unknown_station(stack, hub, redis_client, pegel,
                                                      sources):
    r = redis_client
    pegel.route("ANDERNACH", "measurements", [{"body": body("andernach-measurements.json")}])
    pegel.route("ANDERNACH", "current", [{"body": body("andernach-current.json"),
                                          "headers": {"ETag": '"a-0700"',
                                                      "Cache-Control": "max-age=1"}}])
    pegel.route("OBERWINTER", "measurements", [{"body": b"[]"}])
    pegel.route("OBERWINTER", "current", [{"body": body("oberwinter-current-flood.json")}])
    port = harness.free_port()
    src = sources(hub, "pegelonline", pegel_file(pegel, port, [("ANDERNACH", "pegel-andernach"),
                                                ("OBERWINTER", "pegel-oberwinter"),
                                                ("NOSUCH", "pegel-nosuch")]))
    src.start(port, healthy=False)

    wait_until(lambda: len(levels(r, hub, "pegel-andernach")) >= 9, 20, "the gap fill")
    wait_until(lambda: len(levels(r, hub, "pegel-oberwinter")) >= 1, 20, "OBERWINTER")
    # The current measurement is asked for again with the validator, and not modified.
    wait_until(lambda: src.metric("rheinhub_source_station_not_modified_total",
                                  station="ANDERNACH") >= 1, 20, "a 304 for ANDERNACH")
    wait_until(lambda: src.metric("rheinhub_source_station_requests_total",
                                  station="NOSUCH") >= 3, 20, "NOSUCH asked for again")

    andernach = levels(r, hub, "pegel-andernach")
    assert [ev["time"] for ev in andernach] == MEASURED_UTC  # +01:00 converted to UTC
    assert [ev["data"]["value"] for ev in andernach] == list(range(404, 413))
    assert dict(andernach[0]["data"]) == {"time": "2026-11-26T04:00:00Z", "value": 404,
                                          "unit": "cm"}
    assert len({ev["id"] for ev in andernach}) == 9
    assert andernach[-1]["source"] == pegel.base_url + "/stations/ANDERNACH"
    flood = levels(r, hub, "pegel-oberwinter")
    assert len(flood) == 1
    assert dict(flood[0]["data"]) == {"time": "2026-11-26T06:00:00Z", "value": 702,
                                      "unit": "cm", "state_mnw_mhw": "high",
                                      "state_nsw_hsw": "high"}
    conditional = [h for p, _, h in pegel.requests
                   if p.endswith("/ANDERNACH/W/currentmeasurement.json")
                   and h.get("If-None-Match") == '"a-0700"']
    assert conditional, "no conditional request for ANDERNACH"
    backfill = [q for p, q, _ in pegel.requests if p.endswith("/ANDERNACH/W/measurements.json")]
    assert backfill[0] == "start=P1D"

    dls = deadletters(r, hub, "pegelonline")
    assert [d["reason"] for d in dls] == ["unknown_station"], dls  # once, not per retry
    assert "NOSUCH" in dls[0]["detail"] and dls[0]["topic"].endswith(
        "/stations/NOSUCH/W/measurements.json?start=P1D")
    m = src.metrics()
    assert m.get("rheinhub_source_station_up", source="pegelonline", station="NOSUCH") == 0
    assert m.get("rheinhub_source_station_up", source="pegelonline", station="ANDERNACH") == 1
    assert m.get("rheinhub_source_deadletters_total", source="pegelonline",
                 reason="unknown_station") == 1
    status, text = src.healthz()
    assert status == 503 and "station NOSUCH: HTTP 404" in text, (status, text)
    assert len(levels(r, hub, "pegel-andernach")) == 9  # the current one was not new
    assert src.running()


def test_errors_back_off_and_recover_exactly_once(stack, hub, redis_client, pegel, sources):
    r = redis_client
    good = body("andernach-measurements.json")
    pegel.route("BONN", "measurements", [
        {"status": 500, "body": b'{"status":500,"message":"Internal Server Error"}'},
        {"hang": 2.5, "body": good},                       # longer than timeout_s: 1
        {"body": good[: len(good) // 2]},                  # JSON cut short
        {"body": good},
    ])
    later = json.dumps({"timestamp": "2026-11-26T07:30:00+01:00", "value": 415.0,
                        "stateMnwMhw": "normal", "stateNswHsw": "normal"}).encode()
    pegel.route("BONN", "current", [{"body": body("andernach-current-value-string.json")},
                                    {"body": later}])
    # A gauge that answers at once, beside the one that fails and hangs.
    pegel.route("ANDERNACH", "measurements", [{"body": good}])
    pegel.route("ANDERNACH", "current", [{"body": body("andernach-current.json")}])
    port = harness.free_port()
    src = sources(hub, "pegelonline", pegel_file(pegel, port, [("BONN", "pegel-bonn"),
                                                ("ANDERNACH", "pegel-andernach")]))
    src.start(port, healthy=False)
    # ANDERNACH is filled while BONN still fails (its first answers: 500, then a hang).
    wait_until(lambda: len(levels(r, hub, "pegel-andernach")) == 9, 20,
               "ANDERNACH while BONN fails")
    assert len(levels(r, hub, "pegel-bonn")) == 0

    wait_until(lambda: len(levels(r, hub, "pegel-bonn")) >= 10, 40,
               "the measurements and the later current one")
    wait_until(lambda: src.healthz()[0] == 200, 20, "health back to 200")
    bonn = levels(r, hub, "pegel-bonn")
    assert [ev["time"] for ev in bonn] == MEASURED_UTC + ["2026-11-26T06:30:00Z"]
    assert dict(bonn[-1]["data"]) == {"time": "2026-11-26T06:30:00Z", "value": 415,
                                      "unit": "cm", "state_mnw_mhw": "normal",
                                      "state_nsw_hsw": "normal"}
    dls = deadletters(r, hub, "pegelonline")
    assert sorted(d["reason"] for d in dls) == ["bad_field_type", "bad_json"], dls
    typed = [d for d in dls if d["reason"] == "bad_field_type"][0]
    assert "value of 2026-11-26T07:15:00+01:00 is a string" in typed["detail"]
    assert typed["payload"] == body("andernach-current-value-string.json")
    m = src.metrics()
    # 500, timeout, cut JSON, changed type: four failed requests.
    assert m.get("rheinhub_source_station_errors_total", source="pegelonline",
                 station="BONN") >= 4
    assert m.get("rheinhub_source_station_up", source="pegelonline", station="BONN") == 1
    assert src.running()
    assert len(levels(r, hub, "pegel-bonn")) == 10


def test_failures_in_a_row_double_the_wait_up_to_backoff_max_s(stack, hub, pegel, sources):
    """A gauge that keeps failing waits min(interval_s, 15 s) = 1 s, then twice as long
    per failure in a row, at most backoff_max_s = 3 s (docs/sources.md): its requests
    arrive 1, 2 and 3 s apart, each counted as an error."""
    pegel.route("BONN", "measurements", [{"status": 500, "body": b"{}"}])
    port = harness.free_port()
    text = pegel_file(pegel, port, [("BONN", "pegel-bonn")])
    assert "backoff_max_s: 2\n" in text
    src = sources(hub, "pegelonline", text.replace("backoff_max_s: 2\n", "backoff_max_s: 3\n"))
    src.start(port, healthy=False)
    wait_until(lambda: len(pegel.arrived("BONN", "measurements")) >= 4, 20, "four requests")
    wait_until(lambda: "failure 4 in a row" in src.log_path.read_text(), 10,
               "the fourth failure logged")
    times = pegel.arrived("BONN", "measurements")[:4]
    gaps = [round(b - a, 2) for a, b in zip(times, times[1:])]
    for gap, want in zip(gaps, [1, 2, 3]):
        assert want - 0.3 <= gap <= want + 0.9, gaps
    log = src.log_path.read_text()
    for k, wait in ((1, 1), (2, 2), (3, 3)):
        assert f"BONN: HTTP 500 (failure {k} in a row; next try in {wait} s)" in log
    assert src.metric("rheinhub_source_station_errors_total", station="BONN") >= 4
    assert src.metric("rheinhub_source_station_up", station="BONN") == 0
    code, text = src.healthz()
    assert code == 503 and "station BONN: HTTP 500" in text, text
    assert pegel.count("BONN", "current") == 0


def test_restart_publishes_nothing_twice(stack, hub, redis_client, pegel, sources, tmp_path):
    r = redis_client
    pegel.route("ANDERNACH", "measurements", [{"body": body("andernach-measurements.json")}])
    pegel.route("ANDERNACH", "current", [{"body": body("andernach-current.json")}])
    state = tmp_path / "pegelonline.state"
    port = harness.free_port()
    text = pegel_file(pegel, port, [("ANDERNACH", "pegel-andernach")], str(state))
    src = sources(hub, "pegelonline", text)
    src.start(port)
    wait_until(lambda: len(levels(r, hub, "pegel-andernach")) == 9, 20, "the gap fill")
    wait_until(lambda: state.exists() and "ANDERNACH" in state.read_text(), 20,
               "the state file")
    src.proc.send(signal.SIGHUP)  # logged and ignored: a source reads its files at start
    wait_until(lambda: "SIGHUP: a source reads its files" in src.log_path.read_text(), 10,
               "the SIGHUP logged")
    assert src.running() and src.healthz()[0] == 200
    assert src.term() == 0
    port2 = harness.free_port()
    src2 = sources(hub, "pegelonline", text.replace(f"port: {port}", f"port: {port2}"), name="pegel-2")
    src2.start(port2)
    # The gap fill after the restart sees the same nine measurements and the current one.
    wait_until(lambda: src2.metric("rheinhub_source_skipped_total") >= 10, 20,
               "the measurements seen again")
    assert src2.metric("rheinhub_source_published_total") == 0
    assert len(levels(r, hub, "pegel-andernach")) == 9
    secs = int(state.read_text().split("\t")[1])
    assert secs == 1795672800  # 2026-11-26T06:00:00Z


def test_measurements_published_while_our_broker_is_away(stack, hub, redis_client, pegel, sources):
    """Measurements read while our broker is away wait in the source (libmosquitto's
    queue of its persistent session) and are published once it is back, each stored
    once."""
    r = redis_client
    pegel.route("ANDERNACH", "measurements", [{"body": body("andernach-measurements.json")}])
    pegel.route("ANDERNACH", "current", [{"body": body("andernach-current.json")}])
    stack.mosquitto.stop()
    port = harness.free_port()
    src = sources(hub, "pegelonline", pegel_file(pegel, port, [("ANDERNACH", "pegel-andernach")]))
    src.start(port, healthy=False)
    wait_until(lambda: src.metric("rheinhub_source_queued") == 9, 20,
               "nine measurements waiting for our broker")
    # published counts what our broker acknowledged: nothing yet.
    assert src.metric("rheinhub_source_published_total") == 0
    assert src.metric("rheinhub_source_broker_up") == 0
    status, text = src.healthz()
    assert status == 503 and "not connected to our broker" in text, (status, text)
    stack.mosquitto.start()
    wait_until(lambda: len(levels(r, hub, "pegel-andernach")) == 9, 60,
               "the nine measurements stored")
    wait_until(lambda: src.metric("rheinhub_source_queued") == 0, 20,
               f"all acknowledged ({src.metrics().samples})")
    assert src.metric("rheinhub_source_published_total") == 9
    assert [ev["time"] for ev in levels(r, hub, "pegel-andernach")] == MEASURED_UTC
    assert src.running()


def test_state_file_waits_for_our_broker_so_a_kill_loses_nothing(stack, hub, redis_client,
                                                                   pegel, sources, tmp_path):
    """The state file records a measurement only once our broker acknowledged it: read
    while our broker is away, it is not recorded, so a source killed then publishes it
    again after its restart, and it is stored once."""
    r = redis_client
    pegel.route("ANDERNACH", "measurements", [{"body": body("andernach-measurements.json")}])
    pegel.route("ANDERNACH", "current", [{"body": body("andernach-current.json")}])
    state = tmp_path / "pegelonline.state"
    stack.mosquitto.stop()
    port = harness.free_port()
    text = pegel_file(pegel, port, [("ANDERNACH", "pegel-andernach")], str(state))
    src = sources(hub, "pegelonline", text)
    src.start(port, healthy=False)
    wait_until(lambda: src.metric("rheinhub_source_queued") == 9, 20,
               "nine measurements waiting for our broker")
    time.sleep(1)  # a state file written early would be there by now
    assert not state.exists() or "ANDERNACH" not in state.read_text(), state.read_text()
    src.kill()
    stack.mosquitto.start()
    port2 = harness.free_port()
    src2 = sources(hub, "pegelonline", text.replace(f"port: {port}", f"port: {port2}"), name="pegel-2")
    src2.start(port2)
    wait_until(lambda: len(levels(r, hub, "pegel-andernach")) == 9, 60,
               "the nine measurements stored after the restart")
    wait_until(lambda: state.exists() and "ANDERNACH" in state.read_text(), 20,
               "the state file")
    assert [ev["time"] for ev in levels(r, hub, "pegel-andernach")] == MEASURED_UTC


def test_huge_max_age_and_retry_after_are_capped(stack, hub, redis_client, pegel, sources):
    """A Cache-Control max-age or a Retry-After too large for the source's clock (here
    20 digits) is taken as a day: the gauge waits, it does not ask again at once and
    over and over. ANDERNACH, asked every second, is the measure of "at once"."""
    r = redis_client
    huge = "99999999999999999999"
    pegel.route("ANDERNACH", "measurements", [{"body": b"[]"}])
    pegel.route("ANDERNACH", "current", [{"body": body("andernach-current.json")}])
    pegel.route("OBERWINTER", "measurements", [{"body": b"[]"}])
    pegel.route("OBERWINTER", "current", [{"body": body("oberwinter-current-flood.json"),
                                           "headers": {"Cache-Control": f"max-age={huge}"}}])
    pegel.route("BONN", "measurements", [{"status": 503, "body": b"",
                                          "headers": {"Retry-After": huge}}])
    port = harness.free_port()
    src = sources(hub, "pegelonline", pegel_file(pegel, port, [("ANDERNACH", "pegel-andernach"),
                                                ("OBERWINTER", "pegel-oberwinter"),
                                                ("BONN", "pegel-bonn")]))
    src.start(port, healthy=False)
    wait_until(lambda: len(levels(r, hub, "pegel-oberwinter")) == 1, 20, "OBERWINTER")
    wait_until(lambda: pegel.count("ANDERNACH", "current") >= 4, 30,
               "ANDERNACH asked for four times")
    assert pegel.count("OBERWINTER", "current") == 1
    assert pegel.count("BONN", "measurements") == 1
    assert "next try in 86400 s" in src.log_path.read_text()
    assert src.running()


def test_paused_input_waits_in_poll_not_in_a_busy_loop(stack, hub_factory, pegel, sources,
                                                       tmp_path):
    """While our broker refuses an event (no hub subscribes: reason code 0x10), the
    source starts no request; a gauge that is due meanwhile must not make its loop
    poll with a timeout of 0 over and over (one CPU at 100 %). The loop's polls are
    read with strace: with input paused, curl_multi_poll's must wait (timeout > 0);
    the stop check's poll of the signal fd is the only one with 0."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    hub = hub_factory(start=False)  # no subscriber: our broker refuses every event
    pegel.route("ANDERNACH", "measurements", [{"body": b"[]"}])
    pegel.route("ANDERNACH", "current", [{"body": body("andernach-current.json")}])
    port = harness.free_port()
    src = sources(hub, "pegelonline", pegel_file(pegel, port, [("ANDERNACH", "pegel-andernach")]))
    src.start(port, healthy=False)
    wait_until(lambda: src.metric("rheinhub_source_refused_pending") == 1, 20,
               "the event refused, input paused")
    # interval_s 1: the gauge is due again a second after its answer, while paused
    asked = pegel.count("ANDERNACH", "current")
    trace = tmp_path / "poll.trace"
    strace = subprocess.Popen(["strace", "-y", "-p", str(src.proc.popen.pid), "-e", "trace=poll",
                               "-o", str(trace)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    call = re.compile(r"^poll\(\[(.*)\], \d+, (-?\d+)\)")

    def timeouts():
        out = []
        for line in trace.read_text().splitlines() if trace.exists() else []:
            m = call.match(line)
            if m and "signalfd" not in m.group(1):
                out.append(int(m.group(2)))
        return out
    try:
        wait_until(lambda: sum(1 for t in timeouts() if t > 0) >= 4, 20,
                   "four polls that wait while input is paused")
    except AssertionError:
        spins = sum(1 for t in timeouts() if t == 0)
        pytest.fail(f"no poll waited while input was paused: {spins} polls with timeout 0")
    finally:
        strace.terminate()
        strace.wait(10)
    assert pegel.count("ANDERNACH", "current") == asked  # paused: no new request
    assert src.running()
    hub.start()  # a subscriber: the refused event is taken, and input goes on
    wait_until(lambda: src.metric("rheinhub_source_refused_pending") == 0, 30,
               "the refused event taken")
    wait_until(lambda: pegel.count("ANDERNACH", "current") > asked, 20, "input resumed")


def test_one_bad_measurement_of_the_gap_fill_holds_up_no_other(stack, hub, redis_client, pegel,
                                                               sources):
    """A gap fill whose fourth value is a string: that measurement is a dead letter
    bad_field_type naming its time, and the day's eight others are published. The
    gauge is up: the API answered."""
    r = redis_client
    measured = json.loads(body("andernach-measurements.json"))
    measured[3]["value"] = "n/a"
    pegel.route("ANDERNACH", "measurements", [{"body": json.dumps(measured).encode()}])
    pegel.route("ANDERNACH", "current", [{"body": body("andernach-current.json")}])
    port = harness.free_port()
    src = sources(hub, "pegelonline", pegel_file(pegel, port, [("ANDERNACH", "pegel-andernach")]))
    src.start(port, healthy=False)
    wait_until(lambda: len(levels(r, hub, "pegel-andernach")) == 8, 20,
               "the eight good measurements of the gap fill")
    wait_until(lambda: pegel.count("ANDERNACH", "current") >= 2, 20, "the current one, twice")
    assert [ev["time"] for ev in levels(r, hub, "pegel-andernach")] == \
        MEASURED_UTC[:3] + MEASURED_UTC[4:]
    dls = deadletters(r, hub, "pegelonline")
    assert [d["reason"] for d in dls] == ["bad_field_type"], dls
    assert "value of 2026-11-26T05:45:00+01:00 is a string" in dls[0]["detail"], dls
    assert dls[0]["topic"].endswith("/stations/ANDERNACH/W/measurements.json?start=P1D")
    assert src.metric("rheinhub_source_station_up", station="ANDERNACH") == 1
    assert src.healthz()[0] == 200


def test_station_names_are_escaped_in_metric_labels(stack, hub, pegel, sources):
    """A station name with a quote and a backslash (YAML allows them; a control
    character is refused at --check) is a label value escaped as the Prometheus text
    format says: \\" and \\\\."""
    name = 'AN"DER\\NACH'
    port = harness.free_port()
    src = sources(hub, "pegelonline", pegel_file(pegel, port, [(json.dumps(name), "pegel-andernach")]))
    src.start(port, healthy=False)
    wait_until(lambda: src.metric("rheinhub_source_station_requests_total",
                                  station='AN\\"DER\\\\NACH') >= 1, 20,
               "the station's requests, its label escaped")
    status, text = src.http_get("/metrics")
    assert status == 200
    assert 'station="AN\\"DER\\\\NACH"' in text
    for line in text.splitlines():
        assert line.startswith("#") or harness.Metrics.LINE_RE.match(line), line


def test_redirect_names_its_location(stack, hub, redis_client, pegel, sources):
    """PEGELONLINE answering 301 (the API moved): the gauge is down, and /healthz and
    the log name where it moved to, so that the operator can set api.base_url."""
    moved = "https://api.example.invalid/rest-api/v3/stations/ANDERNACH/W/measurements.json"
    pegel.route("ANDERNACH", "measurements", [{"status": 301, "headers": {"Location": moved}}])
    port = harness.free_port()
    src = sources(hub, "pegelonline", pegel_file(pegel, port, [("ANDERNACH", "pegel-andernach")]))
    src.start(port, healthy=False)
    wait_until(lambda: src.metric("rheinhub_source_station_errors_total",
                                  station="ANDERNACH") >= 1, 20, "the 301 answered")
    status, text = src.healthz()
    assert status == 503 and f"station ANDERNACH: HTTP 301, moved to {moved}" in text, text
    assert f"HTTP 301, moved to {moved}" in src.log_path.read_text()
    assert pegel.count("ANDERNACH", "current") == 0  # not followed


def test_measurement_far_ahead_of_our_clock_hides_no_later_one(stack, hub, redis_client, pegel,
                                                              sources, tmp_path):
    """A measurement more than an hour ahead of our clock (a gauge's clock gone wrong:
    2099) is a dead letter future_time, once, and does not become the gauge's newest:
    the later real measurement is published, and the state file keeps the real one."""
    r = redis_client
    measured = json.loads(body("andernach-measurements.json"))
    measured.append({"timestamp": "2099-11-26T07:00:00+01:00", "value": 999.0})
    future = json.dumps({"timestamp": "2099-11-26T07:15:00+01:00", "value": 998.0}).encode()
    later = json.dumps({"timestamp": "2026-11-26T07:30:00+01:00", "value": 415.0}).encode()
    pegel.route("ANDERNACH", "measurements", [{"body": json.dumps(measured).encode()}])
    pegel.route("ANDERNACH", "current", [{"body": future}, {"body": future}, {"body": later}])
    state = tmp_path / "pegelonline.state"
    port = harness.free_port()
    src = sources(hub, "pegelonline", pegel_file(pegel, port, [("ANDERNACH", "pegel-andernach")], str(state)))
    src.start(port, healthy=False)
    wait_until(lambda: "2026-11-26T06:30:00Z" in
               [ev["time"] for ev in levels(r, hub, "pegel-andernach")], 20,
               "the later current measurement")
    wait_until(lambda: state.exists() and "1795674600" in state.read_text(), 20,
               "the state file at 2026-11-26T06:30:00Z")
    assert [ev["time"] for ev in levels(r, hub, "pegel-andernach")] == \
        MEASURED_UTC + ["2026-11-26T06:30:00Z"]
    dls = deadletters(r, hub, "pegelonline")
    assert [d["reason"] for d in dls] == ["future_time", "future_time"], dls  # not per poll
    assert "2099-11-26T07:00:00+01:00" in dls[0]["detail"], dls
    assert "ahead of our clock" in dls[0]["detail"], dls
    assert "2099-11-26T07:15:00+01:00" in dls[1]["detail"], dls
    assert src.metric("rheinhub_source_station_up", station="ANDERNACH") == 1
    assert src.metric("rheinhub_source_deadletters_total", reason="future_time") == 2


def test_state_file_on_a_full_disk_is_written_once_there_is_room(small_disk, stack, hub,
                                                                 redis_client, pegel, sources):
    """The state file's disk is full: the events are published all the same, the error
    is logged once (not at every turn of the loop), and the file is written once the
    disk has room, without a restart."""
    r = redis_client
    disk = small_disk("1m")
    state = disk.path / "pegelonline.state"
    pegel.route("ANDERNACH", "measurements", [{"body": body("andernach-measurements.json")}])
    pegel.route("ANDERNACH", "current", [{"body": body("andernach-current.json")}])
    port = harness.free_port()
    src = sources(hub, "pegelonline", pegel_file(pegel, port, [("ANDERNACH", "pegel-andernach")], str(state)))
    disk.fill()
    src.start(port)
    wait_until(lambda: len(levels(r, hub, "pegel-andernach")) == 9, 20, "the gap fill")
    said = f"cannot write {state}: No space left on device"
    wait_until(lambda: said in src.log_path.read_text(), 10, "the state file's error")
    time.sleep(3)  # turns of the loop (at least two a second) with the disk still full
    assert src.log_path.read_text().count(said) == 1
    assert not state.exists() and src.running()

    disk.free()
    wait_until(lambda: state.exists() and "ANDERNACH" in state.read_text(), 20,
               "the state file once there is room")
    assert f"{state} written again" in src.log_path.read_text()
    assert len(levels(r, hub, "pegel-andernach")) == 9
    assert src.term() == 0
