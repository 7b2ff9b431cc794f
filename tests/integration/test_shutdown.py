# SPDX-License-Identifier: MIT
"""Stopping the hub during a stream: a graceful stop loses nothing, a SIGKILL a bounded few;
the spool of a stop with Redis away is sent at the next start and nothing twice."""

import signal
import threading

import pytest

from harness import SENTINEL, SENTINEL_SUBJECT, ranges, read_events, settle, wait_until
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


@pytest.mark.slow
@pytest.mark.parametrize("rate", [5000, 0], ids=["5000_per_s", "max_rate"])
def test_sigterm_during_stream_then_restart(hub_factory, loadgen, redis_client, clock, rate):
    hub = hub_factory()
    lg = loadgen(n=25000, rate=rate).start()
    accepted_at_least(hub, 5000)
    received = hub.metric("rheinhub_events_received_total")
    hub.term(timeout=60)  # exit code 0, no sanitizer report
    assert received < lg.n, "the hub had every event before it was stopped"
    hub.start()
    collect(hub, lg, redis_client, clock).assert_exactly_once()
    assert hub.metric("rheinhub_events_duplicate_total") == 0


def test_sigint_flushes_and_exits_0(hub_factory, loadgen, redis_client, clock):
    hub = hub_factory()
    lg = loadgen(n=3000, rate=0).start()
    accepted_at_least(hub, 1, timeout=20)
    hub.proc.send(signal.SIGINT)
    rc = hub.proc.wait(60)
    assert rc == 0, f"hub exited with {rc} after SIGINT"
    hub.assert_clean()
    hub.start()
    collect(hub, lg, redis_client, clock).assert_exactly_once()


@pytest.mark.slow
@pytest.mark.parametrize("rate", [5000, 0], ids=["5000_per_s", "max_rate"])
def test_sigkill_during_stream_loses_at_most_the_bound(hub_factory, loadgen, redis_client,
                                                       clock, capsys, record_property, rate):
    queue_max, max_in_flight = 1000, 64
    hub = hub_factory(ingest={"queue_max": queue_max}, redis={"max_in_flight": max_in_flight})
    lg = loadgen(n=25000, rate=rate).start()
    accepted_at_least(hub, 5000)
    received = hub.metric("rheinhub_events_received_total")
    hub.kill()
    assert received < lg.n, "the hub had every event before it was killed"
    hub.start()
    check = collect(hub, lg, redis_client, clock)

    lost = len(check.missing)
    bound = queue_max + max_in_flight
    record_property("sigkill_lost_events", lost)
    with capsys.disabled():
        print(f"\nSIGKILL during a stream of {lg.n} events at "
              f"{f'{rate} events/s' if rate else 'full speed'} (queue_max {queue_max}, "
              f"max_in_flight {max_in_flight}): {lost} lost {ranges(check.missing)}, "
              f"{len(check.duplicates)} duplicated; bound {bound}")
    assert not check.problems, "envelope problems:\n" + "\n".join(check.problems)
    assert not check.duplicates, f"duplicated after SIGKILL: {check.summary()}"
    assert not check.unexpected, check.summary()
    assert lost <= bound, check.summary()


# mosquitto_new() as it fails when memory runs out: the hub cannot make its MQTT client.
NO_MQTT_CLIENT = r"""
#include <errno.h>
#include <stddef.h>
struct mosquitto;
struct mosquitto *mosquitto_new(const char *id, _Bool clean, void *obj)
{
    (void)id; (void)clean; (void)obj;
    errno = ENOMEM;
    return NULL;
}
"""


