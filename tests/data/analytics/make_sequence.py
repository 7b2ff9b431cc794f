#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes sequence.jsonl: the recorded event sequence the analytics tests replay.

Kept so that the sequence can be read and, if ever needed, made again the same way
(fixed seed): `tests/data/analytics/make_sequence.py > tests/data/analytics/sequence.jsonl`.

Each line is one step, in order:
  {"clock": "<RFC 3339>"}                      the analytics worker's clock from now on
  {"topic": "<m>/<category>/<type>/<subject>", "payload": {...}}   one event to publish

About 450 events of four types from 2026-11-25T23:40Z to 2026-11-26T00:50Z (across a UTC
day boundary), two municipalities, times with every precision from seconds to more than
nanoseconds and with offsets, ties in time, late events (some late for their smallest
window only, some for every window), and the edges: late by exactly the lateness, on a
window's start, exactly the allowed hour ahead and a nanosecond more.
"""

import json
import math
import random
from datetime import datetime, timedelta, timezone

rng = random.Random(20261126)
T0 = datetime(2026, 11, 25, 23, 40, 0, tzinfo=timezone.utc)


def rfc3339(t, style):
    """t (UTC datetime, with extra ns) in one of several RFC 3339 spellings."""
    dt, ns = t
    if style == "s":
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "ms":
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns // 1000000:03d}Z"
    if style == "ns":
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns:09d}Z"
    if style == "frac10":  # a tenth digit, dropped by the parser
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns:09d}7Z"
    if style == "plus1":
        local = dt + timedelta(hours=1)
        return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns // 1000:06d}+01:00"
    if style == "minus0530":
        local = dt - timedelta(hours=5, minutes=30)
        return local.strftime("%Y-%m-%dt%H:%M:%S.") + f"{ns // 100000000:01d}-05:30"
    if style == "lowerz":
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns // 1000000:03d}z"
    raise ValueError(style)


STYLES = ["s", "ms", "ns", "frac10", "plus1", "minus0530", "lowerz"]


def parse(text):
    """Seconds since the epoch of a whole-second UTC clock text."""
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
               .timestamp())


def at(offset_s):
    """A UTC instant offset_s seconds (float) after T0, split as (datetime, ns of the second)."""
    whole = math.floor(offset_s)
    ns = int(round((offset_s - whole) * 1e9))
    if ns >= 1000000000:
        whole += 1
        ns -= 1000000000
    return (T0 + timedelta(seconds=whole), ns)


def truncated(t, style):
    """The instant as the worker reads it back from rfc3339(t, style)."""
    dt, ns = t
    keep = {"s": 0, "ms": 1000000, "ns": 1, "frac10": 1, "plus1": 1000, "minus0530": 100000000,
            "lowerz": 1000000}[style]
    return (dt, (ns // keep) * keep if keep else 0)


def waterlevel(subject, k):
    base = {"pegel-1": 402.0, "pegel-2": 355.5, "pegel-ka": 120.25}[subject]
    p = {"value": round(base + rng.uniform(-8, 8), 2), "unit": "cm",
         "trend": rng.choice([-1, 0, 1])}
    if k % 5 == 0:
        p["battery"] = round(rng.uniform(0.2, 1.0), 3)
    return p


def parking(subject, k):
    status = rng.choices(["free", "occupied", "closed", "unknown"], [5, 8, 1, 1])[0]
    p = {"status": status}
    if subject != "p4":
        p["total"] = 120 if subject != "p3" else 40
        p["available"] = rng.randint(0, p["total"])
    if k % 7 == 0:
        p["fw"] = rng.choice(["1.4.2", "1.5.0"])
    return p


def airquality(subject, k):
    p = {"pm10": round(rng.uniform(5, 60), 1), "temperature": round(rng.uniform(-3, 6), 2),
         "rssi": -rng.randint(60, 110), "snr": round(rng.uniform(-5, 12), 1)}
    if k % 3:
        p["pm25"] = round(rng.uniform(2, 35), 1)
    if k % 4 == 0:
        p["humidity"] = rng.randint(60, 99)
    return p


def report(subject, k):
    return {"service_code": rng.choice(["pothole", "streetlight", "waste", "graffiti",
                                        "danger", "tree", "other"]),
            "description": rng.choice(["Schlagloch in der Einfahrt", "Laterne dunkel",
                                       "Sperrmuell am Weg", "Ast auf dem Gehweg"]),
            "lat": round(50.566 + rng.uniform(0, 0.008), 5),
            "lon": round(7.277 + rng.uniform(0, 0.013), 5),
            "status": rng.choices(["open", "closed"], [4, 1])[0]}


SOURCES = [
    ("linz", "sensor", "waterlevel", ["pegel-1", "pegel-2"], 45.0, waterlevel),
    ("kaiserslautern", "sensor", "waterlevel", ["pegel-ka"], 90.0, waterlevel),
    ("linz", "sensor", "parking", ["p1", "p2", "p3", "p4"], 150.0, parking),
    ("linz", "sensor", "airquality", ["station-1", "station-2"], 240.0, airquality),
    ("kaiserslautern", "sensor", "airquality", ["station-7"], 300.0, airquality),
    ("linz", "citizen", "report", None, 360.0, report),
    ("kaiserslautern", "citizen", "report", None, 600.0, report),
]
SPAN_S = 70 * 60


def main():
    events = []  # (offset_s, topic, payload builder args)
    reports = 0
    for m, category, etype, subjects, period, make in SOURCES:
        for si, subject in enumerate(subjects or [None]):
            t = rng.uniform(0, period)
            k = 0
            while t < SPAN_S:
                if subjects is None:
                    reports += 1
                    subject_name = f"r-{m[:2]}-{reports:04d}"
                else:
                    subject_name = subject
                events.append((t, f"{m}/{category}/{etype}/{subject_name}", make, k))
                k += 1
                t += period * rng.uniform(0.6, 1.4)
    events.sort(key=lambda e: e[0])

    out = []
    clock = None
    last_step = None
    n_published = 0
    for i, (t, topic, make, k) in enumerate(events):
        # The clock follows the events, a few seconds behind the newest one, in steps of
        # about a dozen events.
        if last_step is None or i - last_step >= 12:
            step = at(t + 5)
            text = step[0].strftime("%Y-%m-%dT%H:%M:%SZ")
            if clock is None or text > clock:  # a clock never goes back
                out.append({"clock": text})
                clock = text
            last_step = i
        if i in (100, 200, 300):
            # Edges, at a clock on a whole minute C: an event whose 1m window ends exactly
            # lateness (60 s) before C (late, just), one exactly on a window start (in that
            # window, not the one before), one exactly an hour ahead of C (counted) and one
            # a nanosecond more (too far in the future).
            now = parse(clock)
            c = now - now % 60 + 60
            clock = datetime.fromtimestamp(c, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            out.append({"clock": clock})
            last_step = i
            edge = "linz/sensor/waterlevel/pegel-2"
            for when, extra in ((c - 120 + 30, ""), (c - 60, ""), (c + 3600, ""),
                                (c + 3600, ".000000001")):
                stamp = datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
                payload = {"time": stamp + extra + "Z"}
                payload.update(waterlevel("pegel-2", when))
                out.append({"topic": edge, "payload": payload})
                n_published += 1
        style = STYLES[i % len(STYLES)]
        payload = {"time": rfc3339(at(t), style)}
        payload.update(make(topic.split("/")[3], k))
        out.append({"topic": topic, "payload": payload})
        n_published += 1
        # Late events, published now with old times: 3 min late (late for 1m and 5m
        # windows only), 25 min late (late for 15m too), 3 h late (late for every window
        # but the day), 30 h late (late for everything).
        if i % 23 == 11 and t > 1500:
            for lag in (190, 1500, 3 * 3600 + 60, 30 * 3600):
                old = at(t - lag)
                payload = {"time": rfc3339(old, "ms")}
                payload.update(make(topic.split("/")[3], k + lag))
                out.append({"topic": topic, "payload": payload})
                n_published += 1
        # A tie: a second event of the same subject at the same instant (another value);
        # the later one in the stream is the window's "last".
        if i % 31 == 7 and "citizen" not in topic:
            payload = {"time": rfc3339(at(t), style)}
            payload.update(make(topic.split("/")[3], k + 1000))
            out.append({"topic": topic, "payload": payload})
            n_published += 1
    out.append({"clock": "2026-11-28T00:00:00Z"})  # closes every window
    for step in out:
        print(json.dumps(step, separators=(",", ":"), ensure_ascii=False))


if __name__ == "__main__":
    main()
