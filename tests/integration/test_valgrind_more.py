# SPDX-License-Identifier: MIT
"""The daemons' other paths under valgrind's memcheck (plain build), each through a short
stream of good and bad input and a graceful stop, every process's log clean (no memory
error, no block definitely lost):

- the storage worker on PostgreSQL: COPY batches, a batch with a row the server refuses
  stored row by row, monthly partitions made, retention dropping one after a restart,
  and `rheinhub-storage query --id`;
- rheinhub-source-chirpstack reading recorded uplinks, good and bad, from the TLS
  stand-in network server;
- the hub finding Redis through Sentinels (the first naming a master that is gone, the
  second the replica) and following a failover;
- the console reading an alert's history and the gauges' series from PostgreSQL, and
  answering 503 while the database is away;
- forgetting: the alerting worker removing a forgotten track's retained alert from the
  broker before it forgets the track, and the analytics worker removing a quiet
  subject's retained aggregate (alerting.forget_after, analytics.forget_after).
"""
import json
import os
import signal
import subprocess
import time
import uuid

import redis

import analytics_helpers as ah
import console_helpers as ch
import harness
from harness import wait_until
from sentinel_helpers import MASTER, lone_sentinel
from sentinel_helpers import sentinel_layout  # noqa: F401 - fixture
from source_helpers import Source, deadletters, recorded
from storage_helpers import PREFIX, WORKER_SETTINGS, pack_envelope, wait_count, worker_pid
from storage_helpers import postgres  # noqa: F401 - fixture
from test_sources_lorawan import CS_TOPIC, harness_close, linz_file
from test_sources_lorawan import netserver  # noqa: F401 - fixture
from valgrind_helpers import (RULES, assert_clean, memcheck, needs_valgrind, plain_binary,
                              source_under_valgrind, stop_and_check, stop_source_clean,
                              valgrind_hub, worker)

pytestmark = needs_valgrind

DAY = 86400


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def waterlevel(t, value):
    return json.dumps({"time": iso(t), "value": value, "unit": "cm"})


def rejected(hub):
    return sum(v for _, v in hub.metrics().series("rheinhub_events_rejected_total"))


def log_dir_of(stack, name):
    d = stack.tmp / name
    d.mkdir()
    return d


def query_under_valgrind(hub, log_dir, *args):
    """`rheinhub-storage query -c CONFIG --format jsonl args...` of the plain build under
    memcheck: the rows read back."""
    argv = memcheck(log_dir) + [str(plain_binary("workers/storage/rheinhub-storage")), "query",
                                "-c", str(hub.config_path), "--format", "jsonl", *args]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return [json.loads(line) for line in proc.stdout.decode().splitlines()]


