#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A minimal rheinhub worker in Python 3: the worker protocol without the C SDK.

It needs Redis and msgpack only (Debian: python3-redis, python3-msgpack) and follows
the protocol of docs/workers.md:

- the route: the JSON string at <prefix>route:<kind> names the streams to read and
  the municipality and subject globs; it is re-read every 2 s, and the consumer group
  (named by the kind) is created on each stream when missing (BUSYGROUP is fine);
- reading: XREADGROUP GROUP <kind> <consumer> with id "0" per stream until its own
  pending entries are done (after a restart), then ">"; the consumer name is
  "<hostname>-<instance>";
- an entry holds one event (fields `id` and `env`, the msgpack envelope of
  schemas/envelope.md) or several (fields `n`, the count; `ids`, a msgpack array of
  the event ids; `env`, the n envelopes back to back, read as a msgpack stream);
  decode_entry() turns either into its list of envelopes. An entry that does not
  decode (no env, a count that does not match, bytes left over, an envelope that is
  not one) goes to the dead-letter stream as `poison`; an event outside the route's
  globs is skipped unseen; the rest is handled. An entry is XACKed (one XACK per
  stream and batch) when every event in it is done;
- an event whose handler fails leaves its entry pending, and the worker remembers
  which of the entry's events are done, so that a retry handles only the others;
- every retry_ms it runs XAUTOCLAIM, which brings back failed entries and takes over
  what a dead consumer left; when an entry has been delivered max_deliveries times,
  each of its events still failing goes to the dead-letter stream (`worker_failed`,
  with its envelope and its errors), and the entry is acknowledged;
