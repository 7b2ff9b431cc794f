# SPDX-License-Identifier: MIT
"""The integration tests' readers of what the hub writes: the load generator's payloads,
stream entries of one or several events (schemas/envelope.md) turned back into
envelopes, and the checks of a whole stream against what was published. harness.py
re-exports every name, so tests call them as harness.NAME."""

import json
import re
from collections import Counter

ENVELOPE_KEYS = [
    "specversion", "id", "source", "type", "subject", "time",
    "municipality", "category", "receivedtime", "data",
]

EVENT_ID_RE = re.compile(r"^[0-9a-f]{32}$")
LOADGEN_TIME_RE = re.compile(r"^2026-11-26T06:00:00\.(\d{9})Z$")


def loadgen_time(k):
    return f"2026-11-26T06:00:00.{k:09d}Z"


def loadgen_payload(k):
    return (f'{{"time":"{loadgen_time(k)}","value":{300 + k % 400},'
            f'"unit":"cm","trend":0}}').encode()


class Map(list):
    """A msgpack map as its (key, value) pairs, in wire order."""


def unpack_envelope(raw):
    import msgpack
    return msgpack.unpackb(raw, raw=False, strict_map_key=False, object_pairs_hook=Map)


def plain(obj):
    """Map pairs to dicts, recursively; duplicate keys are an error."""
    if isinstance(obj, Map):
        out = {}
        for k, v in obj:
            assert k not in out, f"duplicate map key {k!r}"
            out[k] = plain(v)
        return out
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    return obj


def same(a, b, path="data"):
    """Deep equality that also holds the types apart (int/float/bool/str/bytes)."""
    if type(a) is not type(b):
        return f"{path}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"
    if isinstance(a, dict):
        if set(a) != set(b):
            return f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            err = same(a[k], b[k], f"{path}.{k}")
            if err:
                return err
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            err = same(x, y, f"{path}[{i}]")
            if err:
                return err
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def read_stream(r, key, page=5000, start="-"):
    """All entries of a stream from start on: [(entry_id, {field: value})], oldest first."""
    out = []
    while True:
        batch = r.xrange(key, min=start, max="+", count=page)
        if not batch:
            return out
        out.extend(batch)
        if len(batch) < page:
            return out
        last = batch[-1][0].decode()
        ms, seq = last.split("-")
        start = f"{ms}-{int(seq) + 1}"


ENTRY_EVENTS_MAX = 64  # events in one entry of an event stream, at most


def _field(fields, name):
    """A field of an entry by name, whether the client gave bytes or str keys."""
    value = fields.get(name.encode())
    return fields.get(name) if value is None else value


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def entry_event_count(fields):
    """How many events an event-stream entry says it holds: its n, or 1 without one."""
    n = _field(fields, "n")
    return 1 if n is None else int(n)


def entry_events(fields):
    """The events of one event-stream entry, in order: [(event id, envelope bytes)].

    One event: fields `id` and `env`. Several (2 to 64): `n` (the count, decimal
    text), `ids` (a msgpack array of the n event ids) and `env` (the n envelopes back
    to back, a msgpack stream). The workers' own streams hold one event per entry.
    Raises ValueError for an entry of neither form: no env, a count that does not
    match, bytes left over, an envelope that is not a msgpack map.
    """
    import msgpack
    raw = _field(fields, "env")
    if raw is None:
        raise ValueError("entry has no env field")
    n_text = _field(fields, "n")
    if n_text is None:
        if _field(fields, "ids") is not None:
            raise ValueError("entry has ids but no n")
        want, event_ids = 1, [_text(_field(fields, "id"))]
    else:
        try:
            want = int(_text(n_text), 10)
        except ValueError:
            raise ValueError(f"n {n_text!r} is not a number") from None
        if not 2 <= want <= ENTRY_EVENTS_MAX:
            raise ValueError(f"n {want} is not within 2..{ENTRY_EVENTS_MAX}")
        if _field(fields, "id") is not None:
            raise ValueError("entry has both id and n")
        ids_raw = _field(fields, "ids")
        if ids_raw is None:
            raise ValueError("entry has n but no ids")
        try:
            event_ids = msgpack.unpackb(ids_raw, raw=False)
        except Exception as exc:  # noqa: BLE001 - any unpack error is a bad entry
            raise ValueError(f"ids does not unpack: {exc}") from None
        if (not isinstance(event_ids, list) or len(event_ids) != want
                or not all(isinstance(i, str) for i in event_ids)):
            raise ValueError(f"ids is not an array of {want} strings: {event_ids!r}")
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(raw)
    envs, start = [], 0
    while True:
        try:
            unpacker.skip()
        except msgpack.OutOfData:
            break
        except Exception as exc:  # noqa: BLE001 - any unpack error is a bad entry
            raise ValueError(f"env: msgpack does not unpack after {len(envs)} "
                             f"envelopes: {type(exc).__name__} {exc}".rstrip()) from None
        end = unpacker.tell()
        envs.append(bytes(raw[start:end]))
        start = end
    if start != len(raw):
        raise ValueError(f"env: {len(raw) - start} bytes left after {len(envs)} envelopes")
    if len(envs) != want:
        raise ValueError(f"env holds {len(envs)} envelopes, the entry says {want}")
    for k, env in enumerate(envs):
        if not (0x80 <= env[0] <= 0x8F or env[0] in (0xDE, 0xDF)):
            raise ValueError(f"env: envelope {k} is not a map")
    return list(zip(event_ids, envs))


