# SPDX-License-Identifier: MIT
"""Redis Sentinel: the hub finds the master through the Sentinels, never writes to a
replica, and follows a failover; with redis.min_replicas_ack 1 a SIGKILL of the master
under a stream loses nothing."""

import signal
import time

import pytest

import harness
from harness import SENTINEL, SENTINEL_SUBJECT, ranges, settle, wait_until
from sentinel_helpers import MASTER, Replica, lone_sentinel
from sentinel_helpers import sentinel_layout  # noqa: F401 - fixture
from storage_helpers import SqliteDb, storage_hub, wait_count

STREAM = "sensor.waterlevel"


def ingest_exactly_once(hub, stack, loadgen, clock, n):
    """Publishes n events at full speed, asserts each is in the master's stream once, and
    returns the hub's log."""
    lg = loadgen(n=n, rate=0).start()
    lg.wait(timeout=120)
    events = settle(hub, stack.redis.client(), hub.stream(STREAM), min_len=1, sentinel=SENTINEL)
    lg.check(events, clock[0], clock[1](), ignore_subjects={SENTINEL_SUBJECT}) \
        .assert_exactly_once()
    return hub.log_path.read_text()


def test_sentinel_hub_finds_the_master_and_never_the_replica(hub_factory, sentinel_layout,
                                                            stack, loadgen, clock):
    replica, sentinels = sentinel_layout
    # redis.host points at the replica: with Sentinels configured it must not be used.
    hub = hub_factory(redis={"host": "127.0.0.1", "port": replica.port,
                             "sentinels": sentinels.addrs, "master_name": MASTER})
    text = ingest_exactly_once(hub, stack, loadgen, clock, 2000)
    assert f"connected to 127.0.0.1:{stack.redis_port}" in text, harness.tail(hub.log_path)


@pytest.mark.parametrize("acks", [0, 1], ids=["no_wait", "min_replicas_ack_1"])
def test_sentinel_failover_under_a_stream(hub_factory, sentinel_layout, stack, loadgen, clock,
                                          capsys, acks):
    replica, sentinels = sentinel_layout
    hub = hub_factory(redis={"sentinels": sentinels.addrs, "master_name": MASTER,
                             "min_replicas_ack": acks, "wait_timeout_ms": 500})
    lg = loadgen(n=30000, rate=2000).start()
    wait_until(lambda: hub.metric("rheinhub_events_accepted_total") >= 4000, 60,
               "4000 accepted events")
    stack.redis.proc.send(signal.SIGKILL)
    killed = time.monotonic()
    stack.redis.proc.wait(10)
    # Sentinel's own election: a split vote is retried after twice failover-timeout
    # (10 s here), so a loaded machine can take several rounds.
    try:
        wait_until(lambda: sentinels.master() == ("127.0.0.1", replica.port), 90,
                   "the Sentinels promote the replica")
    except AssertionError as e:
        logs = "\n".join(f"--- sentinel-{i}.log:\n" + harness.tail(stack.tmp / f"sentinel-{i}.log", 25)
                         for i in range(3))
        raise AssertionError(f"{e}\n{logs}") from None
    promoted = time.monotonic() - killed
    r = replica.client()
    key = hub.stream(STREAM)
    base = harness.last_entry_id(r, key)
    # The old master comes back; the Sentinels make it a replica of the new one, so that
    # WAIT 1 can be answered again.
    stack.redis.proc.start()
    # The hub's part: it finds the new master through the Sentinels and writes again
    # within this bound (the figure printed below is the whole outage).
    wait_until(lambda: harness.count_events(r, key, start=f"({base}") > 100, 30,
               "ingest on the new master")
    resumed = time.monotonic() - killed
    lg.wait(timeout=180)
    events = settle(hub, r, key, min_len=1, sentinel=SENTINEL)
    check = lg.check(events, clock[0], clock[1](), ignore_subjects={SENTINEL_SUBJECT})
    with capsys.disabled():
        print(f"\nSentinel failover under 2000 events/s, min_replicas_ack {acks}: ingest "
              f"resumed {resumed:.1f} s after the master's SIGKILL (promotion seen after "
              f"{promoted:.1f} s); {len(check.missing)} lost "
              f"{ranges(check.missing)}, {len(check.duplicates)} duplicated")
    assert not check.duplicates, check.summary()
    if acks:
        check.assert_exactly_once()


