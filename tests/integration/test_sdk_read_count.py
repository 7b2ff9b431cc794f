# SPDX-License-Identifier: MIT
"""How many entries the worker SDK asks for in a read, now that an entry holds one event
or several (docs/workers.md, "Reading"), watched through Redis's MONITOR: batch_max
counts events, a read's COUNT follows the mean events per entry of the last read and
grows at most to twice what that read returned, and a read asks for at most about 8 MiB
of envelopes; and a worker that lets entries gather
(storage's commit interval) waits only after a read that drained the streams, however
few events its batches held.
"""

import contextlib
import re
import socket
import threading
import time

import harness
from sdk_helpers import envelope, sdk, stored_ids, wait_pending_zero  # noqa: F401 - the fixture

KIND = "tw"


@contextlib.contextmanager
def monitor(port):
    """The lines of Redis's MONITOR, gathered by a thread into the list it yields."""
    lines = []
    mon = socket.create_connection(("127.0.0.1", int(port)))
    mon.sendall(b"MONITOR\r\n")

    def listen():
        buf = b""
        while True:
            try:
                data = mon.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            *done, buf = buf.split(b"\r\n")
            lines.extend(d.decode(errors="replace") for d in done)
    t = threading.Thread(target=listen, daemon=True)
    t.start()
    try:
        yield lines
    finally:
        mon.close()
        t.join(5)


def read_counts(monitor_lines, kind):
    """The COUNT of every XREADGROUP of group kind in MONITOR's output, in order."""
    counts = []
    for line in list(monitor_lines):
        args = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
        if len(args) > 5 and args[0].upper() == "XREADGROUP" and args[2] == kind \
                and args[4].upper() == "COUNT":
            counts.append(int(args[5]))
    return counts


def add_at_once(sdk, stream, sizes, start):
    """XADDs entries of the given sizes in one transaction, so that a blocked read gets
    them all; returns their event ids."""
    entries = []
    for size in sizes:
        entries.append([envelope(n) for n in range(start, start + size)])
        start += size
    pipe = sdk.r.pipeline(transaction=True)
    for events in entries:
        pipe.xadd(stream, harness.pack_entry(events))
    pipe.execute()
    return [eid for events in entries for eid, _ in events]


def test_sdk_read_count_follows_the_events_per_entry(sdk):
    """batch_max counts events: a backlog of 8-event entries is read 32 / 8 = 4 entries
    at a time once a read has shown their size (the first read asks for
    min(batch_max, 64) entries), a read of 1-event entries brings COUNT back to
    batch_max, and after a read of entries of mixed sizes (one of 16 events, fifteen of
    one) COUNT follows their mean, 32 * 16 / 31 = 16, not the widest (32 / 16 = 2)."""
    config = sdk.config(batch_max=32)
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    packed = sdk.add_packed(stream, 0, [8] * 20)
    with monitor(sdk.redis.port) as lines:
        w = sdk.worker(KIND, config=config)
        sdk.wait_ids(KIND, [e for _, ids in packed for e in ids], workers=[w])
        wait_pending_zero(sdk, stream, KIND)
        single = sdk.add(stream, 1000, 3)
        sdk.wait_ids(KIND, single, workers=[w])
        # One more entry after the single ones were read: asked for with COUNT 32.
        last = sdk.add(stream, 2000, 1)
        sdk.wait_ids(KIND, last, workers=[w])
        harness.wait_until(lambda: read_counts(lines, KIND)[-1:] == [32], 10,
                           "a read of COUNT 32 after the 1-event entries")
        mixed = add_at_once(sdk, stream, [16] + [1] * 15, 3000)
        sdk.wait_ids(KIND, mixed, workers=[w])
        harness.wait_until(lambda: read_counts(lines, KIND)[-1:] == [16], 10,
                           "a read of COUNT 16 after the mixed entries")
    counts = read_counts(lines, KIND)
    assert counts[0] == 32, counts  # min(batch_max, 64) before any entry was seen
    assert 4 in counts, counts
    assert counts.index(4) < counts.index(32, counts.index(4)), counts
    assert counts[-1] == 16 and 2 not in counts, counts
    assert sdk.calls(KIND) == 160 + 3 + 1 + 31
    w.term()
    sdk.assert_clean(w)