- the status hash <prefix>worker:<kind>:<consumer>, written every heartbeat;
- SIGTERM or SIGINT, or the end of stdin when it is a pipe (the hub's supervisor),
  finish the current batch and exit 0.

Its own handler fails only in tests: with RHEINHUB_TEST_FAIL_SUBJECT=<glob> in the
environment, events whose subject matches fail with "test failure", as they do in
the C test worker. Put your own work in Worker.handle(); raising there fails the
event. Delivery is at least once: an event may be handled again after a crash or by
another consumer.

    rheinhub_worker.py -H 127.0.0.1 -p 6379 -k KIND [-i N] [--prefix rheinhub:] [--record]

Without --record it prints one line per event. With --record it does what the C test
worker does: SADD <prefix>test:<kind>:ids <event id> and INCR <prefix>test:<kind>:calls.
"""

import argparse
import fnmatch
import json
import os
import signal
import socket
import stat
import sys
import threading
import time

import msgpack
import redis

ENVELOPE_STRINGS = ("specversion", "id", "source", "type", "subject", "time",
                    "municipality", "category")
PAYLOAD_MAX = 256  # bytes of a poison entry or a failed envelope kept in its dead letter
PARTIAL_MAX = 10000  # pending entries whose done events are remembered


EVENTS_MAX = 64  # events in one entry, at most


def split_entry(fields):
    """The envelopes of one entry as msgpack bytes, in order; ValueError if it is poison.

    fields has bytes keys (redis-py's XREADGROUP reply). One event: `env` is one
    envelope. Several: `n` is their count, `ids` their event ids, `env` the envelopes
    one after the other, a msgpack stream (msgpack.unpackb would raise ExtraData).
    """
    raw = fields.get(b"env")
    if raw is None:
        raise ValueError("entry has no env field")
    want = 1
    if b"n" in fields:
        try:
            want = int(fields[b"n"].decode("ascii"), 10)
        except (UnicodeDecodeError, ValueError):
            raise ValueError(f"n {fields[b'n'][:32]!r} is not a count") from None
        if not 2 <= want <= EVENTS_MAX:
            raise ValueError(f"n {want} is not within 2..{EVENTS_MAX}")
        try:
            ids = msgpack.unpackb(fields.get(b"ids", b""), raw=False)
        except Exception as exc:  # noqa: BLE001 - any unpack error makes the entry poison
            raise ValueError(f"ids does not unpack: {type(exc).__name__} {exc}") from None
        if not isinstance(ids, list) or len(ids) != want:
            raise ValueError(f"ids is not an array of {want} event ids")
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(raw)
    pieces, start = [], 0
    while True:
        try:
            unpacker.skip()
        except msgpack.OutOfData:
            break
        except Exception as exc:  # noqa: BLE001 - any unpack error makes the entry poison
            raise ValueError(f"msgpack does not unpack: {type(exc).__name__} {exc}") from None
        end = unpacker.tell()
        pieces.append(raw[start:end])
        start = end
        if len(pieces) > want:
            break
    if len(pieces) != want:
        raise ValueError(f"env holds more than {want} envelopes" if len(pieces) > want
                         else f"env holds {len(pieces)} envelopes, the entry says {want}")
    if start != len(raw):
        raise ValueError(f"{len(raw) - start} bytes left after the envelopes")
    return pieces


def decode_entry(fields):
    """The envelopes of one entry as dicts, in order; ValueError if it is poison."""
    return [decode_envelope(raw) for raw in split_entry(fields)]


def decode_envelope(raw):
    """The envelope as a dict, or ValueError saying what is wrong."""
    try:
        env = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    except Exception as exc:  # noqa: BLE001 - any unpack error makes the entry poison
        raise ValueError(f"msgpack does not unpack: {exc}") from None
    if not isinstance(env, dict):
        raise ValueError("envelope is not a map")
    for key in ENVELOPE_STRINGS:
        if not isinstance(env.get(key), str):
            raise ValueError(f"envelope lacks the string {key}")
    if not isinstance(env.get("receivedtime"), int) or env["receivedtime"] < 0:
        raise ValueError("envelope lacks the unsigned integer receivedtime")
    if not isinstance(env.get("data"), dict):
        raise ValueError("envelope lacks the map data")
    return env


def now_rfc3339():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


class Worker:
    def __init__(self, args):
        self.kind = args.kind
        self.prefix = args.prefix
        self.consumer = f"{socket.gethostname()}-{args.instance}"
        self.record = args.record
        self.batch_max, self.block_ms = args.batch_max, args.block_ms
        self.retry_ms, self.max_deliveries = args.retry_ms, args.max_deliveries
        self.heartbeat_ms = args.heartbeat_ms
        self.r = redis.Redis(host=args.host, port=args.port, password=args.password or None,
                             socket_timeout=(self.block_ms + 3000) / 1000)
        # Replies raw: a trimmed pending entry comes back as [id, nil], which redis-py's
        # own parser does not expect.
        for command in ("XREADGROUP", "XAUTOCLAIM", "XPENDING"):
            self.r.set_response_callback(command, lambda response, **options: response)
        self.route_text = None
        self.route = None
        self.cursors = {}  # stream -> "0"-style id while reading own pending entries, or ">"
        self.claim_cursors = {}
        self.counts = {"processed": 0, "failed": 0, "deadlettered": 0, "skipped": 0}
        self.fail_subject = os.environ.get("RHEINHUB_TEST_FAIL_SUBJECT") or None
        # (stream, entry id) -> {event index: its errors, or None once done} of the
        # entries left pending after a failure; the oldest go beyond PARTIAL_MAX.
        self.partial = {}
        self.stop = False

    # -- the route

    def follow_route(self):
        text = self.r.get(f"{self.prefix}route:{self.kind}")
        if text is None or text == self.route_text:
            return
        self.route_text = text
        route = json.loads(text)
        streams = route["streams"]
        for s in streams:
            if s not in self.cursors:
                try:
                    self.r.xgroup_create(s, self.kind, id="$", mkstream=True)
                except redis.ResponseError as exc:
                    if "BUSYGROUP" not in str(exc):
                        raise
                self.cursors[s] = "0"  # own pending entries first
                self.claim_cursors[s] = "0-0"
        for s in list(self.cursors):
            if s not in streams:
                del self.cursors[s]
                del self.claim_cursors[s]
        self.route = route
        log(f"route version {route.get('version')}: {len(streams)} streams")

    def in_route(self, env):
        def match(value, patterns):
            return not patterns or any(fnmatch.fnmatchcase(value, p) for p in patterns)
        return (match(env["municipality"], self.route.get("municipalities"))
                and match(env["subject"], self.route.get("subjects")))

    # -- entries

    def handle(self, stream, entry_id, env):
        """The worker's own work. Must be idempotent: delivery is at least once.
        Raising fails the event: its entry stays pending and comes back."""
        if self.fail_subject and fnmatch.fnmatchcase(env["subject"], self.fail_subject):
            raise RuntimeError("test failure")
        if self.record:
            pipe = self.r.pipeline(transaction=False)
            pipe.sadd(f"{self.prefix}test:{self.kind}:ids", env["id"])
            pipe.incr(f"{self.prefix}test:{self.kind}:calls")
            pipe.execute()
        else:
            print(f"{env['type']} {env['municipality']}/{env['subject']} {env['time']} "
                  f"{env['id']}: {json.dumps(env['data'])}", flush=True)

    def dead_letter(self, stream, entry_id, raw, reason, detail, topic, deliveries,
                    history=()):
        """One dead letter: raw is the entry's env (poison) or the event's envelope."""
        self.r.xadd(f"{self.prefix}deadletter", {
            "topic": topic, "reason": reason, "detail": detail, "payload": raw[:PAYLOAD_MAX],
            "size": len(raw), "time": now_rfc3339(), "stream": stream, "entry": entry_id,
            "group": self.kind, "consumer": self.consumer, "deliveries": deliveries,
            "history": json.dumps(list(history))}, maxlen=100000, approximate=True)
        self.counts["deadlettered"] += 1

    def deliveries(self, stream, entry_id):
        info = self.r.xpending_range(stream, self.kind, entry_id, entry_id, 1)
        return info[0][3] if info else 1

    def process(self, stream, entries, claimed=False):
        """Handles [[id, [field, value, ...] or None], ...]; returns the ids to XACK."""
        done = []
        for entry_id, flat in entries:
            entry_id = entry_id.decode()
            if flat is None:  # trimmed before it was acknowledged
                self.partial.pop((stream, entry_id), None)
                done.append(entry_id)
                continue
            fields = dict(zip(flat[::2], flat[1::2]))
            try:
                raws = split_entry(fields)
                envs = [decode_envelope(raw) for raw in raws]
            except ValueError as exc:
                self.dead_letter(stream, entry_id, fields.get(b"env", b""), "poison", str(exc),
                                 "", 1)
                done.append(entry_id)
                continue
            if self.process_entry(stream, entry_id, raws, envs, claimed):
                done.append(entry_id)
        return done

    def process_entry(self, stream, entry_id, raws, envs, claimed):
        """Handles the events of one entry; True when the entry is to be acknowledged."""
        key = (stream, entry_id)
        state = self.partial.pop(key, None) or {k: [] for k in range(len(envs))}
        if claimed:
            deliveries = self.deliveries(stream, entry_id)
            if deliveries > self.max_deliveries:  # its consumers kept dying on it
                for k, errors in state.items():
                    if errors is not None:
                        self.dead_letter(stream, entry_id, raws[k], "worker_failed",
                                         "delivered more than max_deliveries times",
                                         envs[k]["source"], deliveries, errors)
                return True
        for k, env in enumerate(envs):
            if state[k] is None:  # done on an earlier delivery
                continue
            if not self.in_route(env):
                self.counts["skipped"] += 1
                state[k] = None
                continue
            try:
                self.handle(stream, entry_id, env)
            except Exception as exc:  # noqa: BLE001 - any failure leaves the event to retry
                self.counts["failed"] += 1
                state[k].append(str(exc) or type(exc).__name__)
                continue
            self.counts["processed"] += 1
            state[k] = None
        failing = [k for k, errors in state.items() if errors is not None]
        if not failing:
            return True
        deliveries = self.deliveries(stream, entry_id)
        if deliveries >= self.max_deliveries:
            for k in failing:
                self.dead_letter(stream, entry_id, raws[k], "worker_failed", state[k][-1],
                                 envs[k]["source"], deliveries, state[k])
            return True
        self.partial[key] = state
        while len(self.partial) > PARTIAL_MAX:
            del self.partial[next(iter(self.partial))]
        return False

    def ack(self, stream, ids):
        if ids:
            self.r.xack(stream, self.kind, *ids)

    def read(self, block_ms):
        streams = dict(self.cursors)  # stream -> "0"…, or ">"
        history = any(c != ">" for c in streams.values())
        reply = self.r.execute_command(
            "XREADGROUP", "GROUP", self.kind, self.consumer, "COUNT", self.batch_max,
            *(() if history else ("BLOCK", block_ms)),
            "STREAMS", *streams.keys(), *streams.values())
        got = {name.decode(): entries for name, entries in reply or []}
        for stream, cursor in streams.items():
            entries = got.get(stream, [])
            if cursor != ">":
                # Own pending entries: go on after the last one; none left: read new ones.
                self.cursors[stream] = entries[-1][0].decode() if entries else ">"
            self.ack(stream, self.process(stream, entries))

    def claim(self):
        for stream in list(self.cursors):
            cursor, entries, *_ = self.r.execute_command(
                "XAUTOCLAIM", stream, self.kind, self.consumer, self.retry_ms,
                self.claim_cursors[stream], "COUNT", self.batch_max)
            self.claim_cursors[stream] = cursor.decode()
            self.ack(stream, self.process(stream, entries, claimed=True))

    def status(self):
        key = f"{self.prefix}worker:{self.kind}:{self.consumer}"
        pipe = self.r.pipeline(transaction=False)
        pipe.hset(key, mapping={"state": "ok" if self.route else "unhealthy",
                                "detail": "" if self.route else "waiting for the route",
                                **self.counts, "pid": os.getpid(),
                                "updated_ms": int(time.time() * 1000)})
        pipe.pexpire(key, 5 * self.heartbeat_ms)
        pipe.execute()

    def run(self):
        log(f"worker {self.kind} as consumer {self.consumer}")
        next_route = next_claim = next_status = 0.0
        while not self.stop:
            now = time.monotonic()
            if now >= next_route:
                self.follow_route()
                next_route = now + (2.0 if self.route else 0.25)
            if now >= next_status:
                self.status()
                next_status = now + self.heartbeat_ms / 1000
            if not self.route or not self.cursors:
                time.sleep(0.1)
                continue
            if now >= next_claim:
                self.claim()
                next_claim = now + self.retry_ms / 2000
                continue
            self.read(max(1, min(self.block_ms, int((next_status - now) * 1000))))
        self.r.delete(f"{self.prefix}worker:{self.kind}:{self.consumer}")
        log(f"stopped: {self.counts}")


def log(text):
    print(f"rheinhub_worker: {text}", file=sys.stderr, flush=True)


def watch_stdin(worker):
    """When stdin is a pipe (the hub's supervisor), its end stops the worker."""
    mode = os.fstat(0).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return

    def reader():
        while os.read(0, 512):
            pass
        log("standard input closed: stopping")
        worker.stop = True
    threading.Thread(target=reader, daemon=True).start()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-H", "--host", default="127.0.0.1")
    ap.add_argument("-p", "--port", type=int, default=6379)
    ap.add_argument("--password", default="")
    ap.add_argument("-k", "--kind", required=True, help="worker kind: the consumer group")
    ap.add_argument("-i", "--instance", type=int,
                    default=int(os.environ.get("RHEINHUB_WORKER_INSTANCE") or 1))
    ap.add_argument("--prefix", default="rheinhub:", help="redis.stream_prefix")
    ap.add_argument("--batch-max", type=int, default=256)
    ap.add_argument("--block-ms", type=int, default=1000)
    ap.add_argument("--retry-ms", type=int, default=5000)
    ap.add_argument("--max-deliveries", type=int, default=5)
    ap.add_argument("--heartbeat-ms", type=int, default=2000)
    ap.add_argument("--record", action="store_true",
                    help="record event ids in Redis like rheinhub-testworker")
    args = ap.parse_args(argv)
    worker = Worker(args)

    def on_signal(signum, frame):
        worker.stop = True  # the current batch ends, then the loop does
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    watch_stdin(worker)
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
