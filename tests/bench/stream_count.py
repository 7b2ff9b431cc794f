# SPDX-License-Identifier: MIT
"""Counting events in a stream for the benchmarks. An entry carries one event or
several (schemas/envelope.md), so XLEN and XINFO's entries-added and entries-read count
entries, not events. The hub must not trim while a benchmark counts (it trims only
entries every group acknowledged, and the count reads each entry once): the
benchmarks set redis.trim_interval_ms to an hour (TRIM_OFF)."""

from pathlib import Path

LUA = Path(__file__).with_name("count_events.lua").read_text()
TRIM_OFF = 3600000


def events_added(r, stream):
    """Every event written to stream so far (count_events.lua keeps its cursor in Redis)."""
    return int(r.eval(LUA, 1, stream, ""))


def caught_up(r, stream, group):
    """Whether group was delivered the stream's newest entry and holds nothing pending;
    and the entries it has read, for progress."""
    if not r.exists(stream):
        return False, 0
    newest = r.xinfo_stream(stream)["last-generated-id"]
    for g in r.xinfo_groups(stream):
        if g["name"].decode() == group:
            done = g["pending"] == 0 and g["last-delivered-id"] == newest
            return done, g["entries-read"] or 0
    return False, 0