def test_spooled_entries_redis_took_after_all_are_not_written_twice(hub_factory, loadgen,
                                                                    redis_client, stack):
    """Redis asleep (DEBUG SLEEP) during a stop: the hub spools what Redis has not
    confirmed, the entries in flight among them; Redis then wakes and writes those it had
    been sent. The next start sends the spool first, as in doubt: every event is in
    Redis once, none of those Redis took twice, and the spool is removed."""
    n = 300
    spool = stack.tmp / "hub.spool"
    # One event per entry and at most four entries in flight: while Redis sleeps, four
    # entries wait in its socket (in doubt: Redis writes them when it wakes) and the
    # rest in the hub's queue (never sent), so the spool holds both kinds.
    hub = hub_factory(shutdown={"spool_file": str(spool), "drain_timeout_s": 1},
                      redis={"max_in_flight": 4, "entry_events_max": 1})
    stream = hub.stream(STREAM)
    slept = {}

    def sleeper():
        slept["reply"] = stack.redis.client(timeout=30).execute_command("DEBUG", "SLEEP", "4")

    th = threading.Thread(target=sleeper, name="debug-sleep")
    th.start()
    loadgen(n=n).start().wait()
    wait_until(lambda: hub.metric("rheinhub_events_received_total") >= n, 15,
               f"the hub to take the {n} events")
    hub.term(timeout=30)
    assert spool.exists(), "no spool after a stop with Redis asleep"
    th.join(30)
    assert slept.get("reply") in (True, b"OK", "OK"), f"DEBUG SLEEP failed: {slept}"
    took = count_events(redis_client, stream)
    assert 0 < took < n, f"Redis took {took} of the {n} spooled events: no overlap to test"
    hub.start()
    wait_until(lambda: not spool.exists(), 20, "the spool removed once sent")
    events = read_events(redis_client, stream)
    ids = [ev.event_id for ev in events]
    assert len(ids) == n and len(set(ids)) == n, \
        f"{len(ids)} events, {len(set(ids))} distinct, for {n} published ({took} before)"


def test_a_damaged_spool_is_kept_aside_and_ingest_goes_on(hub_factory, loadgen, redis_client,
                                                           stack):
    """A spool whose command a damaged disk changed (a bulk length that promises more
    bytes than follow) is not sent: Redis would read the commands after it as its
    missing part, answer with errors and drop the link (it did, before). The hub takes
    what came before the damage, keeps the file as hub.spool.damaged, says so, and takes
    events as before."""
    spool = stack.tmp / "hub.spool"
    cmd = b"*2\r\n$4\r\nECHO\r\n$9\r\nabc\r\n"
    spool.write_bytes(b"RHSPOOL1\n" + b"C" + len(cmd).to_bytes(4, "big") + cmd)
    hub = hub_factory(shutdown={"spool_file": str(spool)})
    n = 200
    loadgen(n=n).start().wait()
    wait_until(lambda: count_events(redis_client, hub.stream(STREAM)) >= n, 30,
               f"the {n} events in Redis")
    assert not spool.exists() and (stack.tmp / "hub.spool.damaged").read_bytes().endswith(cmd)
    log = hub.log_path.read_text()
    assert "is damaged (Invalid argument); took 0 entries" in log
    assert "disconnected" not in log, "the damaged command went to Redis"


def test_no_mqtt_client_stops_the_hub_with_a_failure(hub_factory, stack):
    """A hub that cannot make its MQTT client stops and exits 1, so that systemd's
    Restart=on-failure starts it again, rather than exiting 0 as a clean stop."""
    import subprocess
    src = stack.tmp / "no_mqtt_client.c"
    lib = stack.tmp / "no_mqtt_client.so"
    src.write_text(NO_MQTT_CLIENT)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    hub = hub_factory(start=False)
    hub.proc.env = dict(hub.proc.env, LD_PRELOAD=str(lib),
                        ASAN_OPTIONS=hub.proc.env["ASAN_OPTIONS"] + ":verify_asan_link_order=0")
    hub.proc.start()
    rc = hub.proc.wait(60)
    log = hub.log_path.read_text()
    assert rc == 1, f"hub exited with {rc}:\n{log[-2000:]}"
    assert "cannot create the MQTT client: Cannot allocate memory" in log, log[-2000:]
    assert "no MQTT client: stopping" in log, log[-2000:]
    hub.assert_clean()