def test_sentinel_stale_sentinel_naming_a_dead_master_is_passed_over(hub_factory, stack,
                                                                     loadgen, clock):
    # The first Sentinel in the list names a master that is gone (its old address, as a
    # Sentinel partitioned from the others during a failover would): connecting there
    # is refused. The hub must go on to the next Sentinel, not ask the stale one again
    # forever. The storage worker (the worker SDK's link) likewise.
    dead = harness.free_port()
    stale, stale_addr = lone_sentinel(stack, "sentinel-stale", dead)
    good, good_addr = lone_sentinel(stack, "sentinel-good", stack.redis_port)
    db = SqliteDb(stack.tmp / "sentinel-storage.db")
    try:
        hub = storage_hub(hub_factory, db.storage_section(),
                          redis={"sentinels": [stale_addr, good_addr], "master_name": MASTER})
        text = ingest_exactly_once(hub, stack, loadgen, clock, 200)
        assert f"cannot connect to 127.0.0.1:{dead}" in text, harness.tail(hub.log_path)
        assert f"connected to 127.0.0.1:{stack.redis_port}" in text, harness.tail(hub.log_path)
        wait_count(db, 200, hub=hub)
    finally:
        good.stop()
        stale.stop()


def test_sentinel_with_the_newest_configuration_is_followed(hub_factory, stack, loadgen, clock):
    # After a failover, a Sentinel that has not heard of it yet still names the old
    # master, and an old master restarted meanwhile answers ROLE with "master" until the
    # Sentinels demote it; what is written to it then is lost with its demotion. The
    # hub asks every Sentinel and follows the newest configuration (the highest config
    # epoch), wherever its Sentinel is in the list.
    old = Replica(stack, stack.redis_port)
    old.proc.start()
    wait_until(lambda: old.client().info("replication")["master_link_status"] == "up", 30,
               "the old master's copy in sync")
    old.client().execute_command("REPLICAOF", "NO", "ONE")  # a master again, as restarted
    stale, stale_addr = lone_sentinel(stack, "sentinel-behind", old.port, epoch=0)
    good, good_addr = lone_sentinel(stack, "sentinel-after", stack.redis_port, epoch=1)
    try:
        hub = hub_factory(redis={"sentinels": [stale_addr, good_addr], "master_name": MASTER})
        text = ingest_exactly_once(hub, stack, loadgen, clock, 500)
        assert f"connected to 127.0.0.1:{stack.redis_port}" in text, harness.tail(hub.log_path)
        assert f"connected to 127.0.0.1:{old.port}" not in text, harness.tail(hub.log_path)
        assert old.client().exists(hub.stream(STREAM)) == 0
    finally:
        good.stop()
        stale.stop()
        old.proc.stop()


def test_sentinel_naming_a_replica_is_passed_over(hub_factory, stack, loadgen, clock):
    # The first Sentinel in the list names a replica as the master (a Sentinel cut off
    # from the others, or one whose failover the others undid): the address answers, so
    # only the hub's ROLE check tells it apart. The hub must say so, go on to the next
    # Sentinel, and never take the replica's link for the master's.
    replica = Replica(stack, stack.redis_port)
    replica.proc.start()
    wait_until(lambda: replica.client().info("replication")["master_link_status"] == "up", 30,
               "the replica in sync")
    stale, stale_addr = lone_sentinel(stack, "sentinel-replica", replica.port)
    good, good_addr = lone_sentinel(stack, "sentinel-good", stack.redis_port)
    try:
        hub = hub_factory(redis={"sentinels": [stale_addr, good_addr], "master_name": MASTER})
        wait_until(lambda: f"connected to 127.0.0.1:{stack.redis_port}"
                   in hub.log_path.read_text(), 30, "the hub on the master")
        text = ingest_exactly_once(hub, stack, loadgen, clock, 200)
        assert f"127.0.0.1:{replica.port} is a slave, not the master" in text, \
            harness.tail(hub.log_path)
        assert f"connected to 127.0.0.1:{replica.port}" not in text, harness.tail(hub.log_path)
    finally:
        good.stop()
        stale.stop()
        replica.proc.stop()