def test_sdk_read_count_grows_at_most_twice_what_the_last_read_got(sdk):
    """After reads of one 1-event entry each (COUNT 64, not batch_max 256), a backlog of
    100 entries of 4 events arrives at once: it is read 64 entries at a time first, then
    256 / 4 = 64, not 256 entries (1,024 events) in one reply."""
    config = sdk.config(batch_max=256)
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    with monitor(sdk.redis.port) as lines:
        w = sdk.worker(KIND, config=config)
        for n in range(3):
            sdk.wait_ids(KIND, sdk.add(stream, n, 1), workers=[w])
        harness.wait_until(lambda: read_counts(lines, KIND)[-1:] == [64], 10,
                           "a read of COUNT 64 after single entries")
        ids = add_at_once(sdk, stream, [4] * 100, 100)
        sdk.wait_ids(KIND, ids, workers=[w])
        wait_pending_zero(sdk, stream, KIND)
    counts = read_counts(lines, KIND)
    assert 256 not in counts[1:], counts  # only the first read, before any entry
    batches = [int(b) for b in sdk.r.lrange(f"{sdk.prefix}test:{KIND}:batches", 0, -1)]
    assert max(batches) <= 256, batches
    assert sdk.calls(KIND) == 3 + 400
    w.term()
    sdk.assert_clean(w)


def test_sdk_read_count_holds_a_read_to_about_8_mib_of_envelopes(sdk):
    """batch_max counts events, and events may be large: 100 entries of one event of
    256 KiB each are read 64 at a time first (before the size is known), then at most
    8 MiB / 256 KiB = 31 at a time, not twice the 64 the first read got."""
    config = sdk.config(batch_max=256)
    stream = sdk.route(KIND, ["sensor.waterlevel"])[0]
    big = {"value": 1, "note": "x" * 262144}
    with monitor(sdk.redis.port) as lines:
        ids = sdk.add(stream, 0, 100, data=big)
        w = sdk.worker(KIND, config=config)
        sdk.wait_ids(KIND, ids, workers=[w])
        wait_pending_zero(sdk, stream, KIND)
    counts = read_counts(lines, KIND)
    assert 31 in counts, counts
    learnt = counts.index(31)  # the reads before it: the pending history and the first
    assert set(counts[:learnt]) == {64} and max(counts[learnt:]) == 31, counts
    assert sdk.calls(KIND) == 100
    w.term()
    sdk.assert_clean(w)


def test_storage_waits_only_after_a_read_that_drained_the_streams(sdk):
    """storage.batch_max 10 and a backlog of 30 entries of 3 events: each read fills its
    COUNT and leaves the stream non-empty, and its batches hold 9 events, fewer than
    batch_max. The commit interval of 10 s applies only after a read that drained the
    streams: all 90 events are stored long before it passes once (a wait after each
    batch smaller than batch_max would take minutes)."""
    db_path = sdk.tmp / "events.db"
    stream = sdk.route("storage", ["sensor.waterlevel"])[0]
    ids = [e for _, eids in sdk.add_packed(stream, 0, [3] * 30) for e in eids]
    t0 = time.monotonic()
    w = sdk.storage_worker(db_path, storage={"batch_max": 10, "commit_interval_ms": 10000})

    def stored():
        assert w.running(), harness.tail(w.log_path, 30)
        return stored_ids(db_path) == set(ids)
    harness.wait_until(stored, 60, "90 events stored")
    took = time.monotonic() - t0
    assert took < 9, f"90 events took {took:.1f} s: the worker waited after a read that " \
                     "had not drained the stream"
    wait_pending_zero(sdk, stream, "storage")
    w.term()
    sdk.assert_clean(w)
