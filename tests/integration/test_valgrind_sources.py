# SPDX-License-Identifier: MIT
"""The sources under valgrind's memcheck (plain build): rheinhub-source-ttn reading
recorded uplinks, good and bad, from the TLS stand-in network server, and
rheinhub-source-pegelonline polling the stand-in REST API (a gap fill, a 304, a 404, a
500 and JSON cut short). Each must report no memory error and no block definitely lost
after its graceful stop. The hub is the usual one (ASan build).
"""
import uuid

import yaml

import harness
from harness import wait_until
from source_helpers import NetServer, PegelServer, Source, deadletters, file_yaml, recorded
from valgrind_helpers import needs_valgrind, source_under_valgrind, stop_source_clean

LINZ = harness.REPO / "sources" / "linz"
PEGEL_DATA = harness.REPO / "tests" / "data" / "sources" / "pegelonline"

pytestmark = needs_valgrind


def test_ttn_source_under_valgrind_memcheck(stack, hub, redis_client, tmp_path):
    netserver = NetServer(tmp_path)
    netserver.start()
    try:
        log_dir = stack.tmp / "valgrind-ttn"
        log_dir.mkdir()
        port = harness.free_port()
        doc = yaml.safe_load((LINZ / "ttn.yaml").read_text())
        doc["server"] = netserver.server_section(f"it-vg-ttn-{uuid.uuid4().hex[:8]}")
        doc["http"] = {"bind": "127.0.0.1", "port": port}
        src = source_under_valgrind(Source(hub, "ttn", yaml.safe_dump(doc, sort_keys=False)), log_dir)
        src.start(port, timeout=120)
        ns = netserver.client()
        topic = "v3/linz-sensors@ttn/devices/{}/up"
        cases = [("pegel-linz-1", "waterlevel-702.json"), ("bin-markt-3", "wastebin-85.json"),
                 ("unbekannt-7", "unknown-device.json"),
                 ("pegel-linz-1", "no-decoded-payload.json"),
                 ("pegel-linz-1", "level-as-string.json"),
                 ("pegel-linz-1", "level-missing.json"),
                 ("bin-markt-3", "wastebin-unknown-state.json"),
                 ("pegel-linz-1", "level-out-of-range.json")]
        for device, name in cases:
            netserver.publish(ns, topic.format(device), recorded("ttn", name))
        good = recorded("ttn", "waterlevel-702.json")
        netserver.publish(ns, topic.format("pegel-linz-1"), good[: len(good) // 2])
        netserver.publish(ns, topic.format("pegel-linz-1"), b"\x00\xff binary \x80")
        wait_until(lambda: src.metric("rheinhub_source_received_total") == len(cases) + 2, 120,
                   "every uplink read")
        wait_until(lambda: len(deadletters(redis_client, hub, "ttn")) >= 8, 60,
                   "the dead letters")
        ns.disconnect()
        stop_source_clean(src, log_dir)
    finally:
        netserver.stop()


def test_pegelonline_source_under_valgrind_memcheck(stack, hub, redis_client):
    pegel = PegelServer().start()
    try:
        log_dir = stack.tmp / "valgrind-pegel"
        log_dir.mkdir()
        body = (PEGEL_DATA / "andernach-current.json").read_bytes()
        pegel.route("ANDERNACH", "measurements",
                    [{"body": (PEGEL_DATA / "andernach-measurements.json").read_bytes()}])
        pegel.route("ANDERNACH", "current", [{"status": 500, "body": b"{}"},
                                             {"body": body[: len(body) // 2]},
                                             {"body": body, "headers": {"ETag": '"a-1"'}}])
        pegel.route("OBERWINTER", "measurements", [{"body": b"[]"}])
        pegel.route("OBERWINTER", "current",
                    [{"body": (PEGEL_DATA / "oberwinter-current-flood.json").read_bytes()}])
        port = harness.free_port()
        api = {"base_url": pegel.base_url, "interval_s": 1, "timeout_s": 5, "backfill": "P1D",
               "backoff_max_s": 1, "state_file": ""}
        text = file_yaml({"api": api, "http": {"bind": "127.0.0.1", "port": port},
                          "municipality": "linz"}, "stations:\n")
        for station, subject in (("ANDERNACH", "vg-andernach"), ("OBERWINTER", "vg-oberwinter"),
                                 ("NOSUCH", "vg-nosuch")):
            text += f"  - station: {station}\n    subject: {subject}\n"
        src = source_under_valgrind(Source(hub, "pegelonline", text), log_dir)
        src.start(port, timeout=120, healthy=False)
        wait_until(lambda: src.metric("rheinhub_source_station_not_modified_total",
                                      station="ANDERNACH") >= 1, 120, "a 304 for ANDERNACH")
        wait_until(lambda: any(d["reason"] == "unknown_station"
                               for d in deadletters(redis_client, hub, "pegelonline")), 60,
                   "the unknown station's dead letter")
        stop_source_clean(src, log_dir)
    finally:
        pegel.stop()