def entry_envelopes(fields):
    """The envelopes of one event-stream entry as dicts, in order (see entry_events)."""
    import msgpack
    return [msgpack.unpackb(env, raw=False, strict_map_key=False)
            for _, env in entry_events(fields)]


def pack_entry(events):
    """The fields of an event-stream entry holding events [(event id, envelope bytes)],
    as the hub writes them: id and env for one, n, ids and env for several."""
    import msgpack
    events = list(events)
    assert 1 <= len(events) <= ENTRY_EVENTS_MAX, len(events)
    if len(events) == 1:
        return {"id": events[0][0], "env": events[0][1]}
    return {"n": str(len(events)), "ids": msgpack.packb([i for i, _ in events]),
            "env": b"".join(env for _, env in events)}


def count_events(r, key, start="-"):
    """Events in a stream (from entry id start on, "(" before it to leave it out): the
    sum of its entries' counts (n, or 1)."""
    return sum(entry_event_count(fields) for _, fields in read_stream(r, key, start=start))


def last_entry_id(r, key):
    """The id of a stream's last entry, or "0-0" when it has none."""
    last = r.xrevrange(key, max="+", min="-", count=1)
    return last[0][0].decode() if last else "0-0"


def events_at_least(r, key, n):
    """Whether a stream holds at least n events (XLEN first: an entry holds one or more)."""
    length = r.xlen(key)
    return length >= n or (length > 0 and count_events(r, key) >= n)


class Event:
    """One event of a stream entry decoded: entry id, the entry's fields, the event's
    id (from the entry), its index and the entry's count, its envelope bytes, pairs
    and dict. An entry that does not decode is one Event with pairs None and problem
    saying why."""

    def __init__(self, entry_id, fields, *, event_id=None, raw=None, index=0, count=1,
                 problem=None):
        self.entry_id = entry_id
        self.fields = fields
        self.event_id = event_id
        self.raw = raw
        self.index, self.count = index, count
        self.problem = problem
        self.pairs = unpack_envelope(raw) if raw is not None else None
        self.env = plain(self.pairs) if isinstance(self.pairs, Map) else None

    @property
    def keys(self):
        return [k for k, _ in self.pairs] if isinstance(self.pairs, Map) else None


def entry_to_events(entry_id, fields):
    """[Event] of one stream entry, one per event it holds."""
    try:
        events = entry_events(fields)
    except ValueError as exc:
        return [Event(entry_id, fields, problem=str(exc))]
    return [Event(entry_id, fields, event_id=eid, raw=raw, index=k, count=len(events))
            for k, (eid, raw) in enumerate(events)]


def read_events(r, key):
    """Every event of a stream, oldest first, several per entry where the hub packed them."""
    return [ev for eid, fields in read_stream(r, key) for ev in entry_to_events(eid, fields)]


