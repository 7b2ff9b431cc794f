# SPDX-License-Identifier: MIT
"""One phase of the fault matrix: 3 s of stream, the fault, its recovery, the backlog.

While the phase runs, a sampler reads the streams' growth every 0.2 s ("no ingest s":
the longest stretch without growth from a second before the fault on); after the
recovery the phase waits until storage holds every event published in the phase so
far ("backlog s"), at most settle_s.
"""

import threading
import time

from . import log


def run_phase(lay, pub, name, inject, recover, settle_s):
    log(f"fault: {name}")
    samples = []
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            samples.append((time.monotonic(), lay.entries_added()))
            time.sleep(0.2)
    t = threading.Thread(target=sampler, daemon=True)
    t.start()
    seq_lead = pub.published()
    time.sleep(3)
    seq_lo = pub.published()
    t_fault = time.monotonic()
    inject(lay)
    recover(lay)
    t_end = time.monotonic()
    # Backlog: until storage holds what this phase published before the fault ended.
    published = pub.published()
    deadline = t_end + settle_s
    backlog_s = None
    while time.monotonic() < deadline:
        # Every event handed over in the phase, not only what the broker acknowledged
        # so far: one acknowledged late (the publisher holds up to 20,000) counts too.
        stored, _ = lay.stored_seqs()
        if set(range(seq_lead, published)) <= stored:
            backlog_s = time.monotonic() - t_end
            break
        time.sleep(0.5)
    stop.set()
    t.join()
    gap, last_t, last_v = 0.0, None, None
    for ts, v in samples:
        if ts < t_fault - 1:
            continue
        if v is not None and v != last_v:
            if last_t is not None:
                gap = max(gap, ts - last_t)
            last_t, last_v = ts, v
    return {"fault": name, "seq_lead": seq_lead, "seq_lo": seq_lo, "seq_hi": pub.published(),
            "no_ingest_s": round(gap, 1),
            "backlog_s": None if backlog_s is None else round(backlog_s, 1)}
