# SPDX-License-Identifier: MIT
"""The hub's crash journal: a SIGKILL at full speed loses nothing and writes nothing twice;
a clean stop leaves no journal behind; a full disk pauses the input instead of losing."""

import json

import pytest

from disk_helpers import small_disk  # noqa: F401 - fixture
from harness import SENTINEL, SENTINEL_SUBJECT, publish, ranges, settle, tail, wait_until
from harness_streams import count_events

STREAM = "sensor.waterlevel"


def accepted_at_least(hub, n, timeout=30):
    wait_until(lambda: hub.metric("rheinhub_events_accepted_total") >= n, timeout,
               f"{n} accepted events")


def collect(hub, lg, r, clock):
    t_lo, now = clock
    lg.wait(timeout=180)
    events = settle(hub, r, hub.stream(STREAM), min_len=1, sentinel=SENTINEL)
    return lg.check(events, t_lo, now(), ignore_subjects={SENTINEL_SUBJECT})


def segments(folder):
    return sorted(p.name for p in folder.glob("journal-*.log"))


@pytest.mark.parametrize("rate", [5000, 0], ids=["5000_per_s", "max_rate"])
def test_journal_sigkill_during_stream_loses_nothing(hub_factory, loadgen, redis_client, clock,
                                                    capsys, record_property, stack, rate):
    folder = stack.tmp / "journal"
    hub = hub_factory(journal={"dir": str(folder)}, ingest={"queue_max": 1000},
                      redis={"max_in_flight": 64})
    lg = loadgen(n=25000, rate=rate).start()
    accepted_at_least(hub, 5000)
    received = hub.metric("rheinhub_events_received_total")
    hub.kill()
    assert received < lg.n, "the hub had every event before it was killed"
    assert segments(folder), "no journal segment after the kill"
    hub.start()
    check = collect(hub, lg, redis_client, clock)
    record_property("sigkill_lost_events_journal", len(check.missing))
    with capsys.disabled():
        print(f"\nSIGKILL with the journal during {lg.n} events at "
              f"{f'{rate} events/s' if rate else 'full speed'}: {len(check.missing)} lost "
              f"{ranges(check.missing)}, {len(check.duplicates)} duplicated")
    check.assert_exactly_once()


def test_journal_clean_stop_leaves_nothing(hub_factory, loadgen, redis_client, clock, stack):
    folder = stack.tmp / "journal"
    hub = hub_factory(journal={"dir": str(folder)})
    lg = loadgen(n=3000, rate=0).start()
    collect(hub, lg, redis_client, clock).assert_exactly_once()
    hub.term()
    assert segments(folder) == [], f"journal left after a clean stop: {segments(folder)}"


def test_journal_second_hub_on_the_same_folder_is_refused(hub_factory, stack):
    folder = stack.tmp / "journal"
    hub_factory(name="first", journal={"dir": str(folder)})
    second = hub_factory(name="second", start=False, journal={"dir": str(folder)})
    second.proc.start()
    rc = second.proc.wait(20)
    assert rc != 0, "a second hub started on a journal folder in use"
    assert "another hub uses this folder" in second.log_path.read_text(), tail(second.log_path)


def test_journal_disk_full_pauses_input_and_loses_nothing(small_disk, hub_factory, loadgen,
                                                          redis_client, clock, stack):
    disk = small_disk("4m")
    folder = disk.path / "journal"
    hub = hub_factory(journal={"dir": str(folder), "segment_mb": 1})
    disk.fill()  # the journal's next writes fail
    lg = loadgen(n=20000, rate=4000).start()
    wait_until(lambda: "No space left on device" in hub.log_path.read_text(), 30,
               "the journal's disk-full error in the log")
    wait_until(lambda: hub.metric("rheinhub_mqtt_paused") == 1, 10, "MQTT input paused")
    held = hub.metric("rheinhub_events_accepted_total")
    disk.free()
    check = collect(hub, lg, redis_client, clock)
    assert held < lg.n, "the stream was over before the disk filled"
    check.assert_exactly_once()
    assert "writing again" in hub.log_path.read_text()
    hub.term()


