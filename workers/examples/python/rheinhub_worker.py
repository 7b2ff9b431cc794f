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
- an entry holds one event (fields `id`, `env`: one msgpack envelope, see
  schemas/envelope.md) or several (fields `n`, `ids`, `env`: n envelopes back to back,
  a msgpack stream); an entry whose `env` does not split into valid envelopes goes to
  the dead-letter stream as `poison`; events outside the route's globs are skipped;
  the rest is handled, and the entry XACKed once all its events are done, one XACK per
  stream;
- every retry_ms it runs XAUTOCLAIM, which takes over what a dead consumer left;
  entries delivered more than max_deliveries times go to the dead-letter stream;
- the status hash <prefix>worker:<kind>:<consumer>, written every heartbeat;
- SIGTERM or SIGINT, or the end of stdin when it is a pipe (the hub's supervisor),
  finish the current batch and exit 0.

Its handler never fails, so it has no failure history: a worker whose handler can
fail leaves the entry pending (no XACK) and lets XAUTOCLAIM bring it back.

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
PAYLOAD_MAX = 256  # bytes of a poison entry kept in its dead letter
EVENTS_MAX = 64  # events in one entry at most


def decode_envelope(raw):
    """The envelope as a dict, or ValueError saying what is wrong."""
    try:
        env = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    except Exception as exc:  # noqa: BLE001 - any unpack error makes the entry poison
        raise ValueError(f"msgpack does not unpack: {exc}") from None
    return check_envelope(env)


def check_envelope(env):
    """env itself when it is an envelope, or ValueError saying what is wrong."""
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


def split_entry(fields):
    """The events of an entry as [(envelope bytes, envelope dict)], or ValueError."""
    if b"env" not in fields:
        raise ValueError("entry has no env field")
    raw = fields[b"env"]
    if b"n" not in fields:  # one event: env is exactly one envelope
        return [(raw, decode_envelope(raw))]
    text = fields[b"n"]
    if not (text.isdigit() and len(text) <= 2 and 1 <= int(text) <= EVENTS_MAX):
        raise ValueError(f"entry's n is not a count from 1 to {EVENTS_MAX}")
    n = int(text)
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(raw)
    events, pos = [], 0
    try:
        for obj in unpacker:  # stops at the end, or before an object cut short
            end = unpacker.tell()
            events.append((raw[pos:end], obj))
            pos = end
    except Exception as exc:  # noqa: BLE001 - any unpack error makes the entry poison
        raise ValueError(f"envelope {len(events) + 1} of {n}: msgpack does not unpack: "
                         f"{exc}") from None
    if pos != len(raw):
        raise ValueError(f"envelope {len(events) + 1} of {n}: cut short")
    if len(events) != n:
        raise ValueError(f"entry says n={n} but env holds {len(events)} envelopes")
    for i, (_, env) in enumerate(events):
        try:
            check_envelope(env)
        except ValueError as exc:
            raise ValueError(f"envelope {i + 1} of {n}: {exc}") from None
    return events


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
        """The worker's own work. Must be idempotent: delivery is at least once."""
        if self.record:
            pipe = self.r.pipeline(transaction=False)
            pipe.sadd(f"{self.prefix}test:{self.kind}:ids", env["id"])
            pipe.incr(f"{self.prefix}test:{self.kind}:calls")
            pipe.execute()
        else:
            print(f"{env['type']} {env['municipality']}/{env['subject']} {env['time']} "
                  f"{env['id']}: {json.dumps(env['data'])}", flush=True)

    def dead_letter(self, stream, entry_id, fields, reason, detail, topic, deliveries,
                    raw=None):
        """raw: the failed event's envelope; None: the entry's whole env field."""
        if raw is None:
            raw = fields.get(b"env", b"") if fields else b""
        self.r.xadd(f"{self.prefix}deadletter", {
            "topic": topic, "reason": reason, "detail": detail, "payload": raw[:PAYLOAD_MAX],
            "size": len(raw), "time": now_rfc3339(), "stream": stream, "entry": entry_id,
            "group": self.kind, "consumer": self.consumer, "deliveries": deliveries,
            "history": "[]"}, maxlen=100000, approximate=True)
        self.counts["deadlettered"] += 1

    def process(self, stream, entries, claimed=False):
        """Handles [[id, [field, value, ...] or None], ...]; returns the ids to XACK."""
        done = []
        for entry_id, flat in entries:
            entry_id = entry_id.decode()
            if flat is None:  # trimmed before it was acknowledged
                done.append(entry_id)
                continue
            fields = dict(zip(flat[::2], flat[1::2]))
            try:
                events = split_entry(fields)
            except ValueError as exc:
                self.dead_letter(stream, entry_id, fields, "poison", str(exc), "", 1)
                done.append(entry_id)
                continue
            if claimed:
                info = self.r.xpending_range(stream, self.kind, entry_id, entry_id, 1)
                deliveries = info[0][3] if info else 1
                if deliveries > self.max_deliveries:
                    for raw, env in events:  # one dead letter per event
                        self.dead_letter(stream, entry_id, fields, "worker_failed",
                                         "delivered more than max_deliveries times",
                                         env["source"], deliveries, raw)
                    done.append(entry_id)
                    continue
            # The handler never fails: every event is done, so the entry is.
            for _, env in events:
                if not self.in_route(env):
                    self.counts["skipped"] += 1
                else:
                    self.handle(stream, entry_id, env)
                    self.counts["processed"] += 1
            done.append(entry_id)
        return done

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