def test_storage_postgres_under_valgrind_memcheck(stack, hub_factory, redis_client,
                                                  postgres):  # noqa: F811
    """The storage worker under memcheck (the hub is the usual one)."""
    log_dir = log_dir_of(stack, "valgrind")
    now = int(time.time())
    hub = hub_factory(workers=[worker("storage", ["*"], log_dir)],
                      worker=dict(WORKER_SETTINGS, max_deliveries=1),
                      storage=dict(postgres.storage_section(), retention_days=40))
    old_part = time.strftime("events_p%Y_%m", time.gmtime(now - 80 * DAY))
    good = [(f"linz/sensor/waterlevel/vg-pg-{k % 3}", waterlevel(now - k, 600 + k))
            for k in range(8)]
    good += [("linz/sensor/waterlevel/vg-pg-old", waterlevel(now - 80 * DAY, 1)),
             ("linz/sensor/waterlevel/vg-pg-2001", waterlevel(978307200, 2))]
    bad = [("linz/sensor/waterlevel/vg-bad-1", '{"time":'),
           ("linz/sensor/waterlevel/vg-bad-2", b"\x00\xff garbage \x80")]
    harness.publish(stack.mqtt_port, good + bad, timeout=60)
    # One batch of six in a single read: the server refuses the fourth (jsonb holds no
    # U+0000), so the COPY fails and the batch is stored row by row.
    pipe = redis_client.pipeline(transaction=True)
    for k in range(6):
        t = f"2026-11-26T06:00:0{k}Z"
        data = {"time": t, "value": 700 + k, "unit": "cm"}
        if k == 3:
            data["note"] = "NUL \u0000 im Text"
        pipe.xadd(hub.stream("sensor.waterlevel"), {"id": f"e{k}", "env": pack_envelope(
            "sensor.waterlevel", f"e{k}", "vg-pg-copy", t, data)})
    pipe.execute()
    wait_count(postgres, len(good) + 5, timeout=120, hub=hub)
    wait_until(lambda: any(b"postgresql refused the row" in f.get(b"detail", b"") for _, f in
                           harness.read_stream(redis_client, f"{PREFIX}deadletter")), 60,
               "the refused event in the dead-letter stream")
    wait_until(lambda: rejected(hub) >= len(bad), 60, "the bad input refused")
    for part in (old_part, time.strftime("events_p%Y_%m", time.gmtime(now))):
        assert postgres.scalar(f"SELECT (to_regclass('{part}') IS NOT NULL)::int") == 1, part

    # A graceful stop of the worker; the supervisor starts it again, and a worker that
    # starts looks at retention at once: the old month's partition goes.
    os.kill(worker_pid(redis_client), signal.SIGTERM)
    wait_until(lambda: postgres.scalar(f"SELECT (to_regclass('{old_part}') IS NULL)::int") == 1,
               90, f"retention to drop {old_part}")
    assert postgres.count() == len(good) + 4
    rows = query_under_valgrind(hub, log_dir, "--id", "e4")
    assert [r["id"] for r in rows] == ["e4"], rows
    assert query_under_valgrind(hub, log_dir, "--id", "0" * 32) == []
    hub.term()  # the hub stops the worker
    assert_clean(log_dir, 4)
    text = hub.log_path.read_text(errors="replace")
    assert "retention: dropped the partition" in text, harness.tail(hub.log_path, 40)
    assert "storage-1 exited with status 0" in text, harness.tail(hub.log_path, 40)