def envelope_problems(ev, *, topic, payload, mqtt_port, t_lo, t_hi):
    """What is wrong with one stream entry for an event published as (topic, payload)."""
    probs = []
    want_fields = {b"id", b"env"} if ev.count == 1 else {b"n", b"ids", b"env"}
    if set(ev.fields) != want_fields:
        probs.append(f"entry fields {sorted(ev.fields)} != {sorted(want_fields)}")
    if ev.problem:
        return probs + [f"entry does not decode: {ev.problem}"]
    if ev.env is None:
        return probs + [f"env is not a msgpack map: {ev.pairs!r}"]
    if ev.keys != ENVELOPE_KEYS:
        probs.append(f"envelope keys {ev.keys} != {ENVELOPE_KEYS}")
    env = ev.env
    municipality, category, etype, subject = topic.split("/")
    expect = {
        "specversion": "1.0",
        "source": f"mqtt://127.0.0.1:{mqtt_port}/{topic}",
        "type": f"{category}.{etype}",
        "subject": subject,
        "municipality": municipality,
        "category": category,
    }
    data = json.loads(payload)
    expect["time"] = data["time"]
    for k, v in expect.items():
        if env.get(k) != v or type(env.get(k)) is not str:
            probs.append(f"{k}: {env.get(k)!r} != {v!r}")
    eid = env.get("id")
    if not isinstance(eid, str) or not EVENT_ID_RE.match(eid):
        probs.append(f"id {eid!r} is not 32 lower-case hex characters")
    elif ev.event_id != eid:
        probs.append(f"the entry's id {ev.event_id!r} (event {ev.index} of {ev.count}) "
                     f"!= envelope id {eid!r}")
    rt = env.get("receivedtime")
    if type(rt) is not int or not (t_lo <= rt <= t_hi):
        probs.append(f"receivedtime {rt!r} not an int within [{t_lo}, {t_hi}]")
    err = same(env.get("data"), data)
    if err:
        probs.append(err)
    return probs


class StreamCheck:
    """Compare what one load-generator stream should have produced with a stream's entries."""

    def __init__(self, events, *, n, offset=0, municipality="linz", event_type="sensor.waterlevel",
                 subjects=16, prefix="s", mqtt_port, t_lo, t_hi, ignore_subjects=()):
        self.expected = set(range(offset, offset + n))
        self.seqs = []
        self.problems = []
        category, etype = event_type.split(".")
        for ev in events:
            if ev.problem:
                self.problems.append(f"{ev.entry_id}: {ev.problem}")
                continue
            subject = ev.env.get("subject") if ev.env else None
            if subject in ignore_subjects:
                continue
            t = ev.env.get("time") if ev.env else None
            m = LOADGEN_TIME_RE.match(t) if isinstance(t, str) else None
            if not m:
                self.problems.append(f"{ev.entry_id}: time {t!r} is not a load-generator time")
                continue
            k = int(m.group(1))
            self.seqs.append(k)
            topic = f"{municipality}/{category}/{etype}/{prefix}{k % subjects}"
            for p in envelope_problems(ev, topic=topic, payload=loadgen_payload(k),
                                       mqtt_port=mqtt_port, t_lo=t_lo, t_hi=t_hi):
                if len(self.problems) < 20:
                    self.problems.append(f"seq {k} ({ev.entry_id}): {p}")
        counts = Counter(self.seqs)
        self.duplicates = sorted(k for k, c in counts.items() if c > 1)
        self.got = set(counts)
        self.missing = sorted(self.expected - self.got)
        self.unexpected = sorted(self.got - self.expected)

    def summary(self):
        return (f"{len(self.seqs)} events, {len(self.got)} distinct of {len(self.expected)}; "
                f"missing {len(self.missing)} {ranges(self.missing)}; "
                f"duplicated {len(self.duplicates)} {ranges(self.duplicates)}; "
                f"unexpected {len(self.unexpected)} {ranges(self.unexpected)}")

    def assert_exactly_once(self):
        assert not self.problems, "envelope problems:\n" + "\n".join(self.problems[:20])
        assert self.got == self.expected and not self.duplicates, self.summary()


def ranges(seq, limit=8):
    """[1,2,3,7] -> '[1-3, 7]', shortened."""
    out = []
    for k in seq:
        if out and out[-1][1] == k - 1:
            out[-1][1] = k
        else:
            out.append([k, k])
    parts = [f"{a}-{b}" if a != b else f"{a}" for a, b in out[:limit]]
    more = ", ..." if len(out) > limit else ""
    return "[" + ", ".join(parts) + more + "]"
