# SPDX-License-Identifier: MIT
"""What a run of the fault matrix lost, where, and when; the table.

Per phase (the events published from its start to its end): "lost", acknowledged by
the broker and not in PostgreSQL; "re-sent", events a PUBACK said the broker did not
take (Mosquitto 2.0.11 after its restart, faults.KNOWN), which the publisher sent
again (once or more); "dup", events written twice to the Redis streams.

For every lost range the run also says when its events were handed to paho and
acknowledged (seconds from the stream's start), whether the acknowledgements fell in a
window between a broker start and the first hub's new subscription, and how many of
them the Redis streams hold (in the streams but not in PostgreSQL points at storage;
in neither, at the broker or the hubs).
"""

import sys

from .faults import BROKER_RESTART, KNOWN

# A hub logs its subscription when the SUBACK is in; the publisher's acknowledgement of a
# message the broker took just before can be read a little later on a loaded machine.
WINDOW_SLACK_S = 0.5


def restart_windows(lay):
    """[(start, end)] wall-clock: each broker start until the first hub subscribed again."""
    subs = sorted(t for h in ("a", "b") for t in lay.hub_log_times(h, "subscribed to"))
    out = []
    for r in lay.broker_restarts:
        start = r.get("start")
        if start is None:
            continue
        after = [t for t in subs if t >= start]
        out.append((start, (after[0] if after else float("inf")) + WINDOW_SLACK_S))
    return out


def ranges(seqs):
    out = []
    for s in sorted(seqs):
        if out and out[-1][1] == s - 1:
            out[-1][1] = s
        else:
            out.append([s, s])
    return out


def analyse(lay, pub, lost, dups, in_streams, phases):
    """Fills each phase's lost, resent and dup; returns what places the losses in time."""
    windows = restart_windows(lay)
    refusals = [key for key, _ in pub.mq.refusals]
    for p in phases:
        lo, hi = p["seq_lead"], p["seq_hi"]
        p["lost"] = sum(1 for q in lost if lo <= q < hi)
        p["resent"] = len({q for q in refusals if lo <= q < hi})
        p["dup"] = sum(1 for q in dups if lo <= q < hi)
    t0 = pub.sent_at[0] if pub.sent_at else 0

    def in_window(seq):
        t = pub.acked_at.get(seq)
        return t is not None and any(a <= t <= b for a, b in windows)
    details = []
    for lo, hi in ranges(lost)[:20]:
        seqs = range(lo, hi + 1)
        acks = [pub.acked_at[q] - t0 for q in seqs if q in pub.acked_at]
        details.append({
            "seqs": [lo, hi],
            "sent_s": [round(pub.sent_at[lo] - t0, 3), round(pub.sent_at[hi] - t0, 3)],
            "acked_s": [round(min(acks), 3), round(max(acks), 3)] if acks else None,
            "acked_in_restart_window": sum(1 for q in seqs if in_window(q)),
            "in_redis_streams": sum(1 for q in seqs if q in in_streams)})
    return {"restart_windows_s": [[round(a - t0, 3), round(b - t0, 3)] for a, b in windows],
            "publisher_connects_s": [round(t - t0, 3) for t in pub.connects],
            "publisher_disconnects_s": [round(t - t0, 3) for t in pub.disconnects],
            "lost_ranges": details}


def print_table(s, rate):
    refused = ", ".join(f"0x{int(code):02x}: {n}" for code, n in s["refused"].items())
    print(f"\nrun {s['run']}: {s['published']} events at {rate}/s, {s['acked']} acknowledged "
          f"by the broker, {s['stored']} stored; lost {s['lost']}, duplicated in the streams "
          f"{s['dup_stream']}, duplicate rows {s['dup_rows']}; alert ids with a repeated "
          f"state {s['alerts_bad']}; closed 1-minute windows with a wrong count "
          f"{s['aggregates_bad']}; PUBACKs refusing an event (re-sent) by reason code: "
          f"{refused or 'none'}")
    print(f"| {'fault':<26} | {'lost':>5} | {'re-sent':>7} | {'duplicates':>10} "
          f"| {'no ingest s':>11} | {'backlog s':>9} |")
    print(f"| {'-' * 26} | {'-' * 4}: | {'-' * 6}: | {'-' * 9}: | {'-' * 10}: | {'-' * 8}: |")
    for p in s["phases"]:
        b = "-" if p["backlog_s"] is None else p["backlog_s"]
        print(f"| {p['fault']:<26} | {p['lost']:>5} | {p['resent']:>7} | {p['dup']:>10} "
              f"| {p['no_ingest_s']:>11} | {b:>9} |")
    if any(p["resent"] for p in s["phases"]):
        print(f"\nre-sent: the broker's PUBACK said it did not take the event (0x10 after "
              f"the {BROKER_RESTART}: {KNOWN[BROKER_RESTART]}); the publisher sent it again.")
    sys.stdout.flush()