def test_chirpstack_source_under_valgrind_memcheck(stack, hub, redis_client,
                                                   netserver):  # noqa: F811
    log_dir = log_dir_of(stack, "valgrind-chirpstack")
    port = harness.free_port()
    text = linz_file("chirpstack", netserver, f"it-vg-cs-{uuid.uuid4().hex[:8]}", port)
    src = source_under_valgrind(Source(hub, "chirpstack", text), log_dir)
    src.start(port, timeout=120)
    ns = netserver.client()
    parking = recorded("chirpstack", "parking-occupied.json")
    uplinks = [("a840410001812f3c", parking),
               ("a840410001813a77", recorded("chirpstack", "soil-no-time.json")),
               ("a840410001812f3c", recorded("chirpstack", "no-object.json")),
               ("a840410001812f3c", parking),  # delivered twice
               ("a840410001812f3c", parking[: len(parking) // 2]),
               ("a840410001812f3c", b"\x00\xff binary \x80")]
    for device, payload in uplinks:
        netserver.publish(ns, CS_TOPIC.format(device), payload)
    wait_until(lambda: src.metric("rheinhub_source_received_total") == len(uplinks), 120,
               "every uplink read")
    wait_until(lambda: len(deadletters(redis_client, hub, "chirpstack")) >= 3, 60,
               "the dead letters")
    wait_until(lambda: src.metric("rheinhub_source_published_total") == 3, 60, "3 published")
    harness_close(ns)
    stop_source_clean(src, log_dir)


def old_master_synced(r):
    info = r.info()
    return (info.get("master_link_status") == "up" and not info["aof_rewrite_in_progress"]
            and not info["aof_rewrite_scheduled"])


def test_hub_sentinel_failover_under_valgrind_memcheck(stack, sentinel_layout):  # noqa: F811
    """The hub asks a Sentinel that names a master gone and one that names the replica
    first, passes them over, writes to the master the others name, and after a failover
    (SENTINEL FAILOVER) to the promoted replica."""
    replica, sentinels = sentinel_layout
    log_dir = log_dir_of(stack, "valgrind")
    gone = harness.free_port()
    stale = [lone_sentinel(stack, "sentinel-gone", gone),
             lone_sentinel(stack, "sentinel-replica", replica.port)]
    try:
        hub = valgrind_hub(stack, log_dir, {}, redis={
            "sentinels": [addr for _, addr in stale] + sentinels.addrs, "master_name": MASTER})
        now = int(time.time())
        key = hub.stream("sensor.waterlevel")
        bad = [("linz/sensor/waterlevel/vg-bad-1", '{"time":'),
               ("linz/sensor/waterlevel/vg-bad-2", '{"time":"2026-12-04T06:00:00Z","value":"x"}')]
        harness.publish(stack.mqtt_port, [(f"linz/sensor/waterlevel/vg-s-{k}", waterlevel(now, k))
                                          for k in range(10)] + bad, timeout=60)
        master = stack.redis.client()
        wait_until(lambda: harness.count_events(master, key) == 10, 60, "10 events on the master")
        wait_until(lambda: rejected(hub) >= len(bad), 60, "the bad input refused")

        redis.Redis(host="127.0.0.1", port=sentinels.ports[0], socket_timeout=5) \
            .execute_command("SENTINEL", "FAILOVER", MASTER)
        wait_until(lambda: sentinels.master() == ("127.0.0.1", replica.port), 60,
                   "the Sentinels name the replica as master")
        wait_until(lambda: f"connected to 127.0.0.1:{replica.port}"
                   in hub.log_path.read_text(errors="replace"), 60, "the hub on the new master")
        harness.publish(stack.mqtt_port, [(f"linz/sensor/waterlevel/vg-s-{k}",
                                           waterlevel(now + 1, k)) for k in range(10)],
                        timeout=60)
        wait_until(lambda: harness.count_events(replica.client(), key) >= 20, 60,
                   "10 more events on the new master")
        stop_and_check(hub, log_dir, 1)
        text = hub.log_path.read_text(errors="replace")
        assert f"cannot connect to 127.0.0.1:{gone}" in text, harness.tail(hub.log_path, 40)
        assert f"127.0.0.1:{replica.port} is a slave, not the master" in text, \
            harness.tail(hub.log_path, 40)
        # Redis refuses to stop while it writes the append-only file of its first sync
        # as a replica: wait for that before the teardown stops it.
        wait_until(lambda: old_master_synced(master), 60, "the old master a synced replica")
    finally:
        for proc, _ in stale:
            proc.stop()


def aggregate(subject, start):
    """A water-level aggregate of the hour from start, as the analytics worker writes it."""
    return {"municipality": "linz", "type": "sensor.waterlevel", "subject": subject,
            "window": "1h", "start": iso(start), "end": iso(start + 3600), "count": 4,
            "subjects": 1, "stats": {"value": {"min": 600, "max": 712, "mean": 650.5}}}


def test_console_postgres_history_under_valgrind_memcheck(tmp_path, postgres):  # noqa: F811
    """The console's detail view (an alert's changes and the values around it) and the
    gauges' series read from PostgreSQL; requests it must refuse; the database away
    (503 from the reads and /healthz) and back."""
    stack, broker_dir = ch.broker_with_accounts(tmp_path)
    stack.start()
    try:
        log_dir = log_dir_of(stack, "valgrind")
        port = harness.free_port()
        hub = valgrind_hub(stack, log_dir, {"alerting": ["sensor.*"], "storage": ["*"],
                                            "console": []},
                           storage=postgres.storage_section(),
                           console={"bind": "127.0.0.1", "port": port,
                                    "accounts_file": str(broker_dir / "accounts")})
        ch.wait_console(port, hub, timeout=120)
        now = int(time.time())
        topic = "linz/alerts/rhine-flood/vg-pegel-9"
        for k, value in enumerate((640, 712)):
            ch.publish(stack.mqtt_port, "linz/sensor/waterlevel/vg-pegel-9",
                       ch.level(value, iso(now - 60 + k)))
        r = stack.redis.client()
        for n, subject in enumerate(("vg-pegel-9", "_all")):
            r.xadd(hub.stream("rheinhub.aggregate"), {"id": f"g{n}", "env": pack_envelope(
                "rheinhub.aggregate", f"g{n}", f"sensor.waterlevel/{subject}/1h",
                iso(now - 3600), aggregate(subject, now - 7200))})
        cookie, csrf = ch.api_login(port)
        auth = {"Cookie": cookie}

        def alert_id():
            for a in ch.request(port, "GET", "/api/alerts", headers=auth)[2]["alerts"]:
                if a["topic"] == topic:
                    return a["id"]
            return None
        wait_until(alert_id, 60, "the alert on the board")
        wait_count(postgres, 1, table="alerts", hub=hub)
        wait_count(postgres, 1, table="aggregates", hub=hub)
        path = f"/api/alert?topic={topic}&id={alert_id()}"
        status, _, body = ch.request(port, "GET", path, headers=auth, timeout=60)
        assert status == 200 and body["changes"] and body["values"], (status, body)
        status, _, body = ch.request(port, "GET", "/api/series?type=sensor.waterlevel",
                                     headers=auth, timeout=60)
        assert status == 200 and list(body) == ["linz/vg-pegel-9"], (status, body)
        for bad, want in ((f"/api/alert?topic={topic}", 400),
                          ("/api/alert?topic=linz/sensor/waterlevel/x&id=1", 400),
                          (f"/api/alert?topic={topic}&id=linz:nosuch:1", 404),
                          ("/api/series", 400)):
            assert ch.request(port, "GET", bad, headers=auth, timeout=60)[0] == want, bad

        postgres.stop()
        wait_until(lambda: ch.request(port, "GET", "/healthz", timeout=60)[0] == 503, 60,
                   "console 503 without the database")
        status, _, body = ch.request(port, "GET", path, headers=auth, timeout=60)
        assert status == 503 and body["error"] == "storage", (status, body)
        postgres.start()
        wait_until(lambda: ch.request(port, "GET", "/healthz", timeout=60)[0] == 200, 60,
                   "console 200 with the database back")
        assert ch.request(port, "GET", path, headers=auth, timeout=60)[0] == 200
        assert ch.request(port, "POST", "/api/logout", {},
                          {"Cookie": cookie, "X-CSRF-Token": csrf})[0] in (200, 204)
        stop_and_check(hub, log_dir, 4)
    finally:
        stack.stop()


def test_forgetting_under_valgrind_memcheck(stack, tmp_path, monkeypatch):
    """The alerting and analytics workers under memcheck through their forget paths: a
    gauge raises and clears rhine-flood, is forgotten 2 s later and its retained alert
    removed first; its 1m aggregate closes on the analytics clock and is removed once
    that clock stands 10 minutes past the window's end."""
    log_dir = log_dir_of(stack, "valgrind")
    clock = tmp_path / "analytics-clock"
    ah.write_clock(clock, "2026-11-26T06:00:30Z")
    monkeypatch.setenv("RHEINHUB_ANALYTICS_CLOCK_FILE", str(clock))
    windows = tmp_path / "windows.yaml"
    windows.write_text("default: [1m]\n")
    hub = valgrind_hub(stack, log_dir, {"alerting": ["sensor.*"], "analytics": ["sensor.*"]},
                       alerting={"rules_file": str(RULES), "check_interval_ms": 200,
                                 "forget_after": "2s"},
                       analytics={"windows_file": str(windows), "lateness_s": 60,
                                  "check_interval_ms": 100, "forget_after": "10m"})
    r = stack.redis.client()
    stats = f"{hub.prefix}alerting:stats"
    harness.publish(stack.mqtt_port, [
        ("linz/sensor/waterlevel/vg-forget", json.dumps(
            {"time": "2026-11-26T06:00:05Z", "value": 700, "unit": "cm"})),
        ("linz/sensor/waterlevel/vg-forget", json.dumps(
            {"time": "2026-11-26T06:00:10Z", "value": 500, "unit": "cm"}))], qos=1, timeout=60)

    def stat(name):
        return int(r.hget(stats, name) or 0)
    wait_until(lambda: stat("alerts_unretained") >= 1 and stat("tracks_forgotten") >= 1, 180,
               "the cleared alert removed from the broker and its track forgotten")

    def unretained():
        return int(ah.worker_status(r, hub.prefix).get("unretained", 0))
    ah.write_clock(clock, "2026-11-26T06:02:30Z")  # the 06:00 window closes (lateness 60 s)
    wait_until(lambda: r.hlen(f"{hub.prefix}analytics:published") >= 1, 180,
               "the 06:00 aggregate published and recorded")
    ah.write_clock(clock, "2026-11-26T06:12:00Z")  # 11 minutes past its end
    wait_until(lambda: unretained() >= 1, 180, "the quiet subject's aggregate removed")
    # Each removal is settled at its own PUBACK: the topics of one close need not go in
    # the same turn.
    wait_until(lambda: r.hlen(f"{hub.prefix}analytics:published") == 0, 60,
               "every record of a removed aggregate deleted")
    stop_and_check(hub, log_dir, 3)