def test_journal_events_refused_for_memory_are_sent_once_redis_has_room(hub_factory,
                                                                        redis_client, stack):
    """Events a restart takes from the journal are re-sent as in doubt. When Redis
    refuses that re-send for a while (maxmemory reached, or loading its data after a
    restart), they are sent again once it takes writes, on the same link."""
    folder = stack.tmp / "journal"
    hub = hub_factory(journal={"dir": str(folder)})
    stack.redis.shutdown()
    wait_until(lambda: hub.metric("rheinhub_redis_connected") == 0, 10,
               "the hub to notice that Redis is gone")
    n = 5
    publish(stack.mqtt_port, [
        (f"linz/sensor/waterlevel/oom-{k}",
         f'{{"time":"2026-11-26T06:0{k}:00Z","value":{400 + k},"unit":"cm"}}'.encode())
        for k in range(n)])
    wait_until(lambda: hub.metric("rheinhub_events_received_total") >= n, 15,
               f"the hub to take the {n} events")
    hub.kill()
    assert segments(folder), "no journal segment after the kill"

    stack.redis.start()
    r = stack.redis.client()
    r.config_set("maxmemory", 1)
    hub.proc.start()  # not healthy until Redis takes writes
    wait_until(lambda: "refusing writes (OOM" in hub.log_path.read_text(), 15,
               "Redis refusing the re-send for memory")
    assert count_events(r, hub.stream(STREAM)) == 0
    assert hub.healthz() == 503
    assert "OOM" in json.loads(hub.http_get("/healthz")[1])["redis_refusing"]
    r.config_set("maxmemory", "2gb")
    wait_until(lambda: count_events(r, hub.stream(STREAM)) >= n, 30,
               f"the {n} journaled events in Redis once it has room")
    wait_until(lambda: hub.metric("rheinhub_redis_in_doubt") == 0, 10, "nothing in doubt")
    assert count_events(r, hub.stream(STREAM)) == n
    wait_until(lambda: hub.healthz() == 200, 10, "healthy once Redis takes writes")
    hub.term()
    assert segments(folder) == [], f"journal left after a clean stop: {segments(folder)}"


def test_journal_replay_writes_an_event_whose_id_another_source_used(hub_factory, redis_client,
                                                                       stack):
    """The re-send of what a restart takes from the journal (the add-if-absent script, as
    after a lost Redis link) knows events by source and id, like the hub's duplicate
    check: a CloudEvent whose id a stored event of another source has is written, not
    taken for that one and lost. The repeat of the stored one is still dropped."""
    from harness import read_events

    folder = stack.tmp / "journal"
    topic = "linz/sensor/waterlevel/rhein-pegel-3"

    def cloudevent(source, t):
        return json.dumps({"specversion": "1.0", "id": "1", "source": source,
                           "type": "sensor.waterlevel",
                           "data": {"time": t, "value": 412, "unit": "cm"}}).encode()
    a = cloudevent("urn:linz:pegel-a", "2026-11-26T06:00:00Z")
    b = cloudevent("urn:linz:pegel-b", "2026-11-26T06:05:00Z")
    hub = hub_factory(journal={"dir": str(folder)})
    publish(stack.mqtt_port, [(topic, a)])
    accepted_at_least(hub, 1)
    stack.redis.shutdown()
    wait_until(lambda: hub.metric("rheinhub_redis_connected") == 0, 10,
               "the hub to notice that Redis is gone")
    publish(stack.mqtt_port, [(topic, b), (topic, a)])
    wait_until(lambda: hub.metric("rheinhub_events_received_total") >= 3, 15,
               "the hub to take the 2 events")
    hub.kill()
    assert segments(folder), "no journal segment after the kill"

    stack.redis.start()
    r = stack.redis.client()
    hub.start()
    wait_until(lambda: hub.metric("rheinhub_redis_in_doubt") == 0, 30, "nothing in doubt")
    got = sorted((e.env["source"], e.env["id"]) for e in read_events(r, hub.stream(STREAM)))
    assert got == [("urn:linz:pegel-a", "1"), ("urn:linz:pegel-b", "1")]
    hub.term()
